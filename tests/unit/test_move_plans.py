"""Plans for one move (live, cold, confirm/revert, abort/force-complete, vMotion, task cancel) and lookups."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hybridview.core.actions import ActionKey, Plan, Verb
from hybridview.core.lookup import find_esxi_host, find_instance, find_vm
from hybridview.core.model import Estate, Migration, VCenterTask
from hybridview.core.moves import (
    plan_cold_migration,
    plan_live_migration,
    plan_live_migration_control,
    plan_relocation,
    plan_resize_decision,
    plan_task_cancel,
)
from hybridview.core.view import EstateView
from tests.unit.factories import view_of
from tests.unit.move_estates import WEB, kvm_view, live_migration, vmware_estate


def _one_step(plan: Plan) -> tuple[ActionKey, dict[str, object]]:
    assert plan.refused is None, plan.refused
    (step,) = plan.steps
    assert not step.blocked
    return step.key, dict(step.parameters)


# --- live migration ------------------------------------------------------------------------------


def test_live_migration_to_a_chosen_host_or_the_scheduler_with_block_migration_auto() -> None:
    view = kvm_view(WEB)
    key, params = _one_step(plan_live_migration(view, WEB.ref, "kvm2"))
    assert key == ActionKey("c1", Verb.LIVE_MIGRATE, WEB.id)
    assert params == {"instance_id": WEB.id, "source_host": "kvm1", "target_host": "kvm2", "block_migration": "auto"}
    plan = plan_live_migration(view, WEB.ref, None)
    assert plan.steps[0].summary == "live-migrate vm-web from kvm1 to a host the scheduler picks (block migration auto)"
    assert plan.steps[0].parameters["target_host"] is None and plan.steps[0].label == "vm-web"


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("kvm-x", "compute host 'kvm-x' is not in cloud c1"),
        ("kvm4", "cannot live-migrate vm-web to kvm4: nova-compute on kvm4 is down"),
        ("kvm5", "cannot live-migrate vm-web to kvm5: nova-compute on kvm5 is disabled: hardware check"),
        ("kvm1", "kvm1 is the host vm-web is on already"),
        ("kvm3", "cannot live-migrate vm-web to kvm3: needs 4.0 GiB memory, 0.8 GiB free on kvm3"),
    ],
)
def test_a_live_migration_to_an_unusable_host_is_refused_and_sends_nothing(target: str, refusal: str) -> None:
    plan = plan_live_migration(kvm_view(WEB), WEB.ref, target)
    assert plan.refused == refusal and plan.sendable == ()


def test_a_shutoff_instance_is_refused_live_migration_with_the_state_reason() -> None:
    stopped = replace(WEB, status="SHUTOFF", vm_state="stopped")
    plan = plan_live_migration(kvm_view(stopped), stopped.ref, None)
    assert plan.refused and plan.refused.startswith("vm-web cannot live-migrate: SHUTOFF: a stopped instance")


def test_a_vmwareapi_live_migration_to_another_vcenter_or_by_the_scheduler_is_refused() -> None:
    view, inst, _ = vmware_estate()
    assert _one_step(plan_live_migration(view, inst.ref, "proxy2"))[1]["target_host"] == "proxy2"
    far = plan_live_migration(view, inst.ref, "proxy3")
    assert far.refused and "another vCenter" in far.refused
    auto = plan_live_migration(view, inst.ref, None)
    assert auto.refused and auto.refused.endswith("choose a target host")
    other_driver = plan_live_migration(view, inst.ref, "kvm1")
    assert other_driver.refused == "kvm1 is not a host the live-migrate of vm-v1 can go to (another driver)"


def test_an_unknown_instance_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="no instance 'nope' in cloud c1"):
        plan_live_migration(kvm_view(WEB), replace(WEB, id="nope").ref, None)


# --- cold migration and its follow-ups -------------------------------------------------------------


def test_cold_migration_to_a_chosen_host_needs_2_56() -> None:
    refused = plan_cold_migration(kvm_view(WEB, microversion="2.55"), WEB.ref, "kvm2")
    assert refused.refused and "needs microversion 2.56" in refused.refused and "writes at 2.55" in refused.refused
    _, params = _one_step(plan_cold_migration(kvm_view(WEB, microversion="2.55"), WEB.ref, None, confirm=True))
    assert params == {"instance_id": WEB.id, "source_host": "kvm1", "target_host": None, "confirm": True}
    plan = plan_cold_migration(kvm_view(WEB, microversion="2.56"), WEB.ref, "kvm2")
    assert _one_step(plan)[1]["target_host"] == "kvm2" and plan.steps[0].key.verb is Verb.COLD_MIGRATE
    assert plan.steps[0].consequence == "the instance is powered off while it moves (downtime)"
    assert "waits at VERIFY_RESIZE" in plan.steps[0].summary


def _waiting() -> tuple[EstateView, Migration]:
    waiting = replace(WEB, status="VERIFY_RESIZE", vm_state="resized", host="kvm2", node="kvm2.example")
    done = Migration("c1", "m7", WEB.id, "migration", "finished", "kvm1", "kvm2", None, None, None, None)
    return kvm_view(waiting, migrations=(done,)), done


def test_confirm_and_revert_only_at_verify_resize() -> None:
    view, _ = _waiting()
    key, params = _one_step(plan_resize_decision(view, WEB.ref, confirm=True))
    assert key.verb is Verb.CONFIRM_RESIZE and params == {"instance_id": WEB.id}
    key, _ = _one_step(plan_resize_decision(view, WEB.ref, confirm=False))
    assert key.verb is Verb.REVERT_RESIZE
    plan = plan_resize_decision(kvm_view(WEB), WEB.ref, confirm=True)
    assert plan.refused == "vm-web is not waiting at VERIFY_RESIZE (status ACTIVE)"


def test_abort_and_force_complete_name_the_running_migration() -> None:
    moving = replace(WEB, task_state="migrating")
    view = kvm_view(moving, migrations=(live_migration("running"),))
    key, params = _one_step(plan_live_migration_control(view, WEB.ref, abort=True))
    assert key == ActionKey("c1", Verb.ABORT_LIVE_MIGRATION, WEB.id) and params == {
        "instance_id": WEB.id,
        "migration_id": "m1",
    }
    key, _ = _one_step(plan_live_migration_control(view, WEB.ref, abort=False))
    assert key.verb is Verb.FORCE_COMPLETE
    assert (
        plan_live_migration_control(kvm_view(WEB), WEB.ref, abort=True).refused
        == "vm-web has no live migration in progress"
    )
    queued = kvm_view(moving, migrations=(live_migration("queued"),), microversion="2.64")
    refused = plan_live_migration_control(queued, WEB.ref, abort=True).refused
    assert refused and "needs microversion 2.65" in refused


# --- vSphere ---------------------------------------------------------------------------------------


def test_vmotion_storage_vmotion_and_both_in_one_relocation() -> None:
    view, _, machine = vmware_estate()
    key, params = _one_step(plan_relocation(view, machine.ref, host_moref="host-2", datastore_moref=None))
    assert key == ActionKey("vc1", Verb.RELOCATE_VM, "vm-1")
    assert params == {
        "vm_moref": "vm-1",
        "name": "name-vm-1",
        "host_moref": "host-2",
        "host_name": "host-2.example",
        "datastore_moref": None,
        "datastore_name": None,
        "source_host_moref": "host-1",
    }
    storage = plan_relocation(view, machine.ref, host_moref=None, datastore_moref="ds-2")
    assert _one_step(storage)[1]["datastore_name"] == "shared-2" and storage.steps[0].consequence
    assert "copies its disks" in str(storage.steps[0].consequence)
    both = plan_relocation(view, machine.ref, host_moref="host-2", datastore_moref="ds-2")
    assert (
        both.steps[0].summary
        == "vMotion name-vm-1 from host-1.example to host-2.example, and Storage vMotion name-vm-1's disks to shared-2"
    )
    assert any("Nova sees the cluster" in n for n in both.notes)


@pytest.mark.parametrize(
    ("host", "datastore", "refusal"),
    [
        (None, None, "nothing to move: name a target host, a datastore or both"),
        (
            "host-8",
            None,
            "host-8.example is not in the cluster of host-1.example: vMotion here stays inside one cluster",
        ),
        ("host-3", None, "cannot vMotion name-vm-1 to host-3.example: host-3.example is in maintenance mode"),
        ("host-1", None, "name-vm-1 is on host-1.example already"),
        ("host-99", None, "no ESXi host 'host-99' in vCenter vc1"),
        (None, "ds-9", "datastore elsewhere is not mounted by host-1.example"),
        (None, "ds-3", "cannot move name-vm-1's disks to broken: datastore broken is not accessible"),
        (None, "ds-1", "name-vm-1's disks are on shared-1 already"),
        ("host-2", "ds-3", "datastore broken is not mounted by host-2.example"),
    ],
)
def test_impossible_relocations_are_refused(host: str | None, datastore: str | None, refusal: str) -> None:
    view, _, machine = vmware_estate()
    assert plan_relocation(view, machine.ref, host_moref=host, datastore_moref=datastore).refused == refusal


def test_a_vm_on_a_not_responding_host_is_refused_vmotion() -> None:
    view, _, machine = vmware_estate(host_connection="notResponding")
    refused = plan_relocation(view, machine.ref, host_moref="host-2", datastore_moref=None).refused
    assert refused and "host-1.example is notResponding" in refused


def test_only_a_cancelable_running_task_is_cancelled() -> None:
    tasks = (
        VCenterTask("task-1", "task-1", "VirtualMachine.relocate", "vm-1", "name-vm-1", "running", 30, True),
        VCenterTask(
            "task-2", "task-2", "HostSystem.enterMaintenanceMode", "host-2", "host-2.example", "running", 5, False
        ),
        VCenterTask("task-3", "task-3", "VirtualMachine.relocate", "vm-1", "name-vm-1", "success", 100, True),
    )
    view, _, _ = vmware_estate(tasks=tasks)
    key, params = _one_step(plan_task_cancel(view, "vc1", "task-1"))
    assert key == ActionKey("vc1", Verb.CANCEL_TASK, "task-1")
    assert params == {"task_key": "task-1", "description": "VirtualMachine.relocate name-vm-1"}
    assert plan_task_cancel(view, "vc1", "task-2").refused == (
        "task task-2 (HostSystem.enterMaintenanceMode host-2.example) says it cannot be cancelled"
    )
    assert plan_task_cancel(view, "vc1", "task-3").refused == "no queued or running task 'task-3' in vCenter vc1"
    assert plan_task_cancel(view, "vcX", "task-1").refused == "no vCenter named 'vcX' is being read"


# --- lookup ----------------------------------------------------------------------------------------


def test_find_instance_by_id_identity_or_unique_name() -> None:
    twin = replace(WEB, id="other-id")
    view = kvm_view(WEB, twin)
    assert find_instance(view, WEB.id.upper()) == WEB
    assert find_instance(view, f"instance:c1/{WEB.id}") == WEB
    with pytest.raises(LookupError, match=r"'vm-web' matches 2 instances \(.*\): use the id"):
        find_instance(view, "vm-web")
    with pytest.raises(LookupError, match="no instance 'x' in any cloud"):
        find_instance(view, "x")


def test_find_vm_by_moref_name_uuid_or_nova_instance() -> None:
    view, inst, machine = vmware_estate()
    for text in ("vm-1", "name-vm-1", inst.id, inst.name, "vm:vc1/vm-1"):
        assert find_vm(view, text) == machine
    with pytest.raises(LookupError, match="no VM or Nova instance 'ghost'"):
        find_vm(view, "ghost")
    kvm = kvm_view(WEB)
    with pytest.raises(LookupError, match="has no VM in any vCenter"):
        find_vm(kvm, WEB.id)


def test_find_esxi_host_by_name_or_moref_in_one_or_any_vcenter() -> None:
    view, _, _ = vmware_estate()
    assert find_esxi_host(view, "vc1", "host-2.example")[1].moref == "host-2"
    with pytest.raises(LookupError, match=r"'host-1' matches 2 ESXi hosts .*: name the vCenter"):
        find_esxi_host(view, None, "host-1")
    assert find_esxi_host(view, "vc2", "host-1")[0].vcenter == "vc2"
    with pytest.raises(LookupError, match="no vCenter named 'vc9'"):
        find_esxi_host(view, "vc9", "host-1")
    with pytest.raises(LookupError, match="no ESXi host 'h' in vCenter vc1"):
        find_esxi_host(view_of(Estate(vcenters=view.estate.vcenters)), "vc1", "h")
