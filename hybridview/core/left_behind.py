"""VMs of a failed ESXi host that vSphere HA will not restart, and the plan that restarts them by hand.

A VM is left behind when its host does not respond, it was running, no VM with its
instanceUuid runs elsewhere, and vSphere HA is off for its cluster (or a standalone host)
or HA said it failed to restart it. The remedy is the call a real vCenter accepts for a
VM on a dead host: register its .vmx on a healthy host of the same cluster that mounts
all its datastores, keeping its instanceUuid, and power it on.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.correlation import Correlation
from hybridview.core.health import HA_ISOLATION_STATES
from hybridview.core.model import Cluster, Estate, EsxiHost, VCenterSnapshot, VirtualMachine

HA_FAILED_MARKS = ("failover failed", "failoverfailed", "notrestarted", "not restarted")


@dataclass(frozen=True, slots=True)
class LeftBehindVm:
    vcenter: str
    vm_moref: str
    name: str
    instance_uuid: str | None
    vmx_path: str | None
    host: EsxiHost
    cluster: Cluster | None
    why: str  # why nothing will restart it
    instance: tuple[str, str, str] | None = None  # (cloud, id, name) of its Nova instance

    def as_json(self) -> dict[str, object]:
        return {
            "vcenter": self.vcenter,
            "vm": self.vm_moref,
            "name": self.name,
            "instance_uuid": self.instance_uuid,
            "vmx_path": self.vmx_path,
            "host": self.host.name,
            "cluster": self.cluster.name if self.cluster else None,
            "why": self.why,
            "nova_instance": (
                {"cloud": self.instance[0], "id": self.instance[1], "name": self.instance[2]} if self.instance else None
            ),
        }


def _ha_failed(vc: VCenterSnapshot, vm: VirtualMachine) -> bool:
    marks = [a.name for a in vc.alarms if a.entity_moref == vm.moref and a.status == "red"]
    marks += [f"{e.kind} {e.message}" for e in vc.events if e.entity_moref == vm.moref]
    return any(
        mark in text.lower().replace(" ", "") or mark in text.lower() for text in marks for mark in HA_FAILED_MARKS
    )


def _why_left(vc: VCenterSnapshot, vm: VirtualMachine, cluster: Cluster | None) -> str | None:
    if cluster is None:
        return "standalone host: no vSphere HA"
    if not cluster.ha_enabled:
        return f"vSphere HA is off on cluster {cluster.name}"
    if _ha_failed(vc, vm):
        return f"vSphere HA failed to restart it in cluster {cluster.name}"
    return None


def left_behind_vms(estate: Estate, correlation: Correlation) -> list[LeftBehindVm]:
    found: list[LeftBehindVm] = []
    for vc in estate.vcenters:
        hosts = {h.moref: h for h in vc.hosts}
        clusters = {c.moref: c for c in vc.clusters}
        running_elsewhere = {
            vm.instance_uuid.lower()
            for vm in vc.vms
            if vm.instance_uuid and vm.power_state == "poweredOn" and _responding(hosts.get(vm.host_moref or ""))
        }
        for vm in vc.vms:
            host = hosts.get(vm.host_moref or "")
            if host is None or host.connection_state != "notResponding" or vm.power_state != "poweredOn":
                continue
            if vm.instance_uuid and vm.instance_uuid.lower() in running_elsewhere:
                continue
            cluster = clusters.get(host.cluster_moref or "")
            why = _why_left(vc, vm, cluster)
            if why is None:
                continue
            inst = correlation.instance_by_vm.get(vm.ref)
            found.append(
                LeftBehindVm(
                    vc.vcenter,
                    vm.moref,
                    vm.name,
                    vm.instance_uuid,
                    vm.vmx_path,
                    host,
                    cluster,
                    why,
                    (inst.cloud, inst.id, inst.name) if inst else None,
                )
            )
    return found


def _responding(host: EsxiHost | None) -> bool:
    return host is not None and host.responding


@dataclass(frozen=True, slots=True)
class RestartRequest:
    vcenter: str
    host: str  # the failed ESXi host, by name or moref
    target: str | None = None  # an ESXi host by name or moref; None: least loaded of the cluster


def plan_vm_restarts(estate: Estate, correlation: Correlation, request: RestartRequest) -> Plan:
    title = f"Restart the VMs of {request.host} ({request.vcenter})"
    vc = next((v for v in estate.vcenters if v.vcenter == request.vcenter), None)
    if vc is None:
        return Plan(title, (), refused=f"no vCenter named {request.vcenter!r} is being read")
    failed = next((h for h in vc.hosts if request.host in (h.name, h.moref)), None)
    if failed is None:
        return Plan(title, (), refused=f"vCenter {request.vcenter} has no ESXi host {request.host!r}")
    refused = _refusal(failed)
    if refused:
        return Plan(title, (), refused=refused)
    peers = [h for h in vc.hosts if h.cluster_moref == failed.cluster_moref and h.moref != failed.moref]
    if request.target is not None:
        chosen = [h for h in peers if request.target in (h.name, h.moref)]
        if not chosen or not _usable(chosen[0]):
            return Plan(title, (), refused=f"target {request.target} is not a connected host of the same cluster")
        peers = chosen
    mounts = {d.moref: set(d.host_morefs) for d in vc.datastores}
    load = {h.moref: float(h.memory_used_mb or 0) for h in peers}
    steps = []
    for item in (x for x in left_behind_vms(estate, correlation) if x.vcenter == vc.vcenter):
        if item.host.moref != failed.moref:
            continue
        vm = next(v for v in vc.vms if v.moref == item.vm_moref)
        steps.append(_restart_step(vc, vm, item, [h for h in peers if _usable(h)], mounts, load))
    notes = (
        f"You confirm that {failed.name} is fenced: powered off or cut from its storage. If it still runs its VMs, "
        "registering them elsewhere runs them twice.",
        "Each VM is removed from the inventory of the dead host, registered from its .vmx on the target "
        "(its files stay where they are) and powered on; its instanceUuid is kept so Nova still finds it.",
    )
    return Plan(title, tuple(steps), needs_fencing=True, notes=notes)


def _refusal(host: EsxiHost) -> str | None:
    if host.connection_state == "connected":
        return f"{host.name} is connected: its VMs run there; move them with vMotion instead"
    if host.connection_state != "notResponding":
        return f"{host.name} is {host.connection_state} (usually on purpose): its VMs may still be running"
    if host.das_state in HA_ISOLATION_STATES:
        return (
            f"vSphere HA reports {host.name} {host.das_state}: its VMs may still be running; do not register them twice"
        )
    return None


def _usable(host: EsxiHost) -> bool:
    return host.responding and not host.in_maintenance


def _restart_step(
    vc: VCenterSnapshot,
    vm: VirtualMachine,
    item: LeftBehindVm,
    candidates: list[EsxiHost],
    mounts: dict[str, set[str]],
    load: dict[str, float],
) -> Step:
    key = ActionKey(vc.vcenter, Verb.RESTART_VM, vm.instance_uuid or vm.moref)
    seeing = [h for h in candidates if all(h.moref in mounts.get(ds, set()) for ds in vm.datastores)]
    blocked = None
    if not vm.vmx_path:
        blocked = "vCenter gave no .vmx path for it"
    elif not candidates:
        blocked = "no connected host outside maintenance is left in its cluster"
    elif not seeing:
        names = ", ".join(vm.datastores) or "its datastore"
        blocked = f"no connected host of its cluster mounts {names}, where its files are"
    if blocked is not None:
        return Step(key, f"restart {vm.name}", {"vm_moref": vm.moref}, label=vm.name, blocked_reason=blocked)
    target = min(seeing, key=lambda h: (load[h.moref] / max(1, h.memory_mb or 1), h.name))
    load[target.moref] += float(vm.memory_mb or 0)
    return Step(
        key,
        f"register {vm.name} on {target.name} from {vm.vmx_path} and power it on",
        {
            "vm_moref": vm.moref,
            "vmx_path": vm.vmx_path,
            "name": vm.name,
            "instance_uuid": vm.instance_uuid,
            "host_moref": target.moref,
            "host_name": target.name,
            "failed_host": item.host.name,
        },
        label=vm.name,
        consequence=f"{item.why}; it boots again on {target.name}",
    )
