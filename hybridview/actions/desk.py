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
from hybridview.core import moves
from hybridview.core.compute_service import ServiceChange, plan_service_change
from hybridview.core.drain import DrainRequest, plan_drain
from hybridview.core.evacuation import EvacuationRequest, plan_evacuation
from hybridview.core.identity import InstanceRef, VmRef
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

    # -- moves --------------------------------------------------------------------------------
    def live_migration(self, view: EstateView, instance: InstanceRef, target_host: str | None) -> Plan:
        return moves.plan_live_migration(view, instance, target_host)

    def cold_migration(
        self, view: EstateView, instance: InstanceRef, target_host: str | None, *, confirm: bool = False
    ) -> Plan:
        return moves.plan_cold_migration(view, instance, target_host, confirm=confirm)

    def resize_decision(self, view: EstateView, instance: InstanceRef, *, confirm: bool) -> Plan:
        return moves.plan_resize_decision(view, instance, confirm=confirm)

    def live_migration_control(self, view: EstateView, instance: InstanceRef, *, abort: bool) -> Plan:
        return moves.plan_live_migration_control(view, instance, abort=abort)

    def relocation(self, view: EstateView, vm: VmRef, *, host_moref: str | None, datastore_moref: str | None) -> Plan:
        return moves.plan_relocation(view, vm, host_moref=host_moref, datastore_moref=datastore_moref)

    def task_cancel(self, view: EstateView, vcenter: str, task_key: str) -> Plan:
        return moves.plan_task_cancel(view, vcenter, task_key)

    def drain(self, view: EstateView, request: DrainRequest) -> Plan:
        return plan_drain(view, request)

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """The audit log, read in the runner's workers (it is a file: never on the GUI thread)."""
        return await self.runner.offload(self.audit.entries, since)

    async def aclose(self) -> None:
        await self.runner.aclose()
