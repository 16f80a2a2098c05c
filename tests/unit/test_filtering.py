"""The trees' filter on plain row forests, and the search text the demo's presentation fills in."""

from __future__ import annotations

from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, EndpointRef, HostRef, InstanceRef, NodeRef
from hybridview.core.model import Estate
from hybridview.sim import SimEstate
from hybridview.sim.backends import demo_backends
from hybridview.views.filtering import RowFilter, find, lowered, matches
from hybridview.views.presentation import present
from hybridview.views.rows import Row
from tests.unit.factories import view_of


def _node(name: str, severity: Severity = Severity.OK, *, holds: str = "", search: str = "") -> Row:
    return Row(NodeRef("c1", name), (name, "QEMU"), severity, search=search, holds=holds)


def _nova() -> tuple[Row, ...]:
    nodes = (
        _node("kvm-1", holds=lowered(("web-1", "5A1B-uuid-one", "Project-Blue"))),
        _node("kvm-2", Severity.CRITICAL, holds=lowered(("db-1", "uuid-two", "project-red"))),
        _node("domain-c7.abc", search=lowered(("domain-c7.abc", "Cluster1")), holds=lowered(("vm-a", "uuid-three"))),
    )
    return (Row(EndpointRef("c1"), ("☁ c1",), Severity.CRITICAL, children=nodes),)


def _vcenter() -> tuple[Row, ...]:
    hosts = (
        Row(HostRef("vc", "host-1"), ("esx-1",), holds=lowered(("vm-a", "uuid-three"))),
        Row(HostRef("vc", "host-2"), ("esx-2",), Severity.WARNING),
    )
    cluster = Row(ClusterRef("vc", "domain-c7"), ("▣ Cluster1 (domain-c7)",), Severity.WARNING, children=hosts)
    return (Row(EndpointRef("vc"), ("⛁ vc",), Severity.WARNING, children=(cluster,)),)


def _names(rows: tuple[Row, ...]) -> list[object]:
    return [(r.cells[0], _names(r.children)) if r.children else r.cells[0] for r in rows]


def test_no_filter_gives_the_very_same_rows() -> None:
    rows = _nova()
    assert RowFilter().forest(rows) is rows
    assert RowFilter("   ").forest(rows) is rows


def test_search_by_instance_uuid_keeps_its_node_and_the_path_to_it() -> None:
    rows = _nova()
    kept = RowFilter("5a1b-UUID").forest(rows)
    assert _names(kept) == [("☁ c1", ["kvm-1"])]
    assert kept[0].children[0] is rows[0].children[0]  # the node itself, untouched


def test_search_is_a_case_insensitive_substring_of_names_ids_and_projects() -> None:
    assert _names(RowFilter("PROJECT-").forest(_nova())) == [("☁ c1", ["kvm-1", "kvm-2"])]
    assert _names(RowFilter("Kvm-2").forest(_nova())) == [("☁ c1", ["kvm-2"])]
    assert _names(RowFilter("cluster1").forest(_nova())) == [("☁ c1", ["domain-c7.abc"])]
    assert RowFilter("nothing-like-it").forest(_nova()) == ()


def test_a_search_never_matches_across_two_fields() -> None:
    assert RowFilter("web-15a1b").forest(_nova()) == ()


def test_a_host_matches_by_its_vms_and_a_cluster_by_name_keeps_its_hosts() -> None:
    assert _names(RowFilter("uuid-three").forest(_vcenter())) == [("⛁ vc", [("▣ Cluster1 (domain-c7)", ["esx-1"])])]
    assert _names(RowFilter("cluster1").forest(_vcenter())) == [
        ("⛁ vc", [("▣ Cluster1 (domain-c7)", ["esx-1", "esx-2"])])
    ]


def test_problems_only_keeps_rows_above_ok_and_their_ancestors() -> None:
    f = RowFilter(problems_only=True)
    assert _names(f.forest(_nova())) == [("☁ c1", ["kvm-2"])]
    assert _names(f.forest(_vcenter())) == [("⛁ vc", [("▣ Cluster1 (domain-c7)", ["esx-2"])])]
    assert f.forest((Row(EndpointRef("ok"), ("fine",), children=(_node("kvm-9"),)),)) == ()


def test_search_and_problems_only_together() -> None:
    assert _names(RowFilter("project", problems_only=True).forest(_nova())) == [("☁ c1", ["kvm-2"])]
    assert RowFilter("web-1", problems_only=True).forest(_nova()) == ()


def test_untouched_subtrees_are_the_same_objects() -> None:
    rows = _vcenter()
    kept = RowFilter("cluster1").forest(rows)
    assert kept is rows  # nothing was dropped


def test_the_instance_pane_filters_unless_the_selection_matches_by_itself() -> None:
    node = _nova()[0].children[0]
    pane = (
        Row(InstanceRef("c1", "5a1b-uuid-one"), ("web-1",), search=lowered(("5A1B-uuid-one", "project-blue"))),
        Row(InstanceRef("c1", "i-2"), ("web-2",), Severity.WARNING, search="project-blue"),
    )
    assert [r.cells[0] for r in RowFilter("5A1B").pane(pane, node)] == ["web-1"]
    assert [r.cells[0] for r in RowFilter("kvm-1").pane(pane, node)] == ["web-1", "web-2"]
    assert [r.cells[0] for r in RowFilter("kvm-1", problems_only=True).pane(pane, node)] == ["web-2"]
    assert [r.cells[0] for r in RowFilter("blue").pane(pane, None)] == ["web-1", "web-2"]


def test_the_demo_fills_search_text_for_nodes_hosts_clusters_and_vms() -> None:
    estate = SimEstate("healthy", tick_seconds=3600.0)
    nova, vcenters = demo_backends(estate)
    view = view_of(Estate(tuple(b.fetch() for b in nova), tuple(b.fetch() for b in vcenters)))
    p = present(view)
    corr = view.health.correlation
    node_ref, cluster_ref = next(iter(corr.node_to_cluster.items()))
    node_row = find(p.nova_rows, node_ref)
    assert node_row is not None and node_ref.hypervisor_hostname.lower() in node_row.search
    inst = p.instances_by_node[node_ref][0]
    assert inst.id.lower() in node_row.holds and inst.project_id.lower() in node_row.holds
    cluster_row = find(p.vcenter_rows, cluster_ref)
    assert cluster_row is not None and node_ref.hypervisor_hostname.lower() in cluster_row.search
    vm = corr.vm_by_instance[inst.ref]
    assert vm.host_ref is not None
    host_row = find(p.vcenter_rows, vm.host_ref)
    assert host_row is not None and matches(host_row, inst.id.lower()) and matches(host_row, inst.project_id.lower())
    kept = RowFilter(inst.id.upper()).forest(p.vcenter_rows)
    assert [h.key for v in kept for c in v.children for h in c.children] == [vm.host_ref]
