"""The Recovery tab: what waits for the operator after failures, and the buttons that act on it.

Three tables from ``recovery(view)`` of each publication: pending evacuations, VMs vSphere HA
left behind, and forced-down hosts whose nova-compute reports again. Their rows are staged in
the monitor's workers with the window's other panes and spliced in by key (never reset). What
this window's own operations report is merged in on the GUI thread, at most every 200 ms: the
tables are small once ``gather`` has looked their items up in the estate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from hybridview.actions.desk import ActionDesk
from hybridview.actions.operation import ItemState, ItemStatus, Operation
from hybridview.core.actions import ActionKey, Step, Verb
from hybridview.core.identity import InstanceRef, Ref
from hybridview.core.recovery import recovery
from hybridview.service.tasks import spawn
from hybridview.ui.action_widgets import banner, progress_of, set_banner
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.icons import icon
from hybridview.ui.recovery_actions import RecoveryActions
from hybridview.ui.tree_model import KEY_ROLE, DiffTreeModel, StagedChanges
from hybridview.ui.widgets import fit_small_table, tree_view
from hybridview.views.presentation import Presentation
from hybridview.views.recovery_rows import (
    EVACUATION_COLUMNS,
    LEFT_BEHIND_COLUMNS,
    RETURNING_COLUMNS,
    Progress,
    RecoveryRows,
    Tracked,
    gather,
    recovery_rows,
)
from hybridview.views.rows import Row

T = TypeVar("T")
RENDER_MS = 200
# per table, the columns whose text arrives after the first fit: they get at least this many pixels
MINIMUM_WIDTHS: tuple[dict[int, int], ...] = (
    {
        EVACUATION_COLUMNS.index("vm_state"): 130,
        EVACUATION_COLUMNS.index("Progress"): 360,
        EVACUATION_COLUMNS.index("Evacuable / blocked reason"): 320,
    },
    {LEFT_BEHIND_COLUMNS.index("Why"): 260, LEFT_BEHIND_COLUMNS.index("Progress"): 360},
    {RETURNING_COLUMNS.index("Progress"): 300},
)


@dataclass(frozen=True, slots=True)
class _Shown:
    """The three tables once the queued steps are done: the base for staging the next ones."""

    evacuations: tuple[Row, ...] = ()
    left_behind: tuple[Row, ...] = ()
    returning: tuple[Row, ...] = ()


@dataclass(frozen=True, slots=True)
class RecoveryCapture:
    shown: _Shown
    progress: Mapping[ActionKey, Progress]
    tracked: tuple[Tracked, ...]
    version: int  # of the progress captured


@dataclass(frozen=True, slots=True)
class StagedRecovery:
    rows: RecoveryRows
    changes: tuple[StagedChanges, ...]
    version: int


class RecoveryStager:
    """Stages the Recovery tables in the monitor's workers (the window's stager calls it)."""

    def __init__(self, view: RecoveryView) -> None:
        self._view = view
        self._factories = tuple(model.factory for model in view.models)

    def capture(self) -> RecoveryCapture:
        return self._view.capture()

    def stage(self, presentation: Presentation, captured: RecoveryCapture) -> StagedRecovery:
        view = presentation.view
        refs = [InstanceRef(t.step.key.endpoint, t.step.key.target) for t in captured.tracked]
        rows = recovery_rows(gather(recovery(view), view, refs), captured.progress, captured.tracked)
        shown = (captured.shown.evacuations, captured.shown.left_behind, captured.shown.returning)
        new = (rows.evacuations, rows.left_behind, rows.returning)
        changes = tuple(f.stage(old, rows_) for f, old, rows_ in zip(self._factories, shown, new, strict=True))
        return StagedRecovery(rows, changes, captured.version)


class RecoveryView(QWidget):
    waiting_changed = Signal(int)  # how many rows wait for the operator
    operation_finished = Signal(object)  # Operation: one of the desk's, sent from any dialog

    def __init__(self, controller: MonitorBridge, desk: ActionDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.desk = controller, desk
        self.evacuation_model = DiffTreeModel(EVACUATION_COLUMNS, icon, self)
        self.left_behind_model = DiffTreeModel(LEFT_BEHIND_COLUMNS, icon, self)
        self.returning_model = DiffTreeModel(RETURNING_COLUMNS, icon, self)
        self.models = (self.evacuation_model, self.left_behind_model, self.returning_model)
        self.views = tuple(tree_view(model, flat=True) for model in self.models)
        self.evacuation_view, self.left_behind_view, self.returning_view = self.views
        self.evacuation_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.titles = tuple(QLabel() for _ in self.models)
        self.message = banner("info")
        self.progress: dict[ActionKey, Progress] = {}
        self._tracked: dict[ActionKey, Step] = {}  # evacuations this window sent
        self._version = 0
        self.shown_after_steps = _Shown()
        self.rows: RecoveryRows | None = None
        self._queued = 0
        self._fitted: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_MS)
        self._render_timer.timeout.connect(self._render_here)
        self.writes = RecoveryActions(self, controller, desk)
        self.evacuate_host_button = QPushButton("Evacuate host…")
        self.evacuate_selected_button = QPushButton("Evacuate selected…")
        self.restart_button = QPushButton("Restart VMs…")
        self.clear_button = QPushButton("Clear forced-down and enable…")
        self.write_buttons = (
            self.evacuate_host_button,
            self.evacuate_selected_button,
            self.restart_button,
            self.clear_button,
        )
        self.evacuate_host_button.clicked.connect(self.evacuate_host)
        self.evacuate_selected_button.clicked.connect(self.evacuate_selected)
        self.restart_button.clicked.connect(self.restart_vms)
        self.clear_button.clicked.connect(self.clear_forced_down)
        self.evacuation_view.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        self._layout()
        for view, minimum in zip(self.views, MINIMUM_WIDTHS, strict=True):
            fit_small_table(view, minimum)  # the headers, until rows come
        self.stager = RecoveryStager(self)
        desk.runner.watch(self._on_operation)
        self._after_rows()

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        if self.desk.read_only:
            set_banner(self.message, "Read-only mode: hybridview offers and sends no write.", "info")
        layout.addWidget(self.message)
        split = QSplitter(Qt.Orientation.Vertical)
        panes: tuple[tuple[QLabel, QTreeView, tuple[QPushButton, ...]], ...] = (
            (self.titles[0], self.evacuation_view, (self.evacuate_host_button, self.evacuate_selected_button)),
            (self.titles[1], self.left_behind_view, (self.restart_button,)),
            (self.titles[2], self.returning_view, (self.clear_button,)),
        )
        for title, view, buttons in panes:
            box = QWidget()
            inner = QVBoxLayout(box)
            inner.setContentsMargins(0, 2, 0, 2)
            head = QHBoxLayout()
            title.setObjectName("paneTitle")
            head.addWidget(title)
            head.addStretch(1)
            for button in buttons:
                button.setVisible(not self.desk.read_only)
                head.addWidget(button)
            inner.addLayout(head)
            inner.addWidget(view)
            split.addWidget(box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setStretchFactor(2, 1)
        layout.addWidget(split, 1)

    # -- rows ----------------------------------------------------------------------------

    def capture(self) -> RecoveryCapture:
        return RecoveryCapture(self.shown_after_steps, dict(self.progress), self._tracked_now(), self._version)

    def _tracked_now(self) -> tuple[Tracked, ...]:
        return tuple(Tracked(step, self.progress[key]) for key, step in self._tracked.items() if key in self.progress)

    def step(self, staged: StagedRecovery | None) -> Callable[[], None]:
        """Queue a staged update (the window applies it in turn); nothing if it was not staged."""
        if staged is None:
            return lambda: None
        rows = staged.rows
        self.shown_after_steps = _Shown(rows.evacuations, rows.left_behind, rows.returning)
        self._queued += 1

        def apply() -> None:
            self._queued -= 1
            self._show(rows, staged.changes, staged.version)

        return apply

    def _render_soon(self) -> None:
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _render_here(self) -> None:
        """Only progress changed: render the rows again from the last gathered data (small tables)."""
        if self.rows is None or self._queued or self._closing:
            return  # a queued update renders again once applied, if its progress is older
        self._show(recovery_rows(self.rows.data, self.progress, self._tracked_now()), None, self._version)

    def _show(self, rows: RecoveryRows, changes: tuple[StagedChanges, ...] | None, version: int) -> None:
        self.rows = rows
        for index, (model, new) in enumerate(
            zip(self.models, (rows.evacuations, rows.left_behind, rows.returning), strict=True)
        ):
            model.apply(new, changes[index] if changes else None)
        if not self._queued:
            self.shown_after_steps = _Shown(*(model.rows for model in self.models))
        if version != self._version:
            self._render_soon()
        self._after_rows()

    def _after_rows(self) -> None:
        names = ("Pending evacuations", "VMs vSphere HA left behind", "Hosts back (forced down, reporting again)")
        counts = [model.rowCount() for model in self.models]
        for title, name, count in zip(self.titles, names, counts, strict=True):
            title.setText(f"{name} ({count})")
        for index, (view, count) in enumerate(zip(self.views, counts, strict=True)):
            if count and index not in self._fitted:  # once, so the operator's own widths stay
                self._fitted.add(index)
                QTimer.singleShot(0, view, lambda v=view, i=index: fit_small_table(v, MINIMUM_WIDTHS[i]))
        self._update_buttons()
        self.waiting_changed.emit(sum(counts))

    def _update_buttons(self) -> None:
        rows = self.rows
        self.evacuate_host_button.setEnabled(bool(rows and rows.pending))
        self.evacuate_selected_button.setEnabled(bool(self.selected_pending()))
        self.restart_button.setEnabled(bool(rows and rows.stranded))
        self.clear_button.setEnabled(bool(rows and rows.back))

    # -- acting ------------------------------------------------------------------------------

    def _current(self, view: QTreeView, items: Mapping[Any, T]) -> T | None:
        index = view.currentIndex()
        key: Ref | None = index.data(KEY_ROLE) if index.isValid() else None
        found = items.get(key) if key is not None else None
        return found if found is not None else next(iter(items.values()), None)

    def selected_pending(self) -> list[Any]:
        if self.rows is None:
            return []
        keys = {i.data(KEY_ROLE) for i in self.evacuation_view.selectionModel().selectedRows()}
        return [p for key, p in self.rows.pending.items() if key in keys]

    def evacuate_host(self) -> None:
        p = self._current(self.evacuation_view, self.rows.pending) if self.rows else None
        if p is not None:
            self.writes.open_evacuation(p.cloud, p.source_host)

    def evacuate_selected(self) -> None:
        chosen = self.selected_pending()
        hosts = {(p.cloud, p.source_host) for p in chosen}
        if len(hosts) != 1:
            self.say("Select instances of one host to evacuate them together.", "warning")
            return
        cloud, host = hosts.pop()
        self.writes.open_evacuation(cloud, host, tuple(p.instance_id for p in chosen))

    def restart_vms(self) -> None:
        item = self._current(self.left_behind_view, self.rows.stranded) if self.rows else None
        if item is not None:
            self.writes.open_restarts(item.vcenter, item.host.name)

    def clear_forced_down(self) -> None:
        back = self._current(self.returning_view, self.rows.back) if self.rows else None
        if back is not None:
            self.writes.clear_forced_down(back)

    def say(self, text: str, level: str = "info") -> None:
        set_banner(self.message, text, level)

    # -- following the desk's operations ---------------------------------------------------------

    def _on_operation(self, operation: Operation) -> None:
        for item in operation.items:
            self._record(item)
        operation.listen(self._on_item)
        self.start(self._after(operation), f"recovery: follow operation {operation.number}")
        self._render_soon()

    def _record(self, item: ItemStatus) -> None:
        if item.state is ItemState.BLOCKED:
            return
        key = item.step.key
        if key.verb is Verb.EVACUATE:
            self._tracked[key] = item.step
        self.progress[key] = progress_of(item)
        self._version += 1

    def _on_item(self, _operation: Operation, item: ItemStatus) -> None:
        self._record(item)
        self._render_soon()

    async def _after(self, operation: Operation) -> None:
        await operation.finished.wait()
        if self._closing:
            return
        self.operation_finished.emit(operation)
        clouds = {b.name for b in self.controller.endpoints.openstack}
        if any(item.step.key.endpoint in clouds for item in operation.items):
            self.controller.request_refresh()  # Nova has no change feed: show what changed without the timer

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = spawn(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """The window closes: stop rendering and following (the desk stops the operations)."""
        self._closing = True
        self._render_timer.stop()
        tasks = [*self._tasks, *self.writes.abandon()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
