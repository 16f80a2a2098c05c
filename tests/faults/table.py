"""The README's fault-matrix table, written from what the matrix observed.

Error texts are normalized (ports, request ids, UUIDs, thumbprints, byte counts, morefs) and
shortened, so the table is the same on every run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
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
]


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


def render(outcomes: list[Outcome]) -> str:
    lines = [
        "| peer | fault | what the operator sees after the faulted refresh | stale data never shown healthy "
        "| next refresh after the fault recovers |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        cells = (o.peer, o.fault, f"`{o.shown}`", o.never_healthy, o.recovered)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def _block(text: str) -> tuple[int, int]:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise AssertionError(f"README.md has no {BEGIN} … {END} block")
    return start + len(BEGIN), end


def readme_table(readme: Path = README) -> str:
    text = readme.read_text()
    start, end = _block(text)
    return text[start:end].strip("\n")


def write_readme_table(table: str, readme: Path = README) -> None:
    text = readme.read_text()
    start, end = _block(text)
    readme.write_text(text[:start] + "\n" + table + "\n" + text[end:])


def check_readme(table: str, readme: Path = README) -> None:
    """Rewrite the README's block when asked to; otherwise it must already say exactly this."""
    if os.environ.get(UPDATE_VARIABLE) == "1":
        write_readme_table(table, readme)
        return
    current = readme_table(readme)
    if current != table:
        raise AssertionError(
            f"README.md's fault matrix differs from what the tests observed; rerun with {UPDATE_VARIABLE}=1 "
            f"to rewrite it.\n--- README.md\n{current}\n--- observed\n{table}"
        )
