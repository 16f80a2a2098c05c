"""The action dialogs' and the Recovery view's small parts: banners, item texts, the item table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView

from hybridview.actions.operation import ItemState, ItemStatus
from hybridview.core.actions import Step
from hybridview.ui.keyed_table import KeyedTableModel
from hybridview.ui.theme import paint_banner
from hybridview.views.activity_rows import progress_text
from hybridview.views.recovery_rows import Progress

LEVELS = {
    ItemState.FAILED: "failed",
    ItemState.UNKNOWN: "failed",
    ItemState.DONE: "done",
    ItemState.SENDING: "running",
    ItemState.TRACKING: "running",
    ItemState.BLOCKED: "blocked",
    ItemState.STOPPED: "blocked",
}


def banner(level: str = "info") -> QLabel:
    """A message box in a dialog or tab: ``level`` is one of ``theme.BANNER_LEVELS``, coloured per theme."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    set_banner(label, "", level)
    return label


def set_banner(label: QLabel, text: str, level: str) -> None:
    label.setText(text)
    paint_banner(label, level)
    label.setVisible(bool(text))


def item_text(item: ItemStatus) -> str:
    """The state, the latest line, and the endpoint's numbers while it runs ("63% · 1.2 GiB of 2.0 GiB memory")."""
    text = f"{item.state.value}: {item.message}" if item.message else item.state.value
    numbers = "" if item.state.finished else progress_text(item.detail)
    return f"{text} · {numbers}" if numbers else text


def progress_of(item: ItemStatus) -> Progress:
    text = item_text(item) + (f" [request {item.request_id}]" if item.request_id else "")
    return Progress(text, item.state.finished, item.state in (ItemState.FAILED, ItemState.UNKNOWN))


def step_tooltip(step: Step) -> str:
    lines = [step.summary]
    if step.consequence:
        lines.append(step.consequence)
    if step.blocked_reason:
        lines.append(f"not sent: {step.blocked_reason}")
    return "\n".join(lines)


REQUEST_ID_WIDTH = 290  # a Nova request id ("req-" and a UUID) in full


def items_view(model: KeyedTableModel, widths: tuple[int, ...]) -> QTableView:
    """The item columns at ``widths``, then Progress taking the room left, then the request id."""
    view = QTableView()
    view.setModel(model)
    view.setWordWrap(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(60)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    header.setSectionResizeMode(model.columnCount() - 2, QHeaderView.ResizeMode.Stretch)
    view.setColumnWidth(model.columnCount() - 1, REQUEST_ID_WIDTH)
    return view
