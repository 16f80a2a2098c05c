"""pyVmomi moves against VMware's simulator: vMotion, Storage vMotion, maintenance mode, task progress and cancel.

The launcher makes the simulator behave like a real vCenter here (tests/peers/vcsim/README.md,
"Made faithful"): relocations update every list and file they touch, run for a while with progress
when asked to and can be cancelled, and maintenance mode waits for running VMs unless DRS is fully
automated. Each test leaves the VMs on connected hosts out of maintenance mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hybridview.backends.base import BackendError, TaskProgress, VCenterMoves
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.model import VCenterSnapshot
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.vcsim_peer
ENDED = ("success", "error")


@pytest.fixture(scope="module")
def peer() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=2, vms=8, datastores=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as running:
        yield running


@pytest.fixture(scope="module")
def backend(peer: VcsimPeer) -> Iterator[VSphereBackend]:
    made = vcsim_backend(peer)
    yield made
    made.close()


@pytest.fixture
def slow(peer: VcsimPeer) -> Iterator[None]:
    """Relocations take 2 s while the test runs."""
    peer.set_relocate_seconds(2)
    yield
    peer.set_relocate_seconds(0)


def _follow(backend: VSphereBackend, key: str, seconds: float = 10.0) -> TaskProgress:
    deadline = time.monotonic() + seconds
    while (progress := backend.task_progress(key)).state not in ENDED:
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)
    return progress


def _feed_until(backend: VSphereBackend, done: Callable[[VCenterSnapshot], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        update = backend.wait_for_updates(1.0)
        if update is not None and done(update):
            return
    pytest.fail(f"the change feed did not deliver it within {seconds:g} s")


def _drained(backend: VSphereBackend) -> VCenterSnapshot:
    snap = backend.fetch()
    while backend.wait_for_updates(1.0) is not None:
        pass
    return snap


def _vm_and_neighbour(snap: VCenterSnapshot, index: int = 0) -> tuple[Any, Any]:
    """A VM and another host of its cluster."""
    vm = snap.vms[index]
    cluster = next(h.cluster_moref for h in snap.hosts if h.moref == vm.host_moref)
    return vm, next(h for h in snap.hosts if h.cluster_moref == cluster and h.moref != vm.host_moref)


def test_the_backend_has_the_vcenter_moves() -> None:
    assert issubclass(VSphereBackend, VCenterMoves)


def test_a_vmotion_moves_the_vm_and_the_feed_shows_its_new_host(backend: VSphereBackend) -> None:
    vm, target = _vm_and_neighbour(_drained(backend))
    receipt = backend.relocate_vm(vm.moref, host_moref=target.moref, datastore_moref=None)
    assert receipt.request_id is not None and receipt.request_id.startswith("task-")
    assert receipt.detail == f"relocating {vm.name} to {target.name}: task {receipt.request_id} success"
    done = _follow(backend, receipt.request_id)
    assert (done.state, done.description_id, done.entity_moref) == ("success", "VirtualMachine.relocate", vm.moref)
    _feed_until(backend, lambda s: any(v.moref == vm.moref and v.host_moref == target.moref for v in s.vms))
    placed = backend.vm_placement(vm.moref)
    assert placed is not None and (placed.host_moref, placed.datastore_morefs) == (target.moref, vm.datastores)


def test_a_storage_vmotion_moves_the_vms_files(backend: VSphereBackend) -> None:
    snap = _drained(backend)
    vm = snap.vms[1]
    (old,) = [d for d in snap.datastores if d.moref in vm.datastores]
    new = next(d for d in snap.datastores if d.moref != old.moref)
    receipt = backend.relocate_vm(vm.moref, host_moref=None, datastore_moref=new.moref)
    assert _follow(backend, receipt.request_id or "").state == "success"
    _feed_until(backend, lambda s: any(v.moref == vm.moref and v.datastores == (new.moref,) for v in s.vms))
    now = next(v for v in backend.fetch().vms if v.moref == vm.moref)
    assert (now.host_moref, now.vmx_path) == (vm.host_moref, (vm.vmx_path or "").replace(old.name, new.name, 1))


def test_a_relocation_shows_its_progress_in_the_task_and_the_snapshot(backend: VSphereBackend, slow: None) -> None:
    vm, target = _vm_and_neighbour(_drained(backend), 2)
    receipt = backend.relocate_vm(vm.moref, host_moref=target.moref, datastore_moref=None)
    key = receipt.request_id or ""
    assert receipt.detail == f"relocating {vm.name} to {target.name}: task {key} running"
    time.sleep(0.7)
    running = backend.task_progress(key)
    assert running.state == "running" and running.cancelable
    assert running.progress is not None and 0 < running.progress < 100
    (task,) = [t for t in backend.fetch().tasks if t.key == key]
    assert (task.entity_moref, task.entity_name, task.user, task.state) == (vm.moref, vm.name, VCSIM_USER, "running")
    assert _follow(backend, key).state == "success"
    _feed_until(backend, lambda s: not any(t.key == key for t in s.tasks))  # only queued and running tasks
    assert backend.vm_placement(vm.moref).host_moref == target.moref  # type: ignore[union-attr]


def test_cancel_task_stops_a_slow_relocation(backend: VSphereBackend, slow: None) -> None:
    vm, target = _vm_and_neighbour(_drained(backend), 3)
    key = backend.relocate_vm(vm.moref, host_moref=target.moref, datastore_moref=None).request_id or ""
    time.sleep(0.3)
    receipt = backend.cancel_task(key)
    assert (receipt.request_id, receipt.detail) == (key, f"asked vCenter to cancel task {key}")
    ended = _follow(backend, key)
    assert (ended.state, ended.cancelled) == ("error", True)
    assert ended.error == "RequestCanceled: The task was canceled by a user."
    assert backend.vm_placement(vm.moref).host_moref == vm.host_moref  # type: ignore[union-attr]
    with pytest.raises(BackendError, match=rf"^cancelling task {key} .* failed: InvalidState: "):
        backend.cancel_task(key)


def test_a_relocation_to_another_cluster_or_a_disconnected_host_gives_vcenters_error(
    peer: VcsimPeer, backend: VSphereBackend
) -> None:
    snap = _drained(backend)
    vm, near = _vm_and_neighbour(snap, 4)
    far = next(h for h in snap.hosts if h.cluster_moref != near.cluster_moref)
    with pytest.raises(BackendError, match="failed: InvalidArgument: A specified parameter was not correct") as other:
        backend.relocate_vm(vm.moref, host_moref=far.moref, datastore_moref=None)
    assert other.value.request_id is None  # refused before any task
    peer.set_host_state(near.moref, "disconnected")
    try:
        with pytest.raises(BackendError, match=r"failed: InvalidHostConnectionState: .* connection state") as dead:
            backend.relocate_vm(vm.moref, host_moref=near.moref, datastore_moref=None)
    finally:
        peer.set_host_state(near.moref, "connected")
    assert (dead.value.request_id or "").startswith("task-")
    assert backend.vm_placement(vm.moref).host_moref == vm.host_moref  # type: ignore[union-attr]
    with pytest.raises(BackendError, match="host host-999999 is not in vCenter's inventory"):
        backend.relocate_vm(vm.moref, host_moref="host-999999", datastore_moref=None)


def test_enter_and_exit_maintenance_mode(backend: VSphereBackend) -> None:
    """With DRS fully automated (the launcher's default) vCenter moves the VMs itself."""
    snap = _drained(backend)
    host = next(h for h in snap.hosts if any(v.host_moref == h.moref for v in snap.vms))
    receipt = backend.enter_maintenance(host.moref, timeout_seconds=60, evacuate_powered_off=False)
    assert _follow(backend, receipt.request_id or "").description_id == "HostSystem.enterMaintenanceMode"
    _feed_until(backend, lambda s: any(h.moref == host.moref and h.in_maintenance for h in s.hosts))
    assert not [v for v in backend.fetch().vms if v.host_moref == host.moref and v.power_state == "poweredOn"]
    receipt = backend.exit_maintenance(host.moref, timeout_seconds=60)
    assert _follow(backend, receipt.request_id or "").state == "success"
    _feed_until(backend, lambda s: any(h.moref == host.moref and not h.in_maintenance for h in s.hosts))
    with pytest.raises(BackendError, match=r"taking \S+ out of maintenance mode failed: InvalidState"):
        backend.exit_maintenance(host.moref, timeout_seconds=60)


def test_maintenance_mode_waits_for_the_vms_hybridview_moves_when_drs_does_not(
    peer: VcsimPeer, backend: VSphereBackend
) -> None:
    """The drain of a cluster whose DRS is not fully automated: enter, vMotion the VMs away, the task ends."""
    snap = _drained(backend)
    host = next(h for h in snap.hosts if any(v.host_moref == h.moref for v in snap.vms))
    other = next(h for h in snap.hosts if h.cluster_moref == host.cluster_moref and h.moref != host.moref)
    peer.set_cluster_drs(host.cluster_moref or "", "manual")
    try:
        key = backend.enter_maintenance(host.moref, timeout_seconds=0, evacuate_powered_off=False).request_id or ""
        time.sleep(0.3)
        assert backend.task_progress(key).state == "running"
        for vm in [v for v in snap.vms if v.host_moref == host.moref]:
            moved = backend.relocate_vm(vm.moref, host_moref=other.moref, datastore_moref=None)
            assert _follow(backend, moved.request_id or "").state == "success"
        assert _follow(backend, key).state == "success"
        backend.exit_maintenance(host.moref, timeout_seconds=0)
        timed = backend.enter_maintenance(other.moref, timeout_seconds=1, evacuate_powered_off=False)
        failed = _follow(backend, timed.request_id or "")
        assert failed.state == "error" and (failed.error or "").startswith("Timedout: ")
    finally:
        peer.set_cluster_drs(host.cluster_moref or "", "fullyAutomated")


def test_a_task_or_vm_vcenter_does_not_know(backend: VSphereBackend) -> None:
    with pytest.raises(BackendError, match="vCenter no longer knows task task-999999"):
        backend.task_progress("task-999999")
    assert backend.vm_placement("vm-999999") is None
