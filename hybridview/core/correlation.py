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

from hybridview.core.identity import ClusterRef, ClusterSelector, InstanceRef, NodeRef, VmRef
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
class Correlation:
    node_to_cluster: Mapping[NodeRef, ClusterRef]
    cluster_to_node: Mapping[ClusterRef, NodeRef]
    unmatched_vmware_nodes: tuple[NodeRef, ...]
    vm_by_instance: Mapping[InstanceRef, VirtualMachine]
    instance_by_vm: Mapping[VmRef, Instance]

    def cluster_for(self, node: ComputeNode) -> ClusterRef | None:
        return self.node_to_cluster.get(node.ref)

    def node_for(self, cluster: Cluster) -> NodeRef | None:
        return self.cluster_to_node.get(cluster.ref)


def split_vmware_nodename(nodename: str) -> tuple[str, str] | None:
    """``domain-c7.8b2e…`` -> (``domain-c7``, ``8b2e…``); None when not of that form."""
    moref, sep, uuid = nodename.partition(".")
    if not sep or not moref or not uuid:
        return None
    return moref, uuid


def _match_node(
    node: ComputeNode,
    vcenters: Iterable[VCenterSnapshot],
    node_map: Mapping[str, ClusterSelector],
) -> ClusterRef | None:
    vcenters = tuple(vcenters)
    parsed = split_vmware_nodename(node.hypervisor_hostname)
    if parsed:
        moref, uuid = parsed
        for vc in vcenters:
            if vc.instance_uuid.lower() == uuid.lower() and any(c.moref == moref for c in vc.clusters):
                return ClusterRef(vc.vcenter, moref)
    selector = node_map.get(node.hypervisor_hostname)
    if selector is not None:
        return _resolve_selector(selector, vcenters)
    legacy = _LEGACY_NODENAME.match(node.hypervisor_hostname)
    if legacy:
        matches = [
            c.ref for vc in vcenters for c in vc.clusters if c.moref == legacy["moref"] and c.name == legacy["name"]
        ]
        if len(matches) == 1:
            return matches[0]
    return None


def _resolve_selector(selector: ClusterSelector, vcenters: Iterable[VCenterSnapshot]) -> ClusterRef | None:
    """The configured cluster (by moref or name) of the configured vCenter, if it exists."""
    for vc in vcenters:
        if vc.vcenter != selector.vcenter:
            continue
        for c in vc.clusters:
            if selector.cluster in (c.moref, c.name):
                return c.ref
    return None


def correlate(estate: Estate) -> Correlation:
    node_to_cluster: dict[NodeRef, ClusterRef] = {}
    unmatched: list[NodeRef] = []
    for snap in estate.openstack:
        for node in snap.nodes:
            if not node.is_vmware:
                continue
            cluster = _match_node(node, estate.vcenters, estate.node_map)
            if cluster is None:
                unmatched.append(node.ref)
            else:
                node_to_cluster[node.ref] = cluster
    vms = {vm.instance_uuid.lower(): vm for vc in estate.vcenters for vm in vc.vms if vm.instance_uuid}
    vm_by_instance: dict[InstanceRef, VirtualMachine] = {}
    instance_by_vm: dict[VmRef, Instance] = {}
    for snap in estate.openstack:
        for inst in snap.instances:
            vm = vms.get(inst.id.lower())
            if vm is not None:
                vm_by_instance[inst.ref] = vm
                instance_by_vm[vm.ref] = inst
    return Correlation(
        node_to_cluster=node_to_cluster,
        cluster_to_node={cluster: node for node, cluster in node_to_cluster.items()},
        unmatched_vmware_nodes=tuple(unmatched),
        vm_by_instance=vm_by_instance,
        instance_by_vm=instance_by_vm,
    )


def instances_hit_by_host(host: EsxiHost, vcenter: VCenterSnapshot, correlation: Correlation) -> tuple[Instance, ...]:
    """Which Nova instances run (per vCenter) on this ESXi host."""
    return tuple(
        inst
        for vm in vcenter.vms
        if vm.host_moref == host.moref and (inst := correlation.instance_by_vm.get(vm.ref)) is not None
    )
