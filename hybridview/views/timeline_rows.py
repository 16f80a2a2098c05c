"""The timeline as table rows (the window's Timeline tab) and as lines and JSON (``hybridview timeline``).

Built in a worker. A row's state is its glyph and word, with an icon beside it in the window,
never colour alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hybridview.core.timeline import Layer, Level, TimelineEvent

TIMELINE_COLUMNS = ("Time", "State", "Layer", "Object", "Kind", "Source", "What happened")
LAYER_NAMES = {Layer.NOVA: "Nova", Layer.VCENTER: "vCenter", Layer.HYBRIDVIEW: "hybridview"}
# level -> (glyph, word, the row's text colour as KeyedRow levels name it, the window's icon beside the word)
LEVEL_LOOK = {
    Level.CRITICAL: ("✖", "failure", "failed", "critical"),
    Level.WARNING: ("⚠", "warning", "blocked", "warning"),
    Level.OK: ("✔", "recovered", "done", "ok"),
    Level.INFO: ("•", "info", None, "stale"),
}


@dataclass(frozen=True, slots=True)
class TimelineRow:
    key: Hashable
    cells: tuple[str, ...]
    tooltip: str
    level: str | None  # a KeyedRow level: the text colour, beside the glyph and word
    icon: str


def event_key(event: TimelineEvent) -> Hashable:
    return (event.time, event.layer, event.object.ref, event.kind, event.text)


def local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def timeline_rows(events: Iterable[TimelineEvent], *, newest_first: bool = True) -> tuple[TimelineRow, ...]:
    ordered = sorted(events, key=lambda e: e.time, reverse=newest_first)
    rows: dict[Hashable, TimelineRow] = {}
    for e in ordered:
        _glyph, state, level, icon = LEVEL_LOOK[e.level]
        tooltip = "\n".join(
            (
                f"{e.time.isoformat()} ({LAYER_NAMES[e.layer]}, from {e.source})",
                f"{e.object.label} ({e.object.ref})",
                e.text,
            )
        )
        cells = (local_time(e.time), state, LAYER_NAMES[e.layer], e.object.label, e.kind, e.source, e.text)
        key = event_key(e)
        rows.setdefault(key, TimelineRow(key, cells, tooltip, level, icon))
    return tuple(rows.values())


def timeline_line(event: TimelineEvent) -> str:
    """One line of ``hybridview timeline``: UTC time, state, layer, object, what happened, where it was read."""
    stamp = event.time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    state = LEVEL_LOOK[event.level][0]
    return (
        f"{stamp} {state} {event.layer.value:10} {event.object.label} ({event.object.ref}): "
        f"{event.text} [{event.kind}; {event.source}]"
    )


def layer_choices() -> tuple[str, ...]:
    return tuple(layer.value for layer in Layer)
