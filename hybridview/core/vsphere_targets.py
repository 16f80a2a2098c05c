"""Where vCenter can move a VM: the other hosts of its cluster, the datastores its host mounts."""

from __future__ import annotations

from hybridview.core.model import Datastore, EsxiHost, VirtualMachine
from hybridview.core.move_targets import GIB, MoveTarget, VCenterIndex, free_of, gib


def vsphere_refusal(index: VCenterIndex, vm: VirtualMachine) -> str | None:
    """Why vCenter cannot move this VM at all right now."""
    host = index.hosts.get(vm.host_moref or "")
    if host is not None and not host.responding:  # first: it is why the VM shows disconnected
        return (
            f"its host {host.name} is {host.connection_state}: vCenter cannot move a VM off a host it cannot reach "
            "(vSphere HA restarts it elsewhere, where HA is on)"
        )
    if vm.connection_state not in (None, "connected"):
        return f"VM {vm.name} is {vm.connection_state} in vCenter: it cannot be moved"
    if host is None:
        return f"vCenter does not say which host runs VM {vm.name}"
    busy = index.tasks_by_entity.get(vm.moref)
    if busy:
        return f"busy: vCenter task {busy[0].key} ({busy[0].description_id}) is {busy[0].state} on it"
    return None


def host_refusal(
    index: VCenterIndex, host: EsxiHost, vm: VirtualMachine, *, moving_storage: bool, planned_mb: int = 0
) -> str | None:
    """Why ``host`` cannot take ``vm`` (``planned_mb``: memory already promised to it by a plan)."""
    if not host.responding:
        return f"{host.name} is {host.connection_state}"
    if host.power_state != "poweredOn":
        return f"{host.name} is {host.power_state}"
    if host.in_maintenance:
        return f"{host.name} is in maintenance mode"
    free_mb = (
        free_of(host.memory_mb, (host.memory_used_mb or 0) + planned_mb) if host.memory_used_mb is not None else None
    )
    if vm.memory_mb and free_mb is not None and free_mb < vm.memory_mb:
        return f"{host.name} has {gib(free_mb)} memory free, the VM needs {gib(vm.memory_mb)}"
    if host.cpu_mhz and host.cpu_used_mhz is not None and host.cpu_used_mhz >= host.cpu_mhz:
        return f"{host.name} has no CPU left"
    if not moving_storage and index.datastores:
        missing = [d for d in vm.datastores if host.moref not in index.datastores.get(d, _NOWHERE).host_morefs]
        if missing:
            names = ", ".join(index.datastores[d].name if d in index.datastores else d for d in missing)
            return f"{host.name} does not mount {names} (a Storage vMotion with the move can)"
    return None


_NOWHERE = Datastore("", "", "", False)


def esxi_free(host: EsxiHost, planned_mb: int = 0) -> str:
    mb = free_of(host.memory_mb, (host.memory_used_mb or 0) + planned_mb) if host.memory_used_mb is not None else None
    mhz = free_of(host.cpu_mhz, host.cpu_used_mhz)
    parts = ([gib(mb)] if mb is not None else []) + ([f"{mhz / 1000:.1f} GHz"] if mhz is not None else [])
    return ", ".join(parts) + " free" if parts else ""


def load(host: EsxiHost, planned_mb: int = 0) -> tuple[float, float]:
    """Memory then CPU use, as fractions (unknown counts as fully used: never preferred)."""
    mem = ((host.memory_used_mb or 0) + planned_mb) / host.memory_mb if host.memory_mb else 1.0
    cpu = (host.cpu_used_mhz or 0) / host.cpu_mhz if host.cpu_mhz and host.cpu_used_mhz is not None else 1.0
    return mem, cpu


def host_targets(
    index: VCenterIndex, vm: VirtualMachine, *, moving_storage: bool = False
) -> tuple[str | None, tuple[MoveTarget, ...]]:
    """The other hosts of the VM's cluster, least loaded first; with the reason when there are none."""
    source = index.hosts.get(vm.host_moref or "")
    cluster = index.cluster_of(source) if source else None
    if source is None or cluster is None:
        return "its host is standalone: vMotion here moves VMs only between hosts of one cluster", ()
    others = [h for h in index.hosts_by_cluster[cluster.moref] if h.moref != source.moref]
    if not others:
        return f"cluster {cluster.name} has only one host ({source.name}): vMotion needs another", ()
    ranked = sorted(others, key=lambda h: (*load(h), h.name))
    targets = []
    for h in ranked:
        why = host_refusal(index, h, vm, moving_storage=moving_storage)
        targets.append(MoveTarget(h.name, h.moref, esxi_free(h), why is None, why))
    targets.sort(key=lambda t: not t.usable)
    if not any(t.usable for t in targets):
        return f"no other host of cluster {cluster.name} can take it: " + "; ".join(str(t.reason) for t in targets), (
            tuple(targets)
        )
    return None, tuple(targets)


def datastore_targets(
    index: VCenterIndex, vm: VirtualMachine, host_moref: str
) -> tuple[str | None, tuple[MoveTarget, ...]]:
    """Datastores the host mounts other than where all the VM's disks are, most free space first."""
    host = index.hosts.get(host_moref)
    host_name = host.name if host else host_moref
    if not index.datastores:
        return f"vCenter {index.snap.vcenter} reported no datastores", ()
    mounted = [d for d in index.datastores.values() if host_moref in d.host_morefs and vm.datastores != (d.moref,)]
    if not mounted:
        return f"{host_name} mounts no other datastore", ()
    targets = []
    for d in sorted(mounted, key=lambda d: (-(d.free_bytes or 0), d.name)):
        why = None if d.accessible else f"datastore {d.name} is not accessible"
        if why is None and d.free_bytes == 0:
            why = f"datastore {d.name} is full"
        free = f"{d.free_bytes / GIB:.0f} GiB free" if d.free_bytes is not None else ""
        targets.append(MoveTarget(d.name, d.moref, free, why is None, why))
    targets.sort(key=lambda t: not t.usable)
    if not any(t.usable for t in targets):
        return f"no datastore {host_name} mounts can take it: " + "; ".join(str(t.reason) for t in targets), (
            tuple(targets)
        )
    return None, tuple(targets)
