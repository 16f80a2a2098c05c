"""Which ways of moving an instance or a VM exist right now, which layer does each, and why the others cannot.

Nova's moves follow the driver's facts (``core.driver_facts``), the cloud's write microversion, the
instance's state, its source host and its storage (``core.nova_options``); vSphere's follow the VM's
host, its cluster and the datastores that host mounts. Targets come from ``core.move_targets``.
"""

from __future__ import annotations

from hybridview.core.driver_facts import MATRIX_KEY, DriverFacts, Family, Operation, facts_for_type
from hybridview.core.model import Instance, VirtualMachine
from hybridview.core.move_kinds import MoveKind, MoveOption, MoveOptions
from hybridview.core.move_targets import (
    MoveContext,
    MoveTarget,
    VCenterIndex,
)
from hybridview.core.nova_options import nova_options
from hybridview.core.view import EstateView
from hybridview.core.vsphere_targets import datastore_targets, host_targets, vsphere_refusal

__all__ = [
    "MoveContext",
    "MoveKind",
    "MoveOption",
    "MoveOptions",
    "MoveTarget",
    "instance_move_options",
    "options_by_hypervisor_type",
    "summary",
    "vm_move_options",
]

VSPHERE = "vsphere"


def instance_move_options(view: EstateView, instance: Instance, *, context: MoveContext | None = None) -> MoveOptions:
    """Nova's moves and, for a vmwareapi instance, its VM's vSphere moves (``context``: share indexes in a table)."""
    ctx = context or MoveContext(view)
    cloud = ctx.cloud(instance.cloud)
    options = list(nova_options(ctx, cloud, instance))
    node = cloud.node_of(instance) if cloud else None
    vm = None
    if node is not None and node.is_vmware:
        found = ctx.vm_of(instance, node)
        if found is None:
            why = f"no VM with instanceUuid {instance.id} in the vCenter of {ctx.cluster_label(node)}"
            options += [
                MoveOption(MoveKind.VMOTION, VSPHERE, False, why),
                MoveOption(MoveKind.STORAGE_VMOTION, VSPHERE, False, why),
            ]
        else:
            index, vm = found
            options += _vsphere_options(index, vm, nova=True)
    subject = f"instance {instance.name} ({instance.id}) on host {instance.host or 'none'}"
    return MoveOptions(subject, instance, vm, tuple(options))


def vm_move_options(view: EstateView, vm: VirtualMachine, *, context: MoveContext | None = None) -> MoveOptions:
    """vMotion and Storage vMotion; for the VM of a Nova instance, that instance's Nova moves too."""
    ctx = context or MoveContext(view)
    instance = view.health.correlation.instance_by_vm.get(vm.ref)
    if instance is not None:
        return instance_move_options(view, instance, context=ctx)
    index = ctx.vcenter(vm.vcenter)
    host = index.hosts.get(vm.host_moref or "") if index else None
    subject = f"VM {vm.name} ({vm.moref}) on {host.name if host else vm.host_moref or 'no host'}"
    if index is None:
        why = f"vCenter {vm.vcenter} is not being read"
        options = (
            MoveOption(MoveKind.VMOTION, VSPHERE, False, why),
            MoveOption(MoveKind.STORAGE_VMOTION, VSPHERE, False, why),
        )
        return MoveOptions(subject, None, vm, options)
    return MoveOptions(subject, None, vm, _vsphere_options(index, vm, nova=False))


def _vsphere_options(index: VCenterIndex, vm: VirtualMachine, *, nova: bool) -> tuple[MoveOption, MoveOption]:
    refusal = vsphere_refusal(index, vm)
    if refusal:
        return MoveOption(MoveKind.VMOTION, VSPHERE, False, refusal), MoveOption(
            MoveKind.STORAGE_VMOTION, VSPHERE, False, refusal
        )
    host = index.hosts[vm.host_moref or ""]
    cluster = index.cluster_of(host)
    why, hosts = host_targets(index, vm)
    if why is None:
        how = "live" if vm.power_state == "poweredOn" else f"a cold relocation ({vm.power_state})"
        notes = [f"{how}, to another host of cluster {cluster.name if cluster else '?'}"]
        if cluster is not None and cluster.drs_enabled and cluster.drs_behavior == "fullyAutomated":
            notes.append("DRS (fully automated) may move it again")
        if nova:
            notes.append("Nova sees the cluster, not the host: nothing changes for Nova")
        vmotion = MoveOption(MoveKind.VMOTION, VSPHERE, True, "; ".join(notes), targets=hosts)
    else:
        vmotion = MoveOption(MoveKind.VMOTION, VSPHERE, False, why, targets=hosts)
    ds_why, datastores = datastore_targets(index, vm, host.moref)
    storage = MoveOption(
        MoveKind.STORAGE_VMOTION,
        VSPHERE,
        ds_why is None,
        ds_why or f"copies its disks to another datastore {host.name} mounts; the VM keeps running",
        targets=datastores,
    )
    return vmotion, storage


def summary(options: MoveOptions) -> str:
    """One line for the instance table's "moves" column."""
    usable = [o.kind.label + (" (vSphere)" if o.actor == VSPHERE else "") for o in options.options if o.available]
    if usable:
        return ", ".join(usable)
    pending = next((o for o in options.options if o.after), None)
    return f"{pending.kind.label} after {pending.after}" if pending else "none now"


def tooltip(options: MoveOptions) -> str:
    return "\n".join(f"{'✔' if o.available else '✘'} {o.kind.label} [{o.actor}]: {o.reason}" for o in options.options)


DRIVER_KINDS = {
    Operation.LIVE_MIGRATE: MoveKind.LIVE_MIGRATE,
    Operation.COLD_MIGRATE: MoveKind.COLD_MIGRATE,
    Operation.EVACUATE: MoveKind.EVACUATE,
    Operation.ABORT_LIVE_MIGRATION: MoveKind.ABORT,
    Operation.FORCE_COMPLETE: MoveKind.FORCE_COMPLETE,
}


def _driver_options(facts: DriverFacts) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for operation, kind in DRIVER_KINDS.items():
        fact = facts.fact(operation)
        option = MoveOption(kind, "nova", fact.supported, fact.reason, scheduler=kind is MoveKind.LIVE_MIGRATE)
        rows.append(
            {**option.as_json(), "driver": facts.driver, "support_matrix": MATRIX_KEY[operation], "matrix": fact.matrix}
        )
    if facts.family is Family.VMWAREAPI:
        for kind, what in (
            (MoveKind.VMOTION, "between connected ESXi hosts of one cluster; Nova cannot start it"),
            (MoveKind.STORAGE_VMOTION, "to another datastore the host mounts; Nova cannot start it"),
        ):
            rows.append(
                {
                    **MoveOption(kind, VSPHERE, True, what).as_json(),
                    "driver": None,
                    "support_matrix": None,
                    "matrix": None,
                }
            )
    return rows


def options_by_hypervisor_type(view: EstateView) -> dict[str, list[dict[str, object]]]:
    """For ``status --json``: per hypervisor type in the estate, the moves its driver has (not per instance)."""
    found: dict[str, list[dict[str, object]]] = {}
    for hypervisor_type in sorted({n.hypervisor_type for s in view.estate.openstack for n in s.nodes}):
        facts = facts_for_type(hypervisor_type)
        if facts is None:
            why = f"hypervisor type {hypervisor_type}: hybridview knows no driver facts for it"
            found[hypervisor_type] = [MoveOption(k, "nova", False, why).as_json() for k in DRIVER_KINDS.values()]
        else:
            found[hypervisor_type] = _driver_options(facts)
    return found
