"""pyVmomi writes against VMware's vCenter simulator: restart the VMs of a dead host that HA left behind.

The peer's launcher makes the simulator behave like a real vCenter here (tests/peers/vcsim/README.md):
the VMs of a host that stops answering are disconnected, "Remove from inventory" takes them, and a
registered .vmx keeps its instanceUuid.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim

from hybridview.backends.base import BackendError, VCenterWrites, WriteReceipt
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.model import VirtualMachine
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.vcsim_peer


@pytest.fixture(scope="module")
def peer() -> Iterator[VcsimPeer]:
    # 18 VMs per cluster over 3 hosts: the busiest host has at least 6.
    with VcsimPeer(clusters=2, hosts=3, vms=36, username=VCSIM_USER, password=VCSIM_PASSWORD) as running:
        for cluster in running.list_clusters():
            running.set_cluster_ha(cluster["name"], False)
        yield running


@pytest.fixture(scope="module")
def backend(peer: VcsimPeer) -> Iterator[VSphereBackend]:
    made = vcsim_backend(peer)
    yield made
    made.close()


@dataclass(frozen=True, slots=True)
class Dead:
    """A host of one cluster set notResponding, and the hosts of that cluster that still answer."""

    host: str
    live: tuple[str, ...]
    vms: tuple[VirtualMachine, ...]  # as the backend read them after the host stopped answering


def _kill_busiest_host(peer: VcsimPeer, backend: VSphereBackend, cluster: dict[str, Any]) -> Dead:
    hosts = [h for h in peer.list_hosts() if h["cluster_moref"] == cluster["moref"]]
    dead = max(hosts, key=lambda h: h["vms"])
    for vm in peer.list_vms():
        if vm["host"] == dead["moref"]:
            peer.set_instance_uuid(vm["moref"], str(uuid.uuid4()))  # as Nova's vmwareapi driver sets them
    peer.set_host_state(dead["moref"], "notResponding")
    snap = backend.fetch()
    assert not next(c for c in snap.clusters if c.moref == cluster["moref"]).ha_enabled
    vms = tuple(v for v in snap.vms if v.host_moref == dead["moref"])
    live = tuple(h["moref"] for h in hosts if h is not dead)
    return Dead(dead["moref"], live, vms)


def _restart(backend: VCenterWrites, vm: VirtualMachine, host_moref: str, **changes: Any) -> WriteReceipt:
    args: dict[str, Any] = {"vmx_path": vm.vmx_path, "name": vm.name, "instance_uuid": vm.instance_uuid}
    return backend.restart_vm(vm.moref, **{**args, **changes}, host_moref=host_moref)


@dataclass(frozen=True, slots=True)
class Restarted:
    before: VirtualMachine
    target: str
    receipt: WriteReceipt


@pytest.fixture(scope="module")
def restarted(peer: VcsimPeer, backend: VSphereBackend) -> list[Restarted]:
    """Every VM of the first cluster's busiest host, restarted round the cluster's other hosts."""
    dead = _kill_busiest_host(peer, backend, peer.list_clusters()[0])
    assert len(dead.vms) >= 6
    assert {(v.connection_state, v.power_state) for v in dead.vms} == {("disconnected", "poweredOn")}
    done = []
    for i, vm in enumerate(dead.vms):
        target = dead.live[i % len(dead.live)]
        done.append(Restarted(vm, target, _restart(backend, vm, target)))
    return done


@pytest.fixture(scope="module")
def spare(peer: VcsimPeer, backend: VSphereBackend) -> Iterator[VirtualMachine]:
    """VMs of the second cluster's dead host, one per test that needs one."""
    dead = _kill_busiest_host(peer, backend, peer.list_clusters()[1])
    return iter(dead.vms)


@pytest.fixture(scope="module")
def second(peer: VcsimPeer, backend: VSphereBackend, spare: Iterator[VirtualMachine]) -> Dead:
    hosts = [h for h in peer.list_hosts() if h["cluster_moref"] == peer.list_clusters()[1]["moref"]]
    dead = next(h["moref"] for h in hosts if h["connection_state"] != "connected")
    return Dead(dead, tuple(h["moref"] for h in hosts if h["moref"] != dead), ())


def test_each_vm_of_a_dead_host_runs_on_another_host_of_its_cluster(
    backend: VSphereBackend, restarted: list[Restarted]
) -> None:
    snap = backend.fetch()
    for done in restarted:
        (now,) = [v for v in snap.vms if v.instance_uuid == done.before.instance_uuid]
        assert (now.host_moref, now.power_state, now.connection_state) == (done.target, "poweredOn", "connected")
        assert (now.name, now.vmx_path) == (done.before.name, done.before.vmx_path)
        assert now.moref != done.before.moref  # registering makes a new VM object
        assert done.receipt.request_id is not None
        assert len(done.receipt.request_id.split(",")) == 2  # RegisterVM_Task, PowerOnVM_Task
        assert all(key.startswith("task-") for key in done.receipt.request_id.split(","))
        target = _host_name(snap, done.target)
        assert done.receipt.detail == f"registered {now.name} as {now.moref} on {target}; powered it on"
    assert not [v for v in snap.vms if v.moref in {d.before.moref for d in restarted}]


def _host_name(snap: Any, moref: str) -> str:
    return str(next(h.name for h in snap.hosts if h.moref == moref))


def test_find_vm_finds_the_restarted_vm(backend: VSphereBackend, restarted: list[Restarted]) -> None:
    for done in restarted:
        found = backend.find_vm(done.before.instance_uuid, done.before.vmx_path or "")
        assert found is not None
        assert (found.instance_uuid, found.host_moref, found.power_state, found.connection_state) == (
            done.before.instance_uuid,
            done.target,
            "poweredOn",
            "connected",
        )
        assert backend.find_vm(None, done.before.vmx_path or "") == found  # by its .vmx, without the uuid
    assert backend.find_vm(str(uuid.uuid4()), "[LocalDS_0] nowhere/nowhere.vmx") is None


def test_restarting_a_restarted_vm_again_changes_nothing(backend: VSphereBackend, restarted: list[Restarted]) -> None:
    done = restarted[0]
    before = backend.find_vm(done.before.instance_uuid, done.before.vmx_path or "")
    receipt = _restart(backend, done.before, done.target)
    assert receipt.request_id is None
    assert receipt.detail is not None and receipt.detail.endswith("and runs: nothing to do")
    assert backend.find_vm(done.before.instance_uuid, done.before.vmx_path or "") == before


def test_the_restarted_vm_gets_novas_instance_uuid_when_vcenter_has_another(
    backend: VSphereBackend, spare: Iterator[VirtualMachine], second: Dead
) -> None:
    vm = next(spare)
    nova_id = str(uuid.uuid4())
    receipt = _restart(backend, vm, second.live[0], instance_uuid=nova_id)
    assert receipt.request_id is not None and len(receipt.request_id.split(",")) == 3  # + ReconfigVM_Task
    assert f"vCenter gave it instanceUuid {vm.instance_uuid}; set it to {nova_id}" in (receipt.detail or "")
    found = backend.find_vm(nova_id, vm.vmx_path or "")
    assert found is not None and (found.host_moref, found.power_state) == (second.live[0], "poweredOn")
    assert backend.find_vm(vm.instance_uuid, vm.vmx_path or "") is None


def test_a_restart_that_stopped_after_registering_is_finished(
    peer: VcsimPeer, backend: VSphereBackend, spare: Iterator[VirtualMachine], second: Dead
) -> None:
    vm = next(spare)
    si = SmartConnect(
        host=peer.host, port=peer.port, user=VCSIM_USER, pwd=VCSIM_PASSWORD, sslContext=peer.ssl_context()
    )
    try:  # what an attempt that died before powering on left behind
        old = vim.VirtualMachine(vm.moref, si._stub)
        folder, pool = old.parent, old.resourcePool
        old.UnregisterVM()
        host = vim.HostSystem(second.live[1], si._stub)
        task = folder.RegisterVM_Task(path=vm.vmx_path, name=vm.name, asTemplate=False, pool=pool, host=host)
        WaitForTask(task)
        registered = task.info.result._moId
    finally:
        Disconnect(si)
    receipt = _restart(backend, vm, second.live[0])
    assert receipt.request_id is not None and len(receipt.request_id.split(",")) == 1  # PowerOnVM_Task only
    assert receipt.detail == f"{vm.name} is registered as {registered} on {second.live[1]}; powered it on"
    found = backend.find_vm(vm.instance_uuid, vm.vmx_path or "")
    assert found is not None and (found.moref, found.power_state) == (registered, "poweredOn")


def test_a_failed_task_is_reported_with_its_key_and_what_it_leaves(
    peer: VcsimPeer, backend: VSphereBackend, spare: Iterator[VirtualMachine], second: Dead
) -> None:
    vm = next(spare)
    assert vm.vmx_path is not None
    datastore, _, relative = vm.vmx_path.partition("] ")
    (vmx,) = Path(peer.ready["datastore_dir"]).glob(f"govcsim-*-{datastore[1:]}-*/{relative}")
    vmx.unlink()  # the .vmx is gone from the datastore: vCenter cannot register it
    with pytest.raises(BackendError) as failed:
        _restart(backend, vm, second.live[0])
    error = failed.value
    assert error.request_id is not None and error.request_id.startswith("task-")
    assert error.message.startswith(f"registering {vm.vmx_path} on ")
    assert "failed: NotFound" in error.message
    assert f"{vm.name} is out of the inventory now, its files stay at {vm.vmx_path}" in error.message
    assert vm.moref not in {v["moref"] for v in peer.list_vms()}


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        pytest.param("host-999999", "host host-999999 is not in vCenter's inventory", id="no-such-host"),
        pytest.param("dead", "is notResponding: a VM can only be registered on a host that answers", id="dead-host"),
        pytest.param("other-cluster", "is not in the cluster of", id="other-cluster"),
    ],
)
def test_nothing_changes_when_the_target_cannot_take_the_vm(
    peer: VcsimPeer, backend: VSphereBackend, second: Dead, restarted: list[Restarted], target: str, refusal: str
) -> None:
    vm = second_vm(peer, second)
    host = {"dead": second.host, "other-cluster": restarted[0].target}.get(target, target)
    with pytest.raises(BackendError, match=refusal) as refused:
        _restart(backend, vm, host)
    assert refused.value.request_id is None  # refused before any task
    still = next(v for v in peer.list_vms() if v["moref"] == vm.moref)
    assert (still["host"], still["connection_state"]) == (second.host, "disconnected")


def second_vm(peer: VcsimPeer, second: Dead) -> VirtualMachine:
    """A VM still on the second cluster's dead host (the tests that restart one take others)."""
    row = next(v for v in reversed(peer.list_vms()) if v["host"] == second.host)
    return VirtualMachine(
        "vcsim", row["moref"], row["name"], row["instance_uuid"], row["host"], "poweredOn", vmx_path=row["vmx_path"]
    )


def test_a_vm_whose_host_answers_is_not_taken_for_another(
    peer: VcsimPeer, backend: VSphereBackend, second: Dead
) -> None:
    """Asked to restart another instance's VM (its instanceUuid is not the one given), it refuses."""
    row = next(v for v in peer.list_vms() if v["host"] == second.live[0] and v["power_state"] == "poweredOn")
    vm = VirtualMachine("vcsim", row["moref"], row["name"], None, row["host"], "poweredOn", vmx_path=row["vmx_path"])
    with pytest.raises(BackendError, match="is on a host that answers: only a dead host's VMs are restarted"):
        _restart(backend, vm, second.live[1], instance_uuid=str(uuid.uuid4()))
    assert row in peer.list_vms()


def test_the_backend_has_the_vcenter_writes() -> None:
    assert issubclass(VSphereBackend, VCenterWrites)
