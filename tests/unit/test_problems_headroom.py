"""The Problems view's HEADROOM rows: a group without N+1 headroom is a warning with its numbers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hybridview.core.health import Severity
from hybridview.core.identity import AggregateRef, ClusterRef, EndpointRef, ZoneRef
from hybridview.core.model import (
    Cluster,
    ComputeNode,
    EndpointKind,
    Estate,
    HostAggregate,
    OpenStackSnapshot,
)
from hybridview.core.problem_counts import problem_counts
from hybridview.core.problems import Problem, ProblemKind, problems
from hybridview.views.problems_rows import problem_table, problems_for
from tests.unit.factories import T0, esxi, instance, kvm_node, ok, stale, vcenter, view_of, vm
from tests.unit.placement_factories import GIB, placed_cloud, provider

NOW = T0 + timedelta(minutes=30)
NOVA, VC = EndpointKind.NOVA, EndpointKind.VCENTER


def _headroom(found: tuple[Problem, ...]) -> list[Problem]:
    return [p for p in found if p.kind is ProblemKind.HEADROOM]


def _tight_vcenter(free_gib: int) -> Estate:
    """Two 64 GiB hosts, 40 GiB of VMs on host-1, ``64 - free_gib`` used on host-2; HA keeps one host free."""
    cluster = Cluster(
        "vc1", "domain-c7", "Cluster1", True, True, True, admission_policy="failover-level", admission_failover_hosts=1
    )
    hosts = tuple(
        dataclasses.replace(esxi(m), memory_mb=64 * GIB, memory_used_mb=used * GIB)
        for m, used in (("host-1", 40), ("host-2", 64 - free_gib))
    )
    vms = tuple(dataclasses.replace(vm(f"vm-{n}", "host-1", f"u{n}"), memory_mb=10 * GIB) for n in range(4))
    snap = vcenter(clusters=(cluster,), hosts=hosts, vms=vms)
    return Estate(vcenters=(snap,), endpoints=(ok("vc1", VC),))


def test_a_cluster_without_headroom_is_one_warning_with_the_numbers_and_its_admission_control() -> None:
    view = view_of(_tight_vcenter(free_gib=24))
    (problem,) = _headroom(problems(view, NOW))
    assert (problem.key, problem.severity, problem.layer, problem.owner) == (
        ClusterRef("vc1", "domain-c7"),
        Severity.WARNING,
        "vsphere",
        "vc1",
    )
    assert problem.title == (
        "If host-1.example failed, its 40.0 GiB would not fit: the other host has 24.0 GiB free (16.0 GiB short). "
        "HA admission control: reserves capacity for 1 host failure."
    )
    assert problem.advice.startswith("Add capacity, or move load out")
    assert problem.affected.vms == 4  # the VMs of the host whose failure would not be absorbed
    table = problem_table(view, (problem,), problem_counts(view), NOW)
    (row,) = table.rows
    assert row.cells[3] == "headroom of cluster Cluster1" and row.cells[0] == "⚠ WARNING"
    assert "1 group(s) without N+1 headroom" in table.header


def test_enough_and_unknown_headroom_are_no_problem() -> None:
    assert _headroom(problems(view_of(_tight_vcenter(free_gib=40)), NOW)) == []
    bare = vcenter(hosts=(esxi("host-1"), esxi("host-2")), vms=(vm("vm-1", "host-1"),))  # no host hardware known
    unknown = view_of(Estate(vcenters=(bare,), endpoints=(ok("vc1", VC),)))
    assert problems(unknown, NOW) == ()
    assert problem_counts(unknown).without_headroom == 0


def _nova(
    nodes: tuple[ComputeNode, ...], used_gib: tuple[int, ...], aggregates: tuple[HostAggregate, ...] = ()
) -> OpenStackSnapshot:
    """Zone az1 of 64 GiB hosts, ``used_gib`` used on each."""
    providers = tuple(provider(n, 64, used) for n, used in zip(nodes, used_gib, strict=True))
    return placed_cloud(nodes, providers, aggregates=aggregates)


def test_a_nova_zone_and_an_aggregate_without_headroom_name_their_group_and_the_hosts_instances() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"), kvm_node("kvm3"))
    aggregate = HostAggregate("c1", "42", "gpu", None, ("kvm1", "kvm2"))
    snap = _nova(nodes, (50, 50, 50), aggregates=(aggregate,))
    snap = dataclasses.replace(snap, instances=tuple(instance(f"i{n}", nodes[0]) for n in range(3)))
    view = view_of(Estate(openstack=(snap,), endpoints=(ok("c1", NOVA),)))
    found = _headroom(problems(view, NOW))
    assert [(p.key, p.layer) for p in found] == [(AggregateRef("c1", "42"), "nova"), (ZoneRef("c1", "az1"), "nova")]
    assert all(p.affected.instances == 3 and p.affected.projects == ("p1",) for p in found)  # kvm1's
    table = problem_table(view, tuple(found), problem_counts(view), NOW)
    assert [r.cells[3] for r in table.rows] == ["headroom of aggregate gpu", "headroom of zone az1"]
    assert "2 group(s) without N+1 headroom" in table.header


def test_placement_unreadable_is_one_warning_for_the_cloud_and_its_groups_stay_unknown() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"))
    snap = dataclasses.replace(_nova(nodes, (10, 10)), providers=(), capacity_error="Placement: HTTP 403 Forbidden")
    view = view_of(Estate(openstack=(snap,), endpoints=(ok("c1", NOVA),)))
    (problem,) = problems(view, NOW)
    assert (problem.kind, problem.key, problem.severity) == (ProblemKind.HEADROOM, EndpointRef("c1"), Severity.WARNING)
    assert problem.title == "Headroom unknown: Placement: HTTP 403 Forbidden"
    assert "Placement" in problem.advice
    table, _seen = problems_for(view, NOW, {}, ())
    assert table.rows[0].cells[3] == "headroom of cloud c1"
    assert problem_counts(view).without_headroom == 0  # unknown is not short


def test_a_stale_clouds_short_zone_is_marked_stale() -> None:
    nodes = (kvm_node("kvm1"), kvm_node("kvm2"))
    view = view_of(Estate(openstack=(_nova(nodes, (50, 50)),), endpoints=(stale("c1", NOVA),)))
    (problem,) = _headroom(problems(view, NOW))
    assert problem.key == ZoneRef("c1", "az1") and problem.stale
    assert problem_table(view, (problem,), problem_counts(view), NOW).rows[0].cells[4].endswith("(stale data)")
