"""The demo estate takes every write with the real APIs' checks, and shows its progress over time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from datetime import timedelta

import pytest

from hybridview.backends.base import BackendError, ServerProgress, WriteReceipt
from hybridview.core.correlation import correlate
from hybridview.core.evacuation import pending_evacuations
from hybridview.core.left_behind import RestartRequest, left_behind_vms, plan_vm_restarts
from hybridview.core.model import EsxiHost, Instance, OpenStackSnapshot, VCenterSnapshot, VirtualMachine
from hybridview.sim import SimEstate, SimSize
from hybridview.sim.backends import SimNovaBackend, SimVCenterBackend
from hybridview.sim.layout import FLAVORS
from hybridview.sim.nova_evacuation import NO_VALID_HOST, SCHEDULED_AT
from hybridview.sim.scenarios import failing_node
from tests.unit.test_sim import ManualClock, full_estate

EVACUATION = 1.0  # seconds of the manual clock


def demo(scenario: str = "healthy", *, restart: float = 2.0, start: float = 1.0) -> tuple[SimEstate, ManualClock]:
    """The estate on a manual clock, so each step of a write's progress is seen on purpose."""
    clock = ManualClock()
    sim = SimEstate(scenario, clock=clock, evacuation_seconds=EVACUATION, restart_seconds=restart, start_seconds=start)
    return sim, clock


def refusal(call: Callable[..., object], *args: object, **kwargs: object) -> BackendError:
    """The error of a refused write, which names its request (Nova) or task (vCenter)."""
    with pytest.raises(BackendError) as info:
        call(*args, **kwargs)
    assert (info.value.request_id or "").startswith(("req-", "task-"))
    return info.value


def on_host(snap: OpenStackSnapshot, host: str) -> list[Instance]:
    return [i for i in snap.instances if i.host == host]


def kvm_host(sim: SimEstate, cloud: str = "demo-cloud", index: int = 0) -> str:
    return [n.host for n in sim.openstack_snapshot(cloud).nodes if not n.is_vmware][index]


def test_evacuate_is_refused_while_the_source_compute_is_up() -> None:
    sim, _ = demo()
    nova = SimNovaBackend(sim, "demo-cloud")
    host = kvm_host(sim)
    victim = on_host(nova.fetch(), host)[0]
    error = refusal(nova.evacuate, victim.id, target_host=None, on_shared_storage=None)
    assert (error.status_code, error.message) == (400, f"Compute service of {host} is still in use.")
    assert error.endpoint == "demo-cloud"
    assert nova.server_progress(victim.id).status == "ACTIVE"  # nothing happened
    assert not nova.fetch().migrations


def test_after_force_down_each_evacuation_goes_rebuild_then_shutoff_on_another_host() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, "demo-cloud")
    host = kvm_host(sim)
    before = nova.fetch()
    victims = on_host(before, host)
    receipt = nova.set_forced_down(host, True)
    assert (receipt.request_id or "").startswith("req-")
    service = next(s for s in nova.fetch().services if s.host == host)
    assert (service.state, service.forced_down) == ("down", True)  # forced down reads down, as in Nova

    receipts = [nova.evacuate(i.id, target_host=None, on_shared_storage=None) for i in victims]
    assert len({r.request_id for r in receipts}) == len(victims)
    accepted = nova.server_progress(victims[0].id)
    assert (accepted.status, accepted.task_state, accepted.evacuation_status) == ("REBUILD", "rebuilding", "accepted")
    assert {i.status for i in on_host(nova.fetch(), host)} == {"REBUILD"}

    clock.now += EVACUATION * SCHEDULED_AT
    scheduled = [nova.server_progress(i.id) for i in victims]
    assert {p.evacuation_status for p in scheduled} == {"pre-migrating"}
    assert all(p.evacuation_dest not in (None, host) and p.host == host for p in scheduled)

    clock.now += EVACUATION
    after = nova.fetch()
    for inst in victims:
        progress = nova.server_progress(inst.id)
        assert (progress.status, progress.vm_state, progress.task_state) == ("SHUTOFF", "stopped", None)
        assert progress.host == progress.evacuation_dest != host
        assert progress.evacuation_status == "done" and progress.fault is None
    assert not on_host(after, host)
    assert {m.status for m in after.migrations} == {"done"}
    assert {(m.instance_id, m.source_compute) for m in after.migrations} == {(i.id, host) for i in victims}
    assert all(m.dest_compute and m.dest_node for m in after.migrations)
    assert len({m.dest_compute for m in after.migrations}) > 1  # the least loaded host, each time
    # capacity follows the instances
    for node in after.nodes:
        placed = [i for i in after.instances if i.node == node.hypervisor_hostname]
        assert node.vcpus_used == sum(FLAVORS[i.flavor or ""][0] for i in placed)
        assert node.memory_mb_used == sum(FLAVORS[i.flavor or ""][1] for i in placed)


def test_each_cloud_has_one_seeded_evacuation_failure_with_its_fault() -> None:
    sim, clock = demo("kvm-host-down")
    nova = SimNovaBackend(sim, "demo-cloud")
    (down,) = [s.host for s in nova.fetch().services if s.state == "down"]
    assert not next(s for s in nova.fetch().services if s.host == down).forced_down  # the fencing gate applies
    for cloud in sim.cloud_names():
        node = failing_node(sim.state, cloud)
        assert node is not None
        failing = [i for i in sim.state.instances[cloud] if i.id in sim.state.failing]
        assert [i.host for i in failing] == [node.service_host]
    assert failing_node(sim.state, "demo-cloud").service_host == down  # type: ignore[union-attr]

    victims = on_host(nova.fetch(), down)
    receipts = {i.id: nova.evacuate(i.id, target_host=None, on_shared_storage=None) for i in victims}
    clock.now += 2 * EVACUATION
    progress = {i.id: nova.server_progress(i.id) for i in victims}
    failed = [p for p in progress.values() if p.status == "ERROR"]
    assert len(failed) == 1
    (bad,) = failed
    assert (bad.vm_state, bad.task_state, bad.evacuation_status, bad.host) == ("error", None, "failed", down)
    assert bad.fault and ("libvirtError" in bad.fault or "volume" in bad.fault)
    assert bad.fault == sim.state.failing[bad.instance_id]
    assert (receipts[bad.instance_id].request_id or "").startswith("req-")
    assert sum(p.status == "SHUTOFF" for p in progress.values()) == len(victims) - 1
    # the failure is deterministic: evacuated again, it fails again, and the newest record is the new one
    first_record = bad.evacuation_id
    nova.evacuate(bad.instance_id, target_host=None, on_shared_storage=None)
    clock.now += 2 * EVACUATION
    again = nova.server_progress(bad.instance_id)
    assert again.evacuation_id != first_record and again.evacuation_status == "failed"


def test_no_valid_host_fails_the_evacuation_with_novas_message() -> None:
    sim, clock = demo("kvm-host-down")
    nova = SimNovaBackend(sim, "demo-cloud")
    (down,) = [s.host for s in nova.fetch().services if s.state == "down"]
    target = kvm_host(sim, index=0)
    nova.set_service_enabled(target, False, "hardware check")
    victim = next(i for i in on_host(nova.fetch(), down) if i.id not in sim.state.failing)
    nova.evacuate(victim.id, target_host=target, on_shared_storage=None)  # accepted: the scheduler refuses it
    clock.now += EVACUATION
    progress = nova.server_progress(victim.id)
    assert (progress.status, progress.fault, progress.evacuation_status) == ("ERROR", NO_VALID_HOST, "error")
    assert progress.host == down


def test_evacuate_refusals_have_novas_status_and_message() -> None:
    sim, _ = demo("vmware-proxy-down")
    nova = SimNovaBackend(sim, "demo-cloud")
    snap = nova.fetch()
    proxy = next(n for n in snap.nodes if n.is_vmware and n.state == "down")
    vmware = next(i for i in snap.instances if i.node == proxy.hypervisor_hostname)
    error = refusal(nova.evacuate, vmware.id, target_host=None, on_shared_storage=None)
    assert error.status_code == 400 and "vmwareapi driver" in error.message
    assert refusal(nova.evacuate, "no-such-id", target_host=None, on_shared_storage=None).status_code == 404

    host = kvm_host(sim, index=1)
    nova.set_forced_down(host, True)
    victim = on_host(snap, host)[0]
    same = refusal(nova.evacuate, victim.id, target_host=host, on_shared_storage=None)
    assert (same.status_code, same.message) == (400, "The target host can't be the same one.")
    unknown = refusal(nova.evacuate, victim.id, target_host="kvm-nowhere", on_shared_storage=None)
    assert (unknown.status_code, unknown.message) == (404, "Compute host kvm-nowhere could not be found.")
    nova.evacuate(victim.id, target_host=None, on_shared_storage=None)
    busy = refusal(nova.evacuate, victim.id, target_host=None, on_shared_storage=None)
    assert busy.status_code == 409 and "task_state rebuilding" in busy.message


def test_start_server_makes_an_evacuated_server_active_after_a_delay() -> None:
    sim, clock = demo(start=0.5)
    nova = SimNovaBackend(sim, "demo-cloud")
    host = kvm_host(sim)
    victim = on_host(nova.fetch(), host)[0]
    running = refusal(nova.start_server, victim.id)
    assert running.status_code == 409 and "vm_state active" in running.message
    nova.set_forced_down(host, True)
    nova.evacuate(victim.id, target_host=None, on_shared_storage=None)
    clock.now += EVACUATION
    assert nova.server_progress(victim.id).status == "SHUTOFF"
    assert (nova.start_server(victim.id).request_id or "").startswith("req-")
    powering = nova.server_progress(victim.id)
    assert (powering.status, powering.task_state) == ("SHUTOFF", "powering-on")
    clock.now += 0.5
    started = nova.server_progress(victim.id)
    assert (started.status, started.vm_state, started.task_state) == ("ACTIVE", "active", None)
    assert next(i for i in nova.fetch().instances if i.id == victim.id).power_state == 1


def test_start_server_is_refused_on_a_dead_host() -> None:
    sim, _ = demo("evacuation-in-progress")
    nova = SimNovaBackend(sim, "demo-cloud")
    snap = nova.fetch()
    (down,) = [s.host for s in snap.services if s.state == "down"]
    stopped = on_host(snap, down)[-1]
    nova.evacuate(stopped.id, target_host=None, on_shared_storage=None)  # not started: the error below is the host's
    assert refusal(nova.start_server, stopped.id).status_code == 409


def test_enable_disable_and_force_down_show_in_the_snapshot() -> None:
    sim, _ = demo("kvm-host-down")
    nova = SimNovaBackend(sim, "demo-cloud")
    host = kvm_host(sim)
    nova.set_service_enabled(host, False, "waiting for a new disk")
    node = next(n for n in nova.fetch().nodes if n.host == host)
    assert (node.status, node.disabled_reason) == ("disabled", "waiting for a new disk")
    bad = refusal(nova.set_service_enabled, host, True, "back")
    assert bad.status_code == 400
    nova.set_service_enabled(host, True)
    node = next(n for n in nova.fetch().nodes if n.host == host)
    assert (node.status, node.disabled_reason) == ("enabled", None)
    assert refusal(nova.set_forced_down, "kvm-nowhere", True).status_code == 404

    (down,) = [s.host for s in nova.fetch().services if s.state == "down"]
    nova.set_forced_down(down, True)
    nova.set_forced_down(down, False)  # the flag goes, the host stays dead
    service = next(s for s in nova.fetch().services if s.host == down)
    assert (service.state, service.forced_down) == ("down", False)
    nova.set_forced_down(host, True)
    nova.set_forced_down(host, False)  # a live host reads up again
    assert next(s for s in nova.fetch().services if s.host == host).state == "up"


def test_server_progress_reads_records_since_on_the_demo_clock() -> None:
    sim, _ = demo("kvm-host-down")
    nova = SimNovaBackend(sim, "demo-cloud")
    snap = nova.fetch()
    (down,) = [s.host for s in snap.services if s.state == "down"]
    victim = next(i for i in on_host(snap, down) if i.id not in sim.state.failing)
    nova.evacuate(victim.id, target_host=None, on_shared_storage=None)
    assert nova.server_progress(victim.id, since=snap.taken_at).evacuation_id is not None
    assert nova.server_progress(victim.id, since=snap.taken_at - timedelta(days=1)).evacuation_id is not None
    sim.advance(2)
    later = sim.now() - timedelta(seconds=1)
    assert nova.server_progress(victim.id, since=later).evacuation_id is None  # nothing since then
    # a time in the demo's future is another clock's (the wall clock): ignored
    assert nova.server_progress(victim.id, since=sim.now() + timedelta(days=30)).evacuation_id is not None
    assert refusal(nova.server_progress, "no-such-id").status_code == 404


def test_progress_follows_the_wall_clock() -> None:
    sim = SimEstate("kvm-host-down", evacuation_seconds=0.2, start_seconds=0.05)
    nova = SimNovaBackend(sim, "demo-cloud")
    snap = nova.fetch()
    (down,) = [s.host for s in snap.services if s.state == "down"]
    victim = next(i for i in on_host(snap, down) if i.id not in sim.state.failing)
    nova.evacuate(victim.id, target_host=None, on_shared_storage=None)
    assert next(i for i in nova.fetch().instances if i.id == victim.id).status == "REBUILD"
    seen = wait_for(lambda: nova.server_progress(victim.id), lambda p: p.status == "SHUTOFF")
    assert seen.evacuation_status == "done"
    assert next(i for i in nova.fetch().instances if i.id == victim.id).host == seen.host != down
    nova.start_server(victim.id)
    assert wait_for(lambda: nova.server_progress(victim.id), lambda p: p.status == "ACTIVE").task_state is None


def wait_for(
    read: Callable[[], ServerProgress], done: Callable[[ServerProgress], bool], seconds: float = 3.0
) -> ServerProgress:
    """Poll on the wall clock until ``done``."""
    deadline = time.monotonic() + seconds
    while not done(value := read()):
        assert time.monotonic() < deadline, value
        time.sleep(0.01)
    return value


def ha_off_host(vc: SimVCenterBackend) -> tuple[VCenterSnapshot, EsxiHost, EsxiHost]:
    """esxi-host-down's failed host of the cluster without vSphere HA, and a live host of that cluster."""
    snap = vc.fetch()
    ha_off = next(c.moref for c in snap.clusters if not c.ha_enabled)
    (dead,) = [h for h in snap.hosts if h.cluster_moref == ha_off and h.connection_state == "notResponding"]
    alive = next(h for h in snap.hosts if h.cluster_moref == ha_off and h.connection_state == "connected")
    return snap, dead, alive


def test_restart_vm_brings_a_left_behind_vm_of_the_ha_off_cluster_back() -> None:
    sim, _ = demo("esxi-host-down", restart=0.0)
    vc = SimVCenterBackend(sim, "vc-east")
    snap, dead, alive = ha_off_host(vc)
    stranded = [vm for vm in snap.vms if vm.host_moref == dead.moref]
    sim.advance(5)  # no vSphere HA there: they stay, disconnected
    snap = vc.fetch()
    assert {(vm.moref, vm.connection_state) for vm in snap.vms if vm.host_moref == dead.moref} == {
        (vm.moref, "disconnected") for vm in stranded
    }
    estate = full_estate(sim)
    left = [x for x in left_behind_vms(estate, correlate(estate)) if x.host.moref == dead.moref]
    assert {x.vm_moref for x in left} == {vm.moref for vm in stranded}

    vm = next(v for v in stranded if v.instance_uuid)
    assert vm.vmx_path == f"[vc-east-cl02-shared] {vm.name}/{vm.name}.vmx"
    other_cluster = next(h for h in snap.hosts if h.cluster_moref != alive.cluster_moref and h.responding)
    assert "not in the cluster" in refusal(restart, vc, vm, other_cluster.moref).message
    assert "was not found" in refusal(restart, vc, vm, alive.moref, vmx_path="[x] y").message
    running = next(v for v in snap.vms if v.host_moref == alive.moref)
    assert "locked" in refusal(restart, vc, running, dead.moref).message

    receipt = restart(vc, vm, alive.moref)
    assert len((receipt.request_id or "").split(",")) == 3  # unregister, register, power on
    placed = vc.find_vm(vm.instance_uuid, vm.vmx_path or "")
    assert placed is not None
    assert (placed.host_moref, placed.power_state, placed.connection_state) == (alive.moref, "poweredOn", "connected")
    assert placed.moref != vm.moref and placed.instance_uuid == vm.instance_uuid  # a new VM object, same identity
    assert vc.find_vm((vm.instance_uuid or "").upper(), "") == placed == vc.find_vm(None, vm.vmx_path or "")
    assert vc.find_vm("no-such-uuid", "[x] y") is None
    after = vc.fetch()
    assert vm.moref not in {v.moref for v in after.vms}
    assert [e.kind for e in after.events[-3:]] == ["VmRemovedEvent", "VmRegisteredEvent", "VmPoweredOnEvent"]


def test_restart_vm_returns_once_powered_on_and_readers_see_it_registered_first() -> None:
    sim = SimEstate("esxi-host-down", restart_seconds=0.3)
    vc = SimVCenterBackend(sim, "vc-east")
    snap, dead, alive = ha_off_host(vc)
    vm = next(v for v in snap.vms if v.host_moref == dead.moref and v.instance_uuid)
    done = threading.Event()

    def send() -> None:
        restart(vc, vm, alive.moref)
        done.set()

    worker = threading.Thread(target=send)
    started = time.monotonic()
    worker.start()
    seen = vc.find_vm(vm.instance_uuid, "")
    while seen is None or seen.host_moref != alive.moref:
        assert time.monotonic() - started < 5
        time.sleep(0.005)
        seen = vc.find_vm(vm.instance_uuid, "")
    assert seen.power_state == "poweredOff" and not done.is_set()  # registered, not yet powered on
    worker.join(5)
    assert done.is_set() and time.monotonic() - started >= 0.3
    powered = vc.find_vm(vm.instance_uuid, "")
    assert powered is not None and powered.power_state == "poweredOn"


def restart(vc: SimVCenterBackend, vm: VirtualMachine, host_moref: str, vmx_path: str | None = None) -> WriteReceipt:
    return vc.restart_vm(
        vm.moref,
        vmx_path=vmx_path or vm.vmx_path or "",
        name=vm.name,
        instance_uuid=vm.instance_uuid,
        host_moref=host_moref,
    )


def test_the_restart_plan_runs_against_the_demo() -> None:
    """What the window will send: core's plan for the HA-off host, step by step, then nothing is left behind."""
    sim, _ = demo("esxi-host-down", restart=0.0)
    vc = SimVCenterBackend(sim, "vc-east")
    _, dead, _ = ha_off_host(vc)
    estate = full_estate(sim)
    plan = plan_vm_restarts(estate, correlate(estate), RestartRequest("vc-east", dead.name))
    assert plan.sendable and not plan.blocked
    for step in plan.sendable:
        p = step.parameters
        vc.restart_vm(
            p["vm_moref"],
            vmx_path=p["vmx_path"],
            name=p["name"],
            instance_uuid=p["instance_uuid"],
            host_moref=p["host_moref"],
        )
    estate = full_estate(sim)
    assert not [x for x in left_behind_vms(estate, correlate(estate)) if x.host.moref == dead.moref]
    assert not [vm for vm in estate.vcenters[0].vms if vm.host_moref == dead.moref]


def test_restart_vm_needs_a_host_that_mounts_the_datastore() -> None:
    sim, _ = demo("esxi-host-down")
    vc = SimVCenterBackend(sim, "vc-east")
    snap, dead, alive = ha_off_host(vc)
    vm = next(v for v in snap.vms if v.host_moref == dead.moref)
    shared = next(d for d in sim.layout.datastores if d.moref in vm.datastores)
    shared.hosts.remove(alive.moref)
    sim.invalidate()
    assert alive.moref not in next(d for d in vc.fetch().datastores if d.moref == shared.moref).host_morefs
    assert "does not mount" in refusal(restart, vc, vm, alive.moref).message


def test_ha_restarts_the_vms_of_a_host_that_fails_later() -> None:
    sim, _ = demo()
    vc = SimVCenterBackend(sim, "vc-west")
    snap = vc.fetch()
    ha = next(c.moref for c in snap.clusters if c.ha_enabled)
    host = next(h for h in snap.hosts if h.cluster_moref == ha)
    before = {vm.moref for vm in snap.vms if vm.host_moref == host.moref}
    sim.set_host_state(host.name, "notResponding")
    counts = []
    for _ in range(4):
        counts.append(sum(vm.host_moref == host.moref for vm in vc.fetch().vms))
        sim.advance()
    assert counts[0] == len(before) and counts[-1] == 0 and counts == sorted(counts, reverse=True)
    assert len(set(counts)) > 2  # a few per tick, not all at once


def test_evacuation_in_progress_shape_and_course() -> None:
    sim, clock = demo("evacuation-in-progress")
    nova = SimNovaBackend(sim, "demo-cloud")
    snap = nova.fetch()
    (down,) = [s for s in snap.services if s.state == "down"]
    assert down.forced_down
    records = {m.instance_id: m for m in snap.migrations}
    assert {m.migration_type for m in records.values()} == {"evacuation"}
    assert {m.source_compute for m in records.values()} == {down.host}
    done = [m for m in records.values() if m.status == "done"]
    running = [m for m in records.values() if m.status == "pre-migrating"]
    per_host = SimSize().instances_per_kvm_node
    assert len(done) == len(running) == per_host // 3
    instances = {i.id: i for i in snap.instances}
    for m in done:
        assert instances[m.instance_id].host == m.dest_compute != down.host
        assert instances[m.instance_id].status in ("SHUTOFF", "ACTIVE")
    assert {instances[m.instance_id].status for m in done} == {"SHUTOFF", "ACTIVE"}
    for m in running:
        assert (instances[m.instance_id].status, instances[m.instance_id].task_state) == ("REBUILD", "rebuilding")
        assert instances[m.instance_id].host == down.host and m.dest_compute not in (None, down.host)
    pending = [i for i in on_host(snap, down.host) if i.id not in records]
    assert len(pending) == per_host - 2 * (per_host // 3)
    assert {i.status for i in pending} == {"ACTIVE"}
    assert any(i.id in sim.state.failing for i in pending)  # the seeded failure waits for the operator
    # core sees the pending ones as evacuable and the running ones as busy
    waiting = {p.instance_id: p for p in pending_evacuations(full_estate(sim))}
    assert {i.id for i in pending} | {m.instance_id for m in running} == set(waiting)
    assert all(waiting[i.id].evacuable for i in pending)
    assert not any(waiting[m.instance_id].evacuable for m in running)

    clock.now += EVACUATION  # the running ones end one after another, over time
    statuses = [nova.server_progress(m.instance_id).evacuation_status for m in running]
    assert statuses == ["done", "pre-migrating"]
    clock.now += EVACUATION
    assert all(nova.server_progress(m.instance_id).status == "SHUTOFF" for m in running)
    assert {i.id for i in on_host(nova.fetch(), down.host)} == {i.id for i in pending}


def test_demo_fills_capacity_paths_and_mounts() -> None:
    sim, _ = demo("esxi-host-down")
    estate = full_estate(sim)
    for snap in estate.openstack:
        for node in snap.nodes:
            assert node.vcpus and node.memory_mb and node.vcpus_used is not None and node.memory_mb_used is not None
            assert 0 < node.memory_mb_used < node.memory_mb
        assert snap.write_microversion == "2.100"
    for vc in estate.vcenters:
        mounts = {d.moref: set(d.host_morefs) for d in vc.datastores}
        hosts = {h.moref: h for h in vc.hosts}
        assert all(d.shared == (len(d.host_morefs) > 1) for d in vc.datastores)
        for vm in vc.vms:
            assert vm.vmx_path and vm.vmx_path.endswith(f"] {vm.name}/{vm.name}.vmx")
            assert all(vm.host_moref in mounts[ds] for ds in vm.datastores)
            connected = hosts[vm.host_moref or ""].connection_state == "connected"
            assert vm.connection_state == ("connected" if connected else "disconnected")


def test_writes_fail_while_the_endpoint_is_out() -> None:
    sim, _ = demo()
    nova, vc = SimNovaBackend(sim, "demo-cloud"), SimVCenterBackend(sim, "vc-east")
    sim.broken_endpoints |= {"demo-cloud", "vc-east"}
    with pytest.raises(BackendError, match="simulated outage"):
        nova.set_forced_down(kvm_host(sim), True)
    with pytest.raises(BackendError, match="simulated outage"):
        vc.find_vm("x", "[x] y")


def test_a_nova_write_leaves_the_vcenter_snapshots_as_they_were() -> None:
    sim, _ = demo()
    vc_before = sim.vcenter_snapshot("vc-east")
    os_before = sim.openstack_snapshot("demo-cloud")
    SimNovaBackend(sim, "demo-cloud").set_forced_down(kvm_host(sim), True)
    assert sim.vcenter_snapshot("vc-east") is vc_before
    assert sim.openstack_snapshot("demo-edge") is sim.openstack_snapshot("demo-edge")
    after = sim.openstack_snapshot("demo-cloud")
    assert after is not os_before and after.instances == os_before.instances


def test_writes_and_reads_from_many_threads() -> None:
    sim = SimEstate("healthy", evacuation_seconds=0.02)
    nova = SimNovaBackend(sim, "demo-edge")
    hosts = [n.host for n in nova.fetch().nodes][:3]
    for host in hosts:
        nova.set_forced_down(host, True)
    ids = [i.id for i in nova.fetch().instances if i.host in hosts]
    victims = [i for i in ids if i not in sim.state.failing]
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                nova.fetch()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    def evacuate(ids: list[str]) -> None:
        try:
            for ident in ids:
                nova.evacuate(ident, target_host=None, on_shared_storage=None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=evacuate, args=(victims[k::4],)) for k in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    for ident in victims:
        wait_for(partial(nova.server_progress, ident), lambda p: p.status == "SHUTOFF")
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    final = nova.fetch()
    assert [i.id for i in final.instances if i.host in hosts] == [i for i in sim.state.failing if i in ids]
    assert len(final.migrations) == len(victims) and {m.status for m in final.migrations} == {"done"}
