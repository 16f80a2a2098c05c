"""The README's fault-matrix tables (reads, and Nova writes), written from what the matrices observed.

Error texts are normalized (ports, request ids, UUIDs, thumbprints, byte counts, morefs) and
shortened, so the tables are the same on every run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
WRITE_BEGIN, WRITE_END = "<!-- write-fault-matrix:begin -->", "<!-- write-fault-matrix:end -->"
UPDATE_VARIABLE = "HYBRIDVIEW_UPDATE_FAULT_TABLE"
MAX_TEXT = 160  # a longer text keeps its start and its end (the request id, the record)
TAIL = 40

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_RULES = [
    (re.compile(rf"req-{_UUID}"), "req-…"),
    (re.compile(_UUID), "UUID"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r"port=\d+"), "port=PORT"),
    (re.compile(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}"), "…"),
    (re.compile(r"\(_ssl\.c:\d+\)"), "(_ssl.c)"),
    (re.compile(r"line \d+, column \d+"), "line N, column N"),
    (re.compile(r"\d+ bytes read, \d+ more expected"), "N bytes read, N more expected"),
    (re.compile(r"\bvm-\d+\b"), "vm-N"),  # which VM the tamper spoils depends on the simulator's order
    (re.compile(r"\btask-\d+\b"), "task-N"),  # vCenter's task keys count every task of the run
]
# Where Nova's scheduler puts an evacuated server varies from run to run.
_HOST = re.compile(r"\bhost\d+\b")


def normalize(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[: MAX_TEXT - TAIL - 3].rstrip()} … {text[-TAIL:].lstrip()}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row of the table."""

    peer: str
    fault: str
    shown: str  # what the operator sees on the endpoint after the faulted refresh
    never_healthy: str  # "yes", "NO", or "—" where the endpoint rightly stayed OK
    recovered: str  # "yes" or "NO"


def normalize_hosts(text: str) -> str:
    """``normalize``, and compute host names as ``hostN`` (the scheduler's choice)."""
    return normalize(_HOST.sub("hostN", text))


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """One row of the write table."""

    call: str  # the write and its HTTP call
    fault: str
    item: str  # the item's final state and message, as the operator reads it
    audit: str  # the audit log's entries after the faulted run
    writes: str  # write requests the proxy saw / those that reached Nova, per call
    after: str  # what a retry did once the fault cleared, or "—"
    expected: str  # "yes", or "NO" and the known bug


READ_COLUMNS = (
    "peer",
    "fault",
    "what the operator sees after the faulted refresh",
    "stale data never shown healthy",
    "next refresh after the fault recovers",
)
WRITE_COLUMNS = (
    "write",
    "fault",
    "the item ends (what the operator reads)",
    "audit log",
    "write requests seen / reached Nova",
    "retry after the fault clears",
    "as the row expects",
)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; a ``|`` inside a cell is escaped."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in rows]
    return "\n".join(lines)


def render_writes(outcomes: list[WriteOutcome]) -> str:
    cells = ((o.call, o.fault, f"`{o.item}`", o.audit, o.writes, o.after, o.expected) for o in outcomes)
    return markdown_table(WRITE_COLUMNS, cells)


def render(outcomes: list[Outcome], columns: Sequence[str] = READ_COLUMNS) -> str:
    """The read table; ``columns`` names its five columns (another read matrix words them its own way)."""
    return markdown_table(columns, ((o.peer, o.fault, f"`{o.shown}`", o.never_healthy, o.recovered) for o in outcomes))


Markers = tuple[str, str]


def _block(text: str, markers: Markers = (BEGIN, END)) -> tuple[int, int]:
    begin, end_marker = markers
    start, end = text.find(begin), text.find(end_marker)
    if start < 0 or end < start:
        raise AssertionError(f"README.md has no {begin} … {end_marker} block")
    return start + len(begin), end


def readme_table(readme: Path = README, markers: Markers = (BEGIN, END)) -> str:
    text = readme.read_text()
    start, end = _block(text, markers)
    return text[start:end].strip("\n")


def write_readme_table(table: str, readme: Path = README, markers: Markers = (BEGIN, END)) -> None:
    text = readme.read_text()
    start, end = _block(text, markers)
    readme.write_text(text[:start] + "\n" + table + "\n" + text[end:])


def check_readme(table: str, readme: Path = README, markers: Markers = (BEGIN, END)) -> None:
    """Rewrite the README's block when asked to; otherwise it must already say exactly this."""
    if os.environ.get(UPDATE_VARIABLE) == "1":
        write_readme_table(table, readme, markers)
        return
    current = readme_table(readme, markers)
    if current != table:
        what = "write-fault matrix" if markers[0] == WRITE_BEGIN else "fault matrix"
        raise AssertionError(
            f"README.md's {what} differs from what the tests observed; rerun with {UPDATE_VARIABLE}=1 "
            f"to rewrite it.\n--- README.md\n{current}\n--- observed\n{table}"
        )
