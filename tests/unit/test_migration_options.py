"""Which moves an instance or VM has right now: per driver, microversion, state, source host, storage, cluster."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.migration_options import (
    MoveKind,
    MoveOption,
    MoveOptions,
    instance_move_options,
    options_by_hypervisor_type,
    summary,
    vm_move_options,
)
from hybridview.core.model import (
    Estate,
    Instance,
    Migration,
    OpenStackSnapshot,
    Storage,
    VCenterTask,
)
from hybridview.core.view import EstateView
from hybridview.views.move_options_text import options_text
from hybridview.views.status_report import status_document
from tests.unit.factories import T0, kvm_node, service, view_of, vm
from tests.unit.move_estates import WEB, kvm_view, live_migration, vmware_estate


def _options(view: EstateView, inst: Instance = WEB) -> MoveOptions:
    return instance_move_options(view, inst)


def _option(options: MoveOptions, kind: MoveKind) -> tuple[bool, str]:
    option = options.option(kind)
    assert option is not None, f"no {kind} in {[o.kind for o in options.options]}"
    return option.available, option.reason


def test_a_running_libvirt_instance_live_and_cold_migrates_to_up_enabled_hosts_with_room() -> None:
    options = _options(kvm_view(WEB))
    live = options.option(MoveKind.LIVE_MIGRATE)
    assert live is not None and live.available and live.scheduler
    targets = {t.ident: t for t in live.targets}
    assert set(targets) == {"kvm2", "kvm3", "kvm4", "kvm5"}  # every other libvirt host, with why not
    assert targets["kvm2"].usable and targets["kvm2"].free == "14 vCPU, 28.0 GiB free"
    assert not targets["kvm3"].usable and "needs 4.0 GiB memory" in str(targets["kvm3"].reason)
    assert targets["kvm4"].reason == "nova-compute on kvm4 is down"
    assert targets["kvm5"].reason == "nova-compute on kvm5 is disabled: hardware check"
    assert live.targets[0].ident == "kvm2"  # usable first
    assert _option(options, MoveKind.COLD_MIGRATE)[0]
    assert _option(options, MoveKind.EVACUATE) == (False, "only when its host has failed (nova-compute down)")
    assert options.option(MoveKind.ABORT) is None and options.option(MoveKind.CONFIRM_RESIZE) is None
    assert summary(options) == "live-migrate, cold-migrate"


def test_storage_says_what_live_migration_copies() -> None:
    assert (
        "block migration copies them"
        in _option(_options(kvm_view(WEB, storage=Storage.LOCAL)), MoveKind.LIVE_MIGRATE)[1]
    )
    volume = replace(WEB, boot_from_volume=True)
    assert "volume-backed" in _option(_options(kvm_view(volume), volume), MoveKind.LIVE_MIGRATE)[1]
    old = _option(_options(kvm_view(WEB, microversion="2.24")), MoveKind.LIVE_MIGRATE)[1]
    assert "cannot be auto" in old


def test_a_shutoff_instance_cannot_live_migrate_with_the_state_reason_but_cold_migrates() -> None:
    stopped = replace(WEB, status="SHUTOFF", vm_state="stopped", power_state=4)
    options = _options(kvm_view(stopped), stopped)
    available, reason = _option(options, MoveKind.LIVE_MIGRATE)
    assert not available and reason.startswith("SHUTOFF: a stopped instance has no running guest")
    assert _option(options, MoveKind.COLD_MIGRATE) == (
        True,
        "moves the stopped instance, then it waits at VERIFY_RESIZE for confirm or revert",
    )


def test_a_task_in_progress_blocks_every_move() -> None:
    busy = replace(WEB, task_state="rebooting")
    options = _options(kvm_view(busy), busy)
    for kind in (MoveKind.LIVE_MIGRATE, MoveKind.COLD_MIGRATE):
        available, reason = _option(options, kind)
        assert not available and "task state rebooting" in reason
    assert summary(options) == "none now"


def test_a_down_source_host_blocks_migration_and_evacuates_only_once_forced_down() -> None:
    down = _options(kvm_view(WEB, source_state="down"))
    assert "is down: Nova moves nothing off" in _option(down, MoveKind.LIVE_MIGRATE)[1]
    evacuate = down.option(MoveKind.EVACUATE)
    assert evacuate is not None and not evacuate.available and evacuate.after == "fence + force-down"
    assert summary(down) == "evacuate after fence + force-down"
    forced = _options(kvm_view(WEB, source_state="down", source_forced=True, storage=Storage.LOCAL))
    available, reason = _option(forced, MoveKind.EVACUATE)
    assert available and "rebuilt from its image" in reason
    assert "forced down" in _option(forced, MoveKind.COLD_MIGRATE)[1]


def test_verify_resize_offers_confirm_and_revert_and_nothing_else() -> None:
    waiting = replace(WEB, status="VERIFY_RESIZE", vm_state="resized", host="kvm2", node="kvm2.example")
    done = Migration("c1", "m7", WEB.id, "migration", "finished", "kvm1", "kvm2", None, None, None, None)
    options = _options(kvm_view(waiting, migrations=(done,)), waiting)
    assert _option(options, MoveKind.CONFIRM_RESIZE) == (True, "keeps it on kvm2, frees kvm1")
    assert _option(options, MoveKind.REVERT_RESIZE) == (True, "moves it back to kvm1, as it was")
    assert "VERIFY_RESIZE" in _option(options, MoveKind.LIVE_MIGRATE)[1]


def test_a_libvirt_instance_shows_abort_and_force_complete_while_its_live_migration_runs() -> None:
    moving = replace(WEB, task_state="migrating")
    options = _options(kvm_view(moving, migrations=(live_migration("running"),)), moving)
    assert _option(options, MoveKind.ABORT) == (True, "stops migration m1; the instance stays on kvm1")
    available, reason = _option(options, MoveKind.FORCE_COMPLETE)
    assert available and "post-copy" in reason
    assert "live-migration m1 is running" in _option(options, MoveKind.LIVE_MIGRATE)[1]
    old = _options(kvm_view(moving, migrations=(live_migration("running"),), microversion="2.21"), moving)
    assert "needs microversion 2.22" in _option(old, MoveKind.FORCE_COMPLETE)[1]
    assert _option(old, MoveKind.ABORT)[0] is False  # 2.24


def test_abort_of_a_queued_live_migration_needs_2_65() -> None:
    moving = replace(WEB, task_state="migrating")
    at_264 = _options(kvm_view(moving, migrations=(live_migration("queued"),), microversion="2.64"), moving)
    available, reason = _option(at_264, MoveKind.ABORT)
    assert not available and "needs microversion 2.65" in reason and "writes at 2.64" in reason
    assert "forces only a running one" in _option(at_264, MoveKind.FORCE_COMPLETE)[1]
    at_265 = _options(kvm_view(moving, migrations=(live_migration("queued"),), microversion="2.65"), moving)
    assert _option(at_265, MoveKind.ABORT)[0]


def test_cold_migration_to_a_chosen_host_needs_2_56_the_scheduler_does_not() -> None:
    at_255 = _option_obj(_options(kvm_view(WEB, microversion="2.55")), MoveKind.COLD_MIGRATE)
    assert at_255.available and at_255.scheduler
    assert all(not t.usable and "needs microversion 2.56" in str(t.reason) for t in at_255.targets)
    at_256 = _option_obj(_options(kvm_view(WEB, microversion="2.56")), MoveKind.COLD_MIGRATE)
    assert any(t.usable for t in at_256.targets)


def _option_obj(options: MoveOptions, kind: MoveKind) -> MoveOption:
    option = options.option(kind)
    assert option is not None
    return option


def test_a_lone_libvirt_host_has_nowhere_to_go() -> None:
    lone = kvm_node("kvm1")
    snap = OpenStackSnapshot("c1", T0, (lone,), (service("kvm1"),), (WEB,), ())
    options = instance_move_options(view_of(Estate(openstack=(snap,))), WEB)
    assert _option(options, MoveKind.LIVE_MIGRATE) == (False, "no other libvirt compute host than kvm1 in cloud c1")


# --- vmwareapi ----------------------------------------------------------------------------------


def test_a_vmwareapi_instance_live_migrates_only_to_nodes_of_the_same_vcenter_and_never_evacuates() -> None:
    view, inst, machine = vmware_estate()
    options = instance_move_options(view, inst)
    live = _option_obj(options, MoveKind.LIVE_MIGRATE)
    assert live.available and "same vCenter" in live.reason
    targets = {t.ident: t for t in live.targets}
    assert set(targets) == {"proxy2", "proxy3"}  # the libvirt host is another driver: not a target at all
    assert targets["proxy2"].usable and "Cluster2" in targets["proxy2"].name
    assert not targets["proxy3"].usable and "another vCenter" in str(targets["proxy3"].reason)
    assert not live.scheduler and "scheduler may pick another vCenter" in live.reason
    available, reason = _option(options, MoveKind.EVACUATE)
    assert not available and "does not support evacuate" in reason and "ERROR" in reason
    assert options.vm == machine
    assert summary(options) == "live-migrate, cold-migrate, vMotion (vSphere), Storage vMotion (vSphere)"


def test_vmotion_targets_are_the_connected_hosts_of_the_cluster_outside_maintenance_with_room() -> None:
    view, inst, _ = vmware_estate()
    vmotion = _option_obj(instance_move_options(view, inst), MoveKind.VMOTION)
    assert vmotion.available and vmotion.actor == "vsphere" and "Nova sees the cluster" in vmotion.reason
    by_name = {t.ident: t for t in vmotion.targets}
    assert set(by_name) == {"host-2", "host-3"}  # host-8 is another cluster
    assert by_name["host-2"].usable and by_name["host-2"].free == "60.0 GiB, 30.0 GHz free"
    assert by_name["host-3"].reason == "host-3.example is in maintenance mode"
    full_view, full_inst, _ = vmware_estate(host2_memory_used=64000)
    full = _option_obj(instance_move_options(full_view, full_inst), MoveKind.VMOTION)
    assert not full.available and "the VM needs 4.0 GiB" in full.reason


def test_a_vm_on_a_not_responding_host_cannot_be_vmotioned_with_the_reason() -> None:
    view, inst, machine = vmware_estate(host_connection="notResponding")
    for options in (instance_move_options(view, inst), vm_move_options(view, machine)):
        available, reason = _option(options, MoveKind.VMOTION)
        assert not available and "host-1.example is notResponding" in reason and "cannot reach" in reason
        assert not _option(options, MoveKind.STORAGE_VMOTION)[0]


def test_a_one_host_cluster_has_no_vmotion_target() -> None:
    view, inst, _ = vmware_estate(one_host=True)
    available, reason = _option(instance_move_options(view, inst), MoveKind.VMOTION)
    assert not available and reason == "cluster Cluster1 has only one host (host-1.example): vMotion needs another"


def test_storage_vmotion_targets_are_accessible_datastores_the_host_mounts() -> None:
    view, inst, _ = vmware_estate()
    storage = _option_obj(instance_move_options(view, inst), MoveKind.STORAGE_VMOTION)
    assert storage.available
    assert [(t.ident, t.usable, t.free) for t in storage.targets] == [
        ("ds-2", True, "5120 GiB free"),
        ("ds-3", False, "5120 GiB free"),
    ]
    assert storage.targets[1].reason == "datastore broken is not accessible"


def test_a_vm_with_a_task_running_cannot_move_until_it_ends() -> None:
    task = VCenterTask("task-9", "task-9", "VirtualMachine.relocate", "vm-1", "name-vm-1", "running", 40, True)
    view, inst, _ = vmware_estate(tasks=(task,))
    assert "task-9" in _option(instance_move_options(view, inst), MoveKind.VMOTION)[1]


def test_a_vm_without_a_nova_instance_has_only_vsphere_moves() -> None:
    view, _, _ = vmware_estate()
    lone = replace(vm("vm-7", "host-1"), memory_mb=1024)
    vc1 = replace(view.estate.vcenters[0], vms=(*view.estate.vcenters[0].vms, lone))
    view = view_of(replace(view.estate, vcenters=(vc1, view.estate.vcenters[1])))
    options = vm_move_options(view, lone)
    assert [o.kind for o in options.options] == [MoveKind.VMOTION, MoveKind.STORAGE_VMOTION]
    assert options.instance is None and options.subject == "VM name-vm-7 (vm-7) on host-1.example"
    matched = vm_move_options(view, view.estate.vcenters[0].vms[0])
    assert matched.option(MoveKind.LIVE_MIGRATE) is not None and matched.option(MoveKind.VMOTION) is not None


def test_vmware_abort_of_a_running_live_migration_gives_the_driver_reason() -> None:
    view, inst, _ = vmware_estate()
    snap = view.estate.openstack[0]
    running = live_migration("running", inst.id)
    view = view_of(replace(view.estate, openstack=(replace(snap, migrations=(running,)),)))
    options = instance_move_options(view, inst)
    available, reason = _option(options, MoveKind.ABORT)
    assert not available and "vmwareapi driver cannot abort" in reason
    assert "cannot force" in _option(options, MoveKind.FORCE_COMPLETE)[1]


# --- status --json and the text view --------------------------------------------------------------


def test_status_json_has_the_moves_of_each_hypervisor_type_as_its_driver_facts_say() -> None:
    view, _, _ = vmware_estate()
    by_type = options_by_hypervisor_type(view)
    assert set(by_type) == {"QEMU", "VMware vCenter Server"}
    vmware = {o["kind"]: o for o in by_type["VMware vCenter Server"]}
    assert vmware["evacuate"]["available"] is False and vmware["evacuate"]["matrix"] == "unknown"
    assert vmware["vmotion"]["actor"] == "vsphere"
    assert all(o["available"] for o in by_type["QEMU"])
    assert status_document(view)["migration_options"] == by_type


def test_the_options_text_lists_every_option_with_targets_and_reasons() -> None:
    view, inst, _ = vmware_estate()
    text = options_text(instance_move_options(view, inst))
    assert text.splitlines()[0] == f"instance vm-v1 ({inst.id}) on host proxy1"
    assert "  no   evacuate (Nova): the vmwareapi driver does not support evacuate" in text
    assert "not usable: " in text and "another vCenter" in text
