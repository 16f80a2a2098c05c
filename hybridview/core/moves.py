"""Plans for moving one workload: Nova live and cold migration and their follow-ups, vMotion.

Each plan asks ``migration_options`` whether the move exists now, so the dialog, the CLI and
the plan can never disagree; a move that does not is a refused plan, nothing is sent.
"""

from __future__ import annotations

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.identity import InstanceRef, VmRef
from hybridview.core.lookup import instance_by_ref, vm_by_ref
from hybridview.core.migration_options import MoveKind, MoveOption, instance_move_options
from hybridview.core.model import Instance, VirtualMachine
from hybridview.core.move_targets import (
    ACTIVE_TASK_STATES,
    MoveContext,
    MoveTarget,
    VCenterIndex,
)
from hybridview.core.nova_options import chosen_host_refusal
from hybridview.core.view import EstateView
from hybridview.core.vsphere_targets import datastore_targets, host_refusal, vsphere_refusal


def _refused(title: str, why: str) -> Plan:
    return Plan(title, (), refused=why)


def _option(view: EstateView, inst: Instance, kind: MoveKind) -> MoveOption:
    found = instance_move_options(view, inst).option(kind)
    return found if found is not None else MoveOption(kind, "nova", False, f"{inst.name} has no {kind.label} now")


def _target_refusal(view: EstateView, inst: Instance, option: MoveOption, target: str | None) -> str | None:
    """Why the chosen target (None: the scheduler) cannot be used for this move."""
    what = option.kind.label
    if target is None:
        return None if option.scheduler else f"{option.reason}: choose a target host"
    if target == inst.host:
        return f"{target} is the host {inst.name} is on already"
    chosen = next((t for t in option.targets if t.ident == target), None)
    if chosen is None:
        snap = next(s for s in view.estate.openstack if s.cloud == inst.cloud)
        if not any(n.host == target for n in snap.nodes):
            return f"compute host {target!r} is not in cloud {inst.cloud}"
        return f"{target} is not a host the {what} of {inst.name} can go to (another driver)"
    return None if chosen.usable else f"cannot {what} {inst.name} to {target}: {chosen.reason}"


def plan_live_migration(view: EstateView, instance: InstanceRef, target_host: str | None) -> Plan:
    """``os-migrateLive`` of one instance to ``target_host`` (None: the scheduler chooses), block migration auto.

    Refused (nothing sent) when the options say live migration is impossible now, or the target is
    unknown, down, disabled, the source itself, or not a valid target for the driver.
    Step: Verb.LIVE_MIGRATE, target instance id, parameters
    {instance_id, source_host, target_host (or None), block_migration: "auto"}.
    """
    _, inst = instance_by_ref(view, instance)
    title = f"Live-migrate {inst.name} ({inst.cloud})"
    option = _option(view, inst, MoveKind.LIVE_MIGRATE)
    if not option.available:
        return _refused(title, f"{inst.name} cannot live-migrate: {option.reason}")
    why = _target_refusal(view, inst, option, target_host)
    if why:
        return _refused(title, why)
    where = target_host or "a host the scheduler picks"
    step = Step(
        ActionKey(inst.cloud, Verb.LIVE_MIGRATE, inst.id),
        f"live-migrate {inst.name} from {inst.host} to {where} (block migration auto)",
        {"instance_id": inst.id, "source_host": inst.host, "target_host": target_host, "block_migration": "auto"},
        label=inst.name,
        consequence=option.reason,
    )
    return Plan(title, (step,))


def plan_cold_migration(
    view: EstateView, instance: InstanceRef, target_host: str | None, *, confirm: bool = False
) -> Plan:
    """``migrate``; a chosen host needs 2.56 (refused below). Step Verb.COLD_MIGRATE, parameters
    {instance_id, source_host, target_host, confirm}: with confirm the executor confirms at VERIFY_RESIZE."""
    _, inst = instance_by_ref(view, instance)
    title = f"Cold-migrate {inst.name} ({inst.cloud})"
    option = _option(view, inst, MoveKind.COLD_MIGRATE)
    if not option.available:
        return _refused(title, f"{inst.name} cannot cold-migrate: {option.reason}")
    context = MoveContext(view)
    cloud = context.cloud(inst.cloud)
    chosen = chosen_host_refusal(cloud) if cloud is not None and target_host is not None else None
    why = chosen or _target_refusal(view, inst, option, target_host)
    if why:
        return _refused(title, why)
    where = target_host or "a host the scheduler picks"
    after = "then confirm it" if confirm else "then it waits at VERIFY_RESIZE for confirm or revert"
    running = (inst.vm_state or "").lower() == "active"
    step = Step(
        ActionKey(inst.cloud, Verb.COLD_MIGRATE, inst.id),
        f"cold-migrate {inst.name} from {inst.host} to {where}, {after}",
        {"instance_id": inst.id, "source_host": inst.host, "target_host": target_host, "confirm": confirm},
        label=inst.name,
        consequence="the instance is powered off while it moves (downtime)" if running else "it stays stopped",
    )
    return Plan(title, (step,))


def plan_resize_decision(view: EstateView, instance: InstanceRef, *, confirm: bool) -> Plan:
    """Confirm or revert a cold migration waiting at VERIFY_RESIZE. Verb.CONFIRM_RESIZE / REVERT_RESIZE,
    parameters {instance_id}."""
    _, inst = instance_by_ref(view, instance)
    kind, verb = (
        (MoveKind.CONFIRM_RESIZE, Verb.CONFIRM_RESIZE) if confirm else (MoveKind.REVERT_RESIZE, Verb.REVERT_RESIZE)
    )
    title = f"{'Confirm' if confirm else 'Revert'} the migration of {inst.name} ({inst.cloud})"
    option = instance_move_options(view, inst).option(kind)
    if option is None:
        return _refused(title, f"{inst.name} is not waiting at VERIFY_RESIZE (status {inst.status})")
    if not option.available:
        return _refused(title, f"cannot {kind.label} {inst.name}: {option.reason}")
    step = Step(
        ActionKey(inst.cloud, verb, inst.id),
        f"{kind.label} {inst.name}: {option.reason}",
        {"instance_id": inst.id},
        label=inst.name,
        consequence=None if confirm else "the instance goes back to its source host",
    )
    return Plan(title, (step,))


def plan_live_migration_control(view: EstateView, instance: InstanceRef, *, abort: bool) -> Plan:
    """Abort (True) or force-complete (False) the instance's running live migration, where the driver
    supports it (libvirt; not vmwareapi) and the microversion allows (force-complete 2.22, abort 2.24,
    abort of a queued one 2.65). Parameters {instance_id, migration_id}."""
    _, inst = instance_by_ref(view, instance)
    kind, verb = (
        (MoveKind.ABORT, Verb.ABORT_LIVE_MIGRATION) if abort else (MoveKind.FORCE_COMPLETE, Verb.FORCE_COMPLETE)
    )
    title = f"{'Abort' if abort else 'Force to complete'} the live migration of {inst.name} ({inst.cloud})"
    cloud = MoveContext(view).cloud(inst.cloud)
    live = cloud.running_migration(inst.id, "live-migration") if cloud else None
    option = instance_move_options(view, inst).option(kind)
    if live is None or option is None:
        return _refused(title, f"{inst.name} has no live migration in progress")
    if not option.available:
        return _refused(title, f"cannot {kind.label} for {inst.name}: {option.reason}")
    step = Step(
        ActionKey(inst.cloud, verb, inst.id),
        f"{kind.label} of {inst.name} (migration {live.id}, {live.source_compute} to {live.dest_compute})",
        {"instance_id": inst.id, "migration_id": live.id},
        label=inst.name,
        consequence=None if abort else option.reason,
    )
    return Plan(title, (step,))


def plan_relocation(view: EstateView, vm: VmRef, *, host_moref: str | None, datastore_moref: str | None) -> Plan:
    """vMotion (host), Storage vMotion (datastore) or both, one RelocateVM_Task. Refused when the VM's host
    is not responding, the target is not a connected host of the same cluster outside maintenance, or
    the datastore is not mounted by the (target) host. Verb.RELOCATE_VM, target vm moref, parameters
    {vm_moref, name, host_moref, host_name, datastore_moref, datastore_name, source_host_moref}."""
    _, machine = vm_by_ref(view, vm)
    title = f"Move VM {machine.name} ({machine.vcenter})"
    index = MoveContext(view).vcenter(machine.vcenter)
    assert index is not None  # vm_by_ref found its vCenter
    if host_moref is None and datastore_moref is None:
        return _refused(title, "nothing to move: name a target host, a datastore or both")
    refusal = vsphere_refusal(index, machine)
    if refusal:
        return _refused(title, f"{machine.name} cannot be moved: {refusal}")
    source = index.hosts[machine.host_moref or ""]
    host = None
    if host_moref is not None:
        host, why = _target_host(index, machine, host_moref, moving_storage=datastore_moref is not None)
        if why:
            return _refused(title, why)
    datastore = None
    if datastore_moref is not None:
        datastore, why = _target_datastore(index, machine, datastore_moref, host.ident if host else source.moref)
        if why:
            return _refused(title, why)
    return Plan(
        title, (_relocate_step(index, machine, host, datastore),), notes=_relocation_notes(view, index, machine)
    )


def _target_host(
    index: VCenterIndex, vm: VirtualMachine, moref: str, *, moving_storage: bool
) -> tuple[MoveTarget | None, str | None]:
    source = index.hosts[vm.host_moref or ""]
    host = index.hosts.get(moref) or next((h for h in index.snap.hosts if h.name == moref), None)
    if host is None:
        return None, f"no ESXi host {moref!r} in vCenter {index.snap.vcenter}"
    if host.moref == source.moref:
        return None, f"{vm.name} is on {host.name} already"
    if source.cluster_moref is None or host.cluster_moref != source.cluster_moref:
        return None, f"{host.name} is not in the cluster of {source.name}: vMotion here stays inside one cluster"
    why = host_refusal(index, host, vm, moving_storage=moving_storage)
    if why:
        return None, f"cannot vMotion {vm.name} to {host.name}: {why}"
    return MoveTarget(host.name, host.moref, "", True), None


def _target_datastore(
    index: VCenterIndex, vm: VirtualMachine, moref: str, host_moref: str
) -> tuple[MoveTarget | None, str | None]:
    ds = index.datastores.get(moref) or next((d for d in index.snap.datastores if d.name == moref), None)
    if ds is None:
        return None, f"no datastore {moref!r} in vCenter {index.snap.vcenter}"
    _, targets = datastore_targets(index, vm, host_moref)
    chosen = next((t for t in targets if t.ident == ds.moref), None)
    host = index.hosts[host_moref].name
    if chosen is None:
        if vm.datastores == (ds.moref,):
            return None, f"{vm.name}'s disks are on {ds.name} already"
        return None, f"datastore {ds.name} is not mounted by {host}"
    return (chosen, None) if chosen.usable else (None, f"cannot move {vm.name}'s disks to {ds.name}: {chosen.reason}")


def relocate_parameters(vm: VirtualMachine, host: MoveTarget | None, datastore: MoveTarget | None) -> dict[str, object]:
    return {
        "vm_moref": vm.moref,
        "name": vm.name,
        "host_moref": host.ident if host else None,
        "host_name": host.name if host else None,
        "datastore_moref": datastore.ident if datastore else None,
        "datastore_name": datastore.name if datastore else None,
        "source_host_moref": vm.host_moref,
    }


def _relocate_step(
    index: VCenterIndex, vm: VirtualMachine, host: MoveTarget | None, datastore: MoveTarget | None
) -> Step:
    source = index.hosts[vm.host_moref or ""].name
    parts = []
    if host is not None:
        parts.append(f"vMotion {vm.name} from {source} to {host.name}")
    if datastore is not None:
        parts.append(f"Storage vMotion {vm.name}'s disks to {datastore.name}")
    consequence = (
        f"copies its disks to {datastore.name}: takes time and storage bandwidth" if datastore else None
    ) or ("live: the VM keeps running" if vm.power_state == "poweredOn" else None)
    return Step(
        ActionKey(index.snap.vcenter, Verb.RELOCATE_VM, vm.moref),
        ", and ".join(parts),
        relocate_parameters(vm, host, datastore),
        label=vm.name,
        consequence=consequence,
    )


def _relocation_notes(view: EstateView, index: VCenterIndex, vm: VirtualMachine) -> tuple[str, ...]:
    notes = []
    inst = view.health.correlation.instance_by_vm.get(vm.ref)
    if inst is not None:
        notes.append(f"It backs Nova instance {inst.name} ({inst.id}): Nova sees the cluster, nothing changes for it.")
    cluster = index.cluster_of(index.hosts[vm.host_moref or ""])
    if cluster is not None and cluster.drs_enabled and cluster.drs_behavior == "fullyAutomated":
        notes.append(f"DRS on cluster {cluster.name} is fully automated: it may move the VM again.")
    return tuple(notes)


def plan_task_cancel(view: EstateView, vcenter: str, task_key: str) -> Plan:
    """CancelTask of a running vCenter task that says it is cancelable. Verb.CANCEL_TASK, target task key,
    parameters {task_key, description}."""
    title = f"Cancel vCenter task {task_key} ({vcenter})"
    vc = next((v for v in view.estate.vcenters if v.vcenter == vcenter), None)
    if vc is None:
        return _refused(title, f"no vCenter named {vcenter!r} is being read")
    task = next((t for t in vc.tasks if t.key == task_key), None)
    if task is None or task.state not in ACTIVE_TASK_STATES:
        return _refused(title, f"no queued or running task {task_key!r} in vCenter {vcenter}")
    description = f"{task.description_id} {task.entity_name or task.entity_moref or ''}".strip()
    if not task.cancelable:
        return _refused(title, f"task {task_key} ({description}) says it cannot be cancelled")
    step = Step(
        ActionKey(vcenter, Verb.CANCEL_TASK, task.key),
        f"cancel {description} (task {task.key}, {task.state})",
        {"task_key": task.key, "description": description},
        label=task.entity_name or task.key,
    )
    return Plan(title, (step,))
