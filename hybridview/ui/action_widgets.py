"""The action dialogs' and the Recovery view's small parts: banners, item texts, the item table."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt
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
PROGRESS_WIDTH = 180  # the least Progress gets: its title and a short line of progress ("done: evacuated")
_REFIT = (QEvent.Type.Resize, QEvent.Type.StyleChange, QEvent.Type.FontChange)  # the room or the titles changed


def items_view(model: KeyedTableModel, widths: tuple[int, ...]) -> QTableView:
    """The item columns at ``widths``, then Progress taking the room left, then the request id; no title cut."""
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
    header.setSectionResizeMode(model.columnCount() - 2, QHeaderView.ResizeMode.Stretch)
    ColumnFit(header, widths)
    return view


class ColumnFit(QObject):
    """Keeps every title of an item table whole: Progress stretches over the room the other columns leave,
    at least ``PROGRESS_WIDTH``; a narrower table takes it from their room beyond their titles, each in
    proportion. A column the operator widens or narrows keeps that width as its own.
    """

    def __init__(self, header: QHeaderView, widths: tuple[int, ...]) -> None:
        super().__init__(header)
        self._header = header
        self.progress = header.count() - 2
        self.wanted = {column: header.defaultSectionSize() for column in range(self.progress)}  # no width given
        self.wanted |= dict(enumerate(widths[: self.progress])) | {self.progress + 1: REQUEST_ID_WIDTH}
        self._fitting = False
        header.sectionResized.connect(self._resized)
        header.installEventFilter(self)
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _REFIT:
            self.fit()
        return False

    def fit(self) -> None:
        header = self._header
        header.ensurePolished()  # the titles at the applied sheet's type
        titles = {column: header.sectionSizeHint(column) for column in range(header.count())}
        wanted = {column: max(width, titles[column]) for column, width in self.wanted.items()}
        room = header.width() - max(PROGRESS_WIDTH, titles[self.progress])  # the header is as wide as the rows
        spare = sum(width - titles[column] for column, width in wanted.items())
        share = min(1.0, max(0, sum(wanted.values()) - room) / spare) if spare else 0.0
        self._fitting = True
        try:
            for column, width in wanted.items():
                header.resizeSection(column, width - math.ceil((width - titles[column]) * share))
        finally:
            self._fitting = False

    def _resized(self, column: int, _old: int, new: int) -> None:
        if not self._fitting and column in self.wanted:
            self.wanted[column] = new
