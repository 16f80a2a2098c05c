"""One behavioural suite for every VCenterBackend: the demo estate and pyVmomi on VMware's simulator.

Deliberate differences, all simulator limitations (tests/peers/vcsim/README.md):
- vcsim has no vSphere HA agent, and its clusters start with dasConfig unset (HA off), so the
  subjects' HA flags are not compared; set_cluster_ha sets the flag where a test needs it.
- vcsim reports hosts' overallStatus gray while connected; health does not flag gray.

Where govmomi 0.24.2's simulator alone differs from a real vCenter, our launcher makes it behave
like one (README "Made faithful"); each difference has a vcsim-only test at the end of this module
(the demo estate makes none of these calls):
- A host that stops answering leaves its VMs runtime.connectionState "disconnected" (the simulator
  left them "connected"): test_the_vms_of_a_host_that_stops_answering_are_disconnected.
- UnregisterVM ("Remove from inventory") takes a poweredOn VM whose host does not answer (the
  simulator refused any poweredOn VM): test_a_vm_whose_host_does_not_answer_can_be_removed.
- RegisterVM_Task keeps the instanceUuid the .vmx holds (the simulator derived one from the path),
  unless another VM has it: test_a_registered_vmx_keeps_its_instance_uuid and
  test_a_registered_vmx_gets_a_new_instance_uuid_when_another_vm_has_it.
- SearchIndex.FindAllByUuid answers (the simulator lacked it): test_find_all_by_uuid_finds_every_vm.
- ReconfigVM_Task's changes reach WaitForUpdatesEx (the simulator applied them unannounced):
  test_a_reconfigured_instance_uuid_reaches_the_change_feed.
- A datastore lists every host that mounts it (the simulator listed the last host only, and left
  multipleHostAccess unset): test_a_datastore_lists_every_host_that_mounts_it.
- configurationEx.dasConfig.enabled can be set (ReconfigureComputeResource_Task ignores dasConfig
  in the simulator): test_cluster_ha_follows_set_cluster_ha.
- HasPrivilegeOnEntities, HasUserPrivilegeOnEntities and FetchUserPrivilegeOnEntities answer from the
  permissions, the launcher's user holding Admin on the root folder (the simulator granted every
  privilege to anyone): test_privileges_are_answered_from_the_permissions.

Moves (RelocateVM_Task, maintenance mode, tasks), answered by the launcher's hooks:
- After a vMotion both hosts' HostSystem.vm lists follow (the simulator changed runtime.host only):
  test_a_vmotion_updates_both_hosts_vm_lists.
- After a Storage vMotion the files move, and the .vmx path, the disks' backings and Datastore.vm
  follow (the simulator set VirtualMachine.datastore only):
  test_a_storage_vmotion_moves_the_files_and_the_datastores_vm_lists.
- A relocation to a host outside the VM's pool's compute resource is InvalidArgument, an unknown host
  ManagedObjectNotFound, a disconnected host fails the task with InvalidHostConnectionState (the
  simulator moved the VM anywhere, and dropped the connection for an unknown host):
  test_a_relocation_the_target_cannot_take_is_refused.
- A relocation runs (set_relocate_seconds) with progress, is cancelable, CancelTask cancels it, one
  task runs at a time on a VM (the simulator's tasks ended inside the call; it lacked CancelTask):
  test_a_slow_relocation_shows_progress_and_is_cancelled.
- EnterMaintenanceMode_Task waits while powered-on VMs run on the host and fails at its timeout, unless
  DRS is fully automated, which moves them within the cluster; no VM moves onto a host in maintenance
  (the simulator entered at once, leaving the VMs there):
  test_maintenance_mode_waits_for_running_vms_unless_drs_is_fully_automated and
  test_maintenance_mode_with_fully_automated_drs_moves_the_vms_within_the_cluster.
- Maintenance mode reaches WaitForUpdatesEx, entering twice or leaving when out is InvalidState (the
  simulator set the flag unannounced and accepted both):
  test_maintenance_mode_reaches_the_change_feed_and_is_left_once.
- Clusters start DRS fullyAutomated (the VPX model left defaultVmBehavior unset), set_cluster_drs changes
  it: test_clusters_start_with_drs_fully_automated_and_follow_set_cluster_drs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

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
from hybridview.backends.vsphere import VSphereBackend
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, Subject, sim_subject, vcsim_backend, vcsim_subject
from tests.vcsim_session import operator_session

SUBJECTS: dict[str, Callable[[], AbstractContextManager[Subject]]] = {"sim": sim_subject, "vcsim": vcsim_subject}


@pytest.fixture(params=[pytest.param("sim"), pytest.param("vcsim", marks=pytest.mark.vcsim_peer)])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    with SUBJECTS[request.param]() as made:
        yield made


def _estate(vc: VCenterSnapshot, nova: OpenStackSnapshot | None = None) -> Estate:
    endpoints: tuple[EndpointStatus, ...] = (EndpointStatus(vc.vcenter, EndpointKind.VCENTER, True),)
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


# --- the simulator made faithful (vcsim only) ------------------------------------------------


@pytest.fixture
def peer() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=1, hosts=3, vms=9, username=VCSIM_USER, password=VCSIM_PASSWORD) as running:
        yield running


@pytest.fixture
def si(peer: VcsimPeer) -> Iterator[Any]:
    """A plain pyVmomi client, to call the API as any vCenter client does."""
    with operator_session(peer) as connection:
        yield connection


@pytest.fixture
def backend(peer: VcsimPeer) -> Iterator[VSphereBackend]:
    made = vcsim_backend(peer)
    yield made
    made.close()


def _feed_until(backend: VSphereBackend, done: Callable[[VCenterSnapshot], bool], seconds: float = 5.0) -> None:
    """Follow the change feed until a snapshot satisfies ``done``; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        update = backend.wait_for_updates(1.0)
        if update is not None and done(update):
            return
    pytest.fail(f"the change feed did not deliver it within {seconds:g} s")


def _drained(backend: VSphereBackend) -> VSphereBackend:
    backend.fetch()
    while backend.wait_for_updates(1.0) is not None:
        pass
    return backend


def _vm(si: Any, moref: str) -> Any:
    return vim.VirtualMachine(moref, si._stub)


def _another_host(peer: VcsimPeer, moref: str) -> str:
    return str(next(h["moref"] for h in peer.list_hosts() if h["moref"] != moref))


@pytest.mark.vcsim_peer
def test_the_vms_of_a_host_that_stops_answering_are_disconnected(peer: VcsimPeer, backend: VSphereBackend) -> None:
    host = peer.list_vms()[0]["host"]
    on_host = {v["moref"] for v in peer.list_vms() if v["host"] == host}
    _drained(backend)
    peer.set_host_state(host, "notResponding")

    def states(snap: VCenterSnapshot) -> set[tuple[str | None, str]]:
        return {(v.connection_state, v.power_state) for v in snap.vms if v.moref in on_host}

    # vCenter keeps the last power state it knew; the feed carries the change like any other.
    _feed_until(backend, lambda snap: states(snap) == {("disconnected", "poweredOn")})
    peer.set_host_state(host, "connected")
    assert states(backend.fetch()) == {("connected", "poweredOn")}


@pytest.mark.vcsim_peer
def test_a_vm_whose_host_does_not_answer_can_be_removed(peer: VcsimPeer, si: Any) -> None:
    vms = peer.list_vms()
    dead = vms[0]
    alive = next(v for v in vms if v["host"] != dead["host"])
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    peer.set_host_state(dead["host"], "notResponding")
    with pytest.raises(vim.fault.InvalidPowerState):  # a running VM of a host that answers: refused, as on vCenter
        _vm(si, alive["moref"]).UnregisterVM()
    _vm(si, dead["moref"]).UnregisterVM()
    assert dead["moref"] not in {v["moref"] for v in peer.list_vms()}
    listed = [vm._moId for vm in view.view]  # a view open before lists it no more, and nothing twice
    assert sorted(listed) == sorted(v["moref"] for v in vms if v is not dead)


def _unregister_and_register(peer: VcsimPeer, si: Any, row: dict[str, Any]) -> Any:
    """What an operator does for a VM of a dead host: remove it from the inventory, register its .vmx elsewhere."""
    vm = _vm(si, row["moref"])
    folder, pool = vm.parent, vm.resourcePool
    vm.UnregisterVM()
    host = vim.HostSystem(_another_host(peer, row["host"]), si._stub)
    task = folder.RegisterVM_Task(path=row["vmx_path"], name=row["name"], asTemplate=False, pool=pool, host=host)
    WaitForTask(task)
    return task.info.result


@pytest.mark.vcsim_peer
def test_a_registered_vmx_keeps_its_instance_uuid(peer: VcsimPeer, si: Any) -> None:
    row = peer.list_vms()[0]
    nova_id = str(uuid.uuid4())  # not the one the simulator derives from the path
    peer.set_instance_uuid(row["moref"], nova_id)
    peer.set_host_state(row["host"], "notResponding")
    registered = _unregister_and_register(peer, si, row)
    assert registered._moId != row["moref"]
    assert registered.config.instanceUuid == nova_id


@pytest.mark.vcsim_peer
def test_a_registered_vmx_gets_a_new_instance_uuid_when_another_vm_has_it(peer: VcsimPeer, si: Any) -> None:
    row, other = peer.list_vms()[:2]
    nova_id = str(uuid.uuid4())
    peer.set_instance_uuid(row["moref"], nova_id)
    peer.set_host_state(row["host"], "notResponding")
    vm = _vm(si, row["moref"])
    folder, pool = vm.parent, vm.resourcePool
    vm.UnregisterVM()
    peer.set_instance_uuid(other["moref"], nova_id)  # taken meanwhile
    host = vim.HostSystem(_another_host(peer, row["host"]), si._stub)
    task = folder.RegisterVM_Task(path=row["vmx_path"], name=row["name"], asTemplate=False, pool=pool, host=host)
    WaitForTask(task)
    assert task.info.result.config.instanceUuid not in (nova_id, "")


@pytest.mark.vcsim_peer
def test_find_all_by_uuid_finds_every_vm(peer: VcsimPeer, si: Any) -> None:
    first, second = peer.list_vms()[:2]
    shared = str(uuid.uuid4())
    for row in (first, second):
        peer.set_instance_uuid(row["moref"], shared)
    index = si.RetrieveContent().searchIndex
    found = index.FindAllByUuid(uuid=shared, vmSearch=True, instanceUuid=True)
    assert sorted(vm._moId for vm in found) == sorted((first["moref"], second["moref"]))
    assert list(index.FindAllByUuid(uuid=str(uuid.uuid4()), vmSearch=True, instanceUuid=True)) == []
    bios = _vm(si, first["moref"]).config.uuid
    assert [vm._moId for vm in index.FindAllByUuid(uuid=bios, vmSearch=True)] == [first["moref"]]


@pytest.mark.vcsim_peer
def test_a_reconfigured_instance_uuid_reaches_the_change_feed(
    peer: VcsimPeer, si: Any, backend: VSphereBackend
) -> None:
    moref = peer.list_vms()[0]["moref"]
    _drained(backend)
    nova_id = str(uuid.uuid4())
    WaitForTask(_vm(si, moref).ReconfigVM_Task(spec=vim.vm.ConfigSpec(instanceUuid=nova_id)))
    _feed_until(backend, lambda snap: any(v.moref == moref and v.instance_uuid == nova_id for v in snap.vms))


@pytest.mark.vcsim_peer
def test_a_datastore_lists_every_host_that_mounts_it(backend: VSphereBackend) -> None:
    snap = backend.fetch()
    (datastore,) = snap.datastores  # LocalDS_0, which every host of the datacenter mounts
    assert set(datastore.host_morefs) == {h.moref for h in snap.hosts}
    assert datastore.shared
    assert all(vm.datastores == (datastore.moref,) for vm in snap.vms)


@pytest.mark.vcsim_peer
def test_cluster_ha_follows_set_cluster_ha(peer: VcsimPeer, backend: VSphereBackend) -> None:
    (cluster,) = peer.list_clusters()
    assert [c.ha_enabled for c in _drained(backend).fetch().clusters] == [False]  # the VPX model: dasConfig unset
    peer.set_cluster_ha(cluster["name"], True)
    _feed_until(backend, lambda snap: [c.ha_enabled for c in snap.clusters] == [True])
    peer.set_cluster_ha(cluster["moref"], False)
    assert [c.ha_enabled for c in backend.fetch().clusters] == [False]


# --- moves: vMotion, Storage vMotion, maintenance mode, tasks (vcsim only) -------------------


@pytest.fixture
def moves_peer() -> Iterator[VcsimPeer]:
    """Two clusters of two hosts, two datastores every host mounts."""
    with VcsimPeer(clusters=2, hosts=2, vms=8, datastores=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as running:
        yield running


@pytest.fixture
def moves_si(moves_peer: VcsimPeer) -> Iterator[Any]:
    with operator_session(moves_peer) as connection:
        yield connection


def _neighbour(peer: VcsimPeer, host: str, *, same_cluster: bool = True) -> str:
    hosts = peer.list_hosts()
    cluster = next(h["cluster_moref"] for h in hosts if h["moref"] == host)
    return str(
        next(h["moref"] for h in hosts if h["moref"] != host and (h["cluster_moref"] == cluster) == same_cluster)
    )


def _vm_list(obj: Any) -> set[str]:
    return {vm._moId for vm in obj.vm}


def _wait_task(task: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while task.info.state in ("queued", "running"):
        assert time.monotonic() < deadline, f"task {task.info.key} still {task.info.state}"
        time.sleep(0.05)
    return task.info


@pytest.mark.vcsim_peer
def test_a_vmotion_updates_both_hosts_vm_lists(moves_peer: VcsimPeer, moves_si: Any) -> None:
    """The simulator changed runtime.host only: HostSystem.vm of both hosts kept the VM where it was."""
    row = moves_peer.list_vms()[0]
    source, target = (
        vim.HostSystem(row["host"], moves_si._stub),
        vim.HostSystem(_neighbour(moves_peer, row["host"]), moves_si._stub),
    )
    vm = _vm(moves_si, row["moref"])
    assert _wait_task(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=target))).state == "success"
    assert vm.runtime.host._moId == target._moId
    assert row["moref"] in _vm_list(target) and row["moref"] not in _vm_list(source)


@pytest.mark.vcsim_peer
def test_a_storage_vmotion_moves_the_files_and_the_datastores_vm_lists(moves_peer: VcsimPeer, moves_si: Any) -> None:
    """The simulator set VirtualMachine.datastore only: the .vmx path, the files on disk and Datastore.vm stayed."""
    row = moves_peer.list_vms()[0]
    vm = _vm(moves_si, row["moref"])
    (old,) = vm.datastore
    new = next(ds for ds in vm.runtime.host.datastore if ds._moId != old._moId)
    assert _wait_task(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(datastore=new))).state == "success"
    assert [ds._moId for ds in vm.datastore] == [new._moId]
    assert vm.config.files.vmPathName == row["vmx_path"].replace(f"[{old.name}]", f"[{new.name}]")
    assert vm.summary.config.vmPathName == vm.config.files.vmPathName
    disks = [d.backing for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    assert disks and all(str(getattr(b, "fileName", "")).startswith(f"[{new.name}] ") for b in disks)
    assert row["moref"] in _vm_list(new) and row["moref"] not in _vm_list(old)
    relative = vm.config.files.vmPathName.partition("] ")[2]
    # this simulator's own datastore folders (others under the same datastore_dir hold VMs of the same names)
    assert (Path(new.summary.url) / relative).exists()
    assert not (Path(old.summary.url) / relative).exists()


@pytest.mark.vcsim_peer
def test_a_relocation_the_target_cannot_take_is_refused(moves_peer: VcsimPeer, moves_si: Any) -> None:
    """The simulator moved a VM anywhere (and dropped the connection for an unknown host)."""
    row = moves_peer.list_vms()[0]
    vm = _vm(moves_si, row["moref"])
    far = vim.HostSystem(_neighbour(moves_peer, row["host"], same_cluster=False), moves_si._stub)
    with pytest.raises(vmodl.fault.InvalidArgument):  # a host outside the compute resource of the VM's pool
        vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=far))
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=vim.HostSystem("host-999999", moves_si._stub)))
    near = _neighbour(moves_peer, row["host"])
    moves_peer.set_host_state(near, "disconnected")
    info = _wait_task(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=vim.HostSystem(near, moves_si._stub))))
    assert (info.state, type(info.error)) == ("error", vim.fault.InvalidHostConnectionState)
    assert "connection state of the host" in info.error.msg
    assert vm.runtime.host._moId == row["host"]


@pytest.mark.vcsim_peer
def test_a_slow_relocation_shows_progress_and_is_cancelled(moves_peer: VcsimPeer, moves_si: Any) -> None:
    """The simulator's tasks ended inside the call, with no progress, and it had no CancelTask."""
    row = moves_peer.list_vms()[0]
    vm = _vm(moves_si, row["moref"])
    moves_peer.set_relocate_seconds(3)
    task = vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=vim.HostSystem(_neighbour(moves_peer, row["host"]))))
    time.sleep(0.6)
    info = task.info
    assert (info.state, info.cancelable, info.descriptionId, info.entityName) == (
        "running",
        True,
        "VirtualMachine.relocate",
        row["name"],
    )
    assert 0 < info.progress < 100 and info.reason.userName == VCSIM_USER
    with pytest.raises(vim.fault.TaskInProgress):  # one task at a time on a VM
        WaitForTask(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(datastore=vm.datastore[0])))
    task.CancelTask()
    info = _wait_task(task)
    assert (info.state, info.cancelled, type(info.error)) == ("error", True, vmodl.fault.RequestCanceled)
    assert vm.runtime.host._moId == row["host"]
    with pytest.raises(vim.fault.InvalidState):  # it has ended
        task.CancelTask()


def _cluster_of(peer: VcsimPeer, host: str) -> str:
    return str(next(h["cluster_moref"] for h in peer.list_hosts() if h["moref"] == host))


@pytest.mark.vcsim_peer
def test_maintenance_mode_waits_for_running_vms_unless_drs_is_fully_automated(
    moves_peer: VcsimPeer, moves_si: Any
) -> None:
    """The simulator entered maintenance mode at once, whatever ran on the host."""
    host_moref = next(h["moref"] for h in moves_peer.list_hosts() if h["vms"])
    host = vim.HostSystem(host_moref, moves_si._stub)
    moves_peer.set_cluster_drs(_cluster_of(moves_peer, host_moref), "partiallyAutomated")
    task = host.EnterMaintenanceMode_Task(timeout=1, evacuatePoweredOffVms=False)
    time.sleep(0.4)
    assert (task.info.state, host.runtime.inMaintenanceMode) == ("running", False)
    info = _wait_task(task)
    assert (info.state, type(info.error)) == ("error", vim.fault.Timedout)
    assert not host.runtime.inMaintenanceMode


@pytest.mark.vcsim_peer
def test_maintenance_mode_with_fully_automated_drs_moves_the_vms_within_the_cluster(
    moves_peer: VcsimPeer, moves_si: Any
) -> None:
    """The simulator left the VMs on a host in maintenance mode."""
    host_moref = next(h["moref"] for h in moves_peer.list_hosts() if h["vms"])
    on_it = {v["moref"] for v in moves_peer.list_vms() if v["host"] == host_moref}
    host = vim.HostSystem(host_moref, moves_si._stub)
    assert _wait_task(host.EnterMaintenanceMode_Task(timeout=0)).state == "success"
    assert host.runtime.inMaintenanceMode and not _vm_list(host)
    moved = {v["moref"]: v["host"] for v in moves_peer.list_vms() if v["moref"] in on_it}
    assert set(moved.values()) == {_neighbour(moves_peer, host_moref)}
    other = vim.HostSystem(_neighbour(moves_peer, host_moref), moves_si._stub)
    info = _wait_task(_vm(moves_si, next(iter(on_it))).RelocateVM_Task(spec=vim.vm.RelocateSpec(host=host)))
    assert (info.state, type(info.error)) == ("error", vim.fault.InvalidHostState)  # no VM moves onto it
    assert on_it <= _vm_list(other)


@pytest.mark.vcsim_peer
def test_maintenance_mode_reaches_the_change_feed_and_is_left_once(moves_peer: VcsimPeer, moves_si: Any) -> None:
    """The simulator set runtime.inMaintenanceMode in place: only full reads saw it."""
    backend = vcsim_backend(moves_peer)
    try:
        host_moref = (
            next(h["moref"] for h in moves_peer.list_hosts() if not h["vms"])
            if any(not h["vms"] for h in moves_peer.list_hosts())
            else moves_peer.list_hosts()[0]["moref"]
        )
        host = vim.HostSystem(host_moref, moves_si._stub)
        _drained(backend)
        assert _wait_task(host.EnterMaintenanceMode_Task(timeout=0)).state == "success"
        _feed_until(backend, lambda s: any(h.moref == host_moref and h.in_maintenance for h in s.hosts))
        with pytest.raises(vim.fault.InvalidState):
            WaitForTask(host.EnterMaintenanceMode_Task(timeout=0))  # already in maintenance mode
        assert _wait_task(host.ExitMaintenanceMode_Task(timeout=0)).state == "success"
        _feed_until(backend, lambda s: any(h.moref == host_moref and not h.in_maintenance for h in s.hosts))
        with pytest.raises(vim.fault.InvalidState):
            WaitForTask(host.ExitMaintenanceMode_Task(timeout=0))  # not in maintenance mode
    finally:
        backend.close()


@pytest.mark.vcsim_peer
def test_clusters_start_with_drs_fully_automated_and_follow_set_cluster_drs(moves_peer: VcsimPeer) -> None:
    """The VPX model enabled DRS with defaultVmBehavior unset, which a real vCenter never shows."""
    backend = vcsim_backend(moves_peer)
    try:
        assert {c.drs_behavior for c in _drained(backend).fetch().clusters} == {"fullyAutomated"}
        cluster = moves_peer.list_clusters()[0]
        moves_peer.set_cluster_drs(cluster["name"], "manual")
        _feed_until(
            backend, lambda s: any(c.name == cluster["name"] and c.drs_behavior == "manual" for c in s.clusters)
        )
    finally:
        backend.close()


@pytest.mark.vcsim_peer
def test_privileges_are_answered_from_the_permissions(peer: VcsimPeer, si: Any) -> None:
    """A permission set on a cluster wins over the one inherited from the root; unknown users hold nothing."""
    content = si.RetrieveContent()
    manager = content.authorizationManager
    session = content.sessionManager.currentSession.key
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
    cluster = view.view[0]
    view.Destroy()
    asked = ["System.Read", "Resource.HotMigrate", "No.Such.Privilege"]

    def granted() -> dict[str, bool]:
        (answer,) = manager.HasPrivilegeOnEntities([cluster], session, asked)
        return {a.privId: a.isGranted for a in answer.privAvailability}

    assert granted() == {"System.Read": True, "Resource.HotMigrate": True, "No.Such.Privilege": False}
    read_only = next(r for r in manager.roleList if r.name == "ReadOnly")
    permission = vim.AuthorizationManager.Permission(
        principal=VCSIM_USER, group=False, roleId=read_only.roleId, propagate=True
    )
    manager.SetEntityPermissions(cluster, [permission])
    assert granted() == {"System.Read": True, "Resource.HotMigrate": False, "No.Such.Privilege": False}
    (fetched,) = manager.FetchUserPrivilegeOnEntities([cluster], VCSIM_USER)
    assert sorted(fetched.privileges) == sorted(read_only.privilege)
    (stranger,) = manager.HasUserPrivilegeOnEntities([content.rootFolder], "nobody@vsphere.local", asked)
    assert not any(a.isGranted for a in stranger.privAvailability)
