"""What the action dialogs share: a plan made in a worker, its items, the fencing acknowledgement,
one submission, live progress per item, retry and stop.

A dialog sends its plan once: the submit button is disabled at the first click and stays so.
A plan the runner refuses, or whose keys are already running (``AlreadyRunning``), is shown as a
message and nothing is sent. Closing the dialog does not stop its operation: it runs on, and
the Recovery view shows its state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hybridview.actions.claims import AlreadyRunning
from hybridview.actions.desk import ActionDesk
from hybridview.actions.operation import ItemStatus, Operation
from hybridview.actions.runner import ActionRefused
from hybridview.config import MAX_ACTION_CONCURRENCY
from hybridview.core.actions import Plan, Step
from hybridview.core.view import EstateView
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.action_widgets import LEVELS, banner, item_text, items_view, set_banner, step_tooltip
from hybridview.ui.keyed_table import KeyedRow, KeyedTableModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a worker made for the dialog: the plan, what the options offer, and the choice planned."""

    plan: Plan
    context: object
    choice: object


Planner = Callable[[EstateView, object], Prepared]  # (view, choice or None for the defaults) -> Prepared


class ActionDialog(QDialog):
    plan_shown = Signal(object)  # Plan
    operation_started = Signal(object)  # Operation
    operation_finished = Signal(object)  # Operation

    submit_text = "Send"
    item_columns: tuple[str, ...] = ("Item", "What is sent", "Blocked reason")
    column_widths: tuple[int, ...] = ()

    def __init__(
        self,
        desk: ActionDesk,
        controller: MonitorBridge,
        endpoint: str,
        host: str,
        planner: Planner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk, self.controller, self.endpoint, self.host = desk, controller, endpoint, host
        self.planner = planner  # runs in a worker: a plain function of plain values, never of the dialog
        self.plan: Plan | None = None
        self.operation: Operation | None = None
        self.context: object = None
        self._generation = 0
        self._planning = False
        self._sent = False  # from the first click on: this dialog never sends its plan again
        self._hold = False  # the runner refused the plan shown: wait for the next one
        self._tasks: set[asyncio.Task[None]] = set()
        self.resize(1500, 720)
        self.heading = QLabel()
        self.heading.setObjectName("paneTitle")
        self.refusal = banner("critical")
        self.notes = banner("warning")
        self.options_box = QWidget()  # disabled once sent: every option it holds with it
        self.options = QFormLayout(self.options_box)
        self.options.setContentsMargins(0, 0, 0, 0)
        self.options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, MAX_ACTION_CONCURRENCY)
        self.concurrency.setValue(max(1, min(MAX_ACTION_CONCURRENCY, desk.runner.concurrency)))
        self.concurrency.setToolTip("How many items are sent and followed at once")
        self.items = KeyedTableModel((*self.item_columns, "Progress", "Request id"), self)
        self.table = items_view(self.items, self.column_widths)
        self.fence = QCheckBox(f"I have fenced {host}: it is powered off or cut from its storage and network")
        self.fence.setStyleSheet("QCheckBox { font-weight: 600; }")
        self.fence.toggled.connect(lambda _on: self._update_buttons())
        self.message = banner("critical")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.submit = QPushButton(self.submit_text)
        self.submit.setDefault(False)
        self.submit.setAutoDefault(False)
        self.submit.clicked.connect(self._submit)
        self.retry = QPushButton("Retry failed")
        self.retry.clicked.connect(self._retry)
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Send nothing more; items already sent are followed to their end")
        self.stop.clicked.connect(self._stop)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.setToolTip("Closing does not stop a running operation")
        self.close_button.clicked.connect(self.close)
        self._layout()
        controller.presentation_ready.connect(self._on_presentation)

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.refusal)
        layout.addWidget(self.notes)
        layout.addWidget(self.options_box)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.fence)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry)
        buttons.addWidget(self.stop)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.submit)
        layout.addLayout(buttons)
        self.options.addRow("At once:", self.concurrency)
        self._update_buttons()

    # -- what a dialog says (subclasses) -------------------------------------------------

    def choice(self) -> object:
        """On the GUI thread: what the options say now (None until the first plan is shown)."""
        raise NotImplementedError

    def show_context(self, context: object, choice: object) -> None:
        """Fill the options from the first plan's context (their signals blocked)."""

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return (step.label or step.key.target, step.summary, step.blocked_reason or "")

    # -- planning --------------------------------------------------------------------------

    def replan(self, *, background: bool = False) -> None:
        """Plan again from the newest estate; the dialog's plan is fixed once it is sent.

        An operator's change disables sending until its plan is shown; a new publication's
        (``background``) does not: until it is shown, the plan on screen is what is sent.
        """
        if self._sent:
            return
        self._generation += 1
        if not background:
            self._planning = True
            self._update_buttons()
        self._start(self._plan(self._generation, self.choice() if self.context is not None else None), "plan")

    def _on_presentation(self, _presentation: object) -> None:
        if not self._sent and not self._planning:
            self.replan(background=self.context is not None)

    async def _plan(self, generation: int, choice: object) -> None:
        latest = self.controller.latest
        if latest is None:
            self._planning = False
            set_banner(self.message, "No estate data yet: the plan is made once the first refresh is in.", "info")
            return
        view = latest.view
        del latest
        prepared = await self.controller.monitor.offload(self.planner, view, choice)
        if generation != self._generation or self._sent:
            return
        self._planning = False
        self._hold = False
        stale = [e.name for e in view.estate.endpoints if not e.ok]
        self._show_plan(prepared, stale)

    def _show_plan(self, prepared: Prepared, stale: list[str]) -> None:
        if self.context is None:
            self.show_context(prepared.context, prepared.choice)
        self.context = prepared.context
        plan = self.plan = prepared.plan
        self.setWindowTitle(plan.title)
        self.heading.setText(plan.title)
        set_banner(self.refusal, f"✖ Refused, nothing can be sent: {plan.refused}" if plan.refused else "", "critical")
        notes = [*plan.notes] + ([f"Planned from stale data of {', '.join(stale)}."] if stale else [])
        set_banner(self.notes, "\n".join(f"⚠ {n}" for n in notes) if not plan.refused else "", "warning")
        set_banner(self.message, "", "info")
        self.items.apply([self._plan_row(s) for s in plan.steps])
        self.summary.setText(
            "" if plan.refused else f"{len(plan.sendable)} item(s) to send, {len(plan.blocked)} blocked."
        )
        self._update_buttons()
        self.plan_shown.emit(plan)

    def _plan_row(self, step: Step) -> KeyedRow:
        elsewhere = "already running in another operation" if self.desk.runner.running(step.key) else ""
        level = "blocked" if step.blocked else None
        return KeyedRow(step.key, (*self.item_cells(step), elsewhere, ""), step_tooltip(step), level)

    # -- sending -----------------------------------------------------------------------------

    def can_submit(self) -> bool:
        plan = self.plan
        return (
            plan is not None
            and not self.desk.read_only
            and not (self._sent or self._hold or self._planning)
            and plan.refused is None
            and bool(plan.sendable)
            and (self.fence.isChecked() or not plan.needs_fencing)
        )

    def _submit(self) -> None:
        plan = self.plan
        if plan is None or not self.can_submit():
            return
        self._sent = True
        self._update_buttons()  # disabled before anything else can happen
        try:
            operation = self.desk.runner.submit(
                plan, fenced=self.fence.isChecked(), concurrency=self.concurrency.value()
            )
        except (ActionRefused, AlreadyRunning) as exc:
            self._sent, self._hold = False, True
            set_banner(self.message, f"Not sent: {exc}", "critical")
            self._update_buttons()
            return
        self._follow(operation, every_row=True)

    def _retry(self) -> None:
        operation = self.operation
        if operation is None or not operation.done or not operation.failed_steps():
            return
        self.retry.setEnabled(False)
        plan = self.desk.runner.retry_plan(operation)
        try:
            again = self.desk.runner.submit(plan, fenced=self.fence.isChecked(), concurrency=self.concurrency.value())
        except (ActionRefused, AlreadyRunning) as exc:
            set_banner(self.message, f"Not sent again: {exc}", "critical")
            self._update_buttons()
            return
        self._follow(again, every_row=False)

    def _stop(self) -> None:
        if self.operation is not None and not self.operation.done:
            self.operation.stop()
            self._update_buttons()

    def _follow(self, operation: Operation, *, every_row: bool) -> None:
        self.operation = operation
        set_banner(self.message, "", "info")
        rows = [self._item_row(item) for item in operation.items]
        if every_row:
            self.items.apply(rows)
        else:
            for row in rows:
                self.items.update(row)
        operation.listen(self._on_item)
        self._start(self._await_end(operation), "follow")
        self._show_counts(operation)
        self._update_buttons()
        self.operation_started.emit(operation)

    def _item_row(self, item: ItemStatus) -> KeyedRow:
        step = item.step
        tooltip = f"{step_tooltip(step)}\n\n{item_text(item)}"
        if item.request_id:
            tooltip += f"\nrequest id {item.request_id}"
        cells = (*self.item_cells(step), item_text(item), item.request_id or "")
        return KeyedRow(step.key, cells, tooltip, LEVELS.get(item.state))

    def _on_item(self, operation: Operation, item: ItemStatus) -> None:
        if operation is not self.operation:
            return
        self.items.update(self._item_row(item))
        self._show_counts(operation)

    def _show_counts(self, operation: Operation) -> None:
        if not operation.done:
            self.summary.setText("Running: " + ", ".join(f"{n} {s.value}" for s, n in operation.counts().items()))

    async def _await_end(self, operation: Operation) -> None:
        await operation.finished.wait()
        if operation is not self.operation:
            return
        colour = "#1b5e20" if operation.ok else "#b71c1c"
        self.summary.setText(f'<span style="color:{colour}; font-weight:600">{operation.summary()}</span>')
        self._update_buttons()
        self.operation_finished.emit(operation)

    # -- state ---------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        plan, operation = self.plan, self.operation
        refused = plan is not None and plan.refused is not None
        writable = not self.desk.read_only
        self.submit.setVisible(writable and not refused)
        self.submit.setEnabled(self.can_submit())
        self.fence.setVisible(writable and plan is not None and plan.needs_fencing and not refused)
        self.fence.setEnabled(not self._sent)
        self.options_box.setEnabled(not self._sent)
        running = operation is not None and not operation.done
        self.stop.setVisible(operation is not None)
        self.stop.setEnabled(running and operation is not None and not operation.stopping)
        self.retry.setVisible(operation is not None)
        self.retry.setEnabled(
            operation is not None and operation.done and bool(operation.failed_steps()) and self.fence.isChecked()
        )

    @property
    def running(self) -> bool:
        return self.operation is not None and not self.operation.done

    def _start(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        task = spawn(coro, name=f"{type(self).__name__} {self.host}: {what}", on_error=self._failed)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, exc: BaseException) -> None:
        self._planning = False
        set_banner(self.message, f"hybridview failed: {describe_exception(exc)}", "critical")
        self._update_buttons()

    def abandon(self) -> list[asyncio.Task[None]]:
        """Stop planning and following (a running operation is the runner's to stop); the tasks cancelled."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks
