"""What the demo's Nova checks before it takes a write, and what its scheduler and placement share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hybridview.sim.layout import FLAVORS, SimInstance, SimNode
from hybridview.sim.state import SimMigration, SimState


class Refused(Exception):
    """Nova refused the call: its HTTP status and message (the writes add the request id)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_state(
    inst: SimInstance, action: str, vm_states: tuple[str, ...] | None, task_states: tuple[str | None, ...] = (None,)
) -> None:
    """Nova's check_instance_state: one of the vm_states, then one of the task_states, the action accepts."""
    if vm_states is not None and inst.vm_state not in vm_states:
        raise Refused(409, f"Cannot '{action}' instance {inst.id} while it is in vm_state {inst.vm_state}")
    if inst.task_state not in task_states:
        raise Refused(409, f"Cannot '{action}' instance {inst.id} while it is in task_state {inst.task_state}")


def fits(state: SimState, inst: SimInstance, node: SimNode) -> bool:
    """The scheduler's filters: an up, enabled compute of the instance's hypervisor type, not its own, with room."""
    source = state.node_of(inst)
    return (
        node.state == "up"
        and node.status == "enabled"
        and node.service_host != inst.host
        and (source is None or node.hypervisor_type == source.hypervisor_type)
        and node.memory_mb - node.memory_mb_used >= FLAVORS[inst.flavor][1]
    )


def most_free(nodes: Iterable[SimNode]) -> SimNode | None:
    """The scheduler's weigher: the most free memory wins, ties by host name."""
    return min(nodes, key=lambda n: (n.memory_mb_used - n.memory_mb, n.service_host), default=None)


def claim(node: SimNode, inst: SimInstance, sign: int) -> None:
    """Add (1) or drop (-1) the instance's flavor to the node's usage."""
    vcpus, memory = FLAVORS[inst.flavor]
    node.vcpus_used += sign * vcpus
    node.memory_mb_used += sign * memory


def newest_migration(
    state: SimState, inst: SimInstance, types: tuple[str, ...], since: datetime | None
) -> SimMigration | None:
    """The instance's newest record of these types created since ``since``, which is on the demo's clock
    (snapshots' ``taken_at``): one in its future is another clock's, and ignored."""
    after = since if since is not None and since <= state.now() else None
    return next(
        (
            m
            for m in reversed(state.migrations[inst.cloud])
            if m.instance_id == inst.id and m.migration_type in types and (after is None or m.created_at >= after)
        ),
        None,
    )


# -- moves ----------------------------------------------------------------------------------

LIVE_VM_STATES = ("active", "paused")
COLD_VM_STATES = ("active", "stopped")


def parse_block_migration(value: str | bool) -> bool | None:
    """The body's block_migration from 2.25: "auto" (None: Nova decides) or a boolean."""
    if isinstance(value, bool):
        return value
    if value == "auto":
        return None
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise Refused(
        400, f"Invalid input for field/attribute block_migration. Value: {value}. '{value}' is not one of ['auto', ...]"
    )


def check_live_migration(state: SimState, inst: SimInstance, target: str | None) -> None:
    """The API's and the conductor's checks, in their order. The demo answers those the conductor makes after
    Nova took the call (from 2.34) at once, with their message; only the scheduler's come later."""
    check_state(inst, "os-migrateLive", LIVE_VM_STATES)
    dest = state.node(inst.cloud, target) if target is not None else None
    if target is not None and dest is None:
        raise Refused(400, f"Compute host {target} could not be found.")
    source = state.node_of(inst)
    if source is None or source.state != "up":
        raise Refused(400, f"Compute service of {inst.host} is unavailable at this time.")
    if dest is None:
        return
    if dest.service_host == inst.host:
        raise Refused(400, f"Unable to migrate instance ({inst.id}) to current host ({inst.host}).")
    if dest.state != "up":
        raise Refused(400, f"Compute service of {dest.service_host} is unavailable at this time.")
    if dest.hypervisor_type != source.hypervisor_type:
        raise Refused(400, "The supplied hypervisor type of is invalid.")
    if source.cluster is not None and dest.cluster is not None and source.cluster[0] != dest.cluster[0]:
        vcenter, cluster = dest.cluster
        name = state.vcenter(vcenter).clusters.get(cluster, cluster)
        raise Refused(
            400, f"Migration pre-check error: Cannot find destination cluster {name} for live migration"
        )  # the vmwareapi driver looks the target's cluster up in its own vCenter


def check_cold_migration(state: SimState, inst: SimInstance, target: str | None) -> None:
    check_state(inst, "migrate", COLD_VM_STATES)
    source = state.node_of(inst)
    if source is None or source.state != "up":
        raise Refused(409, "Service is unavailable at this time.")
    if target is None:
        return
    if target == inst.host:
        raise Refused(400, "Cannot migrate to the host where the server exists.")
    if state.node(inst.cloud, target) is None:
        raise Refused(400, f"Compute host {target} could not be found.")


def resized_migration(state: SimState, inst: SimInstance, action: str) -> SimMigration:
    """The finished cold migration a confirmResize or revertResize acts on."""
    check_state(inst, action, ("resized",))
    m = next(
        (
            m
            for m in reversed(state.migrations[inst.cloud])
            if m.instance_id == inst.id and m.migration_type in ("migration", "resize") and m.status == "finished"
        ),
        None,
    )
    if m is None:
        raise Refused(400, "Instance has not been resized.")
    return m


def live_migration(
    state: SimState, inst: SimInstance, migration_id: str, *, method: str, statuses: tuple[str, ...], missing: int
) -> SimMigration:
    """The instance's migration ``migration_id`` if it is in one of ``statuses`` (abort: 404 when missing;
    force complete: 400)."""
    m = next((m for m in state.migrations[inst.cloud] if m.id == migration_id and m.instance_id == inst.id), None)
    if m is None:
        raise Refused(missing, f"Migration {migration_id} not found for instance {inst.id}")
    if m.status not in statuses:
        raise Refused(
            400,
            f"Migration {migration_id} state of instance {inst.id} is {m.status}. Cannot {method} while the "
            "migration is in this state.",
        )
    return m
