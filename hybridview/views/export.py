"""CSV of what the window shows: a tree or the instance pane, the Problems table, the Timeline. Qt-free.

The text is built and written in the monitor's workers. Each table has a header row and one line
per row, quoted by the ``csv`` module; a row's state is a word, never only a colour or an icon.
A cell that a spreadsheet would read as a formula (names come from tenants) gets a leading "'".
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from hybridview.views.problems_rows import PROBLEM_COLUMNS, SINCE_COLUMN, ProblemRow, age_text
from hybridview.views.rows import Row
from hybridview.core.timeline import TimelineEvent
from hybridview.views.timeline_rows import LAYER_NAMES, LEVEL_LOOK, TIMELINE_COLUMNS, TimelineRow

STATE_WORDS = {
    "ok": "OK",
    "stale": "STALE",
    "warning": "WARNING",
    "critical": "CRITICAL",
    "maintenance": "MAINTENANCE",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text``, with a leading "'" when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def state_word(row: Row) -> str:
    return STATE_WORDS.get(row.icon_name, row.icon_name.upper())


def _walk(rows: Sequence[Row], parent: str, depth: int) -> Iterator[tuple[int, str, Row]]:
    for row in rows:
        yield depth, parent, row
        yield from _walk(row.children, row.cells[0] if row.cells else "", depth + 1)


def tree_csv(columns: Sequence[str], forest: Sequence[Row]) -> str:
    """A row forest as shown (already filtered), depth first: state, the cells, depth, parent, id."""
    width = len(columns)
    lines = (
        (state_word(row), *_cells(row.cells, width), str(depth), parent, row.key.text())
        for depth, parent, row in _walk(forest, "", 0)
    )
    return csv_text(("State", *columns, "Depth", "Parent", "Id"), lines)


def problems_csv(rows: Sequence[ProblemRow], now: datetime) -> str:
    """The Problems table with its ages at ``now``, and when each began in UTC."""
    lines = (
        (
            *row.cells[:SINCE_COLUMN],
            age_text(row.since, now),
            *row.cells[SINCE_COLUMN + 1 :],
            row.since.astimezone(UTC).isoformat(timespec="seconds"),
            row.item.text(),
        )
        for row in rows
    )
    return csv_text((*PROBLEM_COLUMNS, "Since (UTC)", "Id"), lines)


def timeline_csv(rows: Sequence[TimelineRow]) -> str:
    return csv_text(TIMELINE_COLUMNS, (_cells(row.cells, len(TIMELINE_COLUMNS)) for row in rows))


EVENT_COLUMNS = ("Time (UTC)", "State", "Layer", "Object", "Id", "Kind", "Source", "What happened")


def events_csv(events: Iterable[TimelineEvent]) -> str:
    """``hybridview timeline --csv``: the events in the given order, with UTC times and the objects' ids."""
    lines = (
        (
            e.time.astimezone(UTC).isoformat(timespec="seconds"),
            LEVEL_LOOK[e.level][1],
            LAYER_NAMES[e.layer],
            e.object.label,
            e.object.ref,
            e.kind,
            e.source,
            e.text,
        )
        for e in events
    )
    return csv_text(EVENT_COLUMNS, lines)


def _cells(cells: Sequence[str], width: int) -> tuple[str, ...]:
    return tuple(cells[:width]) + ("",) * (width - len(cells))


def write_text(path: Path, text: str) -> int:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then renamed); its size in bytes."""
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)
