"""Moves running now as the endpoints show them, whoever started them: found again after a restart."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.model import Migration, OpenStackSnapshot, VCenterSnapshot
from hybridview.core.move_targets import ACTIVE_TASK_STATES
from hybridview.core.view import EstateView

FOLLOWED_MIGRATION_TYPES = ("live-migration", "migration", "resize")
VERIFY_RESIZE = "VERIFY_RESIZE"


@dataclass(frozen=True, slots=True)
class RunningMove:
    endpoint: str
    kind: str  # live-migration | migration | resize | verify-resize | vcenter-task
    target: str  # the instance id, or the vCenter task key
    label: str  # instance name, or "<task description> <entity name>"
    status: str  # Nova's migration status / VERIFY_RESIZE / the task's state and progress
    source: str | None = None
    dest: str | None = None
    migration_id: str | None = None
    cancelable: bool = False  # a vCenter task that says so


def running_moves(view: EstateView) -> tuple[RunningMove, ...]:
    """In-progress Nova migrations (live-migration, migration, resize), instances waiting at VERIFY_RESIZE
    and queued or running vCenter tasks, from the last snapshots."""
    moves: list[RunningMove] = []
    for snap in view.estate.openstack:
        moves += _nova_moves(snap)
    for vc in view.estate.vcenters:
        moves += _vcenter_moves(vc)
    return tuple(moves)


def _nova_moves(snap: OpenStackSnapshot) -> list[RunningMove]:
    names = {i.id: i.name for i in snap.instances}
    moves = [
        RunningMove(
            snap.cloud,
            m.migration_type,
            m.instance_id,
            names.get(m.instance_id, m.instance_id),
            m.status,
            m.source_compute,
            m.dest_compute,
            m.id,
        )
        for m in snap.migrations
        if m.in_progress and m.migration_type in FOLLOWED_MIGRATION_TYPES
    ]
    moving = {m.target for m in moves}
    for inst in snap.instances:
        if inst.status.upper() != VERIFY_RESIZE or inst.id in moving:
            continue
        last = _last_cold_migration(snap, inst.id)
        moves.append(
            RunningMove(
                snap.cloud,
                "verify-resize",
                inst.id,
                inst.name,
                VERIFY_RESIZE,
                last.source_compute if last else None,
                last.dest_compute if last else inst.host,
                last.id if last else None,
            )
        )
    return moves


def _last_cold_migration(snap: OpenStackSnapshot, instance_id: str) -> Migration | None:
    found = [m for m in snap.migrations if m.instance_id == instance_id and m.migration_type in ("migration", "resize")]
    return found[-1] if found else None


def _vcenter_moves(vc: VCenterSnapshot) -> list[RunningMove]:
    moves = []
    for task in vc.tasks:
        if task.state not in ACTIVE_TASK_STATES:
            continue
        progress = f" {task.progress}%" if task.progress is not None and task.state == "running" else ""
        label = f"{task.description_id} {task.entity_name or task.entity_moref or ''}".strip()
        moves.append(
            RunningMove(
                vc.vcenter, "vcenter-task", task.key, label, f"{task.state}{progress}", cancelable=task.cancelable
            )
        )
    return moves
