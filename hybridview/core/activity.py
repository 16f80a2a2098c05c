"""Moves running now as the endpoints show them, whoever started them: found again after a restart."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.view import EstateView


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
    raise NotImplementedError
