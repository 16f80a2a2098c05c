"""An estate and its evaluation, computed together off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.health import HealthReport
from hybridview.core.model import Estate


@dataclass(frozen=True, slots=True)
class EstateView:
    estate: Estate
    health: HealthReport
