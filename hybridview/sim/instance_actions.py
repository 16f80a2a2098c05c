"""The demo's instance actions, as Nova records one per evacuation, live migration and cold migration.

Derived from the demo's migration records, so they always agree with them; a failed one carries
its events (as the real read asks for only those), the failing step with the instance's fault.
"""

from __future__ import annotations

import uuid

from hybridview.core.model import InstanceAction, InstanceActionEvent
from hybridview.sim.state import SimMigration, SimState, nova_time

ACTIONS = {  # migration type -> (action, the compute step that does it)
    "evacuation": ("evacuate", "compute_rebuild_instance"),
    "live-migration": ("live-migration", "compute_live_migration"),
    "migration": ("migrate", "compute_resize_instance"),
    "resize": ("resize", "compute_resize_instance"),
}
FAILED = frozenset({"error", "failed"})
USER = "demo-operator"
_REQUESTS = uuid.UUID("5f0c3a52-1e4b-4b8e-9d4e-6d656d6f0001")  # names the demo's request ids


def instance_actions(state: SimState, cloud: str) -> tuple[InstanceAction, ...]:
    return tuple(_action(state, m) for m in state.migrations[cloud] if m.migration_type in ACTIONS)


def _action(state: SimState, m: SimMigration) -> InstanceAction:
    action, step = ACTIONS[m.migration_type]
    failed = m.status in FAILED
    events: tuple[InstanceActionEvent, ...] = ()
    if failed:
        inst = state.instance(m.cloud, m.instance_id)
        fault = inst.fault if inst is not None else None
        events = (
            InstanceActionEvent(step, nova_time(m.created_at), nova_time(m.updated_at), "Error", m.dest_compute, fault),
        )
    return InstanceAction(
        m.cloud,
        m.instance_id,
        f"req-{uuid.uuid5(_REQUESTS, f'{m.cloud}/{m.id}')}",
        action,
        nova_time(m.created_at),
        "Error" if failed else None,
        USER,
        nova_time(m.updated_at),
        events,
    )
