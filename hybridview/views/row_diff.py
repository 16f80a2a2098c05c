"""The changes that turn one row forest into the next, computed off the GUI thread.

A Qt model applies them in order; each position is valid at the moment its change is
applied. Rows are matched by key, so unchanged rows cost nothing and a row that moved is
removed from its old place and inserted at the new one. Among siblings the first row of
a key wins: a model shows one row per identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hybridview.core.identity import Ref
from hybridview.views.rows import Row


@dataclass(frozen=True, slots=True)
class Inserted:
    parent: Ref | None  # None: the top level
    position: int
    rows: tuple[Row, ...]  # consecutive, each with its whole subtree


@dataclass(frozen=True, slots=True)
class Removed:
    parent: Ref | None
    first: int
    count: int


@dataclass(frozen=True, slots=True)
class Changed:
    parent: Ref | None
    position: int
    row: Row  # the new cells, severity, tooltip and icon; children change on their own


RowChange = Inserted | Removed | Changed


def unique_siblings(rows: Sequence[Row]) -> list[Row]:
    seen: set[Ref] = set()
    kept = []
    for row in rows:
        if row.key not in seen:
            seen.add(row.key)
            kept.append(row)
    return kept


def diff_rows(old: Sequence[Row], new: Sequence[Row]) -> list[RowChange]:
    """The changes from ``old`` (what the model shows) to ``new``."""
    changes: list[RowChange] = []
    _diff_siblings(None, unique_siblings(old), unique_siblings(new), changes)
    return changes


def _diff_siblings(parent: Ref | None, shown: list[Row], wanted: list[Row], out: list[RowChange]) -> None:
    """Turn ``shown`` into ``wanted`` (both without duplicate keys), recording each step in ``out``."""
    wanted_keys = {row.key for row in wanted}
    _remove_unwanted(parent, shown, wanted_keys, out)
    shown_keys = {row.key for row in shown}
    run: list[Row] = []  # consecutive inserts become one change (one insert signal for the view)
    for position, row in enumerate(wanted):
        current = shown[position] if position < len(shown) else None
        if current is not None and current.key == row.key:
            _flush_inserts(parent, position - len(run), run, out)
            if not current.same_content(row):
                out.append(Changed(parent, position, row))
            _diff_siblings(row.key, unique_siblings(current.children), unique_siblings(row.children), out)
            continue
        if row.key in shown_keys:  # it moved: everything before this position already matches
            _flush_inserts(parent, position - len(run), run, out)
            moved_from = next(i for i in range(position + 1, len(shown)) if shown[i].key == row.key)
            out.append(Removed(parent, moved_from, 1))
            del shown[moved_from]
        run.append(row)
        shown.insert(position, row)
        shown_keys.add(row.key)
    _flush_inserts(parent, len(wanted) - len(run), run, out)


def _remove_unwanted(parent: Ref | None, shown: list[Row], wanted: set[Ref], out: list[RowChange]) -> None:
    """Remove rows whose key is gone, a contiguous range at a time, from the end."""
    position = len(shown) - 1
    while position >= 0:
        if shown[position].key in wanted:
            position -= 1
            continue
        last = position
        while position >= 0 and shown[position].key not in wanted:
            position -= 1
        out.append(Removed(parent, position + 1, last - position))
        del shown[position + 1 : last + 1]


def _flush_inserts(parent: Ref | None, first: int, run: list[Row], out: list[RowChange]) -> None:
    if run:
        out.append(Inserted(parent, first, tuple(run)))
        run.clear()
