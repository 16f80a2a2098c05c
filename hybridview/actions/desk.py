"""What the faces use: the plans for the estate they show, the runner that sends them, the audit log.

The window and the CLI each build one ``ActionDesk`` over the endpoints the monitor reads,
so both plan from the same core functions, refuse the same way and write the same log.
"""

from __future__ import annotations

from pathlib import Path

from datetime import datetime

from hybridview.actions.audit import AuditEntry, AuditLog
from hybridview.actions.claims import Claims
from hybridview.actions.executors import Tracking
from hybridview.actions.runner import ActionRunner
from hybridview.core.actions import Plan
from hybridview.core.compute_service import ServiceChange, plan_service_change
from hybridview.core.evacuation import EvacuationRequest, plan_evacuation
from hybridview.core.left_behind import RestartRequest, plan_vm_restarts
from hybridview.core.view import EstateView
from hybridview.service.wiring import Endpoints


class ActionDesk:
    def __init__(
        self,
        endpoints: Endpoints,
        audit_path: Path,
        *,
        read_only: bool | None = None,
        tracking: Tracking | None = None,
        claims_dir: Path | None = None,
    ) -> None:
        writers: dict[str, object] = {b.name: b for b in endpoints.openstack}
        writers.update({b.name: b for b in endpoints.vcenters})
        self.audit = AuditLog(audit_path)
        self.read_only = endpoints.read_only if read_only is None else read_only
        self.runner = ActionRunner(
            writers,
            self.audit,
            claims=Claims(claims_dir if claims_dir is not None else audit_path.parent / "running"),
            read_only=self.read_only,
            concurrency=endpoints.action_concurrency,
            tracking=tracking,
        )

    def evacuation(self, view: EstateView, request: EvacuationRequest) -> Plan:
        return plan_evacuation(view.estate, request)

    def vm_restarts(self, view: EstateView, request: RestartRequest) -> Plan:
        return plan_vm_restarts(view.estate, view.health.correlation, request)

    def service_change(self, view: EstateView, change: ServiceChange) -> Plan:
        return plan_service_change(view.estate, change)

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """The audit log, read in the runner's workers (it is a file: never on the GUI thread)."""
        return await self.runner.offload(self.audit.entries, since)

    async def aclose(self) -> None:
        await self.runner.aclose()
