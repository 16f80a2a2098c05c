"""A flat table keyed by any hashable: new rows are spliced in by key, changed cells updated, never reset.

For the small tables whose keys are not identities (a plan's action keys, audit entry ids).
The cells live in Qt items, so painting calls no Python.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon, QStandardItem, QStandardItemModel

from hybridview.ui.theme import level_brush

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
ICON_ROLE = Qt.ItemDataRole.UserRole + 3  # the name of the icon a state cell shows
_READ_ONLY = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled


@dataclass(frozen=True, slots=True)
class KeyedRow:
    key: Hashable
    cells: tuple[str, ...]
    tooltip: str = ""
    level: str | None = None  # failed, blocked, running, done: the row's text colour in the theme (theme.py)


class KeyedTableModel(QStandardItemModel):
    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(headers))
        self._rows: list[KeyedRow] = []

    @property
    def rows(self) -> tuple[KeyedRow, ...]:
        return tuple(self._rows)

    def keys(self) -> list[Hashable]:
        return [r.key for r in self._rows]

    def row_of(self, key: Hashable) -> int:
        return next((i for i, r in enumerate(self._rows) if r.key == key), -1)

    def index_of(self, key: Hashable, column: int = 0) -> QModelIndex:
        row = self.row_of(key)
        return self.index(row, column) if row >= 0 else QModelIndex()

    def cell(self, key: Hashable, column: int) -> str:
        index = self.index_of(key, column)
        return str(index.data()) if index.isValid() else ""

    def apply(self, rows: Sequence[KeyedRow]) -> None:
        """Show ``rows`` in this order: remove the keys that are gone, insert new ones, update the rest."""
        wanted = list({r.key: r for r in rows}.values())
        keys = {r.key for r in wanted}
        position = len(self._rows) - 1
        while position >= 0:  # contiguous ranges of gone rows, from the end
            if self._rows[position].key in keys:
                position -= 1
                continue
            last = position
            while position >= 0 and self._rows[position].key not in keys:
                position -= 1
            self.removeRows(position + 1, last - position)
            del self._rows[position + 1 : last + 1]
        shown = {r.key for r in self._rows}
        run: list[KeyedRow] = []  # consecutive new rows, inserted together before the next shown one
        for position, row in enumerate(wanted):
            at = position - len(run)  # where the next shown row sits while the run waits
            current = self._rows[at] if at < len(self._rows) else None
            if current is not None and current.key == row.key:
                self._insert(at, run)
                if current != row:
                    self._fill(position, row)
                continue
            if row.key in shown:  # moved: take it out of its old place
                old = next(i for i in range(at, len(self._rows)) if self._rows[i].key == row.key)
                self.removeRows(old, 1)
                del self._rows[old]
            run.append(row)
        self._insert(len(self._rows), run)

    def update(self, row: KeyedRow) -> None:
        """Change one row in place (its key must be shown)."""
        position = self.row_of(row.key)
        if position >= 0 and self._rows[position] != row:
            self._fill(position, row)

    def recolour(self) -> None:
        """The theme changed: every row's text colour again, in one signal, never a reset."""
        if not self._rows:
            return
        self.blockSignals(True)
        try:
            for position, row in enumerate(self._rows):
                for column in range(self.columnCount()):
                    cell = self.item(position, column)
                    if cell is not None:
                        _colour(cell, row.level)
        finally:
            self.blockSignals(False)
        last = self.index(len(self._rows) - 1, self.columnCount() - 1)
        self.dataChanged.emit(self.index(0, 0), last, [Qt.ItemDataRole.ForegroundRole])

    def _insert(self, first: int, run: list[KeyedRow]) -> None:
        if not run:
            return
        for offset, row in enumerate(run):
            items = [QStandardItem() for _ in range(self.columnCount())]
            for column, item in enumerate(items):
                item.setFlags(_READ_ONLY)
                _set(item, row, column)
            self.insertRow(first + offset, items)
        self._rows[first:first] = run
        run.clear()

    def _fill(self, position: int, row: KeyedRow) -> None:
        self._rows[position] = row
        self.blockSignals(True)
        try:
            for column in range(self.columnCount()):
                cell = self.item(position, column)
                if cell is not None:
                    _set(cell, row, column)
        finally:
            self.blockSignals(False)
        self.dataChanged.emit(self.index(position, 0), self.index(position, self.columnCount() - 1))


def _set(item: QStandardItem, row: KeyedRow, column: int) -> None:
    item.setText(row.cells[column] if column < len(row.cells) else "")
    item.setData(row.key, KEY_ROLE)
    item.setToolTip(row.tooltip)
    _colour(item, row.level)


def _colour(item: QStandardItem, level: str | None) -> None:
    """The level's text colour in the applied theme, or none: the palette's text."""
    brush = level_brush(level)
    item.setData(brush, Qt.ItemDataRole.ForegroundRole)  # None clears it


class IconRow(Protocol):
    @property
    def key(self) -> Hashable: ...
    @property
    def cells(self) -> tuple[str, ...]: ...
    @property
    def tooltip(self) -> str: ...
    @property
    def level(self) -> str | None: ...
    @property
    def icon(self) -> str: ...


class IconStateTable(KeyedTableModel):
    """A keyed table whose state column shows an icon beside its text (never colour alone)."""

    def __init__(
        self, headers: Sequence[str], state_column: int, icon_of: Callable[[str], QIcon], parent: Any = None
    ) -> None:
        super().__init__(headers, parent)
        self._state_column = state_column
        self._icon_of = icon_of

    def show(self, rows: Sequence[IconRow]) -> None:
        self.apply([KeyedRow(r.key, r.cells, r.tooltip, r.level) for r in rows])
        for row in rows:
            index = self.index_of(row.key, self._state_column)
            item = self.itemFromIndex(index) if index.isValid() else None
            if item is not None and item.data(ICON_ROLE) != row.icon:
                self.blockSignals(True)  # the name is bookkeeping; the icon's own change is signalled
                item.setData(row.icon, ICON_ROLE)
                self.blockSignals(False)
                item.setIcon(self._icon_of(row.icon))
