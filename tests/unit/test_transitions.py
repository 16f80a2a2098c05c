"""Health states of watched items and the transitions between two views."""

from __future__ import annotations

from hybridview.core.health import evaluate
from hybridview.core.identity import EndpointRef, HostRef
from hybridview.core.model import EndpointKind, Estate
from hybridview.core.view import EstateView
from hybridview.service.transitions import OVERALL_REF, Kind, health_states, transitions, with_fault
from tests.unit.factories import cloud, esxi, kvm_node, ok, stale, vcenter


def view(*, host_connection: str = "connected", vc_ok: bool = True, node_state: str = "up") -> EstateView:
    estate = Estate(
        openstack=(cloud("c1", nodes=(kvm_node("kvm1", state=node_state),)),),
        vcenters=(vcenter("vc1", hosts=(esxi("host-1", connection=host_connection), esxi("host-2"))),),
        endpoints=(
            ok("c1", EndpointKind.NOVA),
            ok("vc1", EndpointKind.VCENTER) if vc_ok else stale("vc1", EndpointKind.VCENTER),
        ),
    )
    return EstateView(estate, evaluate(estate))


def test_the_first_report_lists_what_is_not_ok_and_the_overall_health() -> None:
    changes = transitions(None, health_states(view(host_connection="notResponding")))
    by_kind = {(c.kind, c.name): c for c in changes}
    host = by_kind[(Kind.HOST, "host-1.example")]
    assert (host.before, host.after, host.ref) == (None, "CRITICAL", HostRef("vc1", "host-1").text())
    assert "notResponding" in host.reason
    assert (Kind.HOST, "host-2.example") not in by_kind
    assert by_kind[(Kind.OVERALL, "overall health")].after == "CRITICAL"
    assert {c.kind for c in changes} == {Kind.HOST, Kind.CLUSTER, Kind.OVERALL}


def test_a_healthy_first_report_is_one_overall_line() -> None:
    changes = transitions(None, health_states(view()))
    assert [(c.kind, c.after) for c in changes] == [(Kind.OVERALL, "OK")]


def test_only_changed_levels_are_transitions() -> None:
    before = health_states(view())
    assert transitions(before, health_states(view())) == []
    after = health_states(view(node_state="down"))
    changes = {c.kind: c for c in transitions(before, after)}
    assert changes[Kind.NODE].before == "OK" and changes[Kind.NODE].after == "CRITICAL"
    assert changes[Kind.OVERALL].after == "CRITICAL"


def test_a_stale_endpoint_makes_its_items_stale_and_recovers() -> None:
    before = health_states(view())
    during = health_states(view(vc_ok=False))
    changes = transitions(before, during)
    endpoint = next(c for c in changes if c.kind is Kind.ENDPOINT)
    assert (endpoint.ref, endpoint.after, endpoint.reason) == (EndpointRef("vc1").text(), "STALE", "HTTP 503: down")
    assert {c.name for c in changes if c.kind is Kind.HOST} == {"host-1.example", "host-2.example"}
    assert during[OVERALL_REF].level == "WARNING"
    back = transitions(during, before)
    assert next(c for c in back if c.kind is Kind.ENDPOINT).after == "OK"


def test_a_fault_makes_the_overall_health_unknown_with_the_reason() -> None:
    states = with_fault(health_states(view()), "internal error while evaluating the estate: ValueError: x")
    (change,) = transitions(health_states(view()), states)
    assert (change.kind, change.after) == (Kind.OVERALL, "UNKNOWN")
    assert change.reason.endswith("ValueError: x")


def test_an_item_that_leaves_the_inventory_is_reported_gone() -> None:
    before = health_states(view(host_connection="notResponding"))
    after = {k: v for k, v in before.items() if k != HostRef("vc1", "host-1")}
    (gone,) = transitions(before, after)
    assert (gone.kind, gone.name, gone.before, gone.after) == (Kind.HOST, "host-1.example", "CRITICAL", "GONE")
