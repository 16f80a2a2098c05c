"""The details pane's N+1 headroom: a cluster's own, a KVM node's zone and aggregates, a vmwareapi node's cluster."""

from __future__ import annotations

import dataclasses

from hybridview.sim import SimEstate
from hybridview.views.details import details_html
from hybridview.views.presentation import Presentation, present
from tests.unit.factories import view_of
from tests.unit.test_sim import ManualClock, full_estate


def _presented(scenario: str, stale: str | None = None) -> Presentation:
    estate = full_estate(SimEstate(scenario, clock=ManualClock()))
    if stale is not None:
        endpoints = tuple(dataclasses.replace(e, ok=e.name != stale, error="HTTP 503") for e in estate.endpoints)
        estate = dataclasses.replace(estate, endpoints=endpoints)
    return present(view_of(estate))


def test_a_cluster_without_headroom_says_so_with_the_numbers_and_its_admission_control() -> None:
    p = _presented("esxi-host-down")
    tight = next(c for c in p.clusters.values() if c.name == "vc-east-cl01")
    html = details_html(p, tight.ref)
    assert "N+1 headroom" in html and "NOT ENOUGH" in html and "GiB short" in html
    assert "HA admission control: reserves capacity for 1 host failure" in html
    roomy = next(c for c in p.clusters.values() if c.name == "vc-west-cl02")
    roomy_html = details_html(p, roomy.ref)
    assert "enough</b>" in roomy_html and "keeps 25% CPU and 25% memory free" in roomy_html


def test_a_kvm_node_shows_its_zone_and_aggregate_a_vmwareapi_node_its_cluster() -> None:
    p = _presented("healthy")
    kvm = next(n for n in p.nodes.values() if n.host == "kvm-1001")
    html = details_html(p, kvm.ref)
    assert "zone az1: If " in html and "aggregate ssd: If " in html and "az2" not in html
    proxy = next(n for n in p.nodes.values() if n.is_vmware)
    assert "cluster vc-east-cl01: If " in details_html(p, proxy.ref)


def test_headroom_from_a_stale_endpoint_is_marked_stale() -> None:
    p = _presented("healthy", stale="demo-cloud")
    kvm = next(n for n in p.nodes.values() if n.host == "kvm-1001")
    assert "(stale data)" in details_html(p, kvm.ref)
    assert "(stale data)" not in details_html(p, next(iter(p.clusters)))  # the vCenters answer
