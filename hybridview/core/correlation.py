"""Links Nova's view (compute nodes, instances) to vCenter's (clusters, hosts, VMs).

The vmwareapi driver names its node ``"<cluster moref>.<vCenter instanceUuid>"``
(nova/virt/vmwareapi/driver.py, ``_create_nodename``); older releases used
``"<cluster moref>(<cluster name>)"``. A VM backing a Nova instance carries the
instance id as ``config.instanceUuid``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hybridview.core.model import (
    Cluster,
    ComputeNode,
    EsxiHost,
    Estate,
    Instance,
    VCenterSnapshot,
    VirtualMachine,
)

_LEGACY_NODENAME = re.compile(r"^(?P<moref>domain-c\d+)\((?P<name>.*)\)$")


@dataclass(frozen=True, slots=True)
class ClusterRef:
    vcenter: str
    moref: str

    @property
    def key(self) -> str:
        return f"{self.vcenter}/{self.moref}"


@dataclass(frozen=True, slots=True)
class Correlation:
    node_to_cluster: Mapping[str, ClusterRef]
    cluster_to_node: Mapping[ClusterRef, str]
    unmatched_vmware_nodes: tuple[str, ...]
    vm_by_instance: Mapping[str, VirtualMachine]
    instance_by_vm: Mapping[tuple[str, str], Instance]

    def cluster_for(self, node: ComputeNode) -> ClusterRef | None:
        return self.node_to_cluster.get(node.key)

    def node_for(self, cluster: Cluster) -> str | None:
        return self.cluster_to_node.get(ClusterRef(cluster.vcenter, cluster.moref))


def split_vmware_nodename(nodename: str) -> tuple[str, str] | None:
    """``domain-c7.8b2e…`` -> (``domain-c7``, ``8b2e…``); None when not of that form."""
    moref, sep, uuid = nodename.partition(".")
    if not sep or not moref or not uuid:
        return None
    return moref, uuid


def _match_node(
    node: ComputeNode,
    vcenters: Iterable[VCenterSnapshot],
    node_map: Mapping[str, str],
) -> ClusterRef | None:
    vcenters = tuple(vcenters)
    parsed = split_vmware_nodename(node.hypervisor_hostname)
    if parsed:
        moref, uuid = parsed
        for vc in vcenters:
            if vc.instance_uuid.lower() == uuid.lower() and any(c.moref == moref for c in vc.clusters):
                return ClusterRef(vc.vcenter, moref)
    mapped = node_map.get(node.hypervisor_hostname)
    if mapped:
        return _resolve_mapping(mapped, vcenters)
    legacy = _LEGACY_NODENAME.match(node.hypervisor_hostname)
    if legacy:
        matches = [
            ClusterRef(vc.vcenter, c.moref)
            for vc in vcenters
            for c in vc.clusters
            if c.moref == legacy["moref"] and c.name == legacy["name"]
        ]
        if len(matches) == 1:
            return matches[0]
    return None


def _resolve_mapping(target: str, vcenters: Iterable[VCenterSnapshot]) -> ClusterRef | None:
    """``"<vcenter name>/<cluster name or moref>"`` -> that cluster, if it exists."""
    vc_name, _, cluster = target.partition("/")
    for vc in vcenters:
        if vc.vcenter != vc_name:
            continue
        for c in vc.clusters:
            if cluster in (c.moref, c.name):
                return ClusterRef(vc.vcenter, c.moref)
    return None


def correlate(estate: Estate) -> Correlation:
    node_to_cluster: dict[str, ClusterRef] = {}
    unmatched: list[str] = []
    for snap in estate.openstack:
        for node in snap.nodes:
            if not node.is_vmware:
                continue
            ref = _match_node(node, estate.vcenters, estate.node_map)
            if ref is None:
                unmatched.append(node.key)
            else:
                node_to_cluster[node.key] = ref
    vms = {vm.instance_uuid.lower(): vm for vc in estate.vcenters for vm in vc.vms if vm.instance_uuid}
    vm_by_instance: dict[str, VirtualMachine] = {}
    instance_by_vm: dict[tuple[str, str], Instance] = {}
    for snap in estate.openstack:
        for inst in snap.instances:
            vm = vms.get(inst.id.lower())
            if vm is not None:
                vm_by_instance[inst.id] = vm
                instance_by_vm[(vm.vcenter, vm.moref)] = inst
    return Correlation(
        node_to_cluster=node_to_cluster,
        cluster_to_node={ref: key for key, ref in node_to_cluster.items()},
        unmatched_vmware_nodes=tuple(unmatched),
        vm_by_instance=vm_by_instance,
        instance_by_vm=instance_by_vm,
    )


def instances_hit_by_host(host: EsxiHost, vcenter: VCenterSnapshot, correlation: Correlation) -> tuple[Instance, ...]:
    """Which Nova instances run (per vCenter) on this ESXi host."""
    return tuple(
        inst
        for vm in vcenter.vms
        if vm.host_moref == host.moref and (inst := correlation.instance_by_vm.get((vm.vcenter, vm.moref))) is not None
    )
