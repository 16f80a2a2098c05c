"""The deterministic simulated estate and its backends."""

from __future__ import annotations

import pytest

from hybridview.backends.base import BackendError, NovaWrites, OpenStackBackend, VCenterBackend, VCenterWrites
from hybridview.core.correlation import correlate
from hybridview.core.health import Overall, evaluate
from hybridview.core.identity import HostRef
from hybridview.core.model import VMWARE_HYPERVISOR_TYPE, EndpointKind, EndpointStatus, Estate
from hybridview.sim import SCENARIOS, SimEstate, SimSize
from hybridview.sim.backends import SimNovaBackend, SimVCenterBackend, demo_backends
from hybridview.sim.estate import HA_RESTART_TICKS


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def full_estate(sim: SimEstate) -> Estate:
    os_snaps = tuple(sim.openstack_snapshot(c) for c in sim.cloud_names())
    vc_snaps = tuple(sim.vcenter_snapshot(v) for v in sim.vcenter_names())
    endpoints = tuple(
        [EndpointStatus(c, EndpointKind.NOVA, True) for c in sim.cloud_names()]
        + [EndpointStatus(v, EndpointKind.VCENTER, True) for v in sim.vcenter_names()]
    )
    return Estate(os_snaps, vc_snaps, endpoints)


EXPECTED = {  # overall, the failed hosts' layers (one failed host each)
    "healthy": (Overall.OK, []),
    "kvm-host-down": (Overall.CRITICAL, ["nova"]),
    "esxi-host-down": (Overall.CRITICAL, ["esxi", "esxi"]),  # one in an HA cluster, one in the HA-off cluster
    "vmware-proxy-down": (Overall.CRITICAL, ["nova"]),
    "evacuation-in-progress": (Overall.CRITICAL, ["nova"]),
    "live-migration-in-progress": (Overall.WARNING, []),  # a migration in progress warns
}


def test_scenarios_list() -> None:
    assert set(SCENARIOS) == set(EXPECTED)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_evaluates_as_expected(scenario: str) -> None:
    sim = SimEstate(scenario, clock=ManualClock())
    report = evaluate(full_estate(sim))
    overall, layers = EXPECTED[scenario]
    assert report.overall is overall
    assert [f.layer for f in report.failed_hosts] == layers
    assert report.correlation.unmatched_vmware_nodes == ()
    if scenario == "vmware-proxy-down":
        (failed,) = report.failed_hosts
        assert "Do not evacuate" in failed.advice
    if scenario == "kvm-host-down":
        (failed,) = report.failed_hosts
        assert failed.affected_instances == SimSize().instances_per_kvm_node


def test_unknown_scenario_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        SimEstate("meteor-strike")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_deterministic_for_same_seed(scenario: str) -> None:
    a, b = SimEstate(scenario, seed=42, clock=ManualClock()), SimEstate(scenario, seed=42, clock=ManualClock())
    a.advance(2)
    b.advance(2)
    assert full_estate(a) == full_estate(b)


def test_different_seed_differs() -> None:
    a, b = SimEstate(seed=1, clock=ManualClock()), SimEstate(seed=2, clock=ManualClock())
    assert full_estate(a).openstack != full_estate(b).openstack


def test_vmwareapi_nodes_are_named_like_the_driver() -> None:
    sim = SimEstate(clock=ManualClock())
    estate = full_estate(sim)
    uuids = {vc.vcenter: vc.instance_uuid for vc in estate.vcenters}
    clusters = {(vc.vcenter, c.moref) for vc in estate.vcenters for c in vc.clusters}
    vmware = [n for s in estate.openstack for n in s.nodes if n.is_vmware]
    assert len(vmware) == len(clusters) == SimSize().vcenters * SimSize().clusters_per_vcenter
    corr = correlate(estate)
    for node in vmware:
        assert node.hypervisor_type == VMWARE_HYPERVISOR_TYPE
        moref, _, uuid = node.hypervisor_hostname.partition(".")
        assert moref.startswith("domain-c")
        ref = corr.cluster_for(node)
        assert ref is not None
        assert ref.moref == moref
        assert uuids[ref.vcenter] == uuid
    assert {(r.vcenter, r.moref) for r in corr.node_to_cluster.values()} == clusters
    kvm = [n for s in estate.openstack for n in s.nodes if not n.is_vmware]
    assert kvm
    assert all(n.hypervisor_type == "QEMU" for n in kvm)


def test_every_instance_on_a_vmware_node_has_its_vm() -> None:
    estate = full_estate(SimEstate(clock=ManualClock()))
    vms = {vm.instance_uuid: vm for vc in estate.vcenters for vm in vc.vms if vm.instance_uuid}
    vmware_nodes = {n.hypervisor_hostname for s in estate.openstack for n in s.nodes if n.is_vmware}
    on_vmware = [i for s in estate.openstack for i in s.instances if i.node in vmware_nodes]
    assert on_vmware
    for inst in on_vmware:
        assert vms[inst.id].instance_uuid == inst.id
        assert inst.boot_from_volume
    # and no KVM instance pretends to be a VM
    kvm_ids = {i.id for s in estate.openstack for i in s.instances if i.node not in vmware_nodes}
    assert not kvm_ids & set(vms)
    # VMs not managed by Nova exist too
    assert any(vm.instance_uuid is None for vc in estate.vcenters for vm in vc.vms)


def _failed_host(sim: SimEstate, *, ha: bool = True) -> tuple[str, str, str]:
    """The failed host of the HA cluster (or of the HA-off one) of esxi-host-down."""
    vc_name = sim.vcenter_names()[0]
    snap = sim.vcenter_snapshot(vc_name)
    ha_on = {c.moref: c.ha_enabled for c in snap.clusters}
    (host,) = [h for h in snap.hosts if h.connection_state == "notResponding" and ha_on[h.cluster_moref or ""] is ha]
    return vc_name, host.moref, host.cluster_moref or ""


def test_esxi_host_down_ha_restarts_vms_on_survivors() -> None:
    sim = SimEstate("esxi-host-down", clock=ManualClock())
    vc_name, failed, cluster = _failed_host(sim)
    before = sim.vcenter_snapshot(vc_name)
    stranded = {vm.moref for vm in before.vms if vm.host_moref == failed}
    assert len(stranded) >= SimSize().vms_per_esxi_host
    assert [e.kind for e in before.events] == ["HostNotRespondingEvent"] * 2
    assert {vm.connection_state for vm in before.vms if vm.moref in stranded} == {"disconnected"}
    assert before.clusters[[c.moref for c in before.clusters].index(cluster)].ha_enabled

    sim.advance(HA_RESTART_TICKS)
    after = sim.vcenter_snapshot(vc_name)
    survivors = {h.moref for h in after.hosts if h.cluster_moref == cluster and h.moref != failed}
    assert not [vm for vm in after.vms if vm.host_moref == failed]
    assert {vm.connection_state for vm in after.vms if vm.moref in stranded} == {"connected"}
    moved = {vm.moref: vm.host_moref for vm in after.vms if vm.moref in stranded}
    assert set(moved.values()) <= survivors
    assert len(set(moved.values())) > 1  # spread over the survivors
    restarts = [e for e in after.events if e.kind == "VmRestartedOnAlternateHostEvent"]
    assert len(restarts) == len(stranded)
    names = {vm.moref: vm.name for vm in after.vms}
    for moref in stranded:  # one restart event per stranded VM, naming it
        assert sum(f"virtual machine {names[moref]} " in e.message for e in restarts) == 1
    # attached to the failed host (what the host details pane shows) or to the VM itself
    assert {e.entity_moref for e in restarts} <= stranded | {failed}
    assert after.taken_at > before.taken_at
    # vCenter VM count per host: the failed one reads 0 and evaluation agrees
    report = evaluate(full_estate(sim))
    assert report.vm_counts[HostRef(vc_name, failed)] == 0
    # host stays failed; it is still reported, as is the HA-off one, whose VMs nothing restarts
    _, left_host, _ = _failed_host(sim, ha=False)
    assert [f.ref for f in report.failed_hosts] == [HostRef(vc_name, failed), HostRef(vc_name, left_host)]
    assert report.vm_counts[HostRef(vc_name, left_host)] == SimSize().vms_per_esxi_host + 1  # and an infra VM


def test_esxi_host_down_restarts_gradually() -> None:
    sim = SimEstate("esxi-host-down", clock=ManualClock())
    vc_name, failed, _ = _failed_host(sim)
    counts = []
    for _ in range(HA_RESTART_TICKS + 2):
        counts.append(sum(1 for vm in sim.vcenter_snapshot(vc_name).vms if vm.host_moref == failed))
        sim.advance()
    assert counts[0] > counts[1] >= counts[-1] == 0
    assert counts == sorted(counts, reverse=True)


def test_catch_up_follows_the_injected_clock() -> None:
    clock = ManualClock()
    sim = SimEstate(clock=clock, tick_seconds=5.0)
    sim.catch_up()
    assert sim.tick == 0
    clock.now += 12
    sim.catch_up()
    assert sim.tick == 2
    assert (sim.now() - SimEstate(clock=ManualClock()).now()).total_seconds() == 10


@pytest.mark.slow
def test_large_size() -> None:
    sim = SimEstate(size=SimSize.large(), clock=ManualClock())
    nodes = sum(len(sim.openstack_snapshot(c).nodes) for c in sim.cloud_names())
    instances = sum(len(sim.openstack_snapshot(c).instances) for c in sim.cloud_names())
    vms = sum(len(sim.vcenter_snapshot(v).vms) for v in sim.vcenter_names())
    assert nodes >= 1000
    assert instances >= 30_000
    assert vms >= 10_000


def test_backends_satisfy_the_protocols() -> None:
    sim = SimEstate(clock=ManualClock())
    nova, vcs = demo_backends(sim)
    assert [b.name for b in nova] == sim.cloud_names() == ["demo-cloud", "demo-edge"]
    assert [b.name for b in vcs] == sim.vcenter_names()
    assert all(isinstance(b, OpenStackBackend) for b in nova)
    assert all(isinstance(b, VCenterBackend) for b in vcs)
    assert all(isinstance(b, NovaWrites) for b in nova)
    assert all(isinstance(b, VCenterWrites) for b in vcs)
    assert nova[0].fetch().cloud == "demo-cloud"
    assert vcs[0].fetch().vcenter == sim.vcenter_names()[0]


def test_broken_endpoints_raise_backend_error() -> None:
    sim = SimEstate(clock=ManualClock())
    nova = SimNovaBackend(sim, "demo-cloud")
    vc = SimVCenterBackend(sim, "vc-east")
    sim.broken_endpoints |= {"demo-cloud", "vc-east"}
    with pytest.raises(BackendError) as exc_info:
        nova.fetch()
    assert exc_info.value.endpoint == "demo-cloud"
    assert "simulated outage" in str(exc_info.value)
    with pytest.raises(BackendError):
        vc.fetch()
    # other endpoints are unaffected; repair restores
    assert SimNovaBackend(sim, "demo-edge").fetch().cloud == "demo-edge"
    sim.broken_endpoints.clear()
    assert nova.fetch().nodes


def test_wait_for_updates_none_when_idle_snapshot_after_tick() -> None:
    clock = ManualClock()
    sim = SimEstate("esxi-host-down", clock=clock, tick_seconds=5.0)
    vc = SimVCenterBackend(sim, "vc-east", poll_seconds=0.005)
    first = vc.fetch()
    assert vc.wait_for_updates(0.02) is None
    clock.now += 5.0
    update = vc.wait_for_updates(0.5)
    assert update is not None
    assert update.taken_at > first.taken_at
    assert sim.tick == 1
    assert vc.wait_for_updates(0.02) is None  # seen now
    sim.advance()
    assert vc.wait_for_updates(0.5) is not None


def test_wait_for_updates_returns_immediately_before_first_fetch() -> None:
    sim = SimEstate(clock=ManualClock())
    vc = SimVCenterBackend(sim, "vc-west")
    assert vc.wait_for_updates(0.05) is not None  # never fetched: anything is news
