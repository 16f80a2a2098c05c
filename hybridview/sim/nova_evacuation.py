"""An evacuation's course in the demo, as Nova's runs (also how the scenarios start theirs).

The API accepts it (migration "accepted", server REBUILD), the scheduler picks a destination
("pre-migrating"; or "error" with NoValidHost), and the rebuild there ends "done" with the
server SHUTOFF on it (microversion >= 2.95), or "failed" with the server in ERROR on its old host.
"""

from __future__ import annotations

from hybridview.sim.layout import SimInstance, SimNode
from hybridview.sim.nova_checks import claim, fits, most_free
from hybridview.sim.state import SimMigration, SimState

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
SCHEDULED_AT = 0.3  # the share of an evacuation's time the scheduler takes


def begin_evacuation(
    state: SimState, inst: SimInstance, target: str | None, schedule_in: float, done_in: float
) -> SimMigration:
    """Accept an evacuation: the scheduler acts after ``schedule_in`` seconds and it ends after ``done_in``."""
    migration = state.new_migration(inst, "evacuation", "accepted", target)
    inst.task_state = "rebuilding"
    state.changed(inst.cloud)
    state.timeline.after(schedule_in, lambda: _schedule(state, inst, migration, target, done_in - schedule_in))
    return migration


def destination(state: SimState, inst: SimInstance, target: str | None) -> SimNode | None:
    """The scheduler's pick for an evacuation: the given host if it passes the filters, else the one with most
    free memory; never a vmwareapi node."""
    return most_free(
        n
        for n in state.nodes[inst.cloud]
        if not n.is_vmware and fits(state, inst, n) and (target is None or n.service_host == target)
    )


def _schedule(state: SimState, inst: SimInstance, migration: SimMigration, target: str | None, left: float) -> None:
    dest = destination(state, inst, target)
    if dest is None:
        _fail(state, inst, migration, "error", NO_VALID_HOST)
        return
    migration.status, migration.dest_compute, migration.dest_node = "pre-migrating", dest.service_host, dest.hostname
    migration.updated_at = state.now()
    claim(dest, inst, 1)
    state.changed(inst.cloud)
    state.timeline.after(left, lambda: _finish(state, inst, migration, dest))


def _finish(state: SimState, inst: SimInstance, migration: SimMigration, dest: SimNode) -> None:
    fault = state.failing.get(inst.id)
    if fault is not None:  # the rebuild failed on the destination: Nova drops its claim, the host stays
        claim(dest, inst, -1)
        _fail(state, inst, migration, "failed", fault)
        return
    source = state.node_of(inst)
    if source is not None:
        claim(source, inst, -1)
    inst.host, inst.node = dest.service_host, dest.hostname
    inst.vm_state, inst.task_state, inst.fault = "stopped", None, None  # arrives stopped from 2.95
    migration.status, migration.updated_at = "done", state.now()
    state.changed(inst.cloud)


def _fail(state: SimState, inst: SimInstance, migration: SimMigration, status: str, fault: str) -> None:
    inst.vm_state, inst.task_state, inst.fault = "error", None, fault
    migration.status, migration.updated_at = status, state.now()
    state.changed(inst.cloud)
