"""The window's building blocks: tree views, titled panes, column fitting that never stalls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QAbstractItemModel, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTreeView, QVBoxLayout, QWidget


def tree_view(model: QAbstractItemModel, *, flat: bool = False) -> QTreeView:
    view = QTreeView()
    view.setModel(model)  # its colours: the theme's rows in the application palette (theme.py), no style sheet
    view.setUniformRowHeights(True)
    view.setAlternatingRowColors(True)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setRootIsDecorated(not flat)
    view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.header().setStretchLastSection(True)
    view.header().setResizeContentsPrecision(32)  # fit columns to a sample, not to 1,000 rows
    return view


MAX_FITTED_COLUMN_PX = 300


def fit_columns(views: Sequence[QTreeView], column: int = 0) -> None:
    """Fit columns to their content, one column of one view per event-loop turn, so each turn
    repaints one view at most and the GUI never stalls on it. Long names are capped so they do
    not hide the columns after them.
    """
    if not views:
        return
    view, rest = views[0], views[1:]
    if column >= view.model().columnCount():
        fit_columns(rest)
        return
    view.resizeColumnToContents(column)
    view.setColumnWidth(column, min(view.columnWidth(column), MAX_FITTED_COLUMN_PX))
    QTimer.singleShot(0, view, lambda: fit_columns(views, column + 1))


def fit_small_table(view: QTreeView, minimum: Mapping[int, int] | None = None) -> None:
    """Fit every column of a small table at once (capped like ``fit_columns``), then widen the
    columns whose text arrives later (progress, reasons) to at least their ``minimum`` width.
    """
    for column in range(view.model().columnCount()):
        view.resizeColumnToContents(column)
        width = min(view.columnWidth(column), MAX_FITTED_COLUMN_PX)
        view.setColumnWidth(column, max(width, (minimum or {}).get(column, 0)))


def pane(title: str, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 2)
    label = QLabel(title)
    label.setObjectName("paneTitle")
    layout.addWidget(label)
    layout.addWidget(body)
    return box
