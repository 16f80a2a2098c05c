"""Rows of the Activity tab and the cells of the move and drain dialogs' item tables. Qt-free.

The window hands in what its operations report per item (``ItemReport``, plain values) and
what the endpoints show running (``core.activity.RunningMove``); the rows say the state in
words and a glyph, never by colour alone, and which controls the API allows for each row.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from hybridview.core.actions import ActionKey, Step, Verb
from hybridview.core.activity import RunningMove

ACTIVITY_COLUMNS = ("What", "Where", "State", "Progress", "Started by", "Request id", "Message")
MOVE_ITEM_COLUMNS = ("Item", "Action", "Goes to", "Why not / consequence")
BAR_CELLS = 10
GIB = 1024**3
MIB = 1024**2

VERB_TEXT = {
    Verb.LIVE_MIGRATE: "live migrate",
    Verb.COLD_MIGRATE: "cold migrate",
    Verb.CONFIRM_RESIZE: "confirm the migration",
    Verb.REVERT_RESIZE: "revert the migration",
    Verb.ABORT_LIVE_MIGRATION: "abort the live migration",
    Verb.FORCE_COMPLETE: "force-complete the live migration",
    Verb.RELOCATE_VM: "vMotion",
    Verb.ENTER_MAINTENANCE: "enter maintenance mode",
    Verb.EXIT_MAINTENANCE: "exit maintenance mode",
    Verb.CANCEL_TASK: "cancel the vCenter task",
    Verb.DISABLE_SERVICE: "disable nova-compute",
    Verb.ENABLE_SERVICE: "enable nova-compute",
    Verb.EVACUATE: "evacuate",
    Verb.FORCE_DOWN: "force nova-compute down",
    Verb.UNSET_FORCE_DOWN: "clear forced-down",
    Verb.START_SERVER: "start the server",
    Verb.RESTART_VM: "register and power on",
}
# the operation item states (ItemState values) as the operator reads them: glyph, level, icon
STATE_LOOK = {
    "queued": ("…", None, "stale"),
    "sending": ("⟳", "running", "maintenance"),
    "in progress": ("⟳", "running", "maintenance"),
    "done": ("✔", "done", "ok"),
    "failed": ("✖", "failed", "critical"),
    "outcome unknown": ("?", "failed", "critical"),
    "stopped": ("■", "blocked", "warning"),
    "blocked": ("⊘", "blocked", "warning"),
}
FOUND_STATES = {
    "live-migration": "⟳ live migration running",
    "migration": "⟳ cold migration running",
    "resize": "⟳ resize running",
    "verify-resize": "⚠ waiting: confirm or revert",
    "vcenter-task": "⟳ vCenter task running",
}


class Control(StrEnum):
    """What the Activity tab can ask of a running move, where the API allows it."""

    ABORT = "abort"  # a Nova live migration
    FORCE_COMPLETE = "force-complete"
    CONFIRM = "confirm"  # a cold migration waiting at VERIFY_RESIZE
    REVERT = "revert"
    CANCEL_TASK = "cancel-task"  # a vCenter task that says it is cancelable


@dataclass(frozen=True, slots=True)
class ControlTarget:
    """The one thing a control acts on: an instance id (Nova) or a task key (vCenter)."""

    endpoint: str
    target: str
    label: str


@dataclass(frozen=True, slots=True)
class ItemReport:
    """One operation item as plain values (the window copies it from the runner's ``ItemStatus``)."""

    operation: int
    operation_title: str
    step: Step
    state: str  # an ItemState value
    finished: bool
    message: str = ""
    request_id: str | None = None
    detail: Mapping[str, object] | None = None
    found: bool = False  # followed, not sent: found running at the endpoints


@dataclass(frozen=True, slots=True)
class ActivityRow:
    key: Hashable
    cells: tuple[str, ...]
    tooltip: str = ""
    level: str | None = None  # done | failed | running | blocked
    icon: str = "stale"  # one of the window's icons, shown beside the state
    controls: frozenset[Control] = frozenset()
    control_target: ControlTarget | None = None
    matches: tuple[str, str] | None = None  # (endpoint, target): a found move this row stands for


# -- progress ---------------------------------------------------------------------------------


def _number(detail: Mapping[str, object], name: str) -> float | None:
    value = detail.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def size_text(value: float) -> str:
    return f"{value / GIB:.1f} GiB" if value >= GIB else f"{value / MIB:.0f} MiB"


def _bytes_part(detail: Mapping[str, object], what: str) -> tuple[str, float | None]:
    total = _number(detail, f"{what}_total_bytes")
    processed = _number(detail, f"{what}_processed_bytes")
    remaining = _number(detail, f"{what}_remaining_bytes")
    if not total:
        return "", None
    if processed is None and remaining is not None:
        processed = total - remaining
    if processed is None:
        return "", None
    return f"{size_text(processed)} of {size_text(total)} {what}", min(100.0, 100.0 * processed / total)


def progress_bar(percent: float) -> str:
    filled = round(BAR_CELLS * max(0.0, min(100.0, percent)) / 100)
    return "█" * filled + "░" * (BAR_CELLS - filled)


def progress_text(detail: Mapping[str, object] | None) -> str:
    """``"██████░░░░ 63% · 1.2 GiB of 2.0 GiB memory"``; "" when the endpoint gives no numbers."""
    if not detail:
        return ""
    memory, memory_percent = _bytes_part(detail, "memory")
    disk, disk_percent = _bytes_part(detail, "disk")
    percent = _number(detail, "percent")
    if percent is None:
        percent = memory_percent if memory_percent is not None else disk_percent
    parts = [f"{progress_bar(percent)} {percent:.0f}%"] if percent is not None else []
    parts += [p for p in (memory, disk) if p]
    if detail.get("waiting") == "confirm":
        parts.append("waiting at VERIFY_RESIZE")
    return " · ".join(parts)


# -- what a step does ---------------------------------------------------------------------------


def destination(step: Step) -> str:
    """Where the step moves its item, or what it sets."""
    p = step.parameters
    verb = step.key.verb
    if verb in (Verb.LIVE_MIGRATE, Verb.COLD_MIGRATE):
        return str(p.get("target_host") or "the scheduler chooses")
    if verb is Verb.RELOCATE_VM:
        places = [str(p[name]) for name in ("host_name", "datastore_name") if p.get(name)]
        return ", ".join(places)
    if verb in (Verb.DISABLE_SERVICE, Verb.ENABLE_SERVICE) and p.get("reason"):
        return f"reason: {p['reason']}"
    if verb is Verb.ENTER_MAINTENANCE:
        moved = "powered-off VMs too" if p.get("evacuate_powered_off") else "powered-on VMs only"
        return f"maintenance mode ({moved}, timeout {p.get('timeout_seconds', '?')} s)"
    return ""


def action_text(step: Step) -> str:
    text = VERB_TEXT.get(step.key.verb, step.key.verb.value)
    if step.key.verb is Verb.COLD_MIGRATE:
        text += ", then confirm" if step.parameters.get("confirm") else ", then wait at VERIFY_RESIZE"
    return "nothing (blocked)" if step.blocked else text


def move_item_cells(step: Step) -> tuple[str, ...]:
    """Item, action, where it goes, why it is blocked or what it does to the item."""
    return (
        step.label or step.key.target,
        action_text(step),
        destination(step),
        step.blocked_reason or step.consequence or "",
    )


# -- the Activity rows ---------------------------------------------------------------------------


def item_key(operation: int, key: ActionKey) -> tuple[str, int, ActionKey]:
    return ("operation", operation, key)


def _where(step: Step) -> str:
    p = step.parameters
    moving = step.key.verb in (Verb.LIVE_MIGRATE, Verb.COLD_MIGRATE, Verb.RELOCATE_VM)
    source = p.get("source_host") if moving else (p.get("host_name") or p.get("host"))
    to = destination(step) if moving else ""
    if to:
        return f"{step.key.endpoint}: {source or 'its host'} → {to}"
    return f"{step.key.endpoint}: {source}" if source else step.key.endpoint


def _item_controls(report: ItemReport) -> frozenset[Control]:
    if report.finished or not report.detail:
        return frozenset()
    detail, verb = report.detail, report.step.key.verb
    if verb is Verb.LIVE_MIGRATE and detail.get("migration_id"):
        return frozenset({Control.ABORT, Control.FORCE_COMPLETE})
    if detail.get("task_key") and detail.get("cancelable") is True:
        return frozenset({Control.CANCEL_TASK})
    return frozenset()


def _item_progress(report: ItemReport) -> str:
    """Live numbers while it runs; once ended, a full bar for done, the last numbers seen otherwise."""
    numbers = progress_text(report.detail)
    if not report.finished:
        return numbers
    if report.state == "done":
        return f"{progress_bar(100)} done"
    return f"last seen: {numbers}" if numbers else ""


def item_row(report: ItemReport) -> ActivityRow:
    step = report.step
    glyph, level, icon = STATE_LOOK.get(report.state, ("•", None, "stale"))
    controls = _item_controls(report)
    detail = report.detail or {}
    task_key = detail.get("task_key") or step.parameters.get("task_key")
    target = (
        ControlTarget(step.key.endpoint, str(task_key), step.label)
        if Control.CANCEL_TASK in controls
        else ControlTarget(step.key.endpoint, step.key.target, step.label or step.key.target)
    )
    what = f"{step.label or step.key.target}: {VERB_TEXT.get(step.key.verb, step.key.verb.value)}"
    progress = _item_progress(report)
    tooltip = "\n".join(
        line
        for line in (
            f"operation {report.operation}: {report.operation_title}",
            step.summary,
            step.consequence or "",
            f"{report.state}: {report.message}" if report.message else report.state,
            progress,
            f"request id {report.request_id}" if report.request_id else "",
        )
        if line
    )
    return ActivityRow(
        item_key(report.operation, step.key),  # "followed here": found running, adopted, nothing sent
        (
            what,
            _where(step),
            f"{glyph} {report.state}",
            progress,
            f"followed here (op {report.operation})" if report.found else f"this window (op {report.operation})",
            report.request_id or "",
            report.message,
        ),
        tooltip,
        level,
        icon,
        controls,
        target,
        (step.key.endpoint, str(task_key) if task_key else step.key.target),
    )


def _found_controls(move: RunningMove) -> frozenset[Control]:
    if move.kind == "live-migration" and move.migration_id:
        return frozenset({Control.ABORT, Control.FORCE_COMPLETE})
    if move.kind == "verify-resize":
        return frozenset({Control.CONFIRM, Control.REVERT})
    if move.kind == "vcenter-task" and move.cancelable:
        return frozenset({Control.CANCEL_TASK})
    return frozenset()


def found_row(move: RunningMove) -> ActivityRow:
    """A move the endpoints show running; whoever started it (found again after a restart)."""
    route = f"{move.source or '?'} → {move.dest or '?'}" if move.source or move.dest else ""
    where = f"{move.endpoint}: {route}" if route else move.endpoint
    waiting = move.kind == "verify-resize"
    ident = f"migration {move.migration_id}" if move.migration_id else move.target
    cancel = " (cancelable)" if move.kind == "vcenter-task" and move.cancelable else ""
    layer = "vCenter" if move.kind == "vcenter-task" else "Nova"
    return ActivityRow(
        ("found", move.endpoint, move.kind, move.target),
        (
            move.label or move.target,
            where,
            FOUND_STATES.get(move.kind, f"⟳ {move.kind}"),
            move.status,
            f"found in {layer}",
            "",
            f"{ident}{cancel}: not started by this window",
        ),
        f"{move.kind} of {move.label or move.target} on {move.endpoint}: {move.status}\n"
        "not started by this window: found in the endpoint's latest data",
        "blocked" if waiting else "running",
        "warning" if waiting else "maintenance",
        _found_controls(move),
        ControlTarget(move.endpoint, move.target, move.label or move.target),
        (move.endpoint, move.target),
    )


def found_rows(moves: tuple[RunningMove, ...]) -> tuple[ActivityRow, ...]:
    return tuple(found_row(m) for m in moves)
