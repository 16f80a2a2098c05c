"""A tree model that follows new row trees by applying their differences: insert, remove, dataChanged.

It never resets, so selection, expansion and scroll position survive a refresh. The cells live
in Qt (QStandardItem), so painting calls no Python and never waits for the GIL a busy worker
holds. The differences and the items for new rows are made in a worker (``ItemFactory.stage``);
the GUI thread only splices them in. A removed row is taken out whole and kept a while
(``kept_rows``): a diff that brings it back unchanged (a filter cleared) reuses its items. With
``rows_per_turn`` set, a large splice (~1,000 rows back) is spread over event-loop turns, that many
rows a turn: every turn leaves a valid model (whole rows, each with its subtree), differences
applied meanwhile queue behind it in order, and ``settled`` is emitted once it is all in. A reader
that asks for a row still to come (``index_of``) has the rest spliced in at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QStandardItem, QStandardItemModel

from hybridview.core.health import Severity
from hybridview.core.identity import Ref
from hybridview.ui.kept_rows import CellItems, Known, KeptRows, Shape
from hybridview.views.row_diff import Changed, Inserted, Removed, RowChange, diff_rows, unique_siblings
from hybridview.views.rows import Row

KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's identity, the Ref object itself (PySide6 hands it back as is)
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 2
ICON_NAMES = (*(s.label for s in Severity), "maintenance")
_READ_ONLY = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
# Rows a turn for a model that spreads large splices: taking 200 rows out (their keys forgotten)
# takes ~5 ms of the GUI thread on a 2-core machine, putting them in ~2 ms.
ROWS_PER_TURN = 200


@dataclass(frozen=True, slots=True)
class _Step:
    change: RowChange
    built: tuple[CellItems, ...]  # the items of each inserted row, its subtree below the first
    known: tuple[Known, ...]  # per inserted row: every row of its subtree


@dataclass(frozen=True, slots=True)
class StagedChanges:
    """The steps from ``base`` (what the model must be showing) to ``rows``, new rows already built."""

    base: tuple[Row, ...]
    rows: tuple[Row, ...]
    steps: tuple[_Step, ...]


@dataclass(slots=True)
class _Splice:
    """A step being applied: ``done`` of its rows are removed or inserted already."""

    step: _Step
    done: int = 0


class ItemFactory:
    """Builds the Qt items of rows, or takes back those of rows taken out (``kept``). Safe in a worker:
    items are plain data until they join a model."""

    def __init__(self, columns: int, icons: Mapping[str, QIcon]) -> None:
        self._columns = columns
        self._icons = dict(icons)  # made on the GUI thread; a worker only copies them
        self.kept = KeptRows()

    def row_items(self, row: Row, known: Known) -> CellItems:
        """The row's items with its subtree below the first; every row built is added to ``known``."""
        items = [QStandardItem() for _ in range(self._columns)]
        for column, item in enumerate(items):
            item.setFlags(_READ_ONLY)
            item.setData(row.key, KEY_ROLE)
            self.fill(item, row, column)
        first = items[0]
        known[row.key] = (first, row)
        for child in unique_siblings(row.children):
            first.appendRow(self.row_items(child, known))
        return items

    def fill(self, item: QStandardItem, row: Row, column: int) -> None:
        item.setText(row.cells[column] if column < len(row.cells) else "")
        item.setToolTip(row.tooltip)
        item.setData(int(row.severity), SEVERITY_ROLE)
        if column == 0:
            item.setIcon(self._icons.get(row.icon_name, QIcon()))

    def stage(self, base: Sequence[Row], rows: Sequence[Row]) -> StagedChanges:
        steps = []
        for change in diff_rows(base, rows):
            if isinstance(change, Inserted):
                known: tuple[Known, ...] = tuple({} for _ in change.rows)
                built = tuple(
                    self.kept.take(r, k) or self.row_items(r, k) for r, k in zip(change.rows, known, strict=True)
                )
                steps.append(_Step(change, built, known))
            else:
                steps.append(_Step(change, (), ()))
        return StagedChanges(tuple(base), tuple(rows), tuple(steps))


class DiffTreeModel(QStandardItemModel):
    settled = Signal()  # a splice spread over turns is all in

    def __init__(
        self,
        headers: Sequence[str],
        icon_for: Callable[[str], QIcon],
        parent: Any = None,
        *,
        rows_per_turn: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(headers))
        self.factory = ItemFactory(len(headers), {name: icon_for(name) for name in ICON_NAMES})
        self.rows_per_turn = rows_per_turn  # None: every splice in the turn it is applied
        self._rows: tuple[Row, ...] = ()
        self._by_key: Known = {}  # key -> (first cell, row shown): only rows in the model now
        self._queue: deque[_Splice] = deque()  # steps still to splice in, in order
        self._deferred = False  # the queue was left for a later turn
        self._in_splice = False  # a splice runs: a reader called back from a Qt signal does not splice
        self._turn = QTimer(self)
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)  # the next turn, after paints, input and other timers
        self._turn.timeout.connect(self._splice_some)
        self.diffed_here = 0  # applies that had no staged changes and diffed on the GUI thread
        self.turns = 0  # turns that spliced part of a large change, for tests and the bench

    @property
    def rows(self) -> tuple[Row, ...]:
        """The rows the model shows once its queued steps are in: the base for the next staged changes."""
        return self._rows

    @property
    def splicing(self) -> bool:
        """Steps wait for a later turn: the model does not show ``rows`` yet (every row it shows is whole)."""
        return bool(self._queue)

    # -- reading -----------------------------------------------------------------

    def index_of(self, key: Ref) -> QModelIndex:
        """The row's index; a row still to be spliced in is spliced in now, with every step before it."""
        found = self._by_key.get(key)
        if found is None and self._coming(key) is not None:
            self.finish()
            found = self._by_key.get(key)
        return found[0].index() if found else QModelIndex()

    def row_for(self, key: Ref) -> Row | None:
        """The row as the model will show it once its queued steps are in (None once removed)."""
        coming = self._coming(key)
        if coming is not None:
            return coming
        found = self._by_key.get(key)
        return found[1] if found else None

    def keys(self) -> list[Ref]:
        return list(self._by_key)

    def _coming(self, key: Ref) -> Row | None:
        """The newest queued version of ``key``'s row, if a queued step inserts or changes it."""
        for splice in reversed(self._queue):
            change = splice.step.change
            if isinstance(change, Changed) and change.row.key == key:
                return change.row
            if isinstance(change, Inserted):
                for known in splice.step.known[splice.done :]:
                    found = known.get(key)
                    if found is not None:
                        return found[1]
        return None

    # -- following new rows ------------------------------------------------------------

    def apply(self, rows: Sequence[Row], staged: StagedChanges | None = None) -> None:
        """Show ``rows``; staged changes are used when they start from ``rows`` before, else diffed here."""
        if staged is None or staged.base is not self._rows or staged.rows is not rows:
            self.diffed_here += 1
            staged = self.factory.stage(self._rows, rows)
        self._rows = staged.rows
        self._queue.extend(_Splice(step) for step in staged.steps)
        if not self._turn.isActive():  # else the coming turn goes on, these after what is queued
            self._splice(self.rows_per_turn)

    def finish(self) -> None:
        """Splice in everything queued now (not from inside a splice: a view's slot, say)."""
        if not self._in_splice:
            self._turn.stop()
            self._splice(None)

    def _splice_some(self) -> None:
        self.turns += 1
        self._splice(self.rows_per_turn)

    def _splice(self, budget: int | None) -> None:
        left = budget
        self._in_splice = True
        try:
            while self._queue and (left is None or left > 0):
                splice = self._queue[0]
                left = self._apply_some(splice, left)
                if splice.done >= _size(splice.step.change):
                    self._queue.popleft()
        finally:
            self._in_splice = False
        if self._queue:
            self._deferred = True
            self._turn.start()
        elif self._deferred:
            self._deferred = False
            self.settled.emit()

    def _apply_some(self, splice: _Splice, left: int | None) -> int | None:
        """Apply the step's next rows, at least one, within ``left`` rows (None: all); returns what is left."""
        change = splice.step.change
        parent = self.invisibleRootItem() if change.parent is None else self._by_key[change.parent][0]
        if isinstance(change, Changed):
            self._change(parent, change)
            splice.done = 1
            return None if left is None else left - 1
        if isinstance(change, Removed):
            start, cost = splice.done, 0
            while splice.done < change.count and (left is None or splice.done == start or cost < left):
                items = parent.takeRow(change.first)  # the rows after it move up: the next one is here again
                cells: dict[Ref, QStandardItem] = {}
                shape, rows = self._forget(items[0], cells)
                if shape is not None:  # kept whole, for a diff that brings it back (a filter cleared)
                    self.factory.kept.keep(shape, items, cells)
                splice.done += 1
                cost += rows
            return None if left is None else left - cost
        assert isinstance(change, Inserted)
        step, cost = splice.step, 0
        while splice.done < len(step.built) and (left is None or cost == 0 or cost < left):
            self._by_key.update(step.known[splice.done])
            parent.insertRow(change.position + splice.done, step.built[splice.done])
            splice.done += 1
            cost += 1
        return None if left is None else left - cost

    def _change(self, parent: QStandardItem, change: Changed) -> None:
        """One dataChanged for the whole row, not one per cell and role."""
        row = change.row
        first = parent.child(change.position)
        self._by_key[row.key] = (first, row)
        self.blockSignals(True)
        try:
            for column in range(self.columnCount()):
                cell = parent.child(change.position, column)
                if cell is not None:
                    self.factory.fill(cell, row, column)
        finally:
            self.blockSignals(False)
        self.dataChanged.emit(first.index(), first.index().siblingAtColumn(self.columnCount() - 1))

    def _forget(self, first: QStandardItem, cells: dict[Ref, QStandardItem]) -> tuple[Shape | None, int]:
        """Drop a row taken out and its subtree from the keys, noting each first cell in ``cells``.

        Returns what it showed (None when a key of it lived elsewhere: not kept) and how many rows it had.
        """
        key = first.data(KEY_ROLE)
        found = self._by_key.get(key)
        if found is not None and found[0] is first:
            del self._by_key[key]
            cells[key] = first
        else:
            found = None  # the key lives elsewhere after a move: this row is not kept
        children = [self._forget(child, cells) for p in range(first.rowCount()) if (child := first.child(p))]
        rows = 1 + sum(count for _shape, count in children)
        shapes = tuple(shape for shape, _rows in children if shape is not None)
        if found is None or len(shapes) < first.rowCount():
            return None, rows
        return Shape(found[1], shapes), rows


def _size(change: RowChange) -> int:
    """How many rows the step removes or inserts (a change is one)."""
    if isinstance(change, Removed):
        return change.count
    if isinstance(change, Inserted):
        return len(change.rows)
    return 1
