"""Typed identities: one text form each, read back exactly; kinds never compare equal."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from hybridview.core.identity import (
    AggregateRef,
    ClusterRef,
    ClusterSelector,
    EndpointRef,
    HostRef,
    InstanceRef,
    NodeRef,
    Ref,
    RefError,
    VmRef,
    ZoneRef,
    parse_cluster_selector,
    parse_ref,
    ref_text,
)
from hybridview.core.model import Cluster, EndpointKind, EndpointStatus

from tests.unit.factories import cloud, esxi, instance, kvm_node, vcenter, vm

AWKWARD = (
    "plain",
    "a/b/c",
    "vc:east",
    "100%",
    "%2F",  # looks escaped already: must stay literal
    "Zürich-東京 ☁",
    "spaces and\ttabs",
    "domain-c7(Cluster/1)",
    "node:prod/cmp-001",  # another identity's text as a name
)
SCOPED = (NodeRef, InstanceRef, ClusterRef, HostRef, VmRef, AggregateRef, ZoneRef)


def _every_ref() -> list[Ref]:
    refs: list[Ref] = [EndpointRef(name) for name in AWKWARD]
    refs += [cls(scope, local) for cls in SCOPED for scope, local in itertools.product(AWKWARD, repeat=2)]
    return refs


@pytest.mark.parametrize("ref", _every_ref(), ids=repr)
def test_every_kind_round_trips_through_its_text(ref: Ref) -> None:
    text = ref_text(ref)
    assert text == ref.text()
    assert parse_ref(text) == ref
    assert type(parse_ref(text)) is type(ref)
    kind, _, rest = text.partition(":")
    assert kind == ref.KIND
    assert rest.count("/") == (0 if isinstance(ref, EndpointRef) else 1)  # a "/" in a name is escaped


def test_text_is_readable_for_ordinary_names() -> None:
    assert ref_text(NodeRef("prod", "cmp-001.example")) == "node:prod/cmp-001.example"
    assert ref_text(HostRef("vc-east", "host-12")) == "host:vc-east/host-12"
    assert ref_text(ClusterRef("vc-east", "domain-c7")) == "cluster:vc-east/domain-c7"
    assert ref_text(VmRef("vc-east", "vm-3")) == "vm:vc-east/vm-3"
    assert ref_text(InstanceRef("prod", "8b2e")) == "instance:prod/8b2e"
    assert ref_text(EndpointRef("vc-east")) == "endpoint:vc-east"
    assert ref_text(AggregateRef("prod", "12")) == "aggregate:prod/12"
    assert ref_text(ZoneRef("prod", "az 1")) == "zone:prod/az%201"
    assert ref_text(NodeRef("a/b", "50%:x")) == "node:a%2Fb/50%25%3Ax"


def test_hand_typed_unescaped_text_reads_too() -> None:
    assert parse_ref("node:c1/domain-c7(Cluster1)") == NodeRef("c1", "domain-c7(Cluster1)")
    assert parse_ref("host:vc:1/host-1") == HostRef("vc:1", "host-1")


BAD_TEXT = [
    ("", "expected <kind>:<name>"),
    ("node", "expected <kind>:<name>"),
    ("node:", "expected <kind>:<name>"),
    ("nova:c1/kvm1", "unknown identity kind 'nova'"),
    ("vc:vc1/host-1", "unknown identity kind 'vc'"),
    ("Node:c1/kvm1", "unknown identity kind 'Node'"),
    ("node:c1", "expected node:<scope>/<id>"),
    ("node:c1/", "expected node:<scope>/<id>"),
    ("host:/host-1", "expected host:<scope>/<id>"),
    ("vm:vc1/vm-1/extra", "expected vm:<scope>/<id>"),
    ("endpoint:vc1/host-1", "not an endpoint identity"),
    ("node:c1/50%", "bad percent-escape"),
    ("node:c%zz/kvm1", "bad percent-escape"),
    ("cluster:vc1/%ff", "not UTF-8"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TEXT, ids=[t or "(empty)" for t, _ in BAD_TEXT])
def test_bad_text_is_a_ref_error_that_quotes_it(text: str, message: str) -> None:
    with pytest.raises(RefError) as exc_info:
        parse_ref(text)
    assert message in str(exc_info.value)
    assert repr(text) in str(exc_info.value)
    assert isinstance(exc_info.value, ValueError)


def test_kinds_with_the_same_parts_are_never_equal() -> None:
    same_parts = [cls("vc1", "x-1") for cls in SCOPED]
    for a, b in itertools.combinations(same_parts, 2):
        assert a != b, (a, b)
        assert ref_text(a) != ref_text(b)
    assert len(set(same_parts)) == len(SCOPED)
    assert len({ref: i for i, ref in enumerate(same_parts)}) == len(SCOPED)
    assert EndpointRef("vc1") != ClusterRef("vc1", "vc1")
    assert NodeRef("c1", "kvm1") == NodeRef("c1", "kvm1")
    assert NodeRef("c1", "kvm1") != "node:c1/kvm1"  # an identity is not its text


def test_every_ref_names_its_endpoint() -> None:
    assert NodeRef("c1", "kvm1").endpoint == EndpointRef("c1")
    assert VmRef("vc1", "vm-1").endpoint == EndpointRef("vc1")
    assert ZoneRef("c1", "az1").endpoint == EndpointRef("c1") and ZoneRef("c1", "az1").cloud == "c1"
    assert AggregateRef("c1", "7").cloud == "c1"
    assert EndpointRef("vc1").endpoint == EndpointRef("vc1")


def test_model_objects_carry_their_identity() -> None:
    node = kvm_node("kvm1")
    inst = instance("i-1", node)
    machine = vm("vm-1", "host-1", "i-1")
    snap = vcenter(hosts=(esxi("host-1"),), vms=(machine, replace(vm("vm-2", "host-1"), host_moref=None)))
    assert node.ref == NodeRef("c1", "kvm1.example")
    assert (node.ref.cloud, node.ref.hypervisor_hostname) == ("c1", "kvm1.example")
    assert inst.ref == InstanceRef("c1", "i-1") and inst.ref.id == "i-1"
    assert inst.node_ref == node.ref
    assert snap.hosts[0].ref == HostRef("vc1", "host-1")
    assert machine.ref == VmRef("vc1", "vm-1")
    assert machine.host_ref == HostRef("vc1", "host-1")
    assert snap.vms[1].host_ref is None
    assert Cluster("vc1", "domain-c7", "Cluster1", True, True).ref == ClusterRef("vc1", "domain-c7")
    assert ClusterRef("vc1", "domain-c7").moref == "domain-c7"
    assert cloud("c1").ref == EndpointRef("c1")
    assert snap.ref == EndpointRef("vc1")
    assert EndpointStatus("vc1", EndpointKind.VCENTER, True).ref == EndpointRef("vc1")


def test_cluster_selector_splits_at_the_first_slash_only() -> None:
    assert parse_cluster_selector("vc-east/Cluster1") == ClusterSelector("vc-east", "Cluster1")
    assert parse_cluster_selector("vc-east/domain-c7") == ClusterSelector("vc-east", "domain-c7")
    assert parse_cluster_selector("vc-east/Pod 1/Rack A") == ClusterSelector("vc-east", "Pod 1/Rack A")
    assert parse_cluster_selector("vc-east/50%") == ClusterSelector("vc-east", "50%")  # plain text, no escapes


@pytest.mark.parametrize("text", ["", "Cluster1", "vc-east/", "/Cluster1", "/"])
def test_bad_cluster_selector_is_a_ref_error(text: str) -> None:
    with pytest.raises(RefError, match="expected <vcenter name>/<cluster name or moref>"):
        parse_cluster_selector(text)
