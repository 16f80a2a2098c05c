"""Nova's moves in the demo over the estate's clock: live migration, cold migration, confirm and revert.

A live migration's record goes queued -> preparing (the scheduler picked a host, which it claims)
-> running (memory, and with block migration the disk, copied: the byte counters grow) ->
completed, the server MIGRATING all along and ACTIVE on the target at the end. A cold migration
goes pre-migrating -> migrating -> post-migrating -> finished with the server RESIZE, then
VERIFY_RESIZE on the target until it is confirmed (the source's claim dropped) or reverted (back
on the source). The scheduler's checks that Nova makes after taking the call end the record in
"error" with the server as it was. A vmwareapi instance moves between clusters of its vCenter,
and its VM with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hybridview.sim.layout import FLAVOR_DISK_GB, FLAVORS, GIB, MIB, SimInstance, SimNode
from hybridview.sim.nova_checks import claim, fits, most_free
from hybridview.sim.state import SimMigration, SimState
from hybridview.sim.vsphere_tasks import place_in_cluster, vm_of_instance

IN_FLIGHT = ("queued", "preparing", "running")
SLOT_POLLS = 10  # how often, per live migration's time, a queued one looks for a free slot on its host


@dataclass(frozen=True, slots=True)
class LivePhases:
    """Seconds a live migration spends queued, preparing, and copying."""

    queued: float
    preparing: float
    copying: float

    @classmethod
    def of(cls, seconds: float) -> LivePhases:
        return cls(seconds * 0.1, seconds * 0.15, seconds * 0.75)


Step = tuple[float, Callable[[], bool]]


def chain(state: SimState, steps: Sequence[Step]) -> None:
    """Run each step that many seconds after the one before; a step that returns False ends the chain."""
    if not steps:
        return
    delay, step = steps[0]

    def run() -> None:
        if step():
            chain(state, steps[1:])

    state.timeline.after(delay, run)


def move_destination(state: SimState, inst: SimInstance, target: str | None) -> SimNode | None:
    """The scheduler's pick for a move: ``target`` if it passes the filters, else the node with most free memory;
    for a vmwareapi instance, another cluster of the same vCenter."""
    source = state.node_of(inst)
    return most_free(
        n
        for n in state.nodes[inst.cloud]
        if fits(state, inst, n)
        and (target is None or n.service_host == target)
        and (source is None or not source.is_vmware or _same_vcenter(source, n))
    )


# -- live migration -------------------------------------------------------------------------


def begin_live_migration(
    state: SimState, inst: SimInstance, target: str | None, phases: LivePhases, *, block: bool
) -> SimMigration:
    node = state.node_of(inst)
    vmware = node is not None and node.is_vmware
    m = state.new_migration(inst, "live-migration", "queued", target)
    m.memory_total = 0 if vmware else FLAVORS[inst.flavor][1] * MIB  # the vmwareapi driver reports no counters
    m.disk_total = FLAVOR_DISK_GB[inst.flavor] * GIB if block and not vmware and not inst.boot_from_volume else 0
    inst.task_state = "migrating"
    state.changed(inst.cloud)

    def prepare() -> bool:
        if m.status != "queued":
            return False
        if not _slot_free(state, m):
            chain(state, [(phases.copying / SLOT_POLLS, prepare), *rest])
            return False
        dest = move_destination(state, inst, target)
        if dest is None:  # NoValidHost, found by the conductor after the API took the call
            _end(state, inst, m, "error")
            return False
        m.status, m.dest_compute, m.dest_node = "preparing", dest.service_host, dest.hostname
        claim(dest, inst, 1)
        return _touch(state, m)

    def run() -> bool:
        if m.status != "preparing":
            return False
        m.status, m.copy_from = "running", state.timeline.moment()
        m.copy_until = m.copy_from + phases.copying
        return _touch(state, m)

    rest: list[Step] = [(phases.preparing, run), (phases.copying, lambda: complete_live(state, inst, m))]
    chain(state, [(phases.queued, prepare), *rest])
    return m


def complete_live(state: SimState, inst: SimInstance, m: SimMigration) -> bool:
    if m.status != "running":
        return False
    dest = state.node(inst.cloud, m.dest_compute or "")
    source = state.node_of(inst)
    if source is not None:
        claim(source, inst, -1)
    if dest is not None:
        _arrive(state, inst, dest)
    _end(state, inst, m, "completed")
    return True


def cancel_live(state: SimState, inst: SimInstance, m: SimMigration) -> bool:
    """An aborted live migration: cancelled, the server ACTIVE on its source, the target's claim dropped."""
    if m.status not in IN_FLIGHT:
        return False
    dest = state.node(inst.cloud, m.dest_compute or "") if m.status != "queued" else None
    if dest is not None:
        claim(dest, inst, -1)
    _end(state, inst, m, "cancelled")
    return True


def counters(m: SimMigration, now: float) -> tuple[int, int, int, int, int, int] | None:
    """(memory total, processed, remaining, disk total, processed, remaining) while a live migration copies:
    the disk first when it is block-migrated, then the memory."""
    if m.status != "running" or m.copy_from is None or m.copy_until is None or not m.memory_total:
        return None
    done = min(1.0, max(0.0, (now - m.copy_from) / max(m.copy_until - m.copy_from, 1e-9)))
    disk_share = 0.5 if m.disk_total else 0.0
    disk = min(1.0, done / disk_share) if disk_share else 1.0
    memory = max(0.0, (done - disk_share) / (1 - disk_share))
    mem_done, disk_done = int(m.memory_total * memory), int(m.disk_total * disk)
    return m.memory_total, mem_done, m.memory_total - mem_done, m.disk_total, disk_done, m.disk_total - disk_done


# -- cold migration -------------------------------------------------------------------------


def begin_cold_migration(state: SimState, inst: SimInstance, target: str | None, seconds: float) -> SimMigration:
    m = state.new_migration(inst, "migration", "pre-migrating", target)
    inst.task_state = "resize_prep"
    state.changed(inst.cloud)
    dest: list[SimNode] = []

    def schedule() -> bool:
        if m.status != "pre-migrating":
            return False
        node = move_destination(state, inst, target)
        if node is None:  # NoValidHost: the server stays as it was
            _end(state, inst, m, "error")
            return False
        dest.append(node)
        claim(node, inst, 1)
        m.status, m.dest_compute, m.dest_node = "migrating", node.service_host, node.hostname
        inst.task_state = "resize_migrating"
        return _touch(state, m)

    def migrated() -> bool:
        m.status, inst.task_state = "post-migrating", "resize_migrated"
        _arrive(state, inst, dest[0])
        return _touch(state, m)

    def finishing() -> bool:
        inst.task_state = "resize_finish"
        return _touch(state, m)

    def finished() -> bool:
        inst.resized_from, inst.vm_state = inst.vm_state, "resized"
        _end(state, inst, m, "finished")
        return True

    chain(
        state,
        [(seconds * 0.2, schedule), (seconds * 0.5, migrated), (seconds * 0.15, finishing), (seconds * 0.15, finished)],
    )
    return m


def begin_confirm(state: SimState, inst: SimInstance, m: SimMigration, seconds: float) -> None:
    """Confirm: the source's claim is dropped and the server is back in its old vm_state, on the target."""
    m.status = "confirming"
    _touch(state, m)

    def confirmed() -> bool:
        source = state.node(inst.cloud, m.source_compute)
        if source is not None:
            claim(source, inst, -1)
        inst.vm_state, inst.resized_from = inst.resized_from or "active", None
        _end(state, inst, m, "confirmed")
        return True

    chain(state, [(seconds, confirmed)])


def begin_revert(state: SimState, inst: SimInstance, m: SimMigration, seconds: float) -> None:
    """Revert: back on the source in its old vm_state, the target's claim dropped."""
    m.status, inst.task_state = "reverting", "resize_reverting"
    _touch(state, m)

    def reverted() -> bool:
        dest, source = state.node(inst.cloud, m.dest_compute or ""), state.node(inst.cloud, m.source_compute)
        if dest is not None:
            claim(dest, inst, -1)
        if source is not None:
            _arrive(state, inst, source)
        inst.vm_state, inst.resized_from = inst.resized_from or "active", None
        _end(state, inst, m, "reverted")
        return True

    chain(state, [(seconds, reverted)])


# -- helpers --------------------------------------------------------------------------------


def _same_vcenter(source: SimNode, node: SimNode) -> bool:
    return source.cluster is not None and node.cluster is not None and source.cluster[0] == node.cluster[0]


def _slot_free(state: SimState, m: SimMigration) -> bool:
    """Nova's max_concurrent_live_migrations on the source compute (0: no limit)."""
    limit = state.timing.live_migrations_per_host
    if limit <= 0:
        return True
    busy = sum(
        1
        for other in state.migrations[m.cloud]
        if other.migration_type == "live-migration"
        and other.source_compute == m.source_compute
        and other.status in ("preparing", "running")
    )
    return busy < limit


def _arrive(state: SimState, inst: SimInstance, node: SimNode) -> None:
    """The instance is on ``node`` now; a vmwareapi instance's VM moves to that node's cluster."""
    inst.host, inst.node = node.service_host, node.hostname
    if node.cluster is not None:
        vcenter, cluster = node.cluster
        vm = vm_of_instance(state, vcenter, inst.id)
        if vm is not None:
            place_in_cluster(state, vm, cluster)


def _end(state: SimState, inst: SimInstance, m: SimMigration, status: str) -> None:
    inst.task_state = None
    m.status = status
    _touch(state, m)


def _touch(state: SimState, m: SimMigration) -> bool:
    m.updated_at = state.now()
    state.changed(m.cloud)
    return True
