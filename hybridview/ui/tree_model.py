"""A tree model that follows new row trees by diffing keys: insert, remove, dataChanged.

It never resets, so selection, expansion and scroll position survive a refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon

from hybridview.core.identity import Ref
from hybridview.views.rows import Row

KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's identity, the Ref object itself (PySide6 hands it back as is)
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 2
AnyIndex = QModelIndex | QPersistentModelIndex


class _Node:
    __slots__ = ("children", "parent", "row")

    def __init__(self, row: Row | None, parent: _Node | None) -> None:
        self.row = row
        self.parent = parent
        self.children: list[_Node] = []

    def position(self) -> int:
        assert self.parent is not None
        return self.parent.children.index(self)


def _detach(node: _Node) -> None:
    """Break parent/child cycles of removed rows, so refcounting frees them without the collector."""
    for child in node.children:
        _detach(child)
    node.children = []
    node.parent = None


class DiffTreeModel(QAbstractItemModel):
    def __init__(self, headers: Sequence[str], icon_for: Callable[[str], QIcon], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers = tuple(headers)
        self._icon_for = icon_for
        self._root = _Node(None, None)
        self._by_key: dict[Ref, _Node] = {}

    # -- reading -----------------------------------------------------------------

    def _node(self, index: AnyIndex) -> _Node:
        if index.isValid():
            node = index.internalPointer()
            assert isinstance(node, _Node)
            return node
        return self._root

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._node(parent)
        if not 0 <= row < len(node.children) or not 0 <= column < len(self._headers):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent = self._node(index).parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.position(), 0, parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._headers)
        ):
            return self._headers[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._node(index).row
        assert row is not None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[column] if column < len(row.cells) else ""
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._icon_for(row.icon_name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip or None
        if role == KEY_ROLE:
            return row.key
        if role == SEVERITY_ROLE:
            return int(row.severity)
        return None

    def index_of(self, key: Ref) -> QModelIndex:
        node = self._by_key.get(key)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.position(), 0, node)

    def row_for(self, key: Ref) -> Row | None:
        node = self._by_key.get(key)
        return node.row if node else None

    def keys(self) -> list[Ref]:
        return list(self._by_key)

    # -- following new rows ------------------------------------------------------------

    def apply(self, rows: Sequence[Row]) -> None:
        self._sync(self._root, QModelIndex(), rows)

    def _sync(self, node: _Node, parent_index: QModelIndex, rows: Sequence[Row]) -> None:
        if not node.children and rows:
            self.beginInsertRows(parent_index, 0, len(rows) - 1)
            node.children = [self._build(row, node) for row in rows]
            self.endInsertRows()
            return
        wanted = [r.key for r in rows]
        self._remove_missing(node, parent_index, set(wanted))
        for position, row in enumerate(rows):
            current = node.children[position] if position < len(node.children) else None
            if current is not None and current.row is not None and current.row.key == row.key:
                self._update(current, parent_index, position, row)
                continue
            existing = self._by_key.get(row.key)
            if existing is not None and existing.parent is node:
                self._remove_range(node, parent_index, existing.position(), existing.position())
            self._insert(node, parent_index, position, row)
        if len(node.children) > len(rows):  # leftovers, e.g. from duplicate keys among siblings
            self._remove_range(node, parent_index, len(rows), len(node.children) - 1)

    def _remove_missing(self, node: _Node, parent_index: QModelIndex, wanted: set[Ref]) -> None:
        position = len(node.children) - 1
        while position >= 0:
            row = node.children[position].row
            if row is not None and row.key in wanted:
                position -= 1
                continue
            last = position
            while position >= 0 and (r := node.children[position].row) is not None and r.key not in wanted:
                position -= 1
            self._remove_range(node, parent_index, position + 1, last)

    def _remove_range(self, node: _Node, parent_index: QModelIndex, first: int, last: int) -> None:
        self.beginRemoveRows(parent_index, first, last)
        removed = node.children[first : last + 1]
        for child in removed:
            self._forget(child)
        del node.children[first : last + 1]
        self.endRemoveRows()
        for child in removed:
            _detach(child)

    def _forget(self, node: _Node) -> None:
        if node.row is not None and self._by_key.get(node.row.key) is node:
            del self._by_key[node.row.key]
        for child in node.children:
            self._forget(child)

    def _insert(self, node: _Node, parent_index: QModelIndex, position: int, row: Row) -> None:
        self.beginInsertRows(parent_index, position, position)
        node.children.insert(position, self._build(row, node))
        self.endInsertRows()

    def _build(self, row: Row, parent: _Node) -> _Node:
        built = _Node(row, parent)
        self._by_key[row.key] = built
        built.children = [self._build(child, built) for child in row.children]
        return built

    def _update(self, current: _Node, parent_index: QModelIndex, position: int, row: Row) -> None:
        old = current.row
        current.row = row
        if old is None or not old.same_content(row):
            self.dataChanged.emit(
                self.index(position, 0, parent_index), self.index(position, len(self._headers) - 1, parent_index)
            )
        self._sync(current, self.index(position, 0, parent_index), row.children)
