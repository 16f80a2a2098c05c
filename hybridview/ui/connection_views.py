"""The Connections dialog's small Qt parts: its tables, a row with an icon and a sign, the busy bar, a question."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHBoxLayout,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from hybridview.ui.icons import icon

ENTRY_ROLE = Qt.ItemDataRole.UserRole


def tree(columns: Sequence[str], widths: Sequence[int]) -> QTreeWidget:
    view = QTreeWidget()
    view.setHeaderLabels(list(columns))
    view.setRootIsDecorated(False)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    return view


def add_row(
    view: QTreeWidget, cells: Sequence[str], level: str, *, marked: int = -1, entry_id: int | None = None
) -> QTreeWidgetItem:
    """A row whose ``marked`` cell carries the level as an icon; its words say it too (never colour alone)."""
    column = marked % len(cells)
    texts = list(cells)
    item = QTreeWidgetItem(texts)
    item.setIcon(column, icon(level))
    for i, text in enumerate(texts):
        item.setToolTip(i, text)
    if entry_id is not None:
        item.setData(0, ENTRY_ROLE, entry_id)
    view.addTopLevelItem(item)
    return item


def push_buttons(table: Mapping[str, tuple[str, Callable[[], None]]]) -> dict[str, QPushButton]:
    """Name -> a button with its text, calling its action when clicked (never the dialog's default)."""
    made = {}
    for name, (text, action) in table.items():
        button = made[name] = QPushButton(text)
        button.setAutoDefault(False)
        button.clicked.connect(action)
    return made


def button_row(*widgets: QWidget | None) -> QHBoxLayout:
    """The widgets side by side; a None is the stretch between groups."""
    row = QHBoxLayout()
    for widget in widgets:
        if widget is None:
            row.addStretch(1)
        else:
            row.addWidget(widget)
    return row


def busy_spinner() -> QProgressBar:
    """A bar that moves while something runs (hidden until then)."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setMaximumWidth(110)
    bar.setTextVisible(False)
    bar.hide()
    return bar


def confirm(parent: QWidget, title: str, text: str, detail: str, yes: str, then: Callable[[], None]) -> QMessageBox:
    """A window-modal question (no nested event loop); ``then`` runs if the operator chose ``yes``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(detail)
    box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 420px; }")  # room for a path on one line
    chosen = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)

    def finished(_result: int) -> None:
        clicked: QAbstractButton | None = box.clickedButton()
        box.deleteLater()
        if clicked is chosen:
            then()

    box.finished.connect(finished)
    box.open()
    return box
