"""core.headroom: could the other hosts of a cluster, zone or aggregate absorb one host's failure now?"""

from __future__ import annotations

import dataclasses

import pytest

from hybridview.core.headroom import GroupKind, Headroom, estate_headroom, nova_headroom
from hybridview.core.headroom_loads import admission_text
from hybridview.core.identity import AggregateRef, ClusterRef, HostRef, NodeRef, ZoneRef
from hybridview.core.model import (
    Cluster,
    EndpointKind,
    Estate,
    EsxiHost,
    HostAggregate,
    OpenStackSnapshot,
    PlacementProvider,
    ResourceUse,
    VirtualMachine,
)
from tests.unit.factories import esxi, kvm_node, ok, stale, vcenter, vm, vmware_node
from tests.unit.placement_factories import GIB, placed_cloud, provider


def _only(snap: OpenStackSnapshot) -> Headroom:
    (room,) = nova_headroom(snap)
    return room


def _short_zone() -> OpenStackSnapshot:
    """kvm-0003 (192 GiB) holds 96 GiB and 24 vCPU; the three 64 GiB hosts have 16, 16 and 8 GiB free."""
    big = kvm_node("kvm-0003")
    small = [kvm_node(f"kvm-000{n}") for n in (1, 2, 4)]
    providers = (
        provider(big, 192, 96, vcpus_used=24),
        *(provider(n, 64, used) for n, used in zip(small, (48, 48, 56), strict=True)),
    )
    return placed_cloud((big, *small), providers)


def test_a_zone_whose_other_hosts_cannot_hold_its_biggest_host_is_short_with_the_numbers() -> None:
    room = _only(_short_zone())
    assert (room.kind, room.key, room.group, room.owner) == (GroupKind.ZONE, ZoneRef("c1", "az1"), "az1", "c1")
    assert room.enough is False and room.biggest_host == "kvm-0003" and room.hosts == 4
    assert room.biggest_ref == NodeRef("c1", "kvm-0003.example")
    memory, vcpu = room.resource("memory_mb"), room.resource("vcpu")
    assert memory is not None and vcpu is not None
    assert (memory.needed, memory.spare, memory.short) == (96 * GIB, 40 * GIB, 56 * GIB)
    assert (vcpu.needed, vcpu.spare, vcpu.short) == (24, 3 * 56, 0)
    assert room.text == (
        "If kvm-0003 failed, its 96.0 GiB and 24 vCPU would not fit: the other 3 hosts have 40.0 GiB free "
        "(56.0 GiB short)."
    )
    assert room.source == "placement"


def test_on_uneven_hardware_the_host_named_is_the_biggest_whose_load_would_not_fit() -> None:
    big, small = kvm_node("kvm-big"), (kvm_node("kvm-a"), kvm_node("kvm-b"))
    providers = (provider(big, 256, 40), *(provider(n, 64, 50) for n in small))
    room = _only(placed_cloud((big, *small), providers))
    # kvm-a's 50 GiB fit on kvm-big, but kvm-big's 40 GiB do not fit in the small hosts' 14 + 14 GiB
    assert room.enough is False and room.biggest_host == "kvm-big"
    assert "its 40.0 GiB and 8 vCPU would not fit: the other 2 hosts have 28.0 GiB free (12.0 GiB short)" in room.text


def test_capacity_is_placements_total_less_reserved_times_the_ratio() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"))
    # kvm2: (64 GiB - 512 MB) x 1.5 = 95.25 GiB, 30 GiB used: 65.25 GiB free; 16 vCPU x 16 = 256, 10 used
    providers = (
        provider(nodes[0], 64, 40, 16, 4, reserved_mb=512, memory_ratio=1.5, vcpu_ratio=16.0),
        provider(nodes[1], 64, 30, 16, 10, reserved_mb=512, memory_ratio=1.5, vcpu_ratio=16.0),
    )
    room = _only(placed_cloud(nodes, providers))
    assert room.enough is True and room.biggest_host == "kvm1"
    memory, vcpu = room.resource("memory_mb"), room.resource("vcpu")
    assert memory is not None and vcpu is not None
    assert memory.spare == (64 * GIB - 512) * 1.5 - 30 * GIB and vcpu.spare == 256 - 10
    assert (
        room.text == "If kvm1 failed, its 40.0 GiB and 4 vCPU would fit: the other host has 65.2 GiB and 246 vCPU free."
    )


def test_the_hypervisor_records_stand_in_only_when_placement_gives_nothing_and_the_text_says_so() -> None:
    sized = [
        dataclasses.replace(kvm_node(h), vcpus=32, vcpus_used=used // 4, memory_mb=128 * GIB, memory_mb_used=used * GIB)
        for h, used in (("kvm1", 100), ("kvm2", 100))
    ]
    fallback = _only(placed_cloud(tuple(sized)))
    assert fallback.enough is False and fallback.source == "hypervisors"
    assert "from the hypervisor records: Placement gave none" in fallback.text
    providers = tuple(provider(n, 256, 100) for n in sized)  # Placement says otherwise: it wins
    placed = _only(placed_cloud(tuple(sized), providers))
    assert placed.enough is True and placed.source == "placement" and "hypervisor" not in placed.text


def test_unknown_without_capacity_data_with_placements_error_and_for_a_single_host() -> None:
    bare = (kvm_node("kvm1"), kvm_node("kvm2"))
    unknown = _only(placed_cloud(bare))
    assert unknown.enough is None and unknown.reason == "no capacity data"
    assert unknown.text == "Headroom unknown: no capacity data." and unknown.resources == ()
    failed = _only(placed_cloud(bare, capacity_error="Placement: HTTP 403 Forbidden"))
    assert failed.enough is None and failed.reason == "no capacity data: Placement: HTTP 403 Forbidden"
    one = kvm_node("kvm1")
    single = _only(placed_cloud((one,), (provider(one, 64, 60),)))
    assert single.enough is None and "single host" in str(single.reason)


def test_disabled_and_down_nova_hosts_offer_no_capacity_and_a_down_hosts_load_is_pending() -> None:
    up, disabled, down = kvm_node("kvm1"), kvm_node("kvm2", status="disabled"), kvm_node("kvm3", state="down")
    providers = (provider(up, 64, 8), provider(disabled, 256, 0), provider(down, 64, 40))
    room = _only(placed_cloud((up, disabled, down), providers))
    # kvm1 fails: kvm2 is disabled (offers nothing), and kvm3's 40 GiB already waits for a home
    assert room.enough is False and room.biggest_host == "kvm1" and room.hosts == 1
    memory = room.resource("memory_mb")
    assert memory is not None and (memory.needed, memory.spare) == (8 * GIB, 0)
    assert "no other usable host is left" in room.text
    assert "after the 40.0 GiB and 8 vCPU still on 1 failed host" in room.text
    assert "1 host is up but takes no load" in room.text


def test_vmwareapi_nodes_never_count_as_nova_hosts() -> None:
    kvm = kvm_node("kvm1")
    proxy = vmware_node("domain-c7.uuid", host="proxy1")
    huge = PlacementProvider("c1", "rp-proxy", proxy.hypervisor_hostname, (ResourceUse("MEMORY_MB", 10**7, 0, 1.0, 0),))
    room = _only(placed_cloud((kvm, proxy), (provider(kvm, 64, 60), huge)))
    assert room.enough is None and "single host" in str(room.reason)
    assert room.members == (kvm.ref,)


def test_zones_and_aggregates_a_zone_that_is_one_aggregate_reported_once() -> None:
    nodes = tuple(kvm_node(f"kvm{n}") for n in range(1, 5))
    providers = tuple(provider(n, 64, 10) for n in nodes)
    aggregates = (
        HostAggregate("c1", "7", "rack-a", "az-a", ("kvm1", "kvm2")),  # defines zone az-a: reported as the zone
        HostAggregate("c1", "8", "rack-b", "az-b", ("kvm3", "kvm4")),
        HostAggregate("c1", "9", "ssd", None, ("kvm1", "kvm3", "kvm3", "proxy-absent")),
    )
    snap = placed_cloud(nodes, providers, zone=None, aggregates=aggregates)  # services without a zone: the aggregates'
    rooms = nova_headroom(snap)
    assert [(r.kind, r.key, r.group) for r in rooms] == [
        (GroupKind.ZONE, ZoneRef("c1", "az-a"), "az-a"),
        (GroupKind.ZONE, ZoneRef("c1", "az-b"), "az-b"),
        (GroupKind.AGGREGATE, AggregateRef("c1", "9"), "ssd"),
    ]
    assert rooms[2].members == (NodeRef("c1", "kvm1.example"), NodeRef("c1", "kvm3.example"))
    assert [r.group for r in nova_headroom(snap, host="kvm2")] == ["az-a"]
    assert all(r.enough for r in rooms)


def _cluster(**admission: object) -> Cluster:
    return dataclasses.replace(Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=True, drs_enabled=True), **admission)


def _host(moref: str, memory_gib: int = 64, used_gib: int | None = None, **state: object) -> EsxiHost:
    used = used_gib * GIB if used_gib is not None else None
    host = dataclasses.replace(esxi(moref), memory_mb=memory_gib * GIB, memory_used_mb=used, cpu_mhz=40000)
    return dataclasses.replace(host, cpu_used_mhz=10000, **state)


def _vm(moref: str, host: str, memory_gib: float, **fields: object) -> VirtualMachine:
    return dataclasses.replace(vm(moref, host), memory_mb=int(memory_gib * GIB), cpu_used_mhz=1000, **fields)


def _vsphere(cluster: Cluster, hosts: tuple[EsxiHost, ...], vms: tuple[VirtualMachine, ...]) -> Headroom:
    estate = Estate(
        vcenters=(vcenter(clusters=(cluster,), hosts=hosts, vms=vms),), endpoints=(ok("vc1", EndpointKind.VCENTER),)
    )
    (room,) = estate_headroom(estate)
    return room


def test_a_cluster_needs_what_ha_would_restart_configured_memory_at_least_the_reservation() -> None:
    vms = (
        _vm("vm-1", "host-1", 20, memory_reservation_mb=4 * GIB, memory_used_mb=2 * GIB),  # configured: 20 GiB
        _vm("vm-2", "host-1", 8, cpu_reservation_mhz=3000),  # CPU: its reservation, above its 1000 MHz use
        _vm("vm-3", "host-1", 30, power_state="poweredOff"),  # nothing to restart
        _vm("vm-4", "host-2", 10),
    )
    room = _vsphere(_cluster(), (_host("host-1", used_gib=30), _host("host-2", used_gib=12), _host("host-3")), vms)
    assert room.kind is GroupKind.CLUSTER and room.key == ClusterRef("vc1", "domain-c7") and room.layer == "vsphere"
    memory, cpu = room.resource("memory_mb"), room.resource("cpu_mhz")
    assert memory is not None and cpu is not None
    assert room.biggest_host == "host-1.example" and room.biggest_ref == HostRef("vc1", "host-1")
    assert memory.needed == 28 * GIB and cpu.needed == 4000
    # host-2 is occupied by its quick stats (12 GiB, above its VMs' 10), host-3 by nothing: 52 + 64 free
    assert memory.spare == (64 - 12 + 64) * GIB and room.enough is True
    assert room.text.startswith("If host-1.example failed, its 28.0 GiB and 4.0 GHz would fit")


def test_a_host_in_maintenance_is_not_capacity() -> None:
    vms = (_vm("vm-1", "host-1", 40), _vm("vm-2", "host-2", 40))
    hosts = (_host("host-1"), _host("host-2"), _host("host-3", in_maintenance=True))
    room = _vsphere(_cluster(), hosts, vms)
    memory = room.resource("memory_mb")
    assert room.enough is False and room.hosts == 2 and memory is not None
    assert (memory.needed, memory.spare, memory.short) == (40 * GIB, 24 * GIB, 16 * GIB)
    counted = _vsphere(_cluster(), (*hosts[:2], dataclasses.replace(hosts[2], in_maintenance=False)), vms)
    assert counted.enough is True


def test_the_percentage_policy_keeps_its_share_of_each_survivor_out_of_reach() -> None:
    vms = (_vm("vm-1", "host-1", 40), _vm("vm-2", "host-2", 10))
    hosts = (_host("host-1"), _host("host-2"))
    assert _vsphere(_cluster(), hosts, vms).enough is True  # 54 GiB free on host-2
    policy = _cluster(
        admission_control=True, admission_policy="percentage", admission_cpu_percent=25, admission_memory_percent=50
    )
    room = _vsphere(policy, hosts, vms)
    memory = room.resource("memory_mb")
    assert room.enough is False and memory is not None and memory.spare == (32 - 10) * GIB
    assert room.admission_control == "HA admission control: keeps 25% CPU and 50% memory free"


def test_a_failed_esxi_hosts_vms_count_against_the_survivors_while_ha_restarts_them() -> None:
    hosts = (_host("host-1", connection_state="notResponding"), _host("host-2"), _host("host-3"))
    waiting = (_vm("vm-1", "host-1", 30), _vm("vm-2", "host-2", 20), _vm("vm-3", "host-3", 20))
    before = _vsphere(_cluster(), hosts, waiting)
    restarted = _vsphere(_cluster(), hosts, (dataclasses.replace(waiting[0], host_moref="host-3"), *waiting[1:]))
    assert before.enough is restarted.enough is False
    short_before, short_after = before.resource("memory_mb"), restarted.resource("memory_mb")
    assert short_before is not None and short_after is not None and short_before.short == short_after.short
    assert "still on 1 failed host" in before.text and "failed host" not in restarted.text


@pytest.mark.parametrize(
    ("admission", "text"),
    [
        (
            {"admission_control": True, "admission_policy": "failover-level", "admission_failover_hosts": 1},
            "HA admission control: reserves capacity for 1 host failure",
        ),
        (
            {"admission_control": True, "admission_policy": "failover-level", "admission_failover_hosts": 2},
            "HA admission control: reserves capacity for 2 host failures",
        ),
        (
            {"admission_control": True, "admission_policy": "failover-hosts", "admission_failover_hosts": 1},
            "HA admission control: 1 dedicated failover host",
        ),
        (
            {"admission_control": False},
            "HA admission control is off: vSphere holds no capacity back for a host failure",
        ),
        ({"ha_enabled": False}, "vSphere HA is off: nothing restarts a failed host's VMs by itself"),
        ({}, None),  # admission control not read
    ],
)
def test_admission_control_in_words(admission: dict[str, object], text: str | None) -> None:
    assert admission_text(_cluster(**admission)) == text


def test_a_stale_endpoints_groups_say_so_and_every_layer_is_judged_once() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"))
    snap = placed_cloud(nodes, tuple(provider(n, 64, 10) for n in nodes))
    vc = vcenter(hosts=(_host("host-1"), _host("host-2")), vms=(_vm("vm-1", "host-1", 4),))
    estate = Estate(
        openstack=(snap,), vcenters=(vc,), endpoints=(stale("c1", EndpointKind.NOVA), ok("vc1", EndpointKind.VCENTER))
    )
    rooms = estate_headroom(estate)
    assert [(r.kind, r.stale) for r in rooms] == [(GroupKind.CLUSTER, False), (GroupKind.ZONE, True)]


def test_hosts_without_load_need_nothing_moved() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2", status="disabled"))
    room = _only(placed_cloud(nodes, tuple(provider(n, 64, 0, vcpus_used=0) for n in nodes)))
    assert room.enough is True and room.hosts == 1
    assert room.text == "If kvm1 failed, nothing would need a new host; 1 host is up but takes no load."


def test_last_good_placement_figures_after_a_failed_read_are_judged_and_flagged_old() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"))
    room = _only(placed_cloud(nodes, tuple(provider(n, 64, 10) for n in nodes), capacity_error="Placement: timed out"))
    assert room.enough is True
    assert room.text.endswith("Placement's last read failed (Placement: timed out): figures may be old.")
