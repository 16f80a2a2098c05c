"""The demo estate's moves: Nova live and cold migration, vMotion, maintenance mode and vCenter tasks,
with the real APIs' checks and messages, and their progress over the estate's clock."""

from __future__ import annotations

import time
from datetime import timedelta

from hybridview.backends.base import BackendError, MigrationProgress, NovaMoves, TaskProgress, VCenterMoves
from hybridview.core.model import FINISHED_MIGRATION_STATUSES, Instance, OpenStackSnapshot, VCenterSnapshot
from hybridview.sim import SimEstate, SimSize
from hybridview.sim.backends import SimNovaBackend, SimVCenterBackend, demo_backends
from hybridview.sim.layout import FLAVORS
from hybridview.sim.scenarios import WATCHED_MOVES
from hybridview.sim.vsphere_faults import CANCELED, INVALID_STATE, NOT_SUPPORTED, TIMED_OUT
from tests.unit.test_sim import ManualClock
from tests.unit.test_sim_writes import refusal

LIVE, COLD, RELOCATE, MAINTENANCE = 4.0, 3.0, 3.0, 2.0  # seconds of the manual clock
CLOUD, VC = "demo-cloud", "vc-east"
EPSILON = 1e-6


def demo(scenario: str = "healthy", *, live_migrations_per_host: int = 0) -> tuple[SimEstate, ManualClock]:
    """The estate on a manual clock (vSphere HA's ticks out of the way), so each step of a move is seen on purpose."""
    clock = ManualClock()
    sim = SimEstate(
        scenario,
        clock=clock,
        tick_seconds=3600.0,
        live_migration_seconds=LIVE,
        cold_migration_seconds=COLD,
        relocate_seconds=RELOCATE,
        maintenance_seconds=MAINTENANCE,
        live_migrations_per_host=live_migrations_per_host,
    )
    return sim, clock


def kvm_hosts(snap: OpenStackSnapshot) -> list[str]:
    return [n.host for n in snap.nodes if not n.is_vmware]


def first_on(snap: OpenStackSnapshot, host: str, *, local_disk: bool | None = None) -> Instance:
    return next(
        i for i in snap.instances if i.host == host and (local_disk is None or i.boot_from_volume is not local_disk)
    )


def usage(nova: SimNovaBackend) -> dict[str, tuple[int | None, int | None]]:
    return {n.host: (n.vcpus_used, n.memory_mb_used) for n in nova.fetch().nodes}


def shifted(before: dict[str, tuple[int | None, int | None]], host: str, inst: Instance, sign: int) -> tuple[int, int]:
    vcpus, memory = FLAVORS[inst.flavor or ""]
    used_vcpus, used_memory = before[host]
    return (used_vcpus or 0) + sign * vcpus, (used_memory or 0) + sign * memory


# -- Nova: live migration -------------------------------------------------------------------


def test_the_demo_backends_take_the_moves() -> None:
    nova, vcenters = demo_backends(demo()[0])
    assert all(isinstance(b, NovaMoves) for b in nova)
    assert all(isinstance(b, VCenterMoves) for b in vcenters)


def test_a_live_migration_goes_queued_preparing_running_completed_with_growing_counters() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source = kvm_hosts(snap)[1]
    inst = first_on(snap, source, local_disk=True)
    before = usage(nova)
    receipt = nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    assert (receipt.request_id or "").startswith("req-")

    queued = nova.migration_progress(inst.id)
    assert (queued.status, queued.task_state, queued.migration_type, queued.migration_status) == (
        "MIGRATING",
        "migrating",
        "live-migration",
        "queued",
    )
    assert queued.memory_total_bytes is None  # no counters before the copy starts
    seen: list[MigrationProgress] = []
    for _ in range(20):
        clock.now += LIVE / 20
        seen.append(nova.migration_progress(inst.id))
    statuses = [p.migration_status for p in seen]
    assert statuses.index("preparing") < statuses.index("running") < statuses.index("completed")
    running = [p for p in seen if p.migration_status == "running"]
    memory_total = FLAVORS[inst.flavor or ""][1] * 1024**2
    assert {p.memory_total_bytes for p in running} == {memory_total}
    assert all((p.disk_total_bytes or 0) > 0 for p in running)  # a local disk: block-migrated
    processed = [(p.disk_processed_bytes or 0) + (p.memory_processed_bytes or 0) for p in running]
    assert processed == sorted(processed) and processed[0] < processed[-1]
    for p in running:
        assert (p.memory_processed_bytes or 0) + (p.memory_remaining_bytes or 0) == memory_total
        assert (p.disk_processed_bytes or 0) + (p.disk_remaining_bytes or 0) == p.disk_total_bytes
    assert all(p.status == "MIGRATING" and p.host == source for p in seen if p.migration_status != "completed")

    done = seen[-1]
    assert (done.status, done.task_state, done.migration_status) == ("ACTIVE", None, "completed")
    assert done.host == done.dest_host != source and done.source_host == source
    assert done.memory_total_bytes is None  # Nova lists counters only while it runs
    after = nova.fetch()
    (record,) = [m for m in after.migrations if m.instance_id == inst.id]
    assert (record.migration_type, record.status, record.dest_compute) == ("live-migration", "completed", done.host)
    assert next(i for i in after.instances if i.id == inst.id).host == done.host
    used = usage(nova)
    assert used[source] == shifted(before, source, inst, -1)
    assert used[done.host or ""] == shifted(before, done.host or "", inst, 1)


def test_a_live_migration_to_a_chosen_host_ends_there_and_shared_storage_copies_no_disk() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source, target = kvm_hosts(snap)[1], kvm_hosts(snap)[4]
    inst = first_on(snap, source, local_disk=False)  # boot from volume
    nova.live_migrate(inst.id, target_host=target, block_migration="auto")
    clock.now += LIVE / 2
    running = nova.migration_progress(inst.id)
    assert running.migration_status == "running" and running.dest_host == target
    assert (running.disk_total_bytes, running.disk_processed_bytes) == (0, 0)
    assert (running.memory_processed_bytes or 0) > 0
    clock.now += LIVE
    assert (nova.migration_progress(inst.id).host, nova.migration_progress(inst.id).status) == (target, "ACTIVE")


def test_live_migration_refusals_have_novas_status_and_message_and_send_nothing() -> None:
    sim, _ = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    hosts = kvm_hosts(snap)
    source, down = hosts[1], hosts[4]
    inst = first_on(snap, source)
    nova.set_forced_down(down, True)

    def refused(target: str | None, block: str | bool = "auto", ident: str = inst.id) -> BackendError:
        return refusal(nova.live_migrate, ident, target_host=target, block_migration=block)

    assert (refused(down).status_code, refused(down).message) == (
        400,
        f"Compute service of {down} is unavailable at this time.",
    )
    assert (refused(source).status_code, refused(source).message) == (
        400,
        f"Unable to migrate instance ({inst.id}) to current host ({source}).",
    )
    # os-migrateLive answers an unknown host with 400 (its evacuate with 404)
    assert (refused("kvm-nowhere").status_code, refused("kvm-nowhere").message) == (
        400,
        "Compute host kvm-nowhere could not be found.",
    )
    assert refused(None, "sometimes").status_code == 400
    assert refused(None, ident="no-such-id").status_code == 404
    vmware_node = next(n.host for n in snap.nodes if n.is_vmware)
    assert (refused(vmware_node).status_code, refused(vmware_node).message) == (
        400,
        "The supplied hypervisor type of is invalid.",
    )
    sim.state.instance(CLOUD, inst.id).vm_state = "stopped"  # type: ignore[union-attr]
    sim.invalidate()
    stopped = refused(None)
    assert (stopped.status_code, stopped.message) == (
        409,
        f"Cannot 'os-migrateLive' instance {inst.id} while it is in vm_state stopped",
    )
    assert not nova.fetch().migrations  # nothing was sent


def test_a_second_move_of_a_migrating_instance_is_refused_with_its_task_state() -> None:
    sim, _ = demo()
    nova = SimNovaBackend(sim, CLOUD)
    inst = first_on(nova.fetch(), kvm_hosts(nova.fetch())[1])
    nova.live_migrate(inst.id, target_host=None, block_migration=True)
    busy = refusal(nova.live_migrate, inst.id, target_host=None, block_migration="auto")
    assert busy.status_code == 409 and "task_state migrating" in busy.message
    assert "task_state migrating" in refusal(nova.migrate, inst.id, target_host=None).message


def test_a_target_the_scheduler_rejects_ends_the_record_in_error_with_the_server_as_it_was() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source, disabled = kvm_hosts(snap)[1], kvm_hosts(snap)[4]
    nova.set_service_enabled(disabled, False, "hardware check")
    inst = first_on(snap, source)
    before = usage(nova)
    nova.live_migrate(inst.id, target_host=disabled, block_migration="auto")  # taken: the conductor refuses it
    clock.now += LIVE
    progress = nova.migration_progress(inst.id)
    assert (progress.status, progress.task_state, progress.host, progress.migration_status) == (
        "ACTIVE",
        None,
        source,
        "error",
    )
    assert usage(nova) == before


def test_a_vmwareapi_instance_live_migrates_to_another_cluster_of_its_vcenter_and_its_vm_follows() -> None:
    sim, clock = demo()
    nova, vc = SimNovaBackend(sim, CLOUD), SimVCenterBackend(sim, VC)
    snap, vcsnap = nova.fetch(), vc.fetch()
    cluster_nodes = {
        c.moref: n for n in snap.nodes if n.is_vmware for c in vcsnap.clusters if c.moref in n.hypervisor_hostname
    }
    (source_node, target_node) = cluster_nodes.values()
    other_vcenter = next(
        n
        for n in snap.nodes
        if n.is_vmware
        and n.hypervisor_hostname not in {source_node.hypervisor_hostname, target_node.hypervisor_hostname}
    )
    inst = first_on(snap, source_node.host)
    precheck = refusal(nova.live_migrate, inst.id, target_host=other_vcenter.host, block_migration="auto")
    assert precheck.status_code == 400
    assert precheck.message.startswith("Migration pre-check error: Cannot find destination cluster vc-west-cl")

    nova.live_migrate(inst.id, target_host=None, block_migration="auto")  # the scheduler: the other cluster
    clock.now += LIVE / 2
    running = nova.migration_progress(inst.id)
    assert running.migration_status == "running" and running.dest_host == target_node.host
    assert running.memory_total_bytes is None  # the vmwareapi driver reports no counters
    nova.abort_live_migration(inst.id, running.migration_id or "")  # taken, and the driver cannot: no effect
    clock.now += LIVE
    done = nova.migration_progress(inst.id)
    assert (done.status, done.host, done.migration_status) == ("ACTIVE", target_node.host, "completed")
    moved = nova.fetch()
    assert next(i for i in moved.instances if i.id == inst.id).node == target_node.hypervisor_hostname
    vm = next(v for v in vc.fetch().vms if v.instance_uuid == inst.id)
    hosts = {h.moref: h for h in vc.fetch().hosts}
    target_cluster = target_node.hypervisor_hostname.partition(".")[0]
    assert hosts[vm.host_moref or ""].cluster_moref == target_cluster
    shared = next(d for d in vc.fetch().datastores if d.shared and vm.host_moref in d.host_morefs)
    assert vm.datastores == (shared.moref,) and (vm.vmx_path or "").startswith(f"[{shared.name}] ")


def test_nova_runs_as_many_live_migrations_per_host_as_its_limit_the_rest_wait_queued() -> None:
    sim, clock = demo(live_migrations_per_host=1)
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    first, second = [i for i in snap.instances if i.host == kvm_hosts(snap)[1]][:2]
    nova.live_migrate(first.id, target_host=None, block_migration="auto")
    nova.live_migrate(second.id, target_host=None, block_migration="auto")
    clock.now += LIVE / 2
    assert nova.migration_progress(first.id).migration_status == "running"
    assert nova.migration_progress(second.id).migration_status == "queued"
    clock.now += LIVE * 0.6
    assert nova.migration_progress(first.id).migration_status == "completed"
    assert nova.migration_progress(second.id).migration_status in ("preparing", "running")
    clock.now += LIVE * 1.2
    assert nova.migration_progress(second.id).migration_status == "completed"


# -- Nova: abort and force-complete ---------------------------------------------------------


def test_abort_cancels_a_running_live_migration_and_the_server_stays_on_its_source() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source = kvm_hosts(snap)[1]
    inst = first_on(snap, source)
    before = usage(nova)
    nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    clock.now += LIVE / 2
    running = nova.migration_progress(inst.id)
    assert running.migration_status == "running"
    assert refusal(nova.abort_live_migration, inst.id, "999999").status_code == 404
    nova.abort_live_migration(inst.id, running.migration_id or "")
    assert nova.migration_progress(inst.id).migration_status == "running"  # libvirt stops its job soon after
    clock.now += LIVE * 0.1
    cancelled = nova.migration_progress(inst.id)
    assert (cancelled.status, cancelled.task_state, cancelled.host, cancelled.migration_status) == (
        "ACTIVE",
        None,
        source,
        "cancelled",
    )
    clock.now += LIVE
    assert nova.migration_progress(inst.id).host == source  # it never completes
    assert usage(nova) == before
    again = refusal(nova.abort_live_migration, inst.id, running.migration_id or "")
    assert again.status_code == 409 and "task_state None" in again.message


def test_abort_of_a_queued_live_migration_ends_it_at_once() -> None:
    sim, _ = demo()
    nova = SimNovaBackend(sim, CLOUD)
    inst = first_on(nova.fetch(), kvm_hosts(nova.fetch())[1])
    nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    queued = nova.migration_progress(inst.id)
    assert queued.migration_status == "queued"
    nova.abort_live_migration(inst.id, queued.migration_id or "")
    assert (nova.migration_progress(inst.id).migration_status, nova.migration_progress(inst.id).status) == (
        "cancelled",
        "ACTIVE",
    )


def test_force_complete_finishes_a_running_live_migration_soon_and_refuses_one_not_running() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    inst = first_on(nova.fetch(), kvm_hosts(nova.fetch())[1])
    nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    queued = nova.migration_progress(inst.id)
    not_running = refusal(nova.force_complete_live_migration, inst.id, queued.migration_id or "")
    assert (not_running.status_code, not_running.message) == (
        400,
        f"Migration {queued.migration_id} state of instance {inst.id} is queued. Cannot force complete while the "
        "migration is in this state.",
    )
    assert refusal(nova.force_complete_live_migration, inst.id, "999999").status_code == 400
    clock.now += LIVE * 0.3
    assert nova.migration_progress(inst.id).migration_status == "running"
    nova.force_complete_live_migration(inst.id, queued.migration_id or "")
    clock.now += LIVE * 0.1
    done = nova.migration_progress(inst.id)
    assert (done.migration_status, done.status) == ("completed", "ACTIVE") and done.host != queued.host


# -- Nova: cold migration -------------------------------------------------------------------


def test_a_cold_migration_reaches_verify_resize_on_the_target_then_confirm_drops_the_source() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source, target = kvm_hosts(snap)[1], kvm_hosts(snap)[3]
    inst = first_on(snap, source)
    before = usage(nova)
    nova.migrate(inst.id, target_host=target)
    seen = []
    for _ in range(10):
        seen.append(nova.migration_progress(inst.id))
        clock.now += COLD / 10
    assert seen[0].status == "RESIZE" and seen[0].task_state == "resize_prep"
    assert seen[0].migration_type == "migration" and seen[0].migration_status == "pre-migrating"
    assert [p.task_state for p in seen if p.status == "RESIZE"][-1] == "resize_finish"
    assert {p.migration_status for p in seen} >= {"pre-migrating", "migrating", "post-migrating"}
    clock.now += EPSILON  # past the sum of the phases, whatever the float rounding
    waiting = nova.migration_progress(inst.id)
    assert (waiting.status, waiting.vm_state, waiting.host, waiting.migration_status) == (
        "VERIFY_RESIZE",
        "resized",
        target,
        "finished",
    )
    assert next(i for i in nova.fetch().instances if i.id == inst.id).power_state == 1
    assert usage(nova)[source] == before[source]  # the source keeps its claim until confirmed
    assert usage(nova)[target] == shifted(before, target, inst, 1)

    nova.confirm_resize(inst.id)
    clock.now += COLD
    confirmed = nova.migration_progress(inst.id)
    assert (confirmed.status, confirmed.host, confirmed.migration_status) == ("ACTIVE", target, "confirmed")
    assert usage(nova)[source] == shifted(before, source, inst, -1)
    not_resized = refusal(nova.confirm_resize, inst.id)
    assert (not_resized.status_code, not_resized.message) == (
        409,
        f"Cannot 'confirmResize' instance {inst.id} while it is in vm_state active",
    )
    assert {m.migration_type for m in nova.fetch().migrations} == {"migration"}


def test_revert_brings_a_cold_migrated_server_back_to_its_source_in_its_old_state() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source = kvm_hosts(snap)[1]
    inst = first_on(snap, source)
    sim.state.instance(CLOUD, inst.id).vm_state = "stopped"  # type: ignore[union-attr]
    sim.invalidate()
    before = usage(nova)
    nova.migrate(inst.id, target_host=None)  # the scheduler chooses
    clock.now += COLD + EPSILON
    waiting = nova.migration_progress(inst.id)
    assert waiting.status == "VERIFY_RESIZE" and waiting.host not in (None, source)
    assert next(i for i in nova.fetch().instances if i.id == inst.id).power_state == 4  # it was stopped
    nova.revert_resize(inst.id)
    reverting = nova.migration_progress(inst.id)
    assert (reverting.status, reverting.task_state, reverting.migration_status) == (
        "REVERT_RESIZE",
        "resize_reverting",
        "reverting",
    )
    clock.now += COLD
    reverted = nova.migration_progress(inst.id)
    assert (reverted.status, reverted.host, reverted.migration_status) == ("SHUTOFF", source, "reverted")
    assert usage(nova) == before
    assert "vm_state stopped" in refusal(nova.revert_resize, inst.id).message


def test_cold_migration_refusals_have_novas_status_and_message() -> None:
    sim, _ = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    source = kvm_hosts(snap)[1]
    inst = first_on(snap, source)
    same = refusal(nova.migrate, inst.id, target_host=source)
    assert (same.status_code, same.message) == (400, "Cannot migrate to the host where the server exists.")
    unknown = refusal(nova.migrate, inst.id, target_host="kvm-nowhere")
    assert (unknown.status_code, unknown.message) == (400, "Compute host kvm-nowhere could not be found.")
    nova.set_forced_down(source, True)
    down = refusal(nova.migrate, inst.id, target_host=None)
    assert (down.status_code, down.message) == (409, "Service is unavailable at this time.")
    assert not nova.fetch().migrations


def test_migration_progress_reads_the_newest_move_since_a_time_on_the_demo_clock() -> None:
    sim, clock = demo()
    nova = SimNovaBackend(sim, CLOUD)
    snap = nova.fetch()
    inst = first_on(snap, kvm_hosts(snap)[1])
    assert nova.migration_progress(inst.id).migration_id is None
    nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    clock.now += LIVE
    first = nova.migration_progress(inst.id, since=snap.taken_at)
    assert first.migration_type == "live-migration"
    sim.advance(2)
    later = sim.now() - timedelta(seconds=1)
    assert nova.migration_progress(inst.id, since=later).migration_id is None
    nova.migrate(inst.id, target_host=None)
    assert nova.migration_progress(inst.id, since=later).migration_type == "migration"
    assert refusal(nova.migration_progress, "no-such-id").status_code == 404


# -- vCenter: relocation and tasks ----------------------------------------------------------


def cluster_with(snap: VCenterSnapshot, behavior: str) -> tuple[str, list[str]]:
    """A cluster of that DRS behavior and its hosts' morefs."""
    cluster = next(c.moref for c in snap.clusters if c.drs_behavior == behavior)
    return cluster, [h.moref for h in snap.hosts if h.cluster_moref == cluster]


def test_a_vmotion_is_a_task_whose_progress_climbs_over_the_clock_and_moves_the_vm_at_the_end() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    snap = vc.fetch()
    _, (first, second, *_) = cluster_with(snap, "manual")
    vm = next(v for v in snap.vms if v.host_moref == first)
    receipt = vc.relocate_vm(vm.moref, host_moref=second, datastore_moref=None)
    key = receipt.request_id or ""
    assert key.startswith("task-")
    progress: list[TaskProgress] = []
    listed: list[int | None] = []
    for _ in range(9):
        clock.now += RELOCATE / 10
        progress.append(vc.task_progress(key))
        (task,) = [t for t in vc.fetch().tasks if t.key == key]
        listed.append(task.progress)
    assert [p.state for p in progress] == ["running"] * 9
    percents = [p.progress or 0 for p in progress]
    assert percents == sorted(percents) and percents[0] < percents[-1] < 100 and listed == percents
    assert progress[0].cancelable and progress[0].description_id == "VirtualMachine.relocate"
    assert progress[0].entity_moref == vm.moref
    assert next(v for v in vc.fetch().vms if v.moref == vm.moref).host_moref == first  # moves at the end
    clock.now += RELOCATE / 10 + EPSILON
    assert vc.task_progress(key).state == "success"
    after = vc.fetch()
    assert not [t for t in after.tasks if t.key == key]  # the snapshot lists running tasks only
    assert next(v for v in after.vms if v.moref == vm.moref).host_moref == second
    placement = vc.vm_placement(vm.moref)
    assert placement is not None and placement.host_moref == second and placement.datastore_morefs == vm.datastores
    assert after.events[-1].kind == "VmMigratedEvent" and vm.name in after.events[-1].message
    assert vc.vm_placement("vm-nowhere") is None


def test_a_storage_vmotion_moves_the_files_and_the_datastores_free_space() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    snap = vc.fetch()
    vm = next(v for v in snap.vms if v.instance_uuid)
    local = next(d for d in snap.datastores if not d.shared and d.host_morefs == (vm.host_moref,))
    shared = next(d for d in snap.datastores if d.moref in vm.datastores)
    vc.relocate_vm(vm.moref, host_moref=None, datastore_moref=local.moref)
    clock.now += RELOCATE
    after = vc.fetch()
    moved = next(v for v in after.vms if v.moref == vm.moref)
    assert moved.datastores == (local.moref,) and moved.host_moref == vm.host_moref
    assert moved.vmx_path == f"[{local.name}] {vm.name}/{vm.name}.vmx"
    free = {d.moref: d.free_bytes or 0 for d in after.datastores}
    taken = (local.free_bytes or 0) - free[local.moref]
    assert taken > 0 and free[shared.moref] - (shared.free_bytes or 0) == taken


def test_relocation_refusals_have_vcenter_like_faults() -> None:
    sim, _ = demo()
    vc = SimVCenterBackend(sim, VC)
    snap = vc.fetch()
    cluster, (first, second, third, fourth) = cluster_with(snap, "manual")
    vm = next(v for v in snap.vms if v.host_moref == first)
    elsewhere = next(h.moref for h in snap.hosts if h.cluster_moref != cluster)

    def refused(host: str | None, datastore: str | None = None, moref: str = vm.moref) -> str:
        return refusal(vc.relocate_vm, moref, host_moref=host, datastore_moref=datastore).message

    assert "is not in the cluster" in refused(elsewhere)
    names = {h.moref: h.name for h in snap.hosts}
    sim.set_host_state(names[second], "notResponding")
    assert (
        refused(second)
        == f"The operation is not allowed in the current connection state of the host ({names[second]})."
    )
    sim.state.host(VC, third).in_maintenance = True  # type: ignore[union-attr]
    sim.invalidate()
    assert "maintenance mode" in refused(third)
    other_local = next(d.moref for d in snap.datastores if d.host_morefs == (fourth,))
    assert "does not mount" in refused(None, other_local)
    assert "has already been deleted" in refused(fourth, moref="vm-nowhere")
    assert "has already been deleted" in refused("host-nowhere")
    vc.relocate_vm(vm.moref, host_moref=fourth, datastore_moref=None)
    assert refused(fourth) == "Another task is already in progress."
    assert len(vc.fetch().tasks) == 1  # only the one taken


def test_cancel_stops_a_running_relocation_and_refuses_finished_or_non_cancelable_tasks() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    snap = vc.fetch()
    _, (first, second, *_) = cluster_with(snap, "manual")
    vm = next(v for v in snap.vms if v.host_moref == first)
    key = vc.relocate_vm(vm.moref, host_moref=second, datastore_moref=None).request_id or ""
    clock.now += RELOCATE / 2
    assert vc.cancel_task(key).request_id == key
    cancelled = vc.task_progress(key)
    assert (cancelled.state, cancelled.cancelled, cancelled.error) == ("error", True, CANCELED)
    clock.now += RELOCATE
    assert next(v for v in vc.fetch().vms if v.moref == vm.moref).host_moref == first  # it stayed
    assert refusal(vc.cancel_task, key).message == INVALID_STATE
    assert "has already been deleted" in refusal(vc.cancel_task, "task-nowhere").message
    assert "has already been deleted" in refusal(vc.task_progress, "task-nowhere").message

    host = next(h for h in snap.hosts if h.moref == second)
    sim.state.host(VC, second).in_maintenance = True  # type: ignore[union-attr]
    sim.invalidate()
    exit_key = vc.exit_maintenance(second, timeout_seconds=60).request_id or ""
    assert not vc.task_progress(exit_key).cancelable
    assert refusal(vc.cancel_task, exit_key).message == NOT_SUPPORTED
    clock.now += MAINTENANCE
    assert vc.task_progress(exit_key).state == "success"
    assert not next(h for h in vc.fetch().hosts if h.moref == host.moref).in_maintenance


# -- vCenter: maintenance mode --------------------------------------------------------------


def power_off_one(sim: SimEstate, host: str) -> str:
    vm = next(v for v in sim.state.vms[VC] if v.host == host)
    vm.power_state = "poweredOff"
    sim.invalidate()
    return vm.moref


def test_with_fully_automated_drs_entering_maintenance_moves_the_powered_on_vms_off_by_itself() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    _, (host, *others) = cluster_with(vc.fetch(), "fullyAutomated")
    stays = power_off_one(sim, host)
    powered_on = {v.moref for v in vc.fetch().vms if v.host_moref == host and v.power_state == "poweredOn"}
    key = vc.enter_maintenance(host, timeout_seconds=600, evacuate_powered_off=False).request_id or ""
    running = vc.fetch().tasks
    drs = [t for t in running if t.description_id == "Drm.ExecuteVMotionLRO"]
    assert {t.entity_moref for t in drs} == powered_on and not any(t.cancelable for t in drs)
    assert next(t for t in running if t.key == key).description_id == "HostSystem.enterMaintenanceMode"
    clock.now += RELOCATE
    assert not next(h for h in vc.fetch().hosts if h.moref == host).in_maintenance  # empty, not yet entered
    clock.now += MAINTENANCE
    assert vc.task_progress(key).state == "success"
    after = vc.fetch()
    assert next(h for h in after.hosts if h.moref == host).in_maintenance
    assert {v.moref for v in after.vms if v.host_moref == host} == {stays}  # powered-off VMs may stay
    moved_to = {v.host_moref for v in after.vms if v.moref in powered_on}
    assert moved_to <= set(others) and len(moved_to) > 1  # spread over the least loaded hosts
    assert "EnteredMaintenanceModeEvent" in [e.kind for e in after.events]
    assert not after.tasks
    assert refusal(vc.enter_maintenance, host, timeout_seconds=60, evacuate_powered_off=False).message == INVALID_STATE
    vc.exit_maintenance(host, timeout_seconds=60)
    clock.now += MAINTENANCE
    assert not next(h for h in vc.fetch().hosts if h.moref == host).in_maintenance
    assert refusal(vc.exit_maintenance, host, timeout_seconds=60).message == INVALID_STATE


def test_with_evacuate_powered_off_drs_moves_the_powered_off_vms_too() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    _, (host, *_) = cluster_with(vc.fetch(), "fullyAutomated")
    power_off_one(sim, host)
    key = vc.enter_maintenance(host, timeout_seconds=600, evacuate_powered_off=True).request_id or ""
    clock.now += RELOCATE + MAINTENANCE
    assert vc.task_progress(key).state == "success"
    assert not [v for v in vc.fetch().vms if v.host_moref == host]


def test_without_drs_automation_the_task_waits_for_the_vms_and_fails_at_its_timeout() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    _, (host, *_) = cluster_with(vc.fetch(), "manual")
    on_host = {v.moref for v in vc.fetch().vms if v.host_moref == host}
    key = vc.enter_maintenance(host, timeout_seconds=30, evacuate_powered_off=False).request_id or ""
    assert "Another task" in refusal(vc.enter_maintenance, host, timeout_seconds=30, evacuate_powered_off=False).message
    clock.now += 20
    waiting = vc.task_progress(key)
    assert (waiting.state, waiting.progress) == ("running", 0)
    assert {v.moref for v in vc.fetch().vms if v.host_moref == host} == on_host  # nothing moved them
    assert [t.key for t in vc.fetch().tasks] == [key]
    clock.now += 10
    timed_out = vc.task_progress(key)
    assert (timed_out.state, timed_out.error) == ("error", TIMED_OUT)
    assert not next(h for h in vc.fetch().hosts if h.moref == host).in_maintenance


def test_without_drs_automation_the_host_enters_once_hybridview_moved_its_vms() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    _, (host, target, *_) = cluster_with(vc.fetch(), "manual")
    vms = [v.moref for v in vc.fetch().vms if v.host_moref == host]
    key = vc.enter_maintenance(host, timeout_seconds=0, evacuate_powered_off=False).request_id or ""  # no timeout
    elsewhere = next(v.moref for v in vc.fetch().vms if v.host_moref == target)
    onto = refusal(vc.relocate_vm, elsewhere, host_moref=host, datastore_moref=None)
    assert "entering maintenance mode" in onto.message
    for moref in vms[:-1]:
        vc.relocate_vm(moref, host_moref=target, datastore_moref=None)
    clock.now += RELOCATE + MAINTENANCE
    partway = vc.task_progress(key)
    assert partway.state == "running" and 0 < (partway.progress or 0) < 100
    vc.relocate_vm(vms[-1], host_moref=target, datastore_moref=None)
    clock.now += RELOCATE + MAINTENANCE
    assert vc.task_progress(key).state == "success"
    assert next(h for h in vc.fetch().hosts if h.moref == host).in_maintenance


def test_cancel_of_an_enter_maintenance_task_leaves_the_host_out_of_maintenance() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    _, (host, *_) = cluster_with(vc.fetch(), "manual")
    key = vc.enter_maintenance(host, timeout_seconds=0, evacuate_powered_off=False).request_id or ""
    assert vc.task_progress(key).cancelable
    vc.cancel_task(key)
    clock.now += 60
    assert vc.task_progress(key).cancelled
    assert not next(h for h in vc.fetch().hosts if h.moref == host).in_maintenance
    assert vc.enter_maintenance(host, timeout_seconds=0, evacuate_powered_off=False).request_id != key  # again


def test_a_host_that_does_not_answer_cannot_enter_or_exit_maintenance() -> None:
    sim, _ = demo()
    vc = SimVCenterBackend(sim, VC)
    host = vc.fetch().hosts[0]
    sim.set_host_state(host.name, "notResponding")
    assert (
        "connection state"
        in refusal(vc.enter_maintenance, host.moref, timeout_seconds=0, evacuate_powered_off=False).message
    )
    assert "connection state" in refusal(vc.exit_maintenance, host.moref, timeout_seconds=0).message


# -- snapshots, the healthy layout and the scenario -----------------------------------------


def test_snapshots_fill_flavors_drs_behaviors_and_datastore_space() -> None:
    sim, _ = demo()
    snap = sim.openstack_snapshot(CLOUD)
    assert all((i.vcpus, i.memory_mb) == FLAVORS[i.flavor or ""] for i in snap.instances)
    behaviors = {c.drs_behavior for v in sim.vcenter_names() for c in sim.vcenter_snapshot(v).clusters}
    assert "fullyAutomated" in behaviors and behaviors & {"manual", "partiallyAutomated"}
    for name in sim.vcenter_names():
        for d in sim.vcenter_snapshot(name).datastores:
            assert d.capacity_bytes and d.free_bytes is not None and 0 < d.free_bytes <= d.capacity_bytes
            assert d.accessible
    vc = sim.vcenter_snapshot(VC)
    dead = vc.hosts[0]
    sim.set_host_state(dead.name, "notResponding")
    local = next(d for d in sim.vcenter_snapshot(VC).datastores if d.host_morefs == (dead.moref,))
    assert not local.accessible  # a dead host's local datastore


def test_the_healthy_demo_has_a_kvm_host_with_twenty_small_instances_and_room_to_drain_it() -> None:
    sim, _ = demo()
    snap = sim.openstack_snapshot(CLOUD)
    busy = [i for i in snap.instances if i.host == "kvm-1001"]
    assert len(busy) == SimSize().busy_kvm_node_instances == 20
    node = next(n for n in snap.nodes if n.host == "kvm-1001")
    assert (node.vcpus_used or 0) <= (node.vcpus or 0)
    others = [n for n in snap.nodes if not n.is_vmware and n.host != "kvm-1001"]
    free = sum((n.memory_mb or 0) - (n.memory_mb_used or 0) for n in others)
    assert free > sum(i.memory_mb or 0 for i in busy)
    other_hosts = {n.host for n in snap.nodes if not n.is_vmware} - {"kvm-1001"}
    assert {sum(i.host == h for i in snap.instances) for h in other_hosts} == {SimSize().instances_per_kvm_node}


def test_the_live_migration_in_progress_scenario() -> None:
    sim, clock = demo("live-migration-in-progress")
    nova, vc = SimNovaBackend(sim, CLOUD), SimVCenterBackend(sim, VC)
    snap = nova.fetch()
    by_type = {m.migration_type: m for m in snap.migrations}
    live, cold = by_type["live-migration"], by_type["migration"]
    assert (live.status, cold.status) == ("running", "finished")
    statuses = {i.id: i.status for i in snap.instances}
    assert (statuses[live.instance_id], statuses[cold.instance_id]) == ("MIGRATING", "VERIFY_RESIZE")
    relocation = WATCHED_MOVES * RELOCATE  # shorter than the live migration's WATCHED_MOVES * LIVE
    clock.now += relocation / 4
    early = nova.migration_progress(live.instance_id)
    clock.now += relocation / 2
    late = nova.migration_progress(live.instance_id)
    assert 0 < (early.disk_processed_bytes or 0) <= (late.disk_processed_bytes or 0)
    assert (late.memory_processed_bytes or 0) > (early.memory_processed_bytes or 0)
    (task,) = vc.fetch().tasks
    assert task.description_id == "VirtualMachine.relocate" and 0 < (task.progress or 0) < 100
    cluster = next(
        h.cluster_moref
        for h in vc.fetch().hosts
        for v in vc.fetch().vms
        if v.moref == task.entity_moref and h.moref == v.host_moref
    )
    assert next(c for c in vc.fetch().clusters if c.moref == cluster).drs_behavior != "fullyAutomated"
    nova.confirm_resize(cold.instance_id)
    nova.force_complete_live_migration(live.instance_id, live.id)
    clock.now += WATCHED_MOVES * LIVE
    final = nova.fetch()
    assert {m.status for m in final.migrations} <= FINISHED_MIGRATION_STATUSES
    assert not vc.fetch().tasks


def test_a_vcenter_snapshot_is_rebuilt_when_a_task_moves_and_kept_while_nothing_changes() -> None:
    sim, clock = demo()
    vc = SimVCenterBackend(sim, VC)
    snap = vc.fetch()
    vm = snap.vms[0]
    assert vc.fetch() is snap
    vc.relocate_vm(vm.moref, host_moref=None, datastore_moref=None)
    listed = vc.fetch()
    assert listed is not snap and len(listed.tasks) == 1
    clock.now += RELOCATE / 10
    stepped = vc.fetch()
    assert stepped is not listed and stepped.tasks[0].progress == 10
    assert vc.fetch() is stepped


def test_moves_progress_on_the_wall_clock() -> None:
    sim = SimEstate("healthy", live_migration_seconds=0.2, relocate_seconds=0.2)
    nova, vc = SimNovaBackend(sim, CLOUD), SimVCenterBackend(sim, VC)
    inst = first_on(nova.fetch(), kvm_hosts(nova.fetch())[1])
    nova.live_migrate(inst.id, target_host=None, block_migration="auto")
    vm = vc.fetch().vms[0]
    key = vc.relocate_vm(vm.moref, host_moref=None, datastore_moref=None).request_id or ""
    deadline = time.monotonic() + 5
    while nova.migration_progress(inst.id).migration_status != "completed" or vc.task_progress(key).state == "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert nova.migration_progress(inst.id).status == "ACTIVE" and vc.task_progress(key).state == "success"
