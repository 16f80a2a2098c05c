"""The Problems view's header line: per layer, what is up and down, what is at risk and what runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hybridview.core.headroom import Headroom, estate_headroom
from hybridview.core.health import Severity
from hybridview.core.identity import InstanceRef, Ref, VmRef
from hybridview.core.model import Estate, Instance
from hybridview.core.recovery import Recovery, recovery
from hybridview.core.view import EstateView


@dataclass(frozen=True, slots=True)
class Counts:
    """The header line: per layer, what is up and down and what runs."""

    nodes_up: int
    nodes_down: int
    hosts_ok: int  # ESXi hosts connected
    hosts_down: int  # not connected
    hosts_maintenance: int
    at_risk: int  # instances and VMs whose health is CRITICAL (a VM backing an instance counted once)
    evacuations_pending: int
    migrations_running: int  # Nova live and cold migrations
    vmotions_running: int  # vCenter relocate/migrate tasks queued or running
    stale_endpoints: int
    without_headroom: int = 0  # clusters, zones and aggregates whose hosts could not absorb one host's failure


MIGRATION_TYPES = frozenset({"live-migration", "migration"})
VMOTION_TASKS = frozenset({"VirtualMachine.relocate", "VirtualMachine.migrate"})


def problem_counts(view: EstateView, found: Recovery | None = None, rooms: Sequence[Headroom] | None = None) -> Counts:
    """``found`` and ``rooms``: the view's recovery and headroom, when the caller has them already."""
    estate, health = view.estate, view.health
    nodes = [n for s in estate.openstack for n in s.nodes]
    hosts = [h for v in estate.vcenters for h in v.hosts]
    critical = {ref for ref, item in health.items.items() if item.severity is Severity.CRITICAL}
    backing = health.correlation.instance_by_vm
    at_risk = sum(
        1
        for ref in critical
        if isinstance(ref, InstanceRef) or (isinstance(ref, VmRef) and _alone(ref, backing, critical))
    )
    pending = (found if found is not None else recovery(view)).evacuations
    return Counts(
        nodes_up=sum(1 for n in nodes if n.state == "up" and not n.forced_down),
        nodes_down=sum(1 for n in nodes if n.state != "up" or n.forced_down),
        hosts_ok=sum(1 for h in hosts if h.responding),
        hosts_down=sum(1 for h in hosts if not h.responding),
        hosts_maintenance=sum(1 for h in hosts if h.in_maintenance),
        at_risk=at_risk,
        evacuations_pending=len(pending),
        migrations_running=migrations_running(estate),
        vmotions_running=vmotions_running(estate),
        stale_endpoints=sum(1 for e in estate.endpoints if not e.ok),
        without_headroom=sum(1 for r in (estate_headroom(estate) if rooms is None else rooms) if r.enough is False),
    )


def migrations_running(estate: Estate) -> int:
    """Nova live and cold migrations in progress: activity, not problems."""
    return sum(
        1 for s in estate.openstack for m in s.migrations if m.in_progress and m.migration_type in MIGRATION_TYPES
    )


def vmotions_running(estate: Estate) -> int:
    """vCenter relocate/migrate tasks queued or running."""
    return sum(
        1
        for v in estate.vcenters
        for t in v.tasks
        if t.description_id in VMOTION_TASKS and t.state in ("queued", "running")
    )


def _alone(vm: VmRef, backing: Mapping[VmRef, Instance], critical: set[Ref]) -> bool:
    inst = backing.get(vm)
    return inst is None or inst.ref not in critical
