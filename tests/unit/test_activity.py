"""Moves running at the endpoints, whoever started them, found again from the snapshots alone."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.activity import RunningMove, running_moves
from hybridview.core.model import Migration, VCenterTask
from tests.unit.move_estates import WEB, kvm_view, live_migration, vmware_estate


def _migration(ident: str, kind: str, status: str, instance_id: str = WEB.id) -> Migration:
    return Migration("c1", ident, instance_id, kind, status, "kvm1", "kvm2", None, None, None, None)


def test_running_nova_migrations_and_instances_waiting_at_verify_resize() -> None:
    waiting = replace(WEB, id="w", name="waiter", status="VERIFY_RESIZE", vm_state="resized", host="kvm2")
    migrations = (
        live_migration("running"),
        _migration("m2", "migration", "finished", "w"),  # its cold migration, done: now it waits for the operator
        _migration("m3", "resize", "completed", "gone"),  # finished: not running
        _migration("m4", "evacuation", "accepted"),  # evacuations are followed elsewhere
    )
    moves = running_moves(kvm_view(WEB, waiting, migrations=migrations))
    assert moves == (
        RunningMove("c1", "live-migration", WEB.id, "vm-web", "running", "kvm1", "kvm2", "m1"),
        RunningMove("c1", "verify-resize", "w", "waiter", "VERIFY_RESIZE", "kvm1", "kvm2", "m2"),
    )


def test_queued_and_running_vcenter_tasks_with_progress_and_whether_they_cancel() -> None:
    tasks = (
        VCenterTask("task-1", "task-1", "VirtualMachine.relocate", "vm-1", "name-vm-1", "running", 40, True),
        VCenterTask(
            "task-2", "task-2", "HostSystem.enterMaintenanceMode", "host-2", "host-2.example", "queued", None, False
        ),
        VCenterTask("task-3", "task-3", "VirtualMachine.relocate", "vm-1", "name-vm-1", "success", 100, True),
    )
    view, _, _ = vmware_estate(tasks=tasks)
    assert running_moves(view) == (
        RunningMove(
            "vc1", "vcenter-task", "task-1", "VirtualMachine.relocate name-vm-1", "running 40%", cancelable=True
        ),
        RunningMove("vc1", "vcenter-task", "task-2", "HostSystem.enterMaintenanceMode host-2.example", "queued"),
    )


def test_nothing_runs_in_a_quiet_estate() -> None:
    assert running_moves(kvm_view(WEB)) == ()
