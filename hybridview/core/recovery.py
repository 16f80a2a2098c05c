"""What waits for the operator after failures, in one place for the window and ``status``."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.compute_service import ReturningHost, returning_hosts
from hybridview.core.evacuation import PendingEvacuation, pending_evacuations
from hybridview.core.left_behind import LeftBehindVm, left_behind_vms
from hybridview.core.view import EstateView


@dataclass(frozen=True, slots=True)
class Recovery:
    """What waits for the operator after failures: evacuations, VMs HA left behind, hosts back."""

    evacuations: tuple[PendingEvacuation, ...]
    left_behind: tuple[LeftBehindVm, ...]
    returning: tuple[ReturningHost, ...]

    @property
    def empty(self) -> bool:
        return not (self.evacuations or self.left_behind or self.returning)


def recovery(view: EstateView) -> Recovery:
    return Recovery(
        tuple(pending_evacuations(view.estate)),
        tuple(left_behind_vms(view.estate, view.health.correlation)),
        tuple(returning_hosts(view.estate)),
    )
