"""core.problems: one problem per item not OK, with health's texts, worst and oldest first; and the header counts."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hybridview.core.actions import ActionKey, Verb
from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, EndpointRef, HostRef, InstanceRef, NodeRef, VmRef
from hybridview.core.model import (
    Cluster,
    EndpointKind,
    Estate,
    Migration,
    OpenStackSnapshot,
    VSphereEvent,
)
from hybridview.core.problem_counts import problem_counts
from hybridview.core.problem_actions import ActionProblem
from hybridview.core.problems import Problem, ProblemKind, problems, remember
from hybridview.views.problems_rows import age_text, problem_table
from tests.unit.factories import (
    T0,
    VC_UUID,
    cloud,
    esxi,
    instance,
    kvm_node,
    ok,
    service,
    stale,
    vcenter,
    view_of,
    vm,
    vmware_node,
)

NOW = T0 + timedelta(minutes=30)
NOVA, VC = EndpointKind.NOVA, EndpointKind.VCENTER


def _cloud(nodes: tuple, instances: tuple = (), heartbeats: dict[str, str] | None = None) -> OpenStackSnapshot:
    snap = cloud("c1", nodes, instances)
    services = tuple(
        dataclasses.replace(
            service(n.host, state=n.state, status=n.status, forced_down=n.forced_down, reason=n.disabled_reason),
            updated_at=(heartbeats or {}).get(n.host),
        )
        for n in nodes
    )
    return dataclasses.replace(snap, services=services)


def _only(found: tuple[Problem, ...], kind: ProblemKind) -> Problem:
    matching = [p for p in found if p.kind is kind]
    assert len(matching) == 1, found
    return matching[0]


def test_healthy_estate_has_no_problem() -> None:
    node = kvm_node("kvm1")
    estate = Estate(openstack=(_cloud((node,), (instance("i1", node),)),), endpoints=(ok("c1", NOVA),))
    assert problems(view_of(estate), NOW) == ()


def test_a_down_kvm_node_is_one_critical_problem_since_its_last_heartbeat_with_healths_advice() -> None:
    node = kvm_node("kvm1", state="down")
    others = tuple(dataclasses.replace(instance(f"i{n}", node), project_id=p) for n, p in enumerate("aab"))
    estate = Estate(
        openstack=(_cloud((node, kvm_node("kvm2")), others, {"kvm1": "2026-01-01T00:10:00.000000"}),),
        endpoints=(ok("c1", NOVA),),
    )
    view = view_of(estate)
    found = problems(view, NOW)
    problem = _only(found, ProblemKind.NODE)
    assert problem.key == NodeRef("c1", "kvm1.example")
    assert (problem.severity, problem.layer, problem.owner) == (Severity.CRITICAL, "nova", "c1")
    assert problem.since == T0 + timedelta(minutes=10)
    assert problem.advice == view.health.failed_hosts[0].advice and "Fence the host" in problem.advice
    assert problem.affected.instances == 3 and problem.affected.projects == ("a", "b")
    evacuation = _only(found, ProblemKind.EVACUATION)
    assert evacuation.key == problem.key and evacuation.since == problem.since
    assert "3 instance(s) of kvm1 wait for evacuation" in evacuation.title
    assert [p.kind for p in found] == [ProblemKind.NODE, ProblemKind.EVACUATION]  # the cause, then its follow-up
    assert not any(p.kind is ProblemKind.INSTANCE for p in found), "the instances are the host's row's"


def test_a_service_disabled_with_a_reason_is_a_notice_without_one_a_warning() -> None:
    known = kvm_node("kvm1", status="disabled", disabled_reason="firmware upgrade")
    unknown = kvm_node("kvm2", status="disabled")
    estate = Estate(openstack=(_cloud((known, unknown)),), endpoints=(ok("c1", NOVA),))
    found = problems(view_of(estate), NOW)
    assert [(p.key.local, p.severity, p.notice) for p in found] == [
        ("kvm2.example", Severity.WARNING, False),
        ("kvm1.example", Severity.WARNING, True),  # a notice sorts after every warning
    ]
    assert "firmware upgrade" in found[1].title
    assert found[1].since == NOW, "no time of its own: first seen now"


def test_an_unmatched_vmwareapi_node_is_a_warning() -> None:
    node = vmware_node("domain-c99.deadbeef")
    estate = Estate(openstack=(_cloud((node,)),), vcenters=(vcenter(),), endpoints=(ok("c1", NOVA), ok("vc1", VC)))
    view = view_of(estate)
    assert view.health.correlation.unmatched_vmware_nodes == (node.ref,)
    problem = _only(problems(view, NOW), ProblemKind.NODE)
    assert problem.severity is Severity.WARNING and "no matching vCenter cluster" in problem.title
    assert "node_map" in problem.advice


def test_failed_esxi_host_since_its_event_with_nova_instances_affected_and_healths_advice() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID}")
    inst = instance("u1", node)
    host = esxi("host-1", connection="notResponding")
    snap = vcenter(hosts=(host, esxi("host-2")), vms=(vm("vm-1", "host-1", "u1"), vm("vm-2", "host-1")))
    event = VSphereEvent(T0 + timedelta(minutes=5), "host-1", "HostNotRespondingEvent", "Host is not responding")
    snap = dataclasses.replace(snap, events=(event,))
    estate = Estate(openstack=(_cloud((node,), (inst,)),), vcenters=(snap,), endpoints=(ok("c1", NOVA), ok("vc1", VC)))
    view = view_of(estate)
    found = problems(view, NOW)
    problem = _only(found, ProblemKind.ESXI_HOST)
    assert (problem.key, problem.severity, problem.layer, problem.owner) == (
        HostRef("vc1", "host-1"),
        Severity.CRITICAL,
        "vsphere",
        "vc1",
    )
    assert problem.since == event.time
    assert problem.affected.instances == 1 and problem.affected.vms == 2 and problem.affected.projects == ("p1",)
    assert "vSphere HA restarts its 2 VM(s)" in problem.advice
    assert [p.kind for p in found] == [ProblemKind.ESXI_HOST], "the vmwareapi node and the cluster are consequences"


def test_ha_off_left_behind_vms_follow_their_host_and_an_all_failed_cluster_is_its_own_problem() -> None:
    cluster = Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=False, drs_enabled=True)
    hosts = (esxi("host-1", connection="notResponding"), esxi("host-2", connection="notResponding"))
    snap = vcenter(clusters=(cluster,), hosts=hosts, vms=(vm("vm-1", "host-1", "u1"),))
    estate = Estate(vcenters=(snap,), endpoints=(ok("vc1", VC),))
    found = problems(view_of(estate), NOW)
    left = _only(found, ProblemKind.LEFT_BEHIND)
    assert left.key == HostRef("vc1", "host-1") and left.affected.vms == 1
    assert "HA is off" in left.title and "Restart VMs" in left.advice
    assert _only(found, ProblemKind.CLUSTER).key == ClusterRef("vc1", "domain-c7")
    kinds = [(p.kind, p.key.local) for p in found]
    assert kinds.index((ProblemKind.LEFT_BEHIND, "host-1")) == kinds.index((ProblemKind.ESXI_HOST, "host-1")) + 1


def test_maintenance_is_a_notice_and_disconnected_a_warning() -> None:
    snap = vcenter(hosts=(esxi("host-1", maintenance=True), esxi("host-2", connection="disconnected")))
    found = problems(view_of(Estate(vcenters=(snap,), endpoints=(ok("vc1", VC),))), NOW)
    assert [(p.key.local, p.notice) for p in found] == [("host-2", False), ("host-1", True)]
    assert "reconnect it in vCenter" in found[0].advice


def test_a_stale_endpoint_is_one_warning_since_its_last_good_refresh_its_items_not_listed() -> None:
    node = kvm_node("kvm1")
    estate = Estate(openstack=(_cloud((node,), (instance("i1", node),)),), endpoints=(stale("c1", NOVA),))
    found = problems(view_of(estate), NOW)
    assert len(found) == 1
    problem = found[0]
    assert (problem.kind, problem.key, problem.severity) == (ProblemKind.ENDPOINT, EndpointRef("c1"), Severity.WARNING)
    assert "HTTP 503" in problem.title and problem.since == T0 and problem.affected.instances == 1


def test_an_instance_in_error_is_its_own_problem() -> None:
    node = kvm_node("kvm1")
    estate = Estate(openstack=(_cloud((node,), (instance("i1", node, status="ERROR"),)),), endpoints=(ok("c1", NOVA),))
    problem = _only(problems(view_of(estate), NOW), ProblemKind.INSTANCE)
    assert problem.key == InstanceRef("c1", "i1") and problem.severity is Severity.CRITICAL


def test_failed_actions_come_from_the_caller_and_name_their_item() -> None:
    node = kvm_node("kvm1")
    snap = vcenter(hosts=(esxi("host-1"),), vms=(vm("vm-1", "host-1", "u1"),))
    estate = Estate(openstack=(_cloud((node,)),), vcenters=(snap,), endpoints=(ok("c1", NOVA), ok("vc1", VC)))
    actions = (
        ActionProblem(ActionKey("c1", Verb.FORCE_DOWN, "kvm1"), "kvm1", "failed", "HTTP 500", "Evacuate kvm1"),
        ActionProblem(ActionKey("vc1", Verb.RESTART_VM, "U1"), "vm-1", "outcome unknown", "", "Restart the VMs"),
        ActionProblem(ActionKey("c1", Verb.EVACUATE, "i9"), "web", "failed", "no host", "Evacuate kvm1"),
    )
    found = problems(view_of(estate), NOW, actions=actions)
    assert {p.key for p in found} == {NodeRef("c1", "kvm1.example"), VmRef("vc1", "vm-1"), InstanceRef("c1", "i9")}
    assert {(p.layer, p.severity, p.kind) for p in found} == {("hybridview", Severity.WARNING, ProblemKind.ACTION)}
    assert any("HTTP 500" in p.title for p in found) and any("outcome unknown" in p.title for p in found)


def test_ordering_is_severity_then_age_and_first_seen_is_kept_by_the_caller() -> None:
    nodes = (
        kvm_node("kvm1", status="disabled"),
        kvm_node("kvm2", state="down"),
        kvm_node("kvm3", state="down"),
    )
    beats = {"kvm2": "2026-01-01T00:20:00", "kvm3": "2026-01-01T00:05:00"}
    estate = Estate(openstack=(_cloud(nodes, (), beats),), endpoints=(ok("c1", NOVA),))
    view = view_of(estate)
    first = problems(view, NOW)
    assert [p.key.local for p in first] == ["kvm3.example", "kvm2.example", "kvm1.example"]
    seen = remember({}, first, NOW)
    later = problems(view, NOW + timedelta(minutes=7), seen)
    disabled = next(p for p in later if p.key.local == "kvm1.example")
    assert disabled.since == NOW, "the time it was first seen, not the time of this call"
    assert remember(seen, later[:1], NOW + timedelta(hours=1)) == {later[0].id: seen[later[0].id]}


def test_counts_for_the_header_line() -> None:
    node = kvm_node("kvm1", state="down")
    live = Migration("c1", "m1", "i2", "live-migration", "running", "kvm2", "kvm3", None, None, None, None)
    done = dataclasses.replace(live, id="m2", status="completed")
    snap = dataclasses.replace(_cloud((node, kvm_node("kvm2"))), migrations=(live, done))
    snap = dataclasses.replace(snap, instances=(instance("i1", node),))
    vc = vcenter(hosts=(esxi("host-1", connection="notResponding"), esxi("host-2", maintenance=True)))
    vc = dataclasses.replace(vc, vms=(vm("vm-1", "host-1"),))
    estate = Estate(openstack=(snap,), vcenters=(vc,), endpoints=(ok("c1", NOVA), stale("vc1", VC)))
    counts = problem_counts(view_of(estate))
    assert (counts.nodes_up, counts.nodes_down) == (1, 1)
    assert (counts.hosts_ok, counts.hosts_down, counts.hosts_maintenance) == (1, 1, 1)
    assert counts.at_risk == 2  # the instance of the down node and the VM of the failed host
    assert counts.evacuations_pending == 1 and counts.migrations_running == 1 and counts.stale_endpoints == 1


def test_rows_name_a_vmwareapi_node_by_its_cluster_and_say_the_age() -> None:
    node = vmware_node(f"domain-c7.{VC_UUID}", state="down")
    estate = Estate(openstack=(_cloud((node,)),), vcenters=(vcenter(),), endpoints=(ok("c1", NOVA), ok("vc1", VC)))
    view = view_of(estate)
    found = problems(view, NOW)
    table = problem_table(view, found, problem_counts(view), NOW)
    row = table.rows[0]
    assert row.cells[0] == "✖ CRITICAL" and row.icon == "critical"
    assert row.cells[3] == "compute node Cluster1 (vc1)"
    assert "Do not evacuate" in row.cells[-1] and "Do not evacuate" in table.focus
    assert table.header_level == "critical" and "1 DOWN" in table.header
    assert [age_text(T0, T0 + d) for d in (timedelta(seconds=45), timedelta(minutes=12), timedelta(hours=3))] == [
        "45 s",
        "12 min",
        "3 h",
    ]
