"""Nova vmwareapi nodes <-> vCenter clusters, and instances <-> VMs."""

from __future__ import annotations

from hybridview.core.correlation import correlate, instances_hit_by_host, split_vmware_nodename
from hybridview.core.identity import ClusterRef, ClusterSelector, InstanceRef, NodeRef, VmRef
from hybridview.core.model import Cluster, Estate

from tests.unit.factories import VC_UUID, cloud, esxi, instance, kvm_node, vcenter, vm, vmware_node


def test_split_vmware_nodename() -> None:
    assert split_vmware_nodename(f"domain-c7.{VC_UUID}") == ("domain-c7", VC_UUID)
    assert split_vmware_nodename("kvm1") is None
    assert split_vmware_nodename("domain-c7.") is None
    assert split_vmware_nodename(".abc") is None


def test_driver_nodename_matches_cluster_case_insensitively() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID.lower()}")
    other = vcenter("vc0", uuid="00000000-0000-0000-0000-000000000000")
    estate = Estate(openstack=(cloud(nodes=(node,)),), vcenters=(other, vcenter("vc1")))
    corr = correlate(estate)
    assert corr.cluster_for(node) == ClusterRef("vc1", "domain-c7")
    assert corr.node_to_cluster == {NodeRef("c1", node.hypervisor_hostname): ClusterRef("vc1", "domain-c7")}
    assert corr.node_for(estate.vcenters[1].clusters[0]) == NodeRef("c1", node.hypervisor_hostname)
    assert corr.cluster_to_node == {ClusterRef("vc1", "domain-c7"): NodeRef("c1", node.hypervisor_hostname)}
    assert corr.node_for(other.clusters[0]) is None
    assert corr.unmatched_vmware_nodes == ()


def test_wrong_vcenter_uuid_is_unmatched() -> None:
    node = vmware_node("domain-c7.11111111-2222-3333-4444-555555555555")
    corr = correlate(Estate(openstack=(cloud(nodes=(node,)),), vcenters=(vcenter(),)))
    assert corr.cluster_for(node) is None
    assert corr.unmatched_vmware_nodes == (NodeRef("c1", node.hypervisor_hostname),)


def test_right_uuid_but_unknown_moref_is_unmatched() -> None:
    node = vmware_node(f"domain-c99.{VC_UUID}")
    corr = correlate(Estate(openstack=(cloud(nodes=(node,)),), vcenters=(vcenter(),)))
    assert corr.unmatched_vmware_nodes == (NodeRef("c1", node.hypervisor_hostname),)


def test_legacy_nodename_form() -> None:
    node = vmware_node("domain-c7(Cluster1)")
    corr = correlate(Estate(openstack=(cloud(nodes=(node,)),), vcenters=(vcenter(),)))
    assert corr.cluster_for(node) == ClusterRef("vc1", "domain-c7")


def test_legacy_nodename_with_wrong_name_or_ambiguous_is_unmatched() -> None:
    wrong = vmware_node("domain-c7(Other)")
    corr = correlate(Estate(openstack=(cloud(nodes=(wrong,)),), vcenters=(vcenter(),)))
    assert corr.unmatched_vmware_nodes == (NodeRef("c1", "domain-c7(Other)"),)
    # the same moref and name in two vCenters: refuse to guess
    node = vmware_node("domain-c7(Cluster1)")
    two = (vcenter("vc1"), vcenter("vc2", uuid="AAAAAAAA-0000-0000-0000-000000000000"))
    corr = correlate(Estate(openstack=(cloud(nodes=(node,)),), vcenters=two))
    assert corr.cluster_for(node) is None
    assert corr.unmatched_vmware_nodes == (NodeRef("c1", node.hypervisor_hostname),)


def test_node_map_fallback_by_cluster_name_and_moref() -> None:
    by_name = vmware_node("my-odd-node")
    by_moref = vmware_node("other-node", host="proxy2")
    clusters = (
        Cluster("vc1", "domain-c7", "Cluster1", True, True),
        Cluster("vc1", "domain-c8", "Cluster2", True, True),
    )
    estate = Estate(
        openstack=(cloud(nodes=(by_name, by_moref)),),
        vcenters=(vcenter(clusters=clusters),),
        node_map={"my-odd-node": ClusterSelector("vc1", "Cluster2"), "other-node": ClusterSelector("vc1", "domain-c7")},
    )
    corr = correlate(estate)
    assert corr.cluster_for(by_name) == ClusterRef("vc1", "domain-c8")
    assert corr.cluster_for(by_moref) == ClusterRef("vc1", "domain-c7")


def test_node_map_to_missing_cluster_or_vcenter_is_unmatched() -> None:
    a, b = vmware_node("a"), vmware_node("b")
    estate = Estate(
        openstack=(cloud(nodes=(a, b)),),
        vcenters=(vcenter(),),
        node_map={"a": ClusterSelector("vc1", "NoSuchCluster"), "b": ClusterSelector("vc9", "Cluster1")},
    )
    assert set(correlate(estate).unmatched_vmware_nodes) == {NodeRef("c1", "a"), NodeRef("c1", "b")}


def test_non_vmware_nodes_are_ignored() -> None:
    kvm = kvm_node("domain-c7")  # even a KVM node whose name looks like a moref
    kvm2 = kvm_node("x")
    estate = Estate(
        openstack=(cloud(nodes=(kvm, kvm2)),),
        vcenters=(vcenter(),),
        node_map={kvm2.hypervisor_hostname: ClusterSelector("vc1", "Cluster1")},
    )
    corr = correlate(estate)
    assert corr.node_to_cluster == {}
    assert corr.unmatched_vmware_nodes == ()


def test_instances_link_to_vms_by_instance_uuid() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID}")
    i1 = instance("aaaaaaaa-1111-4111-8111-111111111111", node)
    i2 = instance("bbbbbbbb-2222-4222-8222-222222222222", node)
    i3 = instance("cccccccc-3333-4333-8333-333333333333", node)  # no VM in vCenter
    vms = (
        vm("vm-1", "host-1", i1.id.upper()),  # case differs
        vm("vm-2", "host-2", i2.id),
        vm("vm-3", "host-1", None),  # not Nova's
        vm("vm-4", "host-1", "dddddddd-4444-4444-8444-444444444444"),  # unknown instance
    )
    hosts = (esxi("host-1"), esxi("host-2"))
    vc = vcenter(hosts=hosts, vms=vms)
    corr = correlate(Estate(openstack=(cloud(nodes=(node,), instances=(i1, i2, i3)),), vcenters=(vc,)))
    assert corr.vm_by_instance[InstanceRef("c1", i1.id)].moref == "vm-1"
    assert corr.vm_by_instance[InstanceRef("c1", i2.id)].moref == "vm-2"
    assert InstanceRef("c1", i3.id) not in corr.vm_by_instance
    assert set(corr.vm_by_instance) == {InstanceRef("c1", i1.id), InstanceRef("c1", i2.id)}
    assert corr.instance_by_vm == {VmRef("vc1", "vm-1"): i1, VmRef("vc1", "vm-2"): i2}
    assert instances_hit_by_host(hosts[0], vc, corr) == (i1,)
    assert instances_hit_by_host(hosts[1], vc, corr) == (i2,)
    assert instances_hit_by_host(esxi("host-9"), vc, corr) == ()
