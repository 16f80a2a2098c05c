"""An estate and its evaluation, computed together off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.correlation import Correlation
from hybridview.core.health import HealthReport, Overall
from hybridview.core.model import Estate


@dataclass(frozen=True, slots=True)
class EstateView:
    estate: Estate
    health: HealthReport


def unevaluated(estate: Estate) -> EstateView:
    """The endpoints alone, UNKNOWN: for when the estate could not be evaluated. No item to look healthy."""
    bare = Estate(endpoints=estate.endpoints, node_map=estate.node_map)
    return EstateView(bare, HealthReport(Overall.UNKNOWN, {}, (), Correlation({}, {}, (), {}, {})))
