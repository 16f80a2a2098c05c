"""A tree model that follows new row trees by applying their differences: insert, remove, dataChanged.

It never resets, so selection, expansion and scroll position survive a refresh. The cells live
in Qt (QStandardItem), so painting calls no Python and never waits for the GIL a busy worker
holds. The differences and the items for new rows are made in a worker (``ItemFactory.stage``);
the GUI thread only splices them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon, QStandardItem, QStandardItemModel

from hybridview.core.health import Severity
from hybridview.core.identity import Ref
from hybridview.views.row_diff import Changed, Inserted, Removed, RowChange, diff_rows, unique_siblings
from hybridview.views.rows import Row

KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's identity, the Ref object itself (PySide6 hands it back as is)
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 2
ICON_NAMES = (*(s.label for s in Severity), "maintenance")
_READ_ONLY = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled

CellItems = list[QStandardItem]  # one row: an item per column; the first holds the children


@dataclass(frozen=True, slots=True)
class _Step:
    change: RowChange
    built: tuple[CellItems, ...]  # the items of inserted rows
    known: dict[Ref, tuple[QStandardItem, Row]]  # every inserted row by key, with its first cell


@dataclass(frozen=True, slots=True)
class StagedChanges:
    """The steps from ``base`` (what the model must be showing) to ``rows``, new rows already built."""

    base: tuple[Row, ...]
    rows: tuple[Row, ...]
    steps: tuple[_Step, ...]


class ItemFactory:
    """Builds the Qt items of rows. Safe in a worker: items are plain data until they join a model."""

    def __init__(self, columns: int, icons: Mapping[str, QIcon]) -> None:
        self._columns = columns
        self._icons = dict(icons)  # made on the GUI thread; a worker only copies them

    def row_items(self, row: Row, known: dict[Ref, tuple[QStandardItem, Row]]) -> CellItems:
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
            known: dict[Ref, tuple[QStandardItem, Row]] = {}
            built = tuple(self.row_items(r, known) for r in change.rows) if isinstance(change, Inserted) else ()
            steps.append(_Step(change, built, known))
        return StagedChanges(tuple(base), tuple(rows), tuple(steps))


class DiffTreeModel(QStandardItemModel):
    def __init__(self, headers: Sequence[str], icon_for: Callable[[str], QIcon], parent: Any = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(headers))
        self.factory = ItemFactory(len(headers), {name: icon_for(name) for name in ICON_NAMES})
        self._rows: tuple[Row, ...] = ()
        self._by_key: dict[Ref, tuple[QStandardItem, Row]] = {}  # key -> (first cell, row shown)
        self.diffed_here = 0  # applies that had no staged changes and diffed on the GUI thread

    @property
    def rows(self) -> tuple[Row, ...]:
        """The rows the model shows now: the base for the next staged changes."""
        return self._rows

    # -- reading -----------------------------------------------------------------

    def index_of(self, key: Ref) -> QModelIndex:
        found = self._by_key.get(key)
        return found[0].index() if found else QModelIndex()

    def row_for(self, key: Ref) -> Row | None:
        found = self._by_key.get(key)
        return found[1] if found else None

    def keys(self) -> list[Ref]:
        return list(self._by_key)

    # -- following new rows ------------------------------------------------------------

    def apply(self, rows: Sequence[Row], staged: StagedChanges | None = None) -> None:
        """Show ``rows``; staged changes are used when they start from what is shown, else diffed here."""
        if staged is None or staged.base is not self._rows or staged.rows is not rows:
            self.diffed_here += 1
            staged = self.factory.stage(self._rows, rows)
        for step in staged.steps:
            self._apply_one(step)
        self._rows = staged.rows

    def _apply_one(self, step: _Step) -> None:
        change = step.change
        parent = self.invisibleRootItem() if change.parent is None else self._by_key[change.parent][0]
        if isinstance(change, Removed):
            for position in range(change.first, change.first + change.count):
                self._forget(parent.child(position))
            parent.removeRows(change.first, change.count)
        elif isinstance(change, Inserted):
            self._by_key.update(step.known)
            for offset, items in enumerate(step.built):
                parent.insertRow(change.position + offset, items)
        else:
            self._change(parent, change)

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

    def _forget(self, first: QStandardItem | None) -> None:
        if first is None:
            return
        key = first.data(KEY_ROLE)
        found = self._by_key.get(key)
        if found is not None and found[0] is first:  # the key may already live elsewhere after a move
            del self._by_key[key]
        for position in range(first.rowCount()):
            self._forget(first.child(position))
