"""Health evaluation on hand-built estates."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.health import Overall, Severity, evaluate
from hybridview.core.identity import ClusterRef, EndpointRef, HostRef, NodeRef, VmRef
from hybridview.core.model import Cluster, EndpointKind, Estate

from tests.unit.factories import VC_UUID, cloud, esxi, instance, kvm_node, ok, stale, vcenter, vm, vmware_node

NOVA, VC = EndpointKind.NOVA, EndpointKind.VCENTER


def nova_estate(*nodes, instances=(), endpoints=None) -> Estate:  # type: ignore[no-untyped-def]
    return Estate(
        openstack=(cloud(nodes=tuple(nodes), instances=tuple(instances)),),
        endpoints=endpoints if endpoints is not None else (ok("c1", NOVA),),
    )


def test_healthy_estate_is_ok() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID}")
    inst = instance("i-1", node)
    estate = Estate(
        openstack=(cloud(nodes=(kvm_node(), node), instances=(inst,)),),
        vcenters=(vcenter(hosts=(esxi("host-1"), esxi("host-2")), vms=(vm("vm-1", "host-1", "i-1"),)),),
        endpoints=(ok("c1", NOVA), ok("vc1", VC)),
    )
    report = evaluate(estate)
    assert report.overall is Overall.OK
    assert report.items == {}
    assert report.failed_hosts == ()
    assert report.of(node.ref).severity is Severity.OK
    assert report.of(node.ref).summary == "healthy"
    assert report.instance_counts[node.ref] == 1
    assert report.vm_counts[HostRef("vc1", "host-1")] == 1
    assert report.vm_counts[HostRef("vc1", "host-2")] == 0


def test_kvm_service_down_is_critical_with_fence_advice() -> None:
    down = kvm_node("kvm2", state="down")
    insts = [instance(f"i-{n}", down) for n in range(3)]
    report = evaluate(nova_estate(kvm_node("kvm1"), down, instances=insts))
    assert report.overall is Overall.CRITICAL
    assert report.of(down.ref).severity is Severity.CRITICAL
    assert report.of(EndpointRef("c1")).severity is Severity.CRITICAL
    assert report.of(kvm_node("kvm1").ref).severity is Severity.OK
    (failed,) = report.failed_hosts
    assert (failed.layer, failed.name, failed.owner, failed.ref) == (
        "nova",
        "kvm2.example",
        "c1",
        NodeRef("c1", "kvm2.example"),
    )
    assert failed.affected_instances == 3
    assert "kvm2" in failed.reason
    assert "down" in failed.reason
    advice = failed.advice.lower()
    for word in ("fence", "forced down", "evacuate", "3 instance"):
        assert word in advice, word
    for inst in insts:
        assert report.of(inst.ref).severity is Severity.CRITICAL


def test_forced_down_node_advice_is_to_evacuate_now() -> None:
    node = kvm_node("kvm2", state="down", forced_down=True)
    report = evaluate(nova_estate(node, instances=[instance("i-1", node)]))
    (failed,) = report.failed_hosts
    assert "forced down" in failed.reason
    assert "evacuate its 1 instance" in failed.advice
    assert "Fence the host" not in failed.advice
    assert report.overall is Overall.CRITICAL


def test_forced_down_empty_node_advice_is_to_repair() -> None:
    report = evaluate(nova_estate(kvm_node("kvm2", state="down", forced_down=True)))
    (failed,) = report.failed_hosts
    assert "clear force-down" in failed.advice
    assert failed.affected_instances == 0


def test_disabled_node_is_warning_with_reason() -> None:
    node = kvm_node("kvm1", status="disabled", disabled_reason="patching")
    report = evaluate(nova_estate(node))
    health = report.of(node.ref)
    assert health.severity is Severity.WARNING
    assert health.reasons == ("compute service disabled: patching",)
    assert report.failed_hosts == ()
    assert report.overall is Overall.WARNING


def test_a_node_whose_state_is_unknown_is_never_shown_healthy() -> None:
    node = kvm_node("kvm1", state="unknown")  # e.g. its service record was malformed and skipped
    report = evaluate(nova_estate(node))
    assert report.of(node.ref).severity is Severity.WARNING
    assert report.of(node.ref).reasons == ("nova-compute state unknown (unknown)",)
    assert report.failed_hosts == ()


def test_instance_in_error_and_migrating() -> None:
    node = kvm_node()
    err = instance("i-err", node, status="ERROR")
    mig = instance("i-mig", node, task_state="migrating")
    evac = instance("i-evac", node, task_state="rebuilding")
    report = evaluate(nova_estate(node, instances=[err, mig, evac]))
    assert report.of(err.ref).severity is Severity.CRITICAL
    assert report.of(mig.ref).severity is Severity.WARNING
    assert "evacuated" in report.of(evac.ref).summary
    assert report.overall is Overall.CRITICAL


def test_vmware_proxy_down_says_do_not_evacuate() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID}", host="nova-vmware-01", state="down")
    inst = instance("i-1", node)
    estate = Estate(
        openstack=(cloud(nodes=(node,), instances=(inst,)),),
        vcenters=(vcenter(hosts=(esxi("host-1"),), vms=(vm("vm-1", "host-1", "i-1"),)),),
        endpoints=(ok("c1", NOVA), ok("vc1", VC)),
    )
    report = evaluate(estate)
    (failed,) = report.failed_hosts
    assert failed.layer == "nova"
    assert "proxy" in failed.reason
    assert "nova-vmware-01" in failed.reason
    assert "Do not evacuate" in failed.advice
    assert "domain-c7" in failed.advice
    assert "vc1" in failed.advice
    assert "Fence" not in failed.advice
    assert report.overall is Overall.CRITICAL
    # the VMs themselves keep running: vSphere side is healthy
    assert report.of(HostRef("vc1", "host-1")).severity is Severity.OK
    # its instances are only unmanageable, not down
    managed = report.of(inst.ref)
    assert managed.severity is Severity.WARNING
    assert "keeps running" in managed.summary


def test_instances_on_a_down_kvm_node_are_critical() -> None:
    node = kvm_node(state="down")
    inst = instance("i-1", node)
    report = evaluate(Estate(openstack=(cloud(nodes=(node,), instances=(inst,)),), endpoints=(ok("c1", NOVA),)))
    assert report.of(inst.ref).severity is Severity.CRITICAL


def test_unmatched_vmware_node_is_warning() -> None:
    node = vmware_node("domain-c7.00000000-0000-0000-0000-000000000000")
    estate = Estate(openstack=(cloud(nodes=(node,)),), vcenters=(vcenter(),), endpoints=(ok("c1", NOVA), ok("vc1", VC)))
    report = evaluate(estate)
    assert report.of(node.ref).severity is Severity.WARNING
    assert "no matching vCenter cluster" in report.of(node.ref).summary


def _esxi_estate(*, ha: bool, cluster_of_failed: str | None = "domain-c7") -> tuple[Estate, NodeRef]:
    node = vmware_node(f"domain-c7.{VC_UUID}")
    insts = (instance("i-1", node), instance("i-2", node))
    hosts = (
        esxi("host-1", cluster_of_failed, connection="notResponding", overall="gray", power="unknown"),
        esxi("host-2"),
        esxi("host-3"),
    )
    vms = (vm("vm-1", "host-1", "i-1"), vm("vm-2", "host-1", "i-2"), vm("vm-3", "host-1"), vm("vm-4", "host-2"))
    clusters = (Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=ha, drs_enabled=True),)
    estate = Estate(
        openstack=(cloud(nodes=(node,), instances=insts),),
        vcenters=(vcenter(clusters=clusters, hosts=hosts, vms=vms),),
        endpoints=(ok("c1", NOVA), ok("vc1", VC)),
    )
    return estate, node.ref


def test_esxi_not_responding_with_ha() -> None:
    estate, node_ref = _esxi_estate(ha=True)
    report = evaluate(estate)
    (failed,) = report.failed_hosts
    assert (failed.layer, failed.name, failed.owner) == ("esxi", "host-1.example", "vc1")
    assert failed.reason == "ESXi host is notResponding"
    assert failed.affected_instances == 2  # only the VMs backing Nova instances
    assert "vSphere HA restarts its 3 VM(s)" in failed.advice
    assert "Cluster1" in failed.advice
    assert "must not evacuate" in failed.advice
    assert report.overall is Overall.CRITICAL
    assert report.of(HostRef("vc1", "host-1")).severity is Severity.CRITICAL
    assert report.of(ClusterRef("vc1", "domain-c7")).severity is Severity.WARNING  # 1 of 3 failed
    assert report.of(VmRef("vc1", "vm-1")).severity is Severity.CRITICAL
    assert report.of(VmRef("vc1", "vm-4")).severity is Severity.OK
    assert report.of(HostRef("vc1", "domain-c7")).severity is Severity.OK  # a cluster's identity is not a host's
    assert (failed.ref, report.vm_counts[HostRef("vc1", "host-1")]) == (HostRef("vc1", "host-1"), 3)
    assert report.of(EndpointRef("vc1")).severity is Severity.CRITICAL
    # the nova node of that cluster shows the cluster's trouble, but is not itself failed
    assert report.of(node_ref).severity is Severity.WARNING
    assert "domain-c7" in report.of(node_ref).summary


def test_esxi_not_responding_without_ha_advice_differs() -> None:
    on = evaluate(_esxi_estate(ha=True)[0]).failed_hosts[0].advice
    off = evaluate(_esxi_estate(ha=False)[0]).failed_hosts[0].advice
    assert on != off
    assert "HA is OFF" in off
    assert "will not restart" in off
    assert "Restart them from vCenter" in off
    assert "HA is OFF" not in on


def test_standalone_esxi_host_failure() -> None:
    estate, _ = _esxi_estate(ha=True, cluster_of_failed=None)
    (failed,) = evaluate(estate).failed_hosts
    assert failed.layer == "esxi"
    assert failed.advice.startswith("Standalone host: no vSphere HA")


def test_all_hosts_of_cluster_failed_is_critical() -> None:
    hosts = (esxi("host-1", connection="notResponding"), esxi("host-2", connection="notResponding"))
    estate = Estate(vcenters=(vcenter(hosts=hosts),), endpoints=(ok("vc1", VC),))
    report = evaluate(estate)
    assert report.of(ClusterRef("vc1", "domain-c7")).severity is Severity.CRITICAL
    assert len(report.failed_hosts) == 2


def test_disconnected_host_is_a_warning_not_a_failure() -> None:
    estate = Estate(vcenters=(vcenter(hosts=(esxi("host-1", connection="disconnected"),)),), endpoints=(ok("vc1", VC),))
    report = evaluate(estate)
    host = report.of(HostRef("vc1", "host-1"))
    assert host.severity is Severity.WARNING
    assert "HA does not act" in host.summary
    assert report.failed_hosts == ()


def test_isolated_host_advice_says_vms_may_still_run() -> None:
    isolated = replace(esxi("host-1", connection="notResponding"), das_state="networkIsolated")
    estate = Estate(
        vcenters=(vcenter(hosts=(isolated, esxi("host-2"))),),
        endpoints=(ok("vc1", VC),),
    )
    report = evaluate(estate)
    (failed,) = report.failed_hosts
    assert "networkIsolated" in failed.reason
    assert "may still be running" in failed.advice
    assert "isolation response" in failed.advice


def test_vms_of_a_stale_vcenter_are_never_healthy() -> None:
    estate = Estate(
        vcenters=(vcenter(hosts=(esxi("host-1"),), vms=(vm("vm-1", "host-1", None),)),),
        endpoints=(stale("vc1", VC),),
    )
    assert evaluate(estate).of(VmRef("vc1", "vm-1")).severity is Severity.STALE


def test_esxi_yellow_and_maintenance_are_warnings() -> None:
    hosts = (esxi("host-1", overall="yellow"), esxi("host-2", maintenance=True), esxi("host-3", overall="red"))
    report = evaluate(Estate(vcenters=(vcenter(hosts=hosts),), endpoints=(ok("vc1", VC),)))
    assert report.of(HostRef("vc1", "host-1")).severity is Severity.WARNING
    assert report.of(HostRef("vc1", "host-2")).reasons == ("in maintenance mode",)
    assert report.of(HostRef("vc1", "host-3")).severity is Severity.CRITICAL
    assert report.failed_hosts == ()


def test_stale_endpoint_items_are_never_ok_and_overall_warning() -> None:
    healthy_kvm = kvm_node("kvm1")
    disabled = kvm_node("kvm2", status="disabled")
    inst = instance("i-1", healthy_kvm)
    host = esxi("host-1")
    estate = Estate(
        openstack=(cloud(nodes=(healthy_kvm, disabled), instances=(inst,)),),
        vcenters=(vcenter(hosts=(host,)),),
        endpoints=(stale("c1", NOVA), ok("vc1", VC)),
    )
    report = evaluate(estate)
    for key in (healthy_kvm.ref, inst.ref, EndpointRef("c1")):
        health = report.of(key)
        assert health.stale, key
        assert health.severity >= Severity.STALE, key
        assert health.summary.endswith("(stale data)")
    assert report.of(healthy_kvm.ref).severity is Severity.STALE
    assert report.of(disabled.ref).severity is Severity.WARNING
    assert report.of(disabled.ref).stale
    # the fresh endpoint's items are not marked stale
    assert not report.of(HostRef("vc1", "host-1")).stale
    assert report.of(HostRef("vc1", "host-1")).severity is Severity.OK
    assert report.overall is Overall.WARNING


def test_stale_endpoint_with_failure_stays_critical() -> None:
    down = kvm_node("kvm1", state="down")
    estate = nova_estate(down, endpoints=(stale("c1", NOVA), ok("vc1", VC)))
    report = evaluate(estate)
    assert report.of(down.ref).severity is Severity.CRITICAL
    assert report.of(down.ref).stale
    assert report.overall is Overall.CRITICAL


def test_no_endpoint_ok_is_unknown() -> None:
    estate = nova_estate(kvm_node(), endpoints=(stale("c1", NOVA), stale("vc1", VC)))
    assert evaluate(estate).overall is Overall.UNKNOWN
    assert evaluate(Estate()).overall is Overall.UNKNOWN


def test_stale_endpoint_without_data_still_warns() -> None:
    estate = Estate(openstack=(cloud(nodes=(kvm_node(),)),), endpoints=(ok("c1", NOVA), stale("vc1", VC)))
    assert evaluate(estate).overall is Overall.WARNING


def test_endpoint_warnings_make_overall_warning() -> None:
    from dataclasses import replace

    endpoint = replace(ok("c1", NOVA), warnings=("microversion too old",))
    assert evaluate(nova_estate(kvm_node(), endpoints=(endpoint,))).overall is Overall.WARNING


def test_labels() -> None:
    assert Overall.CRITICAL.label == "critical"
    assert int(Overall.UNKNOWN) == 3
    assert Severity.STALE.label == "stale"
    assert Severity.OK < Severity.STALE < Severity.WARNING < Severity.CRITICAL
