"""Where a workload can go, as the snapshots show it: here the Nova compute hosts of the same driver (and,
for vmwareapi, of the same vCenter); ``core.vsphere_targets`` has the ESXi hosts and datastores. Each
target says why it cannot be used, when it cannot.

``MoveContext`` indexes one EstateView once, so a table of many items costs one pass per cloud and vCenter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

from hybridview.core.correlation import split_vmware_nodename
from hybridview.core.driver_facts import DriverFacts, Family, facts_for
from hybridview.core.model import (
    Cluster,
    ComputeNode,
    ComputeService,
    EsxiHost,
    Instance,
    Migration,
    OpenStackSnapshot,
    VCenterSnapshot,
    VCenterTask,
    VirtualMachine,
)
from hybridview.core.view import EstateView

ACTIVE_TASK_STATES = frozenset({"queued", "running"})
GIB = 1024**3


@dataclass(frozen=True, slots=True)
class MoveTarget:
    name: str  # what the operator reads: Nova compute host, ESXi host name, datastore name
    ident: str  # what a plan takes: Nova compute host, ESXi host moref, datastore moref
    free: str  # "6 vCPU, 12.0 GiB free" / "120 GiB free"; "" when unknown
    usable: bool
    reason: str | None = None  # why not usable

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ident": self.ident, "free": self.free, "usable": self.usable, "reason": self.reason}


def gib(mb: int) -> str:
    return f"{mb / 1024:.1f} GiB"


def free_of(total: int | None, used: int | None) -> int | None:
    return None if total is None or used is None else max(0, total - used)


class CloudIndex:
    def __init__(self, snap: OpenStackSnapshot) -> None:
        self.snap = snap
        self.node_by_hostname = {n.hypervisor_hostname: n for n in snap.nodes}
        self.nodes_by_host: dict[str, list[ComputeNode]] = defaultdict(list)
        for n in snap.nodes:
            self.nodes_by_host[n.host].append(n)
        self.service_by_host = {s.host: s for s in snap.services if s.binary == "nova-compute"}
        self.migrations_by_instance: dict[str, list[Migration]] = defaultdict(list)
        for m in snap.migrations:
            self.migrations_by_instance[m.instance_id].append(m)

    def node_of(self, instance: Instance) -> ComputeNode | None:
        if instance.node and instance.node in self.node_by_hostname:
            return self.node_by_hostname[instance.node]
        on_host = self.nodes_by_host.get(instance.host or "", [])
        return on_host[0] if len(on_host) == 1 else None

    def running_migration(self, instance_id: str, *types: str) -> Migration | None:
        """The newest in-progress migration of the instance (of one of ``types``, when given)."""
        running = [
            m
            for m in self.migrations_by_instance.get(instance_id, [])
            if m.in_progress and (not types or m.migration_type in types)
        ]
        return running[-1] if running else None


class VCenterIndex:
    def __init__(self, snap: VCenterSnapshot) -> None:
        self.snap = snap
        self.hosts = {h.moref: h for h in snap.hosts}
        self.clusters = {c.moref: c for c in snap.clusters}
        self.hosts_by_cluster: dict[str, list[EsxiHost]] = defaultdict(list)
        for h in snap.hosts:
            if h.cluster_moref:
                self.hosts_by_cluster[h.cluster_moref].append(h)
        self.datastores = {d.moref: d for d in snap.datastores}
        self.vm_by_uuid = {vm.instance_uuid.lower(): vm for vm in snap.vms if vm.instance_uuid}
        self.vms_by_host: dict[str, list[VirtualMachine]] = defaultdict(list)
        for vm in snap.vms:
            if vm.host_moref:
                self.vms_by_host[vm.host_moref].append(vm)
        self.tasks_by_entity: dict[str, list[VCenterTask]] = defaultdict(list)
        for t in snap.tasks:
            if t.entity_moref and t.state in ACTIVE_TASK_STATES:
                self.tasks_by_entity[t.entity_moref].append(t)

    def cluster_of(self, host: EsxiHost) -> Cluster | None:
        return self.clusters.get(host.cluster_moref) if host.cluster_moref else None


class MoveContext:
    """One EstateView's indexes and the targets computed so far (immutable results, shared between items)."""

    def __init__(self, view: EstateView) -> None:
        self.view = view
        self._clouds = {s.cloud: s for s in view.estate.openstack}
        self._vcenters = {v.vcenter: v for v in view.estate.vcenters}
        self._cloud_index: dict[str, CloudIndex] = {}
        self._vcenter_index: dict[str, VCenterIndex] = {}
        self._targets: dict[Hashable, tuple[MoveTarget, ...]] = {}

    def cloud(self, name: str) -> CloudIndex | None:
        if name not in self._cloud_index and name in self._clouds:
            self._cloud_index[name] = CloudIndex(self._clouds[name])
        return self._cloud_index.get(name)

    def vcenter(self, name: str) -> VCenterIndex | None:
        if name not in self._vcenter_index and name in self._vcenters:
            self._vcenter_index[name] = VCenterIndex(self._vcenters[name])
        return self._vcenter_index.get(name)

    def vcenter_uuid(self, node: ComputeNode) -> str | None:
        """The instanceUuid of the vCenter a vmwareapi node's cluster is in: by correlation, else its nodename."""
        ref = self.view.health.correlation.cluster_for(node)
        if ref is not None and ref.vcenter in self._vcenters:
            return self._vcenters[ref.vcenter].instance_uuid.lower()
        parsed = split_vmware_nodename(node.hypervisor_hostname)
        return parsed[1].lower() if parsed else None

    def cluster_label(self, node: ComputeNode) -> str:
        ref = self.view.health.correlation.cluster_for(node)
        index = self.vcenter(ref.vcenter) if ref else None
        cluster = index.clusters.get(ref.moref) if index and ref else None
        return f"cluster {cluster.name}, {cluster.vcenter}" if cluster else node.hypervisor_hostname

    def vm_of(self, instance: Instance, node: ComputeNode | None) -> tuple[VCenterIndex, VirtualMachine] | None:
        """The VM backing an instance: in the vCenter of its node's cluster, else wherever correlation found it."""
        ref = self.view.health.correlation.cluster_for(node) if node is not None else None
        index = self.vcenter(ref.vcenter) if ref else None
        vm = index.vm_by_uuid.get(instance.id.lower()) if index else None
        if index is None or vm is None:
            vm = self.view.health.correlation.vm_by_instance.get(instance.ref)
            index = self.vcenter(vm.vcenter) if vm else None
        return (index, vm) if index is not None and vm is not None else None

    def nova_targets(
        self, cloud: CloudIndex, instance: Instance, source: ComputeNode, refusal: str | None
    ) -> tuple[MoveTarget, ...]:
        """Compute hosts of the source's driver family (for vmwareapi: of the same vCenter), usable or not.

        ``refusal`` makes every chosen host unusable with that reason (a microversion that cannot name one).
        """
        facts = facts_for(source)
        if facts is None:
            return ()
        key = ("nova", cloud.snap.cloud, instance.host, self.vcenter_uuid(source), instance.memory_mb, refusal)
        if key not in self._targets:
            self._targets[key] = self._nova_targets(cloud, instance, source, facts, refusal)
        return self._targets[key]

    def _nova_targets(
        self, cloud: CloudIndex, instance: Instance, source: ComputeNode, facts: DriverFacts, refusal: str | None
    ) -> tuple[MoveTarget, ...]:
        vcenter = self.vcenter_uuid(source) if facts.family is Family.VMWAREAPI else None
        targets = []
        for host, nodes in cloud.nodes_by_host.items():
            node = nodes[0]
            if host == instance.host or facts_for(node) is not facts:
                continue
            why = refusal or _service_refusal(host, cloud.service_by_host.get(host))
            if facts.family is Family.VMWAREAPI and why is None:
                why = self._vcenter_refusal(node, vcenter)
            free_mb = free_of(node.memory_mb, node.memory_mb_used)
            if why is None and instance.memory_mb and free_mb is not None and free_mb < instance.memory_mb:
                why = f"needs {gib(instance.memory_mb)} memory, {gib(free_mb)} free on {host}"
            name = f"{host} ({self.cluster_label(node)})" if facts.family is Family.VMWAREAPI else host
            targets.append(MoveTarget(name, host, _nova_free(node), why is None, why))
        return tuple(sorted(targets, key=lambda t: (not t.usable, -_free_mb(cloud, t.ident), t.name)))

    def _vcenter_refusal(self, node: ComputeNode, source_vcenter: str | None) -> str | None:
        target_vcenter = self.vcenter_uuid(node)
        if source_vcenter is None or target_vcenter is None:
            return "its vCenter is unknown: the vmwareapi driver live-migrates only within one vCenter"
        if target_vcenter != source_vcenter:
            return f"{self.cluster_label(node)} is in another vCenter: vmwareapi moves only within one vCenter"
        return None


def _free_mb(cloud: CloudIndex, host: str) -> int:
    node = cloud.nodes_by_host[host][0]
    return free_of(node.memory_mb, node.memory_mb_used) or 0


def _nova_free(node: ComputeNode) -> str:
    vcpus, mb = free_of(node.vcpus, node.vcpus_used), free_of(node.memory_mb, node.memory_mb_used)
    parts = ([f"{vcpus} vCPU"] if vcpus is not None else []) + ([gib(mb)] if mb is not None else [])
    return ", ".join(parts) + " free" if parts else ""


def _service_refusal(host: str, service: ComputeService | None) -> str | None:
    if service is None:
        return f"compute host {host} has no nova-compute service"
    if service.forced_down:
        return f"nova-compute on {host} is forced down"
    if service.state != "up":
        return f"nova-compute on {host} is down"
    if service.status != "enabled":
        why = f": {service.disabled_reason}" if service.disabled_reason else ""
        return f"nova-compute on {host} is disabled{why}"
    return None


def source_refusal(host: str | None, service: ComputeService | None) -> str | None:
    """Why Nova refuses to move anything off this host: its nova-compute must be up (disabled is fine)."""
    if host is None:
        return "the instance is on no compute host"
    if service is None:
        return f"compute host {host} has no nova-compute service"
    if service.forced_down or service.state != "up":
        state = "forced down" if service.forced_down else "down"
        return f"nova-compute on its host {host} is {state}: Nova moves nothing off a host whose service is not up"
    return None
