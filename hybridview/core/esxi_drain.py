"""Drain an ESXi host through vSphere: move its VMs off where DRS will not, then enter maintenance mode.

Placement, where DRS is not fully automated: each VM, largest memory first, goes to the least-loaded
usable host of its cluster (memory, then CPU, counting the memory this plan already sends there) that
has room for it as the snapshot shows. A VM that fits nowhere is a blocked step, and then entering
maintenance mode is blocked too, since vCenter would wait for that VM until the timeout. The VMs that can
move stay sendable, so the operator may free the host partly and move the rest by hand.
"""

from __future__ import annotations

from collections import defaultdict

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.lookup import find_esxi_host
from hybridview.core.model import Cluster, EsxiHost, VirtualMachine
from hybridview.core.move_targets import (
    MoveContext,
    MoveTarget,
    VCenterIndex,
)
from hybridview.core.moves import relocate_parameters
from hybridview.core.view import EstateView
from hybridview.core.vsphere_targets import esxi_free, host_refusal, load, vsphere_refusal


def plan_esxi_drain(
    view: EstateView, vcenter: str, host_text: str, *, undo: bool, move_powered_off: bool, timeout_seconds: int
) -> Plan:
    title = f"{'Exit maintenance mode on' if undo else 'Drain'} {host_text} ({vcenter})"
    try:
        _, host = find_esxi_host(view, vcenter, host_text)
    except LookupError as exc:
        return Plan(title, (), refused=str(exc))
    index = MoveContext(view).vcenter(vcenter)
    assert index is not None  # find_esxi_host found the vCenter
    title = f"{'Exit maintenance mode on' if undo else 'Drain'} {host.name} ({vcenter})"
    if undo:
        return _exit(title, index, host, timeout_seconds)
    if host.in_maintenance:
        return Plan(title, (), notes=(f"{host.name} is in maintenance mode already: nothing to do.",))
    if not host.responding:
        return Plan(title, (), refused=f"{host.name} is {host.connection_state}: vCenter cannot put it in maintenance")
    cluster = index.cluster_of(host)
    vms = sorted(index.vms_by_host.get(host.moref, []), key=lambda v: (-(v.memory_mb or 0), v.name))
    movers = [v for v in vms if v.power_state == "poweredOn" or move_powered_off]
    staying = len(vms) - len(movers)
    drs = cluster is not None and cluster.drs_enabled and cluster.drs_behavior == "fullyAutomated"
    if drs:
        steps: list[Step] = []
        notes = [_drs_note(cluster, movers)]
    else:
        steps, notes = _placed_moves(index, host, cluster, movers)
    blocked = [s for s in steps if s.blocked]
    enter_why = (
        f"{len(blocked)} VM(s) cannot be moved off (see above): entering maintenance would wait for them until the "
        f"timeout; move or power them off first"
        if blocked
        else None
    )
    if drs and enter_why is None and movers and not _any_room(index, host, cluster):
        enter_why = f"DRS has no other usable host in cluster {cluster.name if cluster else '?'} for its VMs"
    steps.append(_enter_step(index, host, timeout_seconds, move_powered_off, enter_why))
    notes += _common_notes(view, index, host, vms, staying, timeout_seconds)
    return Plan(title, tuple(steps), notes=tuple(notes))


def _exit(title: str, index: VCenterIndex, host: EsxiHost, timeout_seconds: int) -> Plan:
    if not host.in_maintenance:
        return Plan(title, (), notes=(f"{host.name} is not in maintenance mode: nothing to undo.",))
    step = Step(
        ActionKey(index.snap.vcenter, Verb.EXIT_MAINTENANCE, host.moref),
        f"exit maintenance mode on {host.name}",
        {"host_moref": host.moref, "host_name": host.name, "timeout_seconds": timeout_seconds},
        label=host.name,
    )
    return Plan(title, (step,), notes=("VMs come back only as DRS or the operator moves them.",))


def _drs_note(cluster: Cluster | None, movers: list[VirtualMachine]) -> str:
    name = cluster.name if cluster else "?"
    return f"DRS on cluster {name} is fully automated: it moves the {len(movers)} VM(s) as the host enters."


def _any_room(index: VCenterIndex, host: EsxiHost, cluster: Cluster | None) -> bool:
    others = index.hosts_by_cluster.get(cluster.moref, []) if cluster else []
    return any(h.moref != host.moref and h.responding and not h.in_maintenance for h in others)


def _placed_moves(
    index: VCenterIndex, host: EsxiHost, cluster: Cluster | None, movers: list[VirtualMachine]
) -> tuple[list[Step], list[str]]:
    others = [h for h in index.hosts_by_cluster.get(cluster.moref, []) if h.moref != host.moref] if cluster else []
    planned: dict[str, int] = defaultdict(int)
    steps = []
    for vm in movers:
        target, why = _place(index, vm, others, planned)
        params = relocate_parameters(vm, target, None)
        key = ActionKey(index.snap.vcenter, Verb.RELOCATE_VM, vm.moref)
        if target is None:
            steps.append(Step(key, f"vMotion {vm.name} off {host.name}", params, label=vm.name, blocked_reason=why))
            continue
        planned[target.ident] += vm.memory_mb or 0
        steps.append(
            Step(
                key,
                f"vMotion {vm.name} from {host.name} to {target.name} (least loaded; {target.free} before it)",
                params,
                label=vm.name,
                consequence="live: the VM keeps running" if vm.power_state == "poweredOn" else None,
            )
        )
    behavior = (cluster.drs_behavior or "off") if cluster and cluster.drs_enabled else "off"
    where = f"DRS on cluster {cluster.name} is {behavior}" if cluster else f"{host.name} is a standalone host"
    notes = [f"{where}: hybridview moves the VMs itself, each to the least-loaded host with room, as shown."]
    return steps, notes


def _place(
    index: VCenterIndex, vm: VirtualMachine, others: list[EsxiHost], planned: dict[str, int]
) -> tuple[MoveTarget | None, str | None]:
    refusal = vsphere_refusal(index, vm)
    if refusal:
        return None, refusal
    if not others:
        return None, "no other host in its cluster to move it to"
    fits = []
    reasons = []
    for h in others:
        why = host_refusal(index, h, vm, moving_storage=False, planned_mb=planned[h.moref])
        if why is None:
            fits.append(h)
        else:
            reasons.append(why)
    if not fits:
        return None, "no host of the cluster can take it: " + "; ".join(reasons)
    best = min(fits, key=lambda h: (*load(h, planned[h.moref]), h.name))
    return MoveTarget(best.name, best.moref, esxi_free(best, planned[best.moref]), True), None


def _enter_step(index: VCenterIndex, host: EsxiHost, timeout: int, powered_off: bool, blocked: str | None) -> Step:
    return Step(
        ActionKey(index.snap.vcenter, Verb.ENTER_MAINTENANCE, host.moref),
        f"enter maintenance mode on {host.name} (timeout {timeout} s)",
        {
            "host_moref": host.moref,
            "host_name": host.name,
            "timeout_seconds": timeout,
            "evacuate_powered_off": powered_off,
        },
        label=host.name,
        consequence="no VM runs on it until it exits maintenance mode",
        blocked_reason=blocked,
    )


def _common_notes(
    view: EstateView, index: VCenterIndex, host: EsxiHost, vms: list[VirtualMachine], staying: int, timeout: int
) -> list[str]:
    notes = []
    nova = sum(1 for vm in vms if vm.ref in view.health.correlation.instance_by_vm)
    if nova:
        notes.append(f"{nova} VM(s) back Nova instances: Nova sees the cluster, not the host, and notices nothing.")
    if staying:
        notes.append(f"{staying} powered-off VM(s) stay registered on {host.name} (move powered-off VMs to move them).")
    notes.append(f"vCenter waits up to {timeout} s for {host.name} to enter maintenance mode; undo exits it.")
    return notes
