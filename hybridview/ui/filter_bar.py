"""The search box and the "Problems only" toggle above the trees.

A change re-stages the latest presentation in the monitor's workers (``MonitorBridge.restage``):
the window's stager filters and diffs the rows there, and the models splice the difference in,
a large one (a filter cleared: ~1,000 rows back) over several event-loop turns. The GUI thread
only keeps the filter and, once the trees have settled, expands the paths to what is left and
counts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from hybridview.core.identity import Ref
from hybridview.ui.tree_model import KEY_ROLE, ROWS_PER_TURN, DiffTreeModel
from hybridview.views.filtering import RowFilter, find
from hybridview.views.presentation import Presentation, instance_rows
from hybridview.views.rows import Row

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

DEBOUNCE_MS = 250  # typing settles this long before the trees follow
# Made once at import: PySide builds a flag combination's enum member the first time it is used (~10 ms).
_SELECT_ROW = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
__all__ = ["FilterBar", "RowFilter", "instance_pane_rows"]


def instance_pane_rows(p: Presentation, key: Ref | None, row_filter: RowFilter) -> tuple[Row, ...]:
    """What the instance pane shows for the selection ``key`` under ``row_filter`` (in a worker when staged)."""
    if key is None:
        return ()
    rows = instance_rows(p, key)
    return row_filter.pane(rows, find((*p.nova_rows, *p.vcenter_rows), key)) if row_filter.active else rows


class FilterBar(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.setObjectName("filterBar")
        self._window = window
        self.row_filter = RowFilter()  # what the stager filters with: read on the GUI thread at capture
        self._reveal = False  # the next presentation shown is the first under a new filter
        self._current: list[Ref | None] = [None, None]  # each tree's current row before the filter changed
        self.search = QLineEdit()
        self.search.setObjectName("filterSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText("Search names, ids, instance UUIDs, projects (Ctrl+F; Esc clears)")
        self.search.installEventFilter(self)
        self.problems = QCheckBox("⚠ Problems only")
        self.problems.setToolTip("Show only rows that are not OK, with the path to them")
        self.summary = QLabel()
        self.summary.setObjectName("filterSummary")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply)
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.problems.toggled.connect(lambda _on: self._apply())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.addWidget(self.search, 3)
        layout.addWidget(self.problems)
        layout.addWidget(self.summary, 2)
        find = QAction("Search the trees", window)
        find.setShortcut(QKeySequence("Ctrl+F"))  # the platforms' Find key, as Linux, Windows and macOS name it
        find.triggered.connect(self.focus_search)
        window.addAction(find)
        self._owed = False  # a presentation was shown while the trees were still splicing
        for view, model in self._trees():
            model.rows_per_turn = ROWS_PER_TURN  # the trees splice large differences over several turns
            model.settled.connect(self._after_settled)
            # PySide makes a widget type's 41 enums the first time one is handed back to Python
            # (~20 ms): here at start-up, not at the first search (``_set_current_quietly``).
            view.viewport()
        window.presentation_shown.connect(lambda _p: self._after_shown())
        window.controller.restaged.connect(window.show_presentation)  # only the panes: no new data
        self._estate: QWidget | None = None

    def above(self, body: QWidget) -> QWidget:
        """``body`` (the Estate tab's panes) with this bar above it."""
        box = self._estate = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self)
        layout.addWidget(body, 1)
        return box

    def trees(self, p: Presentation) -> tuple[tuple[Row, ...], tuple[Row, ...]]:
        """The trees' rows under the filter, made here: only for a presentation nothing staged."""
        return self.row_filter.forest(p.nova_rows), self.row_filter.forest(p.vcenter_rows)

    def focus_search(self) -> None:
        if self._estate is not None:
            self._window.tabs.setCurrentWidget(self._estate)
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                self._apply()  # clearing needs no debounce
                return True
        return super().eventFilter(watched, event)

    def _apply(self) -> None:
        self._debounce.stop()
        wanted = RowFilter(self.search.text(), self.problems.isChecked())
        if (wanted.needle, wanted.problems_only) == (self.row_filter.needle, self.row_filter.problems_only):
            return
        self.row_filter = wanted
        if not self._reveal:  # else the rows to come back to are those before the first of these changes
            self._reveal = True
            self._current = [_current_key(view) for view, _model in self._trees()]
            for view, _model in self._trees():
                # With no current row, a removed one does not hand "current" from row to row,
                # each hand-over showing its instances on the GUI thread.
                _set_current_quietly(view, QModelIndex())
        self.summary.setText("filtering…")
        self._window.controller.restage()

    def _trees(self) -> tuple[tuple[QTreeView, DiffTreeModel], ...]:
        w = self._window
        return ((w.nova_view, w.nova_model), (w.vcenter_view, w.vcenter_model))

    # -- after the panes follow ---------------------------------------------------------

    def _after_shown(self) -> None:
        """Expand, count and bring back the current rows once both trees show every row."""
        trees = self._trees()
        if any(model.splicing for _view, model in trees):
            self._owed = True  # done when the last of them settles
            return
        self._owed = False
        if self.row_filter.active:
            for view, model in trees:
                _expand_paths(view, model, model.rows)
            counts = [len(_leaves(model.rows)) for _view, model in trees]
            self.summary.setText(
                f"shown: {counts[0]} in Nova, {counts[1]} in vCenter" if any(counts) else "✖ nothing matches"
            )
        else:
            self.summary.setText("")
        if not self._reveal:
            return
        self._reveal = False
        kept = False
        selected = self._window.selected_key  # also when a filter before this one hid it
        for (view, model), key in zip(trees, self._current, strict=True):
            wanted = key or selected
            index = model.index_of(wanted) if wanted is not None else QModelIndex()
            if index.isValid():  # still shown: current again (its instances are shown already), in sight
                _set_current_quietly(view, index)
                view.scrollTo(index)
                kept = True
        first = next(((view, model, leaves[0]) for view, model in trees if (leaves := _leaves(model.rows))), None)
        if not kept and self.row_filter.active and first is not None:
            # Brought in sight, not selected: a selection builds its instance pane on the GUI thread
            # (a vmwareapi node's and its cluster's: ~150 ms on the large demo).
            view, model, row = first
            view.scrollTo(model.index_of(row.key))
            self.summary.setText(f"{self.summary.text()}; select one to see its instances")

    def _after_settled(self) -> None:
        if self._owed:
            self._after_shown()


def _current_key(view: QTreeView) -> Ref | None:
    index = view.currentIndex()
    key: Ref | None = index.data(KEY_ROLE) if index.isValid() else None
    return key


def _set_current_quietly(view: QTreeView, index: QModelIndex) -> None:
    """Make ``index`` (or nothing) the view's current row without the window hearing of it."""
    selection = view.selectionModel()
    blocked = selection.blockSignals(True)
    try:
        if index.isValid():
            selection.setCurrentIndex(index, _SELECT_ROW)
        else:
            selection.clear()
    finally:
        selection.blockSignals(blocked)
    view.viewport().update()


def _expand_paths(view: QTreeView, model: DiffTreeModel, rows: tuple[Row, ...]) -> None:
    for row in rows:
        if row.children:
            view.expand(model.index_of(row.key))
            _expand_paths(view, model, row.children)


def _leaves(rows: tuple[Row, ...]) -> list[Row]:
    found: list[Row] = []
    for row in rows:
        found.extend(_leaves(row.children) if row.children else (row,))
    return found
