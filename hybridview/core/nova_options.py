"""The Nova moves of one instance right now: from its driver, the cloud's write microversion, its state, its
source host and its storage. Every unavailable one says why.
"""

from __future__ import annotations

from hybridview.core.driver_facts import (
    ABORT_QUEUED_SINCE,
    ABORT_SINCE,
    BLOCK_MIGRATION_AUTO_SINCE,
    FORCE_COMPLETE_SINCE,
    MIGRATE_TO_HOST_SINCE,
    DriverFacts,
    Family,
    Operation,
    facts_for,
)
from hybridview.core.evacuation import (
    CONSEQUENCE,
    DATA_OUTCOME,
    EVACUABLE_VM_STATES,
    evacuation_targets,
    host_is_down,
    storage_of,
    version_at_least,
)
from hybridview.core.model import ComputeNode, Instance, Migration, Storage
from hybridview.core.move_kinds import MoveKind, MoveOption
from hybridview.core.move_targets import CloudIndex, MoveContext, MoveTarget, source_refusal

NOVA = "nova"
VERIFY_RESIZE = "VERIFY_RESIZE"
LIVE_VM_STATES = frozenset({"active", "paused"})  # compute API live_migrate's check_instance_state
COLD_VM_STATES = frozenset({"active", "stopped"})  # compute API resize's check_instance_state
ABORTABLE_QUEUED = frozenset({"queued", "preparing"})
STORAGE_NOTE = {
    Storage.VOLUME: "volume-backed: only its memory is copied",
    Storage.SHARED: "shared instance storage: only its memory is copied",
    Storage.LOCAL: "local disks: block migration copies them",
    Storage.UNKNOWN: "block migration auto: Nova copies the disks unless they are shared",
}


def below(microversion: str | None, floor: str) -> bool:
    """Known to be below ``floor``; an unknown microversion is the backend's to negotiate and check."""
    return microversion is not None and not version_at_least(microversion, floor)


def nova_options(ctx: MoveContext, cloud: CloudIndex | None, inst: Instance) -> tuple[MoveOption, ...]:
    node = cloud.node_of(inst) if cloud else None
    facts = facts_for(node) if node else None
    if cloud is None or node is None or facts is None:
        why = (
            "the instance is not on a known compute node"
            if node is None
            else f"hypervisor type {node.hypervisor_type}: hybridview knows no driver facts for it"
        )
        return tuple(MoveOption(k, NOVA, False, why) for k in (MoveKind.LIVE_MIGRATE, MoveKind.COLD_MIGRATE))
    source = source_refusal(inst.host, cloud.service_by_host.get(inst.host or ""))
    busy = _busy(cloud, inst)
    options = [
        _live(ctx, cloud, facts, inst, node, source or busy),
        _cold(ctx, cloud, facts, inst, node, source or busy),
        _evacuate(ctx, cloud, facts, inst),
    ]
    if inst.status.upper() == VERIFY_RESIZE:
        options += _resize_decisions(cloud, inst, source)
    live = cloud.running_migration(inst.id, "live-migration")
    if live is not None:
        options += _live_migration_controls(cloud, facts, live)
    return tuple(options)


def _busy(cloud: CloudIndex, inst: Instance) -> str | None:
    running = cloud.running_migration(inst.id)
    if running is not None:
        return f"its {running.migration_type} {running.id} is {running.status}"
    if inst.status.upper() == VERIFY_RESIZE:
        return "it waits at VERIFY_RESIZE: confirm or revert its migration first"
    if inst.task_state:
        return f"busy: task state {inst.task_state}; Nova moves only an instance with no task running"
    return None


def _state_refusal(inst: Instance, allowed: frozenset[str], what: str) -> str | None:
    state = (inst.vm_state or "").lower()
    if state in allowed:
        return None
    if what == "live-migrate" and (state == "stopped" or inst.status.upper() == "SHUTOFF"):
        return f"{inst.status}: a stopped instance has no running guest to move live; cold-migrate it instead"
    names = " or ".join(sorted(allowed))
    return f"vm_state {inst.vm_state} ({inst.status}): Nova can {what} only {names} instances"


def _scheduler_safe(ctx: MoveContext, cloud: CloudIndex, facts: DriverFacts, node: ComputeNode) -> bool:
    """For vmwareapi the scheduler knows nothing of vCenters: it is safe only when every node shares one."""
    if facts.family is not Family.VMWAREAPI:
        return True
    mine = ctx.vcenter_uuid(node)
    return all(ctx.vcenter_uuid(n) == mine for n in cloud.snap.nodes if n.is_vmware)


def _no_target(targets: tuple[MoveTarget, ...], facts: DriverFacts, inst: Instance) -> str:
    if not targets:
        return f"no other {facts.family} compute host than {inst.host} in cloud {inst.cloud}"
    return "no compute host can take it: " + "; ".join(str(t.reason) for t in targets[:3])


def _live(
    ctx: MoveContext, cloud: CloudIndex, facts: DriverFacts, inst: Instance, node: ComputeNode, blocked: str | None
) -> MoveOption:
    fact = facts.fact(Operation.LIVE_MIGRATE)
    why = (None if fact.supported else fact.reason) or blocked or _state_refusal(inst, LIVE_VM_STATES, "live-migrate")
    if why:
        return MoveOption(MoveKind.LIVE_MIGRATE, NOVA, False, why)
    targets = ctx.nova_targets(cloud, inst, node, None)
    scheduler = _scheduler_safe(ctx, cloud, facts, node)
    if not any(t.usable for t in targets):
        return MoveOption(MoveKind.LIVE_MIGRATE, NOVA, False, _no_target(targets, facts, inst), targets=targets)
    if facts.family is Family.VMWAREAPI:
        reason = fact.reason + ("" if scheduler else "; choose the target: the scheduler may pick another vCenter")
    else:
        storage = storage_of(inst, inst.host or "", ctx.view.estate.storage_rules.get(inst.cloud, ()))
        reason = f"to another libvirt host; {STORAGE_NOTE[storage]}"
        if below(cloud.snap.write_microversion, BLOCK_MIGRATION_AUTO_SINCE):
            reason += (
                f"; at microversion {cloud.snap.write_microversion} block migration cannot be auto and is sent "
                "as false: an instance on local disks fails Nova's pre-check"
            )
    return MoveOption(MoveKind.LIVE_MIGRATE, NOVA, True, reason, targets=targets, scheduler=scheduler)


def chosen_host_refusal(cloud: CloudIndex) -> str | None:
    mv = cloud.snap.write_microversion
    if below(mv, MIGRATE_TO_HOST_SINCE):
        return (
            f"a cold migration to a chosen host needs microversion {MIGRATE_TO_HOST_SINCE}; cloud {cloud.snap.cloud} "
            f"writes at {mv}: only the scheduler can choose"
        )
    return None


def _cold(
    ctx: MoveContext, cloud: CloudIndex, facts: DriverFacts, inst: Instance, node: ComputeNode, blocked: str | None
) -> MoveOption:
    fact = facts.fact(Operation.COLD_MIGRATE)
    why = (None if fact.supported else fact.reason) or blocked or _state_refusal(inst, COLD_VM_STATES, "cold-migrate")
    if why:
        return MoveOption(MoveKind.COLD_MIGRATE, NOVA, False, why)
    hosts = ctx.nova_targets(cloud, inst, node, None)
    if not any(t.usable for t in hosts):
        return MoveOption(MoveKind.COLD_MIGRATE, NOVA, False, _no_target(hosts, facts, inst), targets=hosts)
    chosen = chosen_host_refusal(cloud)
    targets = ctx.nova_targets(cloud, inst, node, chosen) if chosen else hosts
    scheduler = _scheduler_safe(ctx, cloud, facts, node)
    if chosen and not scheduler:
        return MoveOption(
            MoveKind.COLD_MIGRATE, NOVA, False, chosen + ", and it may pick another vCenter", targets=targets
        )
    stops = "stops it, moves it" if (inst.vm_state or "").lower() == "active" else "moves the stopped instance"
    reason = f"{stops}, then it waits at VERIFY_RESIZE for confirm or revert"
    return MoveOption(MoveKind.COLD_MIGRATE, NOVA, True, reason, targets=targets, scheduler=scheduler)


def _evacuate(ctx: MoveContext, cloud: CloudIndex, facts: DriverFacts, inst: Instance) -> MoveOption:
    fact = facts.fact(Operation.EVACUATE)
    if not fact.supported:
        return MoveOption(MoveKind.EVACUATE, NOVA, False, fact.reason)
    service = cloud.service_by_host.get(inst.host or "")
    storage = storage_of(inst, inst.host or "", ctx.view.estate.storage_rules.get(inst.cloud, ()))
    data = f"storage {storage}: {CONSEQUENCE[DATA_OUTCOME[storage]]}"
    if service is None or not host_is_down(service):
        return MoveOption(MoveKind.EVACUATE, NOVA, False, "only when its host has failed (nova-compute down)")
    if not service.forced_down:
        return MoveOption(
            MoveKind.EVACUATE,
            NOVA,
            False,
            f"fence the host and force-down its service first; {data}",
            "fence + force-down",
        )
    if inst.task_state:
        return MoveOption(MoveKind.EVACUATE, NOVA, False, f"busy: task state {inst.task_state}")
    if (inst.vm_state or "").lower() not in EVACUABLE_VM_STATES:
        return MoveOption(
            MoveKind.EVACUATE,
            NOVA,
            False,
            f"vm_state {inst.vm_state}: Nova evacuates only active, stopped or error instances",
        )
    targets = tuple(
        MoveTarget(t.host, t.host, t.capacity, True) for t in evacuation_targets(cloud.snap, inst.host or "")
    )
    return MoveOption(
        MoveKind.EVACUATE, NOVA, True, f"its host is forced down: {data}", targets=targets, scheduler=True
    )


def _resize_decisions(cloud: CloudIndex, inst: Instance, source: str | None) -> list[MoveOption]:
    moves = [m for m in cloud.migrations_by_instance.get(inst.id, []) if m.migration_type in ("migration", "resize")]
    origin = moves[-1].source_compute if moves else None
    back = f"back to {origin}" if origin else "back to its source host"
    return [
        MoveOption(
            MoveKind.CONFIRM_RESIZE,
            NOVA,
            source is None,
            source or f"keeps it on {inst.host}, frees {origin or 'the source'}",
        ),
        MoveOption(MoveKind.REVERT_RESIZE, NOVA, source is None, source or f"moves it {back}, as it was"),
    ]


def _live_migration_controls(cloud: CloudIndex, facts: DriverFacts, live: Migration) -> list[MoveOption]:
    mv = cloud.snap.write_microversion
    where = f"the instance stays on {live.source_compute or 'its source host'}"
    abort_fact = facts.fact(Operation.ABORT_LIVE_MIGRATION)
    if live.status in ABORTABLE_QUEUED:  # Nova drops a queued one itself, whatever the driver
        abort_why = (
            f"the live migration is {live.status}: aborting a queued one needs microversion {ABORT_QUEUED_SINCE}; "
            f"cloud {cloud.snap.cloud} writes at {mv}"
            if below(mv, ABORT_QUEUED_SINCE)
            else None
        )
    elif live.status != "running":
        abort_why = f"the live migration is {live.status}: Nova aborts only a queued, preparing or running one"
    elif not abort_fact.supported:
        abort_why = abort_fact.reason
    else:
        abort_why = _needs(mv, ABORT_SINCE, "aborting a live migration", cloud)
    force_fact = facts.fact(Operation.FORCE_COMPLETE)
    if not force_fact.supported:
        force_why: str | None = force_fact.reason
    elif live.status != "running":
        force_why = f"the live migration is {live.status}: Nova forces only a running one to complete"
    else:
        force_why = _needs(mv, FORCE_COMPLETE_SINCE, "forcing a live migration to complete", cloud)
    return [
        MoveOption(MoveKind.ABORT, NOVA, abort_why is None, abort_why or f"stops migration {live.id}; {where}"),
        MoveOption(
            MoveKind.FORCE_COMPLETE, NOVA, force_why is None, force_why or f"migration {live.id}: {force_fact.reason}"
        ),
    ]


def _needs(mv: str | None, since: str, what: str, cloud: CloudIndex) -> str | None:
    if below(mv, since):
        return f"{what} needs microversion {since}; cloud {cloud.snap.cloud} writes at {mv}"
    return None
