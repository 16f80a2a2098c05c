"""The Activity tab: every item of this window's operations with live progress, and the moves the
endpoints show running that this window did not start (found again after a restart): those the
action layer can follow are adopted (followed live, nothing sent), the others listed as found.

Item changes are merged in on the GUI thread at most every 200 ms (small tables); the running
moves are found in the monitor's workers on each publication. Rows are spliced in by key, never
reset. Finished operations stay until "Dismiss finished".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import replace

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hybridview.actions.claims import AlreadyRunning
from hybridview.actions.desk import ActionDesk
from hybridview.actions.operation import ItemStatus, Operation
from hybridview.core.actions import ActionKey, Plan
from hybridview.core.activity import running_moves
from hybridview.core.following import plan_following
from hybridview.core.view import EstateView
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.icons import icon
from hybridview.ui.keyed_table import IconStateTable
from hybridview.ui.wall import fit_header
from hybridview.ui.widgets import tree_view
from hybridview.views.activity_rows import (
    ACTIVITY_COLUMNS,
    ActivityRow,
    Control,
    ItemReport,
    found_rows,
    item_row,
)
from hybridview.views.presentation import Presentation

RENDER_MS = 200
STATE_COLUMN = ACTIVITY_COLUMNS.index("State")
MINIMUM_WIDTHS = {
    ACTIVITY_COLUMNS.index("What"): 200,
    ACTIVITY_COLUMNS.index("Where"): 200,
    STATE_COLUMN: 175,
    ACTIVITY_COLUMNS.index("Progress"): 330,
    ACTIVITY_COLUMNS.index("Started by"): 130,
}
CONTROL_TEXT = {
    Control.ABORT: "Cancel (abort)",
    Control.FORCE_COMPLETE: "Force-complete",
    Control.CONFIRM: "Confirm migration",
    Control.REVERT: "Revert migration",
    Control.CANCEL_TASK: "Cancel task",
}


def look(view: EstateView, held: Callable[[ActionKey], bool]) -> tuple[tuple[ActivityRow, ...], Plan | None]:
    """In a worker: the moves the endpoints show running now, and those of them to follow (not held yet)."""
    return found_rows(running_moves(view)), plan_following(view, held)


def report_of(operation: Operation, item: ItemStatus) -> ItemReport:
    return ItemReport(
        operation.number,
        operation.title,
        item.step,
        item.state.value,
        item.state.finished,
        item.message,
        item.request_id,
        item.detail,
        operation.found,
    )


class ActivityView(QWidget):
    count_changed = Signal(int)  # rows still running or waiting
    control_requested = Signal(object, object)  # Control, ControlTarget

    def __init__(self, controller: MonitorBridge, desk: ActionDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.desk = controller, desk
        self.model = IconStateTable(ACTIVITY_COLUMNS, STATE_COLUMN, icon, self)
        self.view = tree_view(self.model, flat=True)
        self.title = QLabel("Activity")
        self.title.setObjectName("paneTitle")
        self.message = banner("info")
        self.find_error = banner("critical")
        self.rows: dict[Hashable, ActivityRow] = {}
        self.found: tuple[ActivityRow, ...] = ()
        self.finds = 0  # running moves looked up, for tests
        self._operations: list[Operation] = []
        self._reports: dict[int, list[ItemReport]] = {}
        self._dismissed: set[int] = set()
        self._find_task: asyncio.Task[None] | None = None
        self._find_again = False
        self._fitted = False
        self._closing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_MS)
        self._timer.timeout.connect(self.render_rows)
        self.buttons = {control: QPushButton(text) for control, text in CONTROL_TEXT.items()}
        for control, button in self.buttons.items():
            button.setVisible(not desk.read_only)
            button.clicked.connect(lambda _c=False, c=control: self._ask(c))
        self.dismiss_button = QPushButton("Dismiss finished")
        self.dismiss_button.setToolTip("Take the finished operations off this list (the audit log keeps them)")
        self.dismiss_button.clicked.connect(self.dismiss_finished)
        self._layout()
        self._fit()
        self.view.selectionModel().currentRowChanged.connect(lambda *_a: self._update_buttons())
        desk.runner.watch(self._on_operation)
        for operation in desk.runner.operations:
            self._on_operation(operation)
        controller.presentation_ready.connect(self._on_presentation)
        self.render_rows()

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        if self.desk.read_only:
            set_banner(self.message, "Read-only mode: hybridview shows what runs and sends no write.", "info")
        layout.addWidget(self.title)
        head = QHBoxLayout()
        head.addStretch(1)
        for button in self.buttons.values():
            head.addWidget(button)
        head.addWidget(self.dismiss_button)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.find_error)
        layout.addWidget(self.view, 1)

    # -- following -----------------------------------------------------------------------------

    def _on_operation(self, operation: Operation) -> None:
        self._operations.append(operation)
        self._reports[operation.number] = [report_of(operation, item) for item in operation.items]
        operation.listen(self._on_item)
        self._render_soon()

    def _on_item(self, operation: Operation, _item: ItemStatus) -> None:
        self._reports[operation.number] = [report_of(operation, item) for item in operation.items]
        self._render_soon()

    def _on_presentation(self, presentation: Presentation) -> None:
        if self._find_task is not None:
            self._find_again = True
            return
        self._find_task = spawn(self._find(), name="activity: find running moves", on_error=self._failed)

    async def _find(self) -> None:
        try:
            while True:
                self._find_again = False
                latest = self.controller.latest
                if latest is None:
                    return
                view = latest.view
                del latest
                self.found, following = await self.controller.monitor.offload(look, view, self.desk.runner.running)
                del view
                if following is not None and not self._closing:
                    self._follow(following)
                self.finds += 1
                set_banner(self.find_error, "", "critical")
                self._render_soon()
                if not self._find_again:
                    return
        finally:
            self._find_task = None

    def _follow(self, plan: Plan) -> None:
        """Follow (send nothing) the moves found running; one held meanwhile, here or by another process, is left."""
        try:
            self.desk.runner.adopt(plan)
        except AlreadyRunning as exc:
            rest = tuple(s for s in plan.steps if s.key not in exc.keys)
            if rest:
                self._follow(replace(plan, steps=rest))

    def _failed(self, exc: BaseException) -> None:
        set_banner(self.find_error, f"Could not find the running moves: {describe_exception(exc)}", "critical")

    # -- rows ------------------------------------------------------------------------------------

    def _render_soon(self) -> None:
        if not self._timer.isActive() and not self._closing:
            self._timer.start()

    def render_rows(self) -> None:
        """This window's items, then what runs elsewhere (a move this window follows is shown once)."""
        mine: list[ActivityRow] = []
        following: set[tuple[str, str]] = set()
        running = 0
        for operation in self._operations:
            if operation.number in self._dismissed:
                continue
            reports = self._reports.get(operation.number, [])
            rows = [item_row(report) for report in reports]
            mine += rows
            running += sum(1 for report in reports if not report.finished)
            if not operation.done:
                following.update(r.matches for r in rows if r.matches is not None)
        found = [r for r in self.found if r.matches not in following]
        rows = [*mine, *found]
        self.model.show(rows)
        self.rows = {r.key: r for r in rows}
        listed = [op for op in self._operations if op.number not in self._dismissed]
        followed = sum(1 for op in listed if op.found)
        self.title.setText(
            f"Activity: {len(listed) - followed} operation(s) sent from this window, {followed} found running "
            f"and followed here, {len(found)} more running or waiting in the estate"
        )
        if rows and not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, self.view, self._fit)
        self._update_buttons()
        self.count_changed.emit(running + len(found))

    def _fit(self) -> None:
        """Every column at its width (a long name or reason is cut, its tooltip has it all); Message takes the rest.

        Never narrower than its title at the type shown (the wall's, when rows arrive on the wall).
        """
        for column in range(self.model.columnCount() - 1):
            self.view.resizeColumnToContents(column)
            self.view.setColumnWidth(column, MINIMUM_WIDTHS.get(column, self.view.columnWidth(column)))
        fit_header(self.view.header())

    def dismiss_finished(self) -> None:
        self._dismissed.update(op.number for op in self._operations if op.done)
        self.render_rows()

    # -- controls ----------------------------------------------------------------------------

    def selected(self) -> ActivityRow | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.rows.get(self.model.rows[index.row()].key) if index.row() < self.model.rowCount() else None

    def _update_buttons(self) -> None:
        row = self.selected()
        for control, button in self.buttons.items():
            button.setEnabled(row is not None and control in row.controls)
        self.dismiss_button.setEnabled(any(op.done and op.number not in self._dismissed for op in self._operations))

    def _ask(self, control: Control) -> None:
        row = self.selected()
        if row is not None and control in row.controls and row.control_target is not None:
            self.control_requested.emit(control, row.control_target)

    async def aclose(self) -> None:
        self._closing = True
        self._timer.stop()
        task, self._find_task = self._find_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
