"""The demo's capacity through the same snapshot fields as the real backends, and its headroom per scenario."""

from __future__ import annotations

from collections import Counter

import pytest

from hybridview.core.headroom import estate_headroom
from hybridview.sim import SCENARIOS, SimEstate
from hybridview.sim.backends import demo_backends
from hybridview.sim.layout import FLAVORS
from hybridview.sim.scenarios import HA_RESTART_TICKS
from tests.unit.test_sim import ManualClock, full_estate


def test_every_compute_node_has_its_placement_provider_with_nova_default_ratios_and_its_instances_usage() -> None:
    sim = SimEstate(clock=ManualClock())
    nova, _ = demo_backends(sim)
    for backend in nova:
        snap = backend.fetch()
        assert snap.capacity_error is None
        providers = {p.name: p for p in snap.providers}
        assert set(providers) == {n.hypervisor_hostname for n in snap.nodes}
        used = Counter[str]()
        for inst in snap.instances:
            used[inst.node or ""] += FLAVORS[inst.flavor or ""][1]
        for node in snap.nodes:
            provider = providers[node.hypervisor_hostname]
            memory, vcpu, disk = (provider.use(c) for c in ("MEMORY_MB", "VCPU", "DISK_GB"))
            assert memory is not None and vcpu is not None and disk is not None
            assert (memory.reserved, memory.allocation_ratio, vcpu.allocation_ratio) == (512, 1.5, 16.0)
            assert memory.total == node.memory_mb and memory.used == used[node.hypervisor_hostname] > 0
            assert provider.uuid == node.id


def test_kvm_hosts_sit_in_zones_each_defined_by_an_aggregate_and_an_ssd_aggregate_spans_them() -> None:
    sim = SimEstate(clock=ManualClock())
    snap = sim.openstack_snapshot(sim.cloud_names()[0])
    by_name = {a.name: a for a in snap.aggregates}
    assert {"az1-kvm", "az2-kvm", "ssd", "vcenter-proxies"} <= set(by_name)
    zone_of = {s.host: s.zone for s in snap.services}
    for aggregate in snap.aggregates:
        if aggregate.availability_zone:
            assert {zone_of[h] for h in aggregate.hosts} == {aggregate.availability_zone}
    assert len({zone_of[h] for h in by_name["ssd"].hosts}) > 1
    assert all(i.availability_zone == zone_of[i.host or ""] for i in snap.instances)
    rooms = [r for r in estate_headroom(full_estate(sim)) if r.owner == snap.cloud]
    assert [(r.kind.value, r.group) for r in rooms] == [("zone", "az1"), ("zone", "az2"), ("aggregate", "ssd")]


def test_clusters_show_each_admission_control_kind_and_vms_their_reservations_and_usage() -> None:
    sim = SimEstate(clock=ManualClock())
    _, vcenters = demo_backends(sim)
    snaps = [b.fetch() for b in vcenters]
    clusters = [c for s in snaps for c in s.clusters]
    kinds = {(c.ha_enabled, c.admission_control, c.admission_policy) for c in clusters}
    assert (True, True, "failover-level") in kinds and (True, True, "percentage") in kinds
    assert (True, False, None) in kinds and (False, False, None) in kinds
    vms = [v for s in snaps for v in s.vms]
    infra = [v for v in vms if v.instance_uuid is None]
    assert infra and all(v.memory_reservation_mb == v.memory_mb and v.cpu_reservation_mhz for v in infra)
    running = [v for v in vms if v.power_state == "poweredOn"]
    assert all(0 < (v.memory_used_mb or 0) <= (v.memory_mb or 0) and v.cpu_used_mhz for v in running)


def test_the_healthy_demo_has_headroom_everywhere() -> None:
    rooms = estate_headroom(full_estate(SimEstate("healthy", clock=ManualClock())))
    assert len(rooms) == 10  # 4 clusters; per cloud two zones and the ssd aggregate
    assert all(r.enough is True for r in rooms), [r.text for r in rooms if not r.enough]


def test_esxi_host_down_leaves_the_tight_cluster_without_headroom_steadily_while_ha_restarts() -> None:
    sim = SimEstate("esxi-host-down", clock=ManualClock())
    shorts = []
    for _ in range(HA_RESTART_TICKS + 1):
        rooms = estate_headroom(full_estate(sim))
        (short,) = [r for r in rooms if r.enough is False]
        shorts.append(short)
        sim.advance()
    first = shorts[0]
    assert (first.owner, first.group, first.kind.value) == ("vc-east", "vc-east-cl01", "cluster")
    assert first.admission_control == "HA admission control: reserves capacity for 1 host failure"
    assert "would not fit" in first.text and "still on 1 failed host" in first.text
    memory = [r.resource("memory_mb") for r in shorts]
    assert len({m.short for m in memory if m is not None}) == 1, [r.text for r in shorts]
    assert "failed host" not in shorts[-1].text  # HA restarted them all: the survivors carry them now


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "esxi-host-down"])
def test_no_other_scenario_runs_short(scenario: str) -> None:
    rooms = estate_headroom(full_estate(SimEstate(scenario, clock=ManualClock())))
    assert rooms and all(r.enough is True for r in rooms), [r.text for r in rooms if not r.enough]


def test_capacity_is_deterministic_for_a_seed() -> None:
    def capacity(seed: int) -> tuple[object, ...]:
        sim = SimEstate(seed=seed, clock=ManualClock())
        snap, vc = sim.openstack_snapshot("demo-cloud"), sim.vcenter_snapshot("vc-east")
        return snap.providers, snap.aggregates, vc.clusters, [(v.memory_used_mb, v.cpu_used_mhz) for v in vc.vms]

    assert capacity(7) == capacity(7)
    assert capacity(7) != capacity(8)
