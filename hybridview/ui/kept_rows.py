"""Rows a tree model took out, kept whole for a while, so a diff that brings them back reuses their items.

Clearing a filter brings back the rows it hid (~1,000 on the large demo); building their Qt
items anew costs a worker ~80 µs a row of calls into PySide, each of which hands the GIL back
and forth, and the GUI thread waits on that handing (a worker building items stalls it 20-30 ms
where pure Python stalls it 2-4 ms). A row taken out whole (``QStandardItem.takeRow``, its
subtree below its first cell) is kept with the shape it showed; staging (in a worker) takes it
back when the row brought back shows the same: the same keys in the same order at every level
and the same content. At most ``KEPT_ROWS`` rows are kept, the oldest dropped first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtGui import QStandardItem

from hybridview.core.identity import Ref
from hybridview.views.row_diff import unique_siblings
from hybridview.views.rows import Row

KEPT_ROWS = 5000  # rows, with their subtrees: a few MB of items
CellItems = list[QStandardItem]  # one row: an item per column; the first holds the children
Known = dict[Ref, tuple[QStandardItem, Row]]  # rows by key, with their first cell


@dataclass(frozen=True, slots=True)
class Shape:
    """What a row taken out showed: its content (the row it was last filled from) and its children's."""

    row: Row
    children: tuple[Shape, ...]

    def shows(self, row: Row) -> bool:
        """``row`` would be shown exactly so: same key, content and children, all the way down."""
        if row.key != self.row.key or not (row is self.row or row.same_content(self.row)):
            return False
        children = unique_siblings(row.children)
        return len(children) == len(self.children) and all(
            shape.shows(child) for shape, child in zip(self.children, children, strict=True)
        )


@dataclass(frozen=True, slots=True)
class _Kept:
    shape: Shape
    items: CellItems
    cells: dict[Ref, QStandardItem]  # the first cell of each row of the subtree


class KeptRows:
    """The rows taken out, by key; the GUI thread puts them in, any thread takes them back."""

    def __init__(self, limit: int = KEPT_ROWS) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._kept: dict[Ref, _Kept] = {}  # oldest first
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def keep(self, shape: Shape, items: CellItems, cells: dict[Ref, QStandardItem]) -> None:
        dropped = []  # freed after the lock, by the caller's thread
        with self._lock:
            old = self._kept.pop(shape.row.key, None)
            if old is not None:
                self._rows -= len(old.cells)
                dropped.append(old)
            self._kept[shape.row.key] = _Kept(shape, items, cells)
            self._rows += len(cells)
            while self._rows > self._limit:
                oldest = self._kept.pop(next(iter(self._kept)))
                self._rows -= len(oldest.cells)
                dropped.append(oldest)
        del dropped

    def take(self, row: Row, known: Known) -> CellItems | None:
        """The kept items of a row that shows as ``row`` (its subtree's rows added to ``known``), or None."""
        with self._lock:
            kept = self._kept.get(row.key)
            if kept is None or not kept.shape.shows(row):
                return None
            del self._kept[row.key]
            self._rows -= len(kept.cells)
        _know(row, kept.cells, known)
        return kept.items


def _know(row: Row, cells: dict[Ref, QStandardItem], known: Known) -> None:
    """The rows shown now are the new ones: the model follows from them."""
    known[row.key] = (cells[row.key], row)
    for child in unique_siblings(row.children):
        _know(child, cells, known)
