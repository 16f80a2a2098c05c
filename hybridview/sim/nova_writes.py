"""Nova's writes in the demo, with the checks and the messages of the real API.

An evacuation runs over the estate's clock as Nova's does: the API accepts it (migration
"accepted", server REBUILD), the scheduler picks a destination ("pre-migrating"; or
"error" with NoValidHost), and the rebuild there ends "done" with the server SHUTOFF on
it (microversion >= 2.95), or "failed" with the server in ERROR on its old host.
"""

from __future__ import annotations

from datetime import datetime

from hybridview.backends.base import BackendError, ServerProgress, WriteReceipt
from hybridview.sim.layout import FLAVORS, SimInstance, SimNode
from hybridview.sim.state import SimMigration, SimState

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
EVACUABLE_VM_STATES = ("active", "stopped", "error")
SCHEDULED_AT = 0.3  # the share of an evacuation's time the scheduler takes
REASON_MAX = 255


class SimNovaWrites:
    """The writes of one demo cloud; every method takes the estate's lock."""

    def __init__(self, state: SimState, cloud: str) -> None:
        self._state = state
        self._cloud = cloud

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            self._node(host).forced_down = forced_down
            return self._done()

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            node = self._node(host)
            if enabled and reason is not None:
                raise self._refused(400, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
            if reason is not None and len(reason) > REASON_MAX:
                raise self._refused(400, f"Invalid input for field/attribute disabled_reason. '{reason}' is too long")
            node.status = "enabled" if enabled else "disabled"
            node.disabled_reason = None if enabled else reason
            return self._done()

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        """``on_shared_storage`` is not in the body at the demo's microversion (2.100): Nova decides."""
        with self._state.lock:
            self._state.settle()
            inst = self._instance(instance_id)
            source = self._state.node_of(inst)
            if source is not None and source.state == "up":
                raise self._refused(400, f"Compute service of {inst.host} is still in use.")
            if source is not None and source.is_vmware:
                raise self._refused(
                    400,
                    f"Cannot evacuate instance {inst.id}: its compute node {inst.node} uses the vmwareapi driver, "
                    "which does not support evacuate (the instance would end in ERROR). vSphere HA restarts the "
                    "VMs of a failed ESXi host; a dead nova-compute proxy only needs a restart.",
                )
            self._check_state(inst, "evacuate", EVACUABLE_VM_STATES)
            if target_host is not None:
                if target_host == inst.host:
                    raise self._refused(400, "The target host can't be the same one.")
                if self._state.node(self._cloud, target_host) is None:
                    raise self._refused(404, f"Compute host {target_host} could not be found.")
            seconds = self._state.timing.evacuation_seconds
            begin_evacuation(self._state, inst, target_host, seconds * SCHEDULED_AT, seconds)
            return WriteReceipt(self._state.request_id())

    def start_server(self, instance_id: str) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            inst = self._instance(instance_id)
            self._check_state(inst, "start", ("stopped",))
            node = self._state.node_of(inst)
            if node is None or node.state != "up":
                raise self._refused(409, "Service is unavailable at this time.")
            inst.task_state = "powering-on"
            self._state.timeline.after(self._state.timing.start_seconds, lambda: self._started(inst))
            return self._done()

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress:
        """``since`` is on the demo's clock (snapshots' ``taken_at``); one in its future is another clock's: ignored."""
        with self._state.lock:
            self._state.settle()
            inst = self._instance(instance_id)
            after = since if since is not None and since <= self._state.now() else None
            evacuation = next(
                (
                    m
                    for m in reversed(self._state.migrations[self._cloud])
                    if m.instance_id == inst.id
                    and m.migration_type == "evacuation"
                    and (after is None or m.created_at >= after)
                ),
                None,
            )
            return ServerProgress(
                inst.id,
                inst.status,
                inst.vm_state,
                inst.task_state,
                inst.host,
                inst.fault if inst.status == "ERROR" else None,  # Nova shows a fault only in ERROR
                evacuation.id if evacuation else None,
                evacuation.status if evacuation else None,
                evacuation.dest_compute if evacuation else None,
            )

    # -- helpers ---------------------------------------------------------------------------

    def _started(self, inst: SimInstance) -> None:
        if inst.task_state == "powering-on":
            inst.vm_state, inst.task_state = "active", None
            self._state.changed(self._cloud)

    def _check_state(self, inst: SimInstance, action: str, vm_states: tuple[str, ...]) -> None:
        """Nova's check_instance_state: no task running, and one of the vm_states the action accepts."""
        if inst.task_state is not None:
            raise self._refused(
                409, f"Cannot '{action}' instance {inst.id} while it is in task_state {inst.task_state}"
            )
        if inst.vm_state not in vm_states:
            raise self._refused(409, f"Cannot '{action}' instance {inst.id} while it is in vm_state {inst.vm_state}")

    def _node(self, host: str) -> SimNode:
        node = self._state.node(self._cloud, host)
        if node is None:
            raise self._refused(404, f"Compute host {host} could not be found.")
        return node

    def _instance(self, instance_id: str) -> SimInstance:
        inst = self._state.instance(self._cloud, instance_id)
        if inst is None:
            raise self._refused(404, f"Instance {instance_id} could not be found.")
        return inst

    def _done(self) -> WriteReceipt:
        self._state.changed(self._cloud)
        return WriteReceipt(self._state.request_id())

    def _refused(self, status: int, message: str) -> BackendError:
        return BackendError(self._cloud, message, status_code=status, request_id=self._state.request_id())


# -- an evacuation's course (also how the scenarios start theirs) ---------------------------


def begin_evacuation(
    state: SimState, inst: SimInstance, target: str | None, schedule_in: float, done_in: float
) -> SimMigration:
    """Accept an evacuation: the scheduler acts after ``schedule_in`` seconds and it ends after ``done_in``."""
    now = state.now()
    migration = SimMigration(
        inst.cloud, str(state.serial()), inst.id, "evacuation", "accepted", inst.host, inst.node, target, None, now, now
    )
    state.migrations[inst.cloud].append(migration)
    inst.task_state = "rebuilding"
    state.changed(inst.cloud)
    state.timeline.after(schedule_in, lambda: _schedule(state, inst, migration, target, done_in - schedule_in))
    return migration


def destination(state: SimState, inst: SimInstance, target: str | None) -> SimNode | None:
    """The scheduler's pick: the given host if it passes the filters, else the one with most free memory."""
    source = state.node_of(inst)
    memory = FLAVORS[inst.flavor][1]
    fits = [
        n
        for n in state.nodes[inst.cloud]
        if n.state == "up"
        and n.status == "enabled"
        and not n.is_vmware
        and n.service_host != inst.host
        and (source is None or n.hypervisor_type == source.hypervisor_type)
        and n.memory_mb - n.memory_mb_used >= memory
        and (target is None or n.service_host == target)
    ]
    return min(fits, key=lambda n: (n.memory_mb_used - n.memory_mb, n.service_host), default=None)


def _schedule(state: SimState, inst: SimInstance, migration: SimMigration, target: str | None, left: float) -> None:
    dest = destination(state, inst, target)
    if dest is None:
        _fail(state, inst, migration, "error", NO_VALID_HOST)
        return
    migration.status, migration.dest_compute, migration.dest_node = "pre-migrating", dest.service_host, dest.hostname
    migration.updated_at = state.now()
    _claim(dest, inst, 1)
    state.changed(inst.cloud)
    state.timeline.after(left, lambda: _finish(state, inst, migration, dest))


def _finish(state: SimState, inst: SimInstance, migration: SimMigration, dest: SimNode) -> None:
    fault = state.failing.get(inst.id)
    if fault is not None:  # the rebuild failed on the destination: Nova drops its claim, the host stays
        _claim(dest, inst, -1)
        _fail(state, inst, migration, "failed", fault)
        return
    source = state.node_of(inst)
    if source is not None:
        _claim(source, inst, -1)
    inst.host, inst.node = dest.service_host, dest.hostname
    inst.vm_state, inst.task_state, inst.fault = "stopped", None, None  # arrives stopped from 2.95
    migration.status, migration.updated_at = "done", state.now()
    state.changed(inst.cloud)


def _fail(state: SimState, inst: SimInstance, migration: SimMigration, status: str, fault: str) -> None:
    inst.vm_state, inst.task_state, inst.fault = "error", None, fault
    migration.status, migration.updated_at = status, state.now()
    state.changed(inst.cloud)


def _claim(node: SimNode, inst: SimInstance, sign: int) -> None:
    vcpus, memory = FLAVORS[inst.flavor]
    node.vcpus_used += sign * vcpus
    node.memory_mb_used += sign * memory
