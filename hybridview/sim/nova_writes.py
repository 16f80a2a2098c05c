"""Nova's writes in the demo, with the checks (``nova_checks``) and the messages of the real API.

Each write is taken at once, as Nova's API takes it; its course runs over the estate's clock:
evacuations in ``nova_evacuation``, live and cold migrations in ``nova_moves``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from hybridview.backends.base import BackendError, MigrationProgress, ServerProgress, WriteReceipt
from hybridview.sim.layout import SimInstance, SimNode
from hybridview.sim.nova_checks import (
    Refused,
    check_cold_migration,
    check_live_migration,
    check_state,
    live_migration,
    newest_migration,
    parse_block_migration,
    resized_migration,
)
from hybridview.sim.nova_evacuation import SCHEDULED_AT, begin_evacuation
from hybridview.sim.nova_moves import (
    IN_FLIGHT,
    LivePhases,
    begin_cold_migration,
    begin_confirm,
    begin_live_migration,
    begin_revert,
    cancel_live,
    chain,
    complete_live,
    counters,
)
from hybridview.sim.state import SimState

EVACUABLE_VM_STATES = ("active", "stopped", "error")
REASON_MAX = 255
MOVE_TYPES = ("live-migration", "migration", "resize")
DECISION_SHARE = 0.2  # of a cold migration's time, for its confirm or revert
CONTROL_SHARE = 0.1  # of a live migration's time, for its abort or force-complete to take effect


class SimNovaWrites:
    """The writes of one demo cloud; every method takes the estate's lock."""

    def __init__(self, state: SimState, cloud: str) -> None:
        self._state = state
        self._cloud = cloud

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        with self._taking():
            self._node(host).forced_down = forced_down
            return self._done()

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt:
        with self._taking():
            node = self._node(host)
            if enabled and reason is not None:
                raise Refused(400, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
            if reason is not None and len(reason) > REASON_MAX:
                raise Refused(400, f"Invalid input for field/attribute disabled_reason. '{reason}' is too long")
            node.status = "enabled" if enabled else "disabled"
            node.disabled_reason = None if enabled else reason
            return self._done()

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        """``on_shared_storage`` is not in the body at the demo's microversion (2.100): Nova decides."""
        with self._taking():
            inst = self._instance(instance_id)
            source = self._state.node_of(inst)
            if source is not None and source.state == "up":
                raise Refused(400, f"Compute service of {inst.host} is still in use.")
            if source is not None and source.is_vmware:
                raise Refused(
                    400,
                    f"Cannot evacuate instance {inst.id}: its compute node {inst.node} uses the vmwareapi driver, "
                    "which does not support evacuate (the instance would end in ERROR). vSphere HA restarts the "
                    "VMs of a failed ESXi host; a dead nova-compute proxy only needs a restart.",
                )
            check_state(inst, "evacuate", EVACUABLE_VM_STATES)
            if target_host is not None:
                if target_host == inst.host:
                    raise Refused(400, "The target host can't be the same one.")
                if self._state.node(self._cloud, target_host) is None:
                    raise Refused(404, f"Compute host {target_host} could not be found.")
            seconds = self._state.timing.evacuation_seconds
            begin_evacuation(self._state, inst, target_host, seconds * SCHEDULED_AT, seconds)
            return self._accepted()

    def start_server(self, instance_id: str) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            check_state(inst, "start", ("stopped",))
            node = self._state.node_of(inst)
            if node is None or node.state != "up":
                raise Refused(409, "Service is unavailable at this time.")
            inst.task_state = "powering-on"
            self._state.timeline.after(self._state.timing.start_seconds, lambda: self._started(inst))
            return self._done()

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress:
        """``since`` is on the demo's clock (snapshots' ``taken_at``); one in its future is another clock's: ignored."""
        with self._taking():
            inst = self._instance(instance_id)
            evacuation = newest_migration(self._state, inst, ("evacuation",), since)
            return ServerProgress(
                inst.id,
                inst.status,
                inst.vm_state,
                inst.task_state,
                inst.host,
                self._fault(inst),
                evacuation.id if evacuation else None,
                evacuation.status if evacuation else None,
                evacuation.dest_compute if evacuation else None,
            )

    # -- moves (nova_moves has their course) -----------------------------------------------

    def live_migrate(self, instance_id: str, *, target_host: str | None, block_migration: str | bool) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            block = parse_block_migration(block_migration)
            check_live_migration(self._state, inst, target_host)
            phases = LivePhases.of(self._state.timing.live_migration_seconds)
            begin_live_migration(self._state, inst, target_host, phases, block=block is not False)
            return self._accepted()

    def migrate(self, instance_id: str, *, target_host: str | None) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            check_cold_migration(self._state, inst, target_host)
            begin_cold_migration(self._state, inst, target_host, self._state.timing.cold_migration_seconds)
            return self._accepted()

    def confirm_resize(self, instance_id: str) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            migration = resized_migration(self._state, inst, "confirmResize")
            begin_confirm(self._state, inst, migration, self._state.timing.cold_migration_seconds * DECISION_SHARE)
            return self._accepted()

    def revert_resize(self, instance_id: str) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            migration = resized_migration(self._state, inst, "revertResize")
            begin_revert(self._state, inst, migration, self._state.timing.cold_migration_seconds * DECISION_SHARE)
            return self._accepted()

    def abort_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        """Queued and preparing ones end at once (2.65), a running one once libvirt stopped its job."""
        with self._taking():
            inst = self._instance(instance_id)
            check_state(inst, "abort live migration", None, ("migrating",))
            m = live_migration(
                self._state, inst, migration_id, method="abort live migration", statuses=IN_FLIGHT, missing=404
            )
            if self._supports_control(inst):
                seconds = self._state.timing.live_migration_seconds * CONTROL_SHARE if m.status == "running" else 0.0
                chain(self._state, [(seconds, lambda: cancel_live(self._state, inst, m))])
                self._state.settle()
            return self._accepted()

    def force_complete_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        with self._taking():
            inst = self._instance(instance_id)
            check_state(inst, "force_complete", ("active",), ("migrating",))
            m = live_migration(
                self._state, inst, migration_id, method="force complete", statuses=("running",), missing=400
            )
            if self._supports_control(inst):
                seconds = self._state.timing.live_migration_seconds * CONTROL_SHARE
                m.copy_until = min(m.copy_until or 0.0, self._state.clock() + seconds)  # paused: the copy ends now
                chain(self._state, [(seconds, lambda: complete_live(self._state, inst, m))])
            return self._accepted()

    def migration_progress(self, instance_id: str, since: datetime | None = None) -> MigrationProgress:
        with self._taking():
            inst = self._instance(instance_id)
            m = newest_migration(self._state, inst, MOVE_TYPES, since)
            bytes_ = counters(m, self._state.clock()) if m is not None else None
            return MigrationProgress(
                inst.id,
                inst.status,
                inst.vm_state,
                inst.task_state,
                inst.host,
                self._fault(inst),
                *((m.id, m.migration_type, m.status, m.source_compute, m.dest_compute) if m else (None,) * 5),
                *(bytes_ or (None,) * 6),
            )

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _taking(self) -> Iterator[None]:
        """The lock and the progress due; Nova's refusals become BackendError with a request id."""
        with self._state.lock:
            self._state.settle()
            try:
                yield
            except Refused as refused:
                raise BackendError(
                    self._cloud, refused.message, status_code=refused.status, request_id=self._state.request_id()
                ) from None

    def _started(self, inst: SimInstance) -> None:
        if inst.task_state == "powering-on":
            inst.vm_state, inst.task_state = "active", None
            self._state.changed(self._cloud)

    def _supports_control(self, inst: SimInstance) -> bool:
        """The vmwareapi driver has no live migration abort or force-complete: Nova takes the call (it is cast
        to the compute) and nothing happens."""
        node = self._state.node_of(inst)
        return node is None or not node.is_vmware

    @staticmethod
    def _fault(inst: SimInstance) -> str | None:
        return inst.fault if inst.status == "ERROR" else None  # Nova shows a fault only in ERROR

    def _node(self, host: str) -> SimNode:
        node = self._state.node(self._cloud, host)
        if node is None:
            raise Refused(404, f"Compute host {host} could not be found.")
        return node

    def _instance(self, instance_id: str) -> SimInstance:
        inst = self._state.instance(self._cloud, instance_id)
        if inst is None:
            raise Refused(404, f"Instance {instance_id} could not be found.")
        return inst

    def _accepted(self) -> WriteReceipt:
        return WriteReceipt(self._state.request_id())

    def _done(self) -> WriteReceipt:
        self._state.changed(self._cloud)
        return self._accepted()
