"""Smoke tests: the vcsim peer speaks real vSphere API over verified TLS."""

from __future__ import annotations

import gc
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pyVim.connect import Connect, Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from tests.peers.vcsim.fixture import VcsimPeer, VcsimPeerError

pytestmark = pytest.mark.vcsim_peer

USER = "hv-user"
PASSWORD = "hv-pass"
VIM_VERSION = "vim.version.version11"  # vSphere 6.5, what the simulator reports


@pytest.fixture(scope="module")
def peer() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=3, vms=30, username=USER, password=PASSWORD) as p:
        yield p


def connect(peer: VcsimPeer, **kwargs: Any) -> vim.ServiceInstance:
    """Log in over TLS that trusts only the peer's CA (unless overridden)."""
    kwargs.setdefault("sslContext", peer.ssl_context())
    kwargs.setdefault("pwd", PASSWORD)
    return SmartConnect(host=peer.host, port=peer.port, user=USER, **kwargs)


def quiet_disconnect(si: vim.ServiceInstance) -> None:
    try:
        Disconnect(si)
    except vim.fault.NotAuthenticated:
        pass  # session already terminated


@contextmanager
def leaky_connect() -> Iterator[None]:
    """pyVmomi leaves the socket of a failed login/pin check open: reap it quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


@pytest.fixture
def si(peer: VcsimPeer) -> Iterator[vim.ServiceInstance]:
    si = connect(peer)
    yield si
    quiet_disconnect(si)


def host_state_spec(si: vim.ServiceInstance) -> vmodl.query.PropertyCollector.FilterSpec:
    """One ContainerView over all hosts, reading their connection state."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    traverse = vmodl.query.PropertyCollector.TraversalSpec(
        name="view", path="view", skip=False, type=vim.view.ContainerView
    )
    return vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=vim.HostSystem,
                pathSet=[
                    "name",
                    "runtime.connectionState",
                    "summary.runtime.connectionState",
                    "summary.overallStatus",
                ],
            )
        ],
    )


def read_hosts(si: vim.ServiceInstance, spec: Any) -> dict[str, dict[str, Any]]:
    """moref -> {prop: value} from one RetrievePropertiesEx."""
    pc = si.RetrieveContent().propertyCollector
    result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
    out: dict[str, dict[str, Any]] = {}
    while result is not None:
        for obj in result.objects:
            out[obj.obj._moId] = {p.name: p.val for p in obj.propSet}
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    return out


def test_ready_line_matches_inventory(peer: VcsimPeer) -> None:
    assert peer.url == f"https://127.0.0.1:{peer.port}/sdk"
    assert (peer.cluster_count, peer.host_count, peer.vm_count) == (2, 6, 30)
    clusters = peer.list_clusters()
    assert [c["hosts"] for c in clusters] == [3, 3]
    assert sum(c["vms"] for c in clusters) == 30
    hosts = peer.list_hosts()
    assert len(hosts) == 6 and all(h["cluster_moref"] for h in hosts)
    assert sum(h["vms"] for h in hosts) == 30


def test_tls_verified_with_ca_file(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    about = si.RetrieveContent().about
    assert about.instanceUuid == peer.instance_uuid
    assert about.apiType == "VirtualCenter"


def test_tls_rejects_untrusted_ca(peer: VcsimPeer) -> None:
    with leaky_connect(), pytest.raises(ssl.SSLCertVerificationError):
        connect(peer, sslContext=ssl.create_default_context())


# pyVmomi checks a pinned thumbprint/PEM only after normal verification
# fails (with disableSslCertValidation=True the pin is silently ignored), and
# SmartConnect's version probe ignores pins, so pinning needs Connect().
def connect_pinned(peer: VcsimPeer, **pin: str) -> vim.ServiceInstance:
    return Connect(
        host=peer.host,
        port=peer.port,
        user=USER,
        pwd=PASSWORD,
        version=VIM_VERSION,
        sslContext=ssl.create_default_context(),
        **pin,
    )


@pytest.mark.parametrize("pin", ["thumbprint", "serverPemCert"])
def test_pinning_without_ca(peer: VcsimPeer, pin: str) -> None:
    value = peer.thumbprint_sha256
    if pin == "serverPemCert":
        value = Path(peer.cert_file).read_text()
    si = connect_pinned(peer, **{pin: value})
    try:
        assert si.RetrieveContent().about.instanceUuid == peer.instance_uuid
    finally:
        quiet_disconnect(si)


def test_wrong_thumbprint_rejected(peer: VcsimPeer) -> None:
    with leaky_connect(), pytest.raises(vim.fault.HostConnectFault, match="thumbprint mismatch"):
        connect_pinned(peer, thumbprint=":".join(["AB"] * 32))


def test_only_configured_credentials_log_in(peer: VcsimPeer) -> None:
    with leaky_connect(), pytest.raises(vim.fault.InvalidLogin):
        connect(peer, pwd="wrong")


def test_host_state_seen_by_read_and_wait_for_updates(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    spec = host_state_spec(si)
    before = read_hosts(si, spec)
    assert len(before) == 6
    assert {h["runtime.connectionState"] for h in before.values()} == {"connected"}

    pc = si.RetrieveContent().propertyCollector.CreatePropertyCollector()
    pc.CreateFilter(spec, partialUpdates=False)
    wait = vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=10)
    initial = pc.WaitForUpdatesEx("", wait)
    assert sum(len(f.objectSet) for f in initial.filterSet) == 6

    target = peer.list_hosts()[0]
    peer.set_host_state(target["name"], "notResponding")
    try:
        after = read_hosts(si, spec)[target["moref"]]
        assert after["runtime.connectionState"] == "notResponding"
        assert after["summary.runtime.connectionState"] == "notResponding"
        assert after["summary.overallStatus"] == "red"

        update = pc.WaitForUpdatesEx(initial.version, wait)
        assert update is not None, "WaitForUpdatesEx timed out without the change"
        changes = {
            (obj.obj._moId, change.name): change.val
            for f in update.filterSet
            for obj in f.objectSet
            for change in obj.changeSet
        }
        assert changes[(target["moref"], "runtime.connectionState")] == "notResponding"
        assert changes[(target["moref"], "summary.overallStatus")] == "red"
    finally:
        peer.set_host_state(target["moref"], "connected")
        pc.DestroyPropertyCollector()
    assert read_hosts(si, spec)[target["moref"]]["runtime.connectionState"] == "connected"


def test_terminate_session_from_second_client(peer: VcsimPeer) -> None:
    victim = connect(peer)
    admin = connect(peer)
    try:
        victim_key = victim.RetrieveContent().sessionManager.currentSession.key
        sm = admin.RetrieveContent().sessionManager
        assert victim_key in {s.key for s in sm.sessionList}
        sm.TerminateSession([victim_key])
        with pytest.raises(vim.fault.NotAuthenticated):
            victim.CurrentTime()
        admin.CurrentTime()  # the admin's own session is untouched
    finally:
        quiet_disconnect(victim)
        quiet_disconnect(admin)


def test_terminate_sessions_control_op(peer: VcsimPeer) -> None:
    client = connect(peer)
    try:
        client.CurrentTime()
        assert peer.terminate_sessions() >= 1
        with pytest.raises(vim.fault.NotAuthenticated):
            client.CurrentTime()
    finally:
        quiet_disconnect(client)


def test_unknown_host_is_an_error(peer: VcsimPeer) -> None:
    with pytest.raises(VcsimPeerError, match="not found"):
        peer.set_host_state("no-such-host", "connected")


def test_retrieve_after_termination_quirk(peer: VcsimPeer) -> None:
    """Simulator quirk: RetrievePropertiesEx is allowed without a session.

    A real vCenter faults the call with NotAuthenticated; the simulator
    instead fails view-based specs with ManagedObjectNotFound (the view died
    with the session) and reports NotAuthenticated per property in missingSet.
    """
    client = connect(peer)
    try:
        spec = host_state_spec(client)
        pc = client.RetrieveContent().propertyCollector
        peer.terminate_sessions()
        with pytest.raises(vmodl.fault.ManagedObjectNotFound):
            pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        with pytest.raises(vim.fault.NotAuthenticated):
            pc.WaitForUpdatesEx("", None)
    finally:
        quiet_disconnect(client)


def test_list_vms_matches_the_inventory(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    vms = peer.list_vms()
    assert len(vms) == 30 and [v["name"] for v in vms] == sorted(v["name"] for v in vms)
    first = vms[0]
    vm: Any = vim.VirtualMachine(first["moref"], si._stub)
    assert (first["instance_uuid"], first["vmx_path"]) == (vm.config.instanceUuid, vm.config.files.vmPathName)
    assert (first["host"], first["power_state"], first["connection_state"]) == (
        vm.runtime.host._moId,
        "poweredOn",
        "connected",
    )


def test_set_instance_uuid_control_op(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    row = peer.list_vms()[-1]
    wanted = "5b2a1c3d-0000-4000-8000-00000000abcd"
    peer.set_instance_uuid(row["name"], wanted)
    vm: Any = vim.VirtualMachine(row["moref"], si._stub)
    assert (vm.config.instanceUuid, vm.summary.config.instanceUuid) == (wanted, wanted)
    with pytest.raises(VcsimPeerError, match="is not a UUID"):
        peer.set_instance_uuid(row["moref"], "not-a-uuid")
    with pytest.raises(VcsimPeerError, match="not found"):
        peer.set_instance_uuid("no-such-vm", wanted)


def test_set_cluster_ha_control_op(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    cluster = peer.list_clusters()[0]
    obj: Any = vim.ClusterComputeResource(cluster["moref"], si._stub)

    def ha() -> Any:
        return obj.configurationEx.dasConfig.enabled

    assert ha() is None  # the VPX model leaves it unset
    peer.set_cluster_ha(cluster["name"], True)
    try:
        assert ha() is True
    finally:
        peer.set_cluster_ha(cluster["moref"], False)
    assert ha() is False
    with pytest.raises(VcsimPeerError, match="not found"):
        peer.set_cluster_ha("no-such-cluster", True)
    with pytest.raises(VcsimPeerError, match='needs "enabled"'):
        peer._command({"op": "set_cluster_ha", "cluster": cluster["name"]})


# --- capacity (launcher/capacity.go) ------------------------------------------------------


def _cluster(si: vim.ServiceInstance, moref: str) -> Any:
    return vim.ClusterComputeResource(moref, si._stub)


def _reconfigure_cluster(si: vim.ServiceInstance, moref: str, das: Any, *, modify: bool = True) -> Any:
    task = _cluster(si, moref).ReconfigureComputeResource_Task(vim.cluster.ConfigSpecEx(dasConfig=das), modify)
    return task.info


def test_reconfigure_keeps_admission_control_merged_with_modify_and_replaced_without(
    peer: VcsimPeer, si: vim.ServiceInstance
) -> None:
    moref = peer.list_clusters()[1]["moref"]
    level = vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=1)
    das = vim.cluster.DasConfigInfo(enabled=True, admissionControlEnabled=True, admissionControlPolicy=level)
    info = _reconfigure_cluster(si, moref, das)
    das = _cluster(si, moref).configurationEx.dasConfig
    assert info.state == "success"
    assert (das.enabled, das.admissionControlEnabled, das.admissionControlPolicy.failoverLevel) == (True, True, 1)
    percent = vim.cluster.FailoverResourcesAdmissionControlPolicy(
        cpuFailoverResourcesPercent=20, memoryFailoverResourcesPercent=40
    )
    _reconfigure_cluster(si, moref, vim.cluster.DasConfigInfo(admissionControlPolicy=percent))  # modify: merged
    das = _cluster(si, moref).configurationEx.dasConfig
    assert (das.enabled, das.admissionControlEnabled) == (True, True)
    assert (
        das.admissionControlPolicy.cpuFailoverResourcesPercent,
        das.admissionControlPolicy.memoryFailoverResourcesPercent,
    ) == (20, 40)
    _reconfigure_cluster(si, moref, vim.cluster.DasConfigInfo(enabled=False), modify=False)  # replaced
    das = _cluster(si, moref).configurationEx.dasConfig
    assert (das.enabled, das.admissionControlEnabled, das.admissionControlPolicy) == (False, None, None)


def test_reconfigure_refuses_the_admission_policies_vcenter_refuses(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    clusters = peer.list_clusters()
    moref, other = clusters[1]["moref"], clusters[0]["moref"]
    stranger = next(h["moref"] for h in peer.list_hosts() if h["cluster_moref"] == other)
    before = _cluster(si, moref).configurationEx.dasConfig
    refused = [
        vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=0),
        vim.cluster.FailoverResourcesAdmissionControlPolicy(
            cpuFailoverResourcesPercent=101, memoryFailoverResourcesPercent=10
        ),
        vim.cluster.FailoverHostAdmissionControlPolicy(failoverHosts=[vim.HostSystem(stranger)]),  # another cluster's
    ]
    for policy in refused:
        das = vim.cluster.DasConfigInfo(admissionControlEnabled=True, admissionControlPolicy=policy)
        info = _reconfigure_cluster(si, moref, das)
        assert (info.state, type(info.error).__name__) == ("error", "vmodl.fault.InvalidArgument")
    after = _cluster(si, moref).configurationEx.dasConfig
    assert (after.admissionControlEnabled, after.admissionControlPolicy) == (
        before.admissionControlEnabled,
        before.admissionControlPolicy,
    )


def _vm_filter(si: vim.ServiceInstance, moref: str, paths: list[str]) -> Any:
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=vim.VirtualMachine(moref, si._stub))],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=paths)],
    )
    collector = si.content.propertyCollector.CreatePropertyCollector()
    collector.CreateFilter(spec, partialUpdates=False)
    return collector


def _fed(collector: Any, version: str) -> tuple[dict[str, Any], str]:
    """The property changes of the next WaitForUpdatesEx answer, and its version."""
    answer = collector.WaitForUpdatesEx(version, vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=5))
    assert answer is not None, "no update in time"
    changes = {c.name: c.val for f in answer.filterSet for o in f.objectSet for c in o.changeSet}
    return changes, answer.version


def test_a_reservation_set_by_reconfigvm_reaches_wait_for_updates(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    moref = peer.list_vms()[2]["moref"]
    paths = ["config.memoryAllocation.reservation", "config.cpuAllocation.reservation"]
    collector = _vm_filter(si, moref, paths)
    try:
        first, version = _fed(collector, "")
        assert first == dict.fromkeys(paths, 0)
        spec = vim.vm.ConfigSpec(
            memoryAllocation=vim.ResourceAllocationInfo(reservation=16),
            cpuAllocation=vim.ResourceAllocationInfo(reservation=300),
        )
        assert vim.VirtualMachine(moref, si._stub).ReconfigVM_Task(spec).info.state == "success"
        changed, _ = _fed(collector, version)
        assert changed == {paths[0]: 16, paths[1]: 300}
    finally:
        collector.Destroy()


def test_set_vm_usage_control_op(peer: VcsimPeer, si: vim.ServiceInstance) -> None:
    row = peer.list_vms()[3]
    vm: Any = vim.VirtualMachine(row["moref"], si._stub)
    stats = vm.summary.quickStats
    assert (stats.hostMemoryUsage, stats.overallCpuUsage) == (None, None)  # the simulator never sets them
    peer.set_vm_usage(row["name"], memory_mb=30, cpu_mhz=250)
    stats = vm.summary.quickStats
    assert (stats.hostMemoryUsage, stats.overallCpuUsage) == (30, 250)
    with pytest.raises(VcsimPeerError, match="not found"):
        peer.set_vm_usage("no-such-vm", memory_mb=1, cpu_mhz=1)
    with pytest.raises(VcsimPeerError, match="0 or more"):
        peer.set_vm_usage(row["moref"], memory_mb=-1, cpu_mhz=1)
