"""One behavioural suite for every VCenterBackend: the demo estate and pyVmomi on VMware's simulator.

Deliberate differences, all simulator limitations (tests/peers/vcsim/README.md):
- vcsim has no vSphere HA (dasConfig empty), so HA flags are not compared.
- vcsim reports hosts' overallStatus gray while connected; health does not flag gray.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from collections.abc import Callable

import pytest

from hybridview.core.correlation import correlate
from hybridview.core.health import evaluate
from hybridview.core.identity import ClusterRef, InstanceRef, NodeRef, VmRef
from hybridview.core.model import (
    VMWARE_HYPERVISOR_TYPE,
    ComputeNode,
    EndpointKind,
    EndpointStatus,
    Estate,
    Instance,
    OpenStackSnapshot,
    VCenterSnapshot,
)
from tests.vcenters import Subject, sim_subject, vcsim_subject

SUBJECTS: dict[str, Callable[[], AbstractContextManager[Subject]]] = {"sim": sim_subject, "vcsim": vcsim_subject}


@pytest.fixture(params=[pytest.param("sim"), pytest.param("vcsim", marks=pytest.mark.vcsim_peer)])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    with SUBJECTS[request.param]() as made:
        yield made


def _estate(vc: VCenterSnapshot, nova: OpenStackSnapshot | None = None) -> Estate:
    endpoints = (EndpointStatus(vc.vcenter, EndpointKind.VCENTER, True),)
    if nova is not None:
        endpoints += (EndpointStatus(nova.cloud, EndpointKind.NOVA, True),)
    return Estate(openstack=(nova,) if nova else (), vcenters=(vc,), endpoints=endpoints)


def test_inventory_shape_matches_the_peer(subject: Subject) -> None:
    snap = subject.backend.fetch()
    clusters = {c.moref: c for c in snap.clusters}
    hosts = {h.moref: h for h in snap.hosts}
    assert {c.name: sum(1 for h in snap.hosts if h.cluster_moref == m) for m, c in clusters.items()} == (
        subject.expected_hosts_per_cluster
    )
    vms_per_cluster = {c.name: 0 for c in clusters.values()}
    for vm in snap.vms:
        host = hosts[vm.host_moref or ""]
        if host.cluster_moref:
            vms_per_cluster[clusters[host.cluster_moref].name] += 1
    assert vms_per_cluster == subject.expected_vms_per_cluster
    assert all(h.connection_state == "connected" for h in snap.hosts)
    assert snap.instance_uuid and snap.version


def test_vmwareapi_node_and_instances_correlate(subject: Subject) -> None:
    snap = subject.backend.fetch()
    cluster = snap.clusters[0]
    node = ComputeNode(
        "cloud",
        "1",
        f"{cluster.moref}.{snap.instance_uuid}",
        VMWARE_HYPERVISOR_TYPE,
        "nova-vmware",
        "up",
        "enabled",
        None,
        False,
    )
    vm = next(v for v in snap.vms if v.instance_uuid)
    instance = Instance(
        "cloud",
        vm.instance_uuid or "",
        "i",
        "p",
        "ACTIVE",
        "active",
        None,
        1,
        "nova-vmware",
        node.hypervisor_hostname,
        "m1",
        True,
    )
    nova = OpenStackSnapshot("cloud", datetime.now(UTC), (node,), (), (instance,), ())
    corr = correlate(_estate(snap, nova))
    assert corr.cluster_for(node) == ClusterRef(snap.vcenter, cluster.moref)
    assert corr.node_for(cluster) == NodeRef("cloud", node.hypervisor_hostname)
    assert corr.vm_by_instance[InstanceRef("cloud", instance.id)].moref == vm.moref
    assert corr.instance_by_vm[VmRef(snap.vcenter, vm.moref)] == instance


def test_failed_host_is_reported_as_esxi_failure(subject: Subject) -> None:
    host = subject.backend.fetch().hosts[0]
    subject.set_host_state(host.name, "notResponding")
    report = evaluate(_estate(subject.backend.fetch()))
    failed = [f for f in report.failed_hosts if f.name == host.name]
    assert [(f.layer, f.reason) for f in failed] == [("esxi", "ESXi host is notResponding")]


def test_host_failure_arrives_through_the_change_feed(subject: Subject) -> None:
    backend = subject.backend
    host = backend.fetch().hosts[-1]
    while backend.wait_for_updates(1.0) is not None:  # drain whatever the feed has queued
        pass
    subject.set_host_state(host.name, "notResponding")
    started = time.monotonic()
    update = backend.wait_for_updates(2.0)
    elapsed = time.monotonic() - started
    assert update is not None, "no update within 2 s"
    assert elapsed < 2.0
    assert next(h for h in update.hosts if h.moref == host.moref).connection_state == "notResponding"
    assert backend.wait_for_updates(1.0) is None
