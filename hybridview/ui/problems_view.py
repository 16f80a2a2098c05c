"""The Problems tab, first on screen: every item not OK, worst and oldest first, with its advice.

A tab of its own, shown first, rather than a pane over the trees: on an ops desk the list of
what is wrong is what the eye needs first and in full width, and the trees (a thousand rows on a
large estate) keep their height for the one item being looked into. Above the table: the header
counts, and the selected problem (the worst until one is chosen) with its advice in full, in
large type. Selecting a row selects its item in the trees; Enter, a double-click or "Show in
Estate" goes there (not for a Nova zone or aggregate, which has no tree row: the button says
so). Beside it: acknowledge or silence the selected problem, or lift its acknowledgement or
silence now (the row's context menu offers the same). Each list built also tells the window's
alert strip what it holds (``summary_changed``), so the two never disagree.

The rows are built in the monitor's workers on each publication (and when one of this window's
writes fails), then spliced into a keyed table on the GUI thread; the "Since" column ticks
every few seconds from the rows' times, without building them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from hybridview.actions.operation import ItemStatus, Operation
from hybridview.core.identity import HostGroupRef, Ref, ZoneRef
from hybridview.core.problems import ProblemId
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.alerts_view import AlertDesk
from hybridview.ui.icons import icon
from hybridview.ui.keyed_table import IconStateTable, KeyedRow
from hybridview.ui.problem_focus import FocusBox
from hybridview.ui.problems_wiring import (
    TROUBLE,
    action_problems,
    button_menu,
    clock_for,
    tab_counter,
    when_shown,
)
from hybridview.ui.widgets import fit_small_table, tree_view
from hybridview.views.alert_line import ProblemSummary, problems_and_summary
from hybridview.views.presentation import Presentation
from hybridview.views.problems_rows import PROBLEM_COLUMNS, SINCE_COLUMN, ProblemRow, ProblemTable, focus_text, retick

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

__all__ = ["ProblemsView", "tab_counter", "when_shown"]  # the window finds its tabs by widget with these
TICK_MS = 5000
SHOW_TIP = "Select this problem's item in the Nova or vCenter tree (Enter, double-click)"
MINIMUM_WIDTHS = {
    0: 120,
    PROBLEM_COLUMNS.index("Item"): 220,
    PROBLEM_COLUMNS.index("What"): 300,
    PROBLEM_COLUMNS.index("Affected"): 250,
    SINCE_COLUMN: 80,
}


class ProblemTableModel(IconStateTable):
    """The keyed table with the severity's icon beside its word in the first column, and ticking ages."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(headers, 0, icon, parent)

    def set_since(self, texts: dict[Hashable, str]) -> None:
        for row in self.rows:
            text = texts.get(row.key)
            if text is not None:
                cells = (*row.cells[:SINCE_COLUMN], text, *row.cells[SINCE_COLUMN + 1 :])
                self.update(KeyedRow(row.key, cells, row.tooltip, row.level))


class ProblemsView(QWidget):
    count_changed = Signal(int)
    summary_changed = Signal(object)  # ProblemSummary: what the list holds, for the alert strip

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.controller, self.desk = window.controller, window.desk
        self.clock = clock_for(self.controller.endpoints)
        self.model = ProblemTableModel(PROBLEM_COLUMNS, self)
        self.view = tree_view(self.model, flat=True)
        self.view.setObjectName("problemsTable")
        self.counts = QLabel("Waiting for the first refresh…")
        self.counts.setObjectName("problemCounts")
        self.counts.setWordWrap(True)  # its line must never set the window's minimum width
        self.focus = FocusBox()  # its colours and sizes: style.qss, the themes' sheets, wall.qss
        self.show_button = QPushButton("Show in Estate ▸")
        self.show_button.setToolTip(SHOW_TIP)
        self.show_button.clicked.connect(self.show_in_estate)
        self.alerts = AlertDesk(window, self.clock, self.controller.endpoints.alert_policy)
        self.alerts.changed.connect(self._remark)
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setToolTip("Acknowledge the selected problem at its severity: quiet unless it worsens")
        self.ack_button.clicked.connect(lambda: self._ask(silence=False))
        self.silence_button = QPushButton("Silence…")
        self.silence_button.setToolTip("Silence the selected item for a while: listed, marked, never notified")
        self.silence_button.clicked.connect(lambda: self._ask(silence=True))
        self.unack_button = QPushButton("Unacknowledge")
        self.unack_button.setToolTip("Lift the selected problem's acknowledgement now: it needs attention again")
        self.unack_button.clicked.connect(lambda: self._lift(silence=False))
        self.lift_button = QPushButton("Lift silence")
        self.lift_button.setToolTip("Lift the silence of the selected problem's item now: it notifies again")
        self.lift_button.clicked.connect(lambda: self._lift(silence=True))
        self.unack_button.setEnabled(False)  # until the selection has an acknowledgement or a silence
        self.lift_button.setEnabled(False)
        self.history_button = QPushButton("Alert history")
        self.history_button.clicked.connect(lambda: self.alerts.show_history(self))
        self.rows: dict[Hashable, ProblemRow] = {}
        self.menu: QMenu | None = None  # the context menu last opened
        self.table: ProblemTable | None = None
        self.builds = 0  # tables shown, for tests
        self._first_seen: dict[ProblemId, datetime] = {}
        self._since_shown: dict[Hashable, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._fitted = False
        self._closing = False
        self.focus.show_lines(["Waiting for the first refresh of every endpoint…"], "warning")
        self._layout()
        fit_small_table(self.view, MINIMUM_WIDTHS)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.tick)
        self._tick.start()
        self.view.selectionModel().currentRowChanged.connect(lambda current, _p: self._on_current(current))
        self.view.activated.connect(lambda _index: self.show_in_estate())
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.controller.presentation_ready.connect(self._on_presentation)
        self.controller.close_first(self.aclose)
        self.desk.runner.watch(self._on_operation)
        tabs = window.tabs
        tabs.insertTab(0, self, "Problems")
        tabs.setCurrentIndex(0)
        self.count_changed.connect(lambda n: tabs.setTabText(tabs.indexOf(self), f"Problems ({n})"))

    def buttons(self) -> tuple[QPushButton, ...]:
        """The buttons that act on the selected problem (the context menu offers the same)."""
        return (self.ack_button, self.unack_button, self.silence_button, self.lift_button, self.show_button)

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        head.addWidget(self.counts, 1)
        acting = (self.ack_button, self.unack_button, self.silence_button, self.lift_button)
        for button in (*acting, self.history_button, self.show_button):
            head.addWidget(button)
        layout.addLayout(head)
        layout.addWidget(self.focus)
        layout.addWidget(self.view, 1)

    # -- building ------------------------------------------------------------------------------

    def _on_presentation(self, _presentation: Presentation) -> None:
        self.request_build()

    def _on_operation(self, operation: Operation) -> None:
        operation.listen(self._on_item)

    def _on_item(self, _operation: Operation, item: ItemStatus) -> None:
        if item.state in TROUBLE:
            self.request_build()

    def request_build(self) -> None:
        if self._closing:
            return
        if self._task is not None:
            self._again = True
            return
        self._task = spawn(self._build(), name="problems: build rows", on_error=self._failed)

    async def _build(self) -> None:
        try:
            while True:
                self._again = False
                latest = self.controller.latest
                if latest is None or self._closing:
                    return
                view = latest.view
                del latest
                actions = action_problems(self.desk.runner.operations)
                table, seen, summary = await self.controller.monitor.offload(
                    problems_and_summary, view, self.clock(), dict(self._first_seen), actions
                )
                del view  # closing cancels this task at the await
                self._first_seen = seen
                self._show(table)
                self.summary_changed.emit(summary)
                if not self._again:
                    return
        finally:
            self._task = None

    def _failed(self, exc: BaseException) -> None:
        why = describe_exception(exc)
        self.focus.show_lines([f"✖ Could not list the problems: {why}. The list below may be out of date."], "critical")
        self.summary_changed.emit(ProblemSummary(0, 0, "warning", 0, 0, error=why))

    def _show(self, table: ProblemTable) -> None:
        self.table = table
        self.builds += 1
        self.rows = {r.key: r for r in table.rows}
        self._since_shown = {r.key: r.cells[SINCE_COLUMN] for r in table.rows}
        self.alerts.observe(table.rows)
        self.model.show(self.alerts.marked(table.rows))
        self.counts.setText(table.header)
        self._show_focus()
        if table.rows and not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, self.view, lambda: fit_small_table(self.view, MINIMUM_WIDTHS))
        self.count_changed.emit(len(table.rows))

    def tick(self) -> None:
        """Age the "Since" cells (and the focus) without building the rows again."""
        if self.table is None:
            return
        changed = retick(self.table.rows, self._since_shown, self.clock())
        if changed:
            self._since_shown.update(changed)
            self.model.set_since(changed)
            self._show_focus()

    def _remark(self) -> None:
        """An acknowledgement, silence or flapping changed: the rows' marks, with their current ages."""
        if self.table is not None:
            rows = [_with_since(r, self._since_shown.get(r.key)) for r in self.table.rows]
            self.model.show(self.alerts.marked(rows))
            self._show_focus()

    def _ask(self, silence: bool) -> None:
        row = self.target()
        if row is not None:
            self.alerts.ask(self, row, silence)

    def _lift(self, silence: bool) -> None:
        row = self.target()
        if row is not None:
            (self.alerts.lift_silence if silence else self.alerts.unacknowledge)(row)

    # -- selection -----------------------------------------------------------------------------

    def target(self) -> ProblemRow | None:
        """The problem the buttons act on: the selected one, else the worst (the one in the focus box)."""
        return self.selected() or (self.table.rows[0] if self.table and self.table.rows else None)

    def selected(self) -> ProblemRow | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= self.model.rowCount():
            return None
        return self.rows.get(self.model.rows[index.row()].key)

    def _on_current(self, current: QModelIndex) -> None:
        row = self.selected() if current.isValid() else None
        if row is not None:
            self.window_.select_key(row.item)
        self._show_focus()

    def _context_menu(self, at: QPoint) -> None:
        self._show_focus()  # the buttons follow the row just right-clicked
        self.menu = button_menu(self.view, self.buttons(), at)

    def show_in_estate(self) -> None:
        row = self.target()
        if row is not None and no_tree_row(row.item) is None:
            tabs = self.window_.tabs
            estate = next(
                (w for i in range(tabs.count()) if (w := tabs.widget(i)) and w.isAncestorOf(self.window_.nova_view)),
                None,
            )
            if estate is not None:
                tabs.setCurrentWidget(estate)
            self.window_.select_key(row.item)

    def _show_focus(self) -> None:
        if self.table is None:
            return
        row = self.target()
        if row is not None:
            row = _with_since(row, self._since_shown.get(row.key))
        lines = focus_text(row).split("\n")
        if row is not None and (mark := self.alerts.marks(row.key, row.item.text())):  # type: ignore[arg-type]
            lines.insert(1, mark)
        level = "ok" if row is None else ("critical" if row.level == "failed" else "warning")
        self.focus.show_lines(lines, level)
        for button in (self.ack_button, self.silence_button):
            button.setEnabled(row is not None)
        why_not = no_tree_row(row.item) if row is not None else None
        self.show_button.setEnabled(row is not None and why_not is None)
        self.show_button.setToolTip(why_not or SHOW_TIP)
        self.unack_button.setEnabled(row is not None and self.alerts.acknowledged(row))
        self.lift_button.setEnabled(row is not None and self.alerts.silenced(row))

    async def aclose(self) -> None:
        self._closing = True
        self._tick.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.alerts.aclose()


def no_tree_row(item: Ref) -> str | None:
    """Why ``item`` has no row in the trees to show, or None when it has one."""
    if not isinstance(item, HostGroupRef):
        return None
    group = "availability zone" if isinstance(item, ZoneRef) else "host aggregate"
    return (
        f"A Nova {group} has no row in the trees, so there is nothing to show in Estate: its KVM hosts are "
        "compute nodes in the Nova tree; the row's text names the host whose failure would not fit"
    )


def _with_since(row: ProblemRow, since: str | None) -> ProblemRow:
    if since is None:
        return row
    return replace(row, cells=(*row.cells[:SINCE_COLUMN], since, *row.cells[SINCE_COLUMN + 1 :]))
