"""Capacity for headroom through the real backends: Placement and aggregates from the Nova peer, HA admission
control and VM reservations and usage from VMware's simulator, and ``hybridview status --json`` over both.

The Nova peer serves Nova's own Placement (the database its computes report to) under /placement; host2
reports 16 vCPUs and 32 GiB, the others the fake driver's 10 and 8 GiB. Changes on the vCenter side go in
through pyVmomi as an operator's client would send them (ReconfigureComputeResource_Task, ReconfigVM_Task).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

from hybridview.backends.nova import NovaBackend
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.model import OpenStackSnapshot, PlacementProvider, VCenterSnapshot
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.silent_vcenter import PASSWORD_ENV, vcenter_entry
from tests.unit.test_cli_status import status
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_config
from tests.vcsim_session import operator_session

COMPUTES = ("host1", "host2", "host3")
SIZES = {"host2": (16, 32768)}
FLAVOR = (1, 512)  # what the peer's boot asks for: Nova's functional-test flavor, 1 vCPU and 512 MiB


@pytest.fixture(scope="module")
def nova(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NovaPeer, Path]]:
    with NovaPeer(computes=list(COMPUTES), compute_sizes=SIZES) as peer:
        yield peer, peer.write_clouds_yaml(tmp_path_factory.mktemp("capacity") / "clouds.yaml")


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        yield peer


@pytest.fixture
def vsphere_client(vcsim: VcsimPeer) -> Iterator[Any]:
    """An operator's own pyVmomi session (not hybridview's)."""
    with operator_session(vcsim) as si:
        yield si.RetrieveContent()


def _fetch(clouds: Path, **kwargs: Any) -> tuple[OpenStackSnapshot, tuple[str, ...]]:
    backend = NovaBackend("nova-peer", config_files=[str(clouds)], **kwargs)
    try:
        return backend.fetch(), backend.warnings
    finally:
        backend.close()


def _provider(snap: OpenStackSnapshot, name: str) -> PlacementProvider:
    return next(p for p in snap.providers if p.name == name)


def _use(provider: PlacementProvider, resource_class: str) -> tuple[int, int, float, int]:
    use = provider.use(resource_class)
    assert use is not None, f"{provider.name} has no {resource_class} inventory"
    return use.total, use.reserved, use.allocation_ratio, use.used


@pytest.mark.nova_peer
def test_each_compute_has_a_provider_and_its_usage_moves_when_a_server_boots(nova: tuple[NovaPeer, Path]) -> None:
    peer, clouds = nova
    backend = NovaBackend("nova-peer", config_files=[str(clouds)])
    try:
        before = backend.fetch()
        assert before.capacity_error is None, before.capacity_error
        assert sorted(p.name for p in before.providers) == sorted(n.hypervisor_hostname for n in before.nodes)
        host1, host2 = _provider(before, "host1"), _provider(before, "host2")
        assert (_use(host1, "VCPU")[0], _use(host1, "MEMORY_MB")[0]) == (10, 8192)
        assert (_use(host2, "VCPU")[0], _use(host2, "MEMORY_MB")[0]) == SIZES["host2"]
        peer.boot("sized", "host2")
        after = backend.fetch()  # the same backend: host2's generation moved, so it is read again
    finally:
        backend.close()
    grown = _provider(after, "host2")
    vcpu, memory = _use(grown, "VCPU"), _use(grown, "MEMORY_MB")
    assert (vcpu[3] - _use(host2, "VCPU")[3], memory[3] - _use(host2, "MEMORY_MB")[3]) == FLAVOR
    assert vcpu[:3] == _use(host2, "VCPU")[:3]  # the inventory itself did not change
    assert _provider(after, "host1") == host1


@pytest.mark.nova_peer
def test_an_aggregate_with_a_zone_made_through_the_sdk_shows_with_its_hosts(nova: tuple[NovaPeer, Path]) -> None:
    peer, clouds = nova
    conn = peer.connect()
    try:
        made = conn.compute.create_aggregate(name="fast-nvme", availability_zone="az-fast")
        conn.compute.add_host_to_aggregate(made, "host3")  # no server on host3: Nova moves no instance's zone
        plain = conn.compute.create_aggregate(name="gpu")
        for host in ("host1", "host2"):
            conn.compute.add_host_to_aggregate(plain, host)
    finally:
        conn.close()
    snap, warnings = _fetch(clouds)
    found = {a.name: (a.availability_zone, a.hosts) for a in snap.aggregates}
    assert found == {"fast-nvme": ("az-fast", ("host3",)), "gpu": (None, ("host1", "host2"))}
    assert {a.id for a in snap.aggregates} == {str(made.id), str(plain.id)}
    assert (snap.capacity_error, warnings) == (None, ())


STOPPED = "Placement not read: HTTP 503: 503 Service Unavailable: No server is available to handle this request."


@pytest.mark.nova_peer
def test_with_placement_stopped_the_snapshot_is_good_and_says_why_capacity_is_missing(
    nova: tuple[NovaPeer, Path],
) -> None:
    peer, clouds = nova
    running = NovaBackend("nova-peer", config_files=[str(clouds)])  # has found Placement before it stops
    try:
        good = running.fetch()
        peer.set_placement_fault("stopped")
        try:
            later = running.fetch()
            first_contact, warnings = _fetch(clouds)  # version discovery meets the fault first
        finally:
            peer.set_placement_fault(None)
        again = running.fetch()
    finally:
        running.close()
    for snap in (later, first_contact):
        assert (snap.providers, snap.capacity_error) == ((), STOPPED)
        assert {n.host for n in snap.nodes} == set(COMPUTES)
        assert {i.id for i in snap.instances} == {i.id for i in good.instances}
        assert snap.aggregates == good.aggregates
    assert warnings == ()
    assert again.capacity_error is None and again.providers == good.providers


@pytest.mark.nova_peer
def test_a_cloud_whose_catalog_has_no_placement_still_reads_and_says_so(
    nova: tuple[NovaPeer, Path], tmp_path: Path
) -> None:
    peer, _clouds = nova
    peer.set_keystone_account("no-placement", "np-password", token=peer.token, catalog=("compute",))
    clouds = peer.write_clouds_yaml(tmp_path / "clouds.yaml", auth="password")
    config = yaml.safe_load(clouds.read_text())
    config["clouds"]["nova-peer"]["auth"].update(username="no-placement", password="np-password")
    clouds.write_text(yaml.safe_dump(config))
    snap, _ = _fetch(clouds)
    assert (snap.providers, snap.capacity_error) == ((), "Placement not read: not in the cloud's service catalog")
    assert {n.host for n in snap.nodes} == set(COMPUTES)


# --- vCenter ------------------------------------------------------------------------------------


def _vsphere(vcsim: VcsimPeer, **kwargs: Any) -> VSphereBackend:
    return VSphereBackend(vcsim_config(vcsim), password=lambda _c: VCSIM_PASSWORD, **kwargs)


def _cluster_object(content: Any, moref: str) -> Any:
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
    try:
        return next(c for c in view.view if c._moId == moref)
    finally:
        view.Destroy()


def _reconfigure(content: Any, moref: str, policy: Any) -> None:
    das = vim.cluster.DasConfigInfo(enabled=True, admissionControlEnabled=True, admissionControlPolicy=policy)
    WaitForTask(
        _cluster_object(content, moref).ReconfigureComputeResource_Task(vim.cluster.ConfigSpecEx(dasConfig=das), True)
    )


def _until_fed(
    backend: VSphereBackend, done: Callable[[VCenterSnapshot], bool], seconds: float = 10.0
) -> VCenterSnapshot:
    """The first snapshot the change feed gives that satisfies ``done``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        snap = backend.wait_for_updates(1.0)
        if snap is not None and done(snap):
            return snap
    raise AssertionError(f"the change feed gave no such snapshot in {seconds:.0f} s")


@pytest.mark.vcsim_peer
def test_admission_control_policies_set_through_pyvmomi_are_read_back_and_fed(
    vcsim: VcsimPeer, vsphere_client: Any
) -> None:
    moref = vcsim.list_clusters()[0]["moref"]
    hosts = [h["moref"] for h in vcsim.list_hosts() if h["cluster_moref"] == moref]
    backend = _vsphere(vcsim)
    try:
        assert backend.wait_for_updates(1.0) is not None  # the feed's first, full answer
        policies = [
            (vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=1), ("failover-level", 1, None, None)),
            (
                vim.cluster.FailoverResourcesAdmissionControlPolicy(
                    cpuFailoverResourcesPercent=25, memoryFailoverResourcesPercent=30
                ),
                ("percentage", None, 25, 30),
            ),
            (
                vim.cluster.FailoverHostAdmissionControlPolicy(failoverHosts=[vim.HostSystem(hosts[-1])]),
                ("failover-hosts", 1, None, None),
            ),
        ]
        for policy, expected in policies:
            _reconfigure(vsphere_client, moref, policy)

            def shown(snap: VCenterSnapshot, expected: tuple[Any, ...] = expected) -> bool:
                c = next(c for c in snap.clusters if c.moref == moref)
                read = (
                    c.admission_policy,
                    c.admission_failover_hosts,
                    c.admission_cpu_percent,
                    c.admission_memory_percent,
                )
                return c.ha_enabled and c.admission_control is True and read == expected

            _until_fed(backend, shown)
            assert shown(backend.fetch())
    finally:
        backend.close()


@pytest.mark.vcsim_peer
def test_a_policy_vcenter_refuses_fails_its_task_and_changes_nothing(vcsim: VcsimPeer, vsphere_client: Any) -> None:
    moref = vcsim.list_clusters()[1]["moref"]
    backend = _vsphere(vcsim)
    try:
        before = next(c for c in backend.fetch().clusters if c.moref == moref)
        policy = vim.cluster.FailoverResourcesAdmissionControlPolicy(
            cpuFailoverResourcesPercent=150, memoryFailoverResourcesPercent=30
        )
        with pytest.raises(vmodl.fault.InvalidArgument):
            _reconfigure(vsphere_client, moref, policy)
        assert next(c for c in backend.fetch().clusters if c.moref == moref) == before
    finally:
        backend.close()


@pytest.mark.vcsim_peer
def test_a_vm_reservation_set_through_reconfigvm_is_read_back_and_fed(vcsim: VcsimPeer, vsphere_client: Any) -> None:
    target = vcsim.list_vms()[0]
    view = vsphere_client.viewManager.CreateContainerView(vsphere_client.rootFolder, [vim.VirtualMachine], True)
    vm = next(v for v in view.view if v._moId == target["moref"])
    view.Destroy()
    backend = _vsphere(vcsim)
    try:
        assert backend.wait_for_updates(1.0) is not None
        spec = vim.vm.ConfigSpec(
            memoryAllocation=vim.ResourceAllocationInfo(reservation=24),
            cpuAllocation=vim.ResourceAllocationInfo(reservation=750),
        )
        WaitForTask(vm.ReconfigVM_Task(spec))

        def reserved(snap: VCenterSnapshot) -> bool:
            found = next(v for v in snap.vms if v.moref == target["moref"])
            return (found.memory_reservation_mb, found.cpu_reservation_mhz) == (24, 750)

        _until_fed(backend, reserved)
        assert reserved(backend.fetch())
    finally:
        backend.close()


@pytest.mark.vcsim_peer
def test_vm_usage_is_read_by_full_reads_and_sampled_between_them(vcsim: VcsimPeer) -> None:
    target = vcsim.list_vms()[1]["moref"]

    def used(snap: VCenterSnapshot, expected: tuple[int, int]) -> bool:
        found = next(v for v in snap.vms if v.moref == target)
        return (found.memory_used_mb, found.cpu_used_mhz) == expected

    backend = _vsphere(vcsim, usage_sample_seconds=0.5)
    try:
        vcsim.set_vm_usage(target, memory_mb=20, cpu_mhz=140)
        assert used(backend.fetch(), (20, 140))
        assert backend.wait_for_updates(1.0) is not None
        rounds_before = backend.round_trips
        vcsim.set_vm_usage(target, memory_mb=28, cpu_mhz=410)  # the feed does not follow quickStats
        _until_fed(backend, lambda snap: used(snap, (28, 410)))
        assert backend.round_trips > rounds_before  # a sampling read brought it
    finally:
        backend.close()


# --- both peers through `hybridview status --json` ---------------------------------------------------


@pytest.mark.nova_peer
@pytest.mark.vcsim_peer
def test_status_json_lists_the_headroom_of_every_cluster_and_zone(
    vcsim: VcsimPeer, vsphere_client: Any, tmp_path: Path
) -> None:
    clusters = vcsim.list_clusters()
    _reconfigure(vsphere_client, clusters[0]["moref"], vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=1))
    nodename = f"{clusters[1]['moref']}.{vcsim.instance_uuid}"
    with NovaPeer(computes=["kvm1", "kvm2"], vmware_nodes={"nova-vmware-1": nodename}) as nova:
        nova.boot("web", "kvm1")
        clouds = nova.write_clouds_yaml(tmp_path / "clouds.yaml")
        config = tmp_path / "hybridview.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}],
                    "vcenters": [vcenter_entry("vcsim", vcsim.port, vcsim.ca_file)],
                }
            )
        )
        done = status("--json", "--config", str(config), env={PASSWORD_ENV: VCSIM_PASSWORD})
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(done.stdout)
    assert all(e["ok"] for e in doc["endpoints"]), doc["endpoints"]
    rooms = {r["ref"]: r for r in doc["headroom"]}
    for cluster in clusters:
        room = rooms[f"cluster:vcsim/{cluster['moref']}"]
        assert (room["kind"], room["source"], room["hosts"]) == ("cluster", "vcenter", cluster["hosts"])
    assert rooms[f"cluster:vcsim/{clusters[0]['moref']}"]["admission_control"] == (
        "HA admission control: reserves capacity for 1 host failure"
    )
    (zone,) = [r for r in doc["headroom"] if r["kind"] == "zone" and r["owner"] == "nova-peer"]
    assert (zone["group"], zone["source"], zone["hosts"], zone["enough"]) == ("nova", "placement", 2, True)
    assert zone["needed"]["memory_mb"] == FLAVOR[1] and zone["needed"]["vcpu"] == FLAVOR[0]  # the server on kvm1
