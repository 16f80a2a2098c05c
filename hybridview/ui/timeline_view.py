"""The Timeline tab: what happened when across Nova, vCenter and hybridview's writes, newest first.

On each presentation the compute service and ESXi host changes it shows are recorded in the
history (``service.recording``: a history that cannot be written is a warning above the events),
and the timeline is built, filtered and turned into rows, all in the monitor's workers
(the audit log is read in the action runner's); the GUI thread splices the rows in by key. The
filters (host, instance, cluster: a name or id; layer) rebuild from the latest view. Double-click
an event to select its host or cluster in the trees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QTabWidget, QTreeView, QVBoxLayout, QWidget

from hybridview.actions.audit import AuditEntry
from hybridview.actions.desk import ActionDesk
from hybridview.core.identity import Ref, RefError, parse_ref
from hybridview.core.timeline import Layer, TimelineEvent, filtered, timeline
from hybridview.core.view import EstateView
from hybridview.service.history import History
from hybridview.service.recording import HistoryRecorder, history_for
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.icons import icon
from hybridview.ui.keyed_table import IconStateTable
from hybridview.ui.widgets import tree_view
from hybridview.views.timeline_rows import LAYER_NAMES, TIMELINE_COLUMNS, TimelineRow, event_key, timeline_rows

log = logging.getLogger(__name__)
STATE_COLUMN = TIMELINE_COLUMNS.index("State")
MAX_ROWS = 2000  # the newest; the CLI has them all
FILTER_DELAY_MS = 250
WIDTHS = dict(enumerate((150, 115, 80, 240, 230, 140)))  # every column but the last, which takes the rest


@dataclass(frozen=True, slots=True)
class Filters:
    host: str = ""
    instance: str = ""
    cluster: str = ""
    layer: str = ""  # a Layer value, or "" for every layer


@dataclass(frozen=True, slots=True)
class Built:
    events: tuple[TimelineEvent, ...]  # what the filters keep, oldest first
    total: int  # before the filters
    rows: tuple[TimelineRow, ...]  # newest first, at most MAX_ROWS
    objects: dict[object, str] = field(default_factory=dict)  # row key -> the identity text of its object
    unsaved: str | None = None  # why observed changes are not reaching the history file


def build(
    view: EstateView, recorder: HistoryRecorder, entries: Sequence[AuditEntry], filters: Filters, record: bool
) -> Built:
    """In a worker: record what the view shows changed, then the timeline, filtered, as rows."""
    if record:
        recorder.record(view)
    every = timeline(view, recorder.history.changes(), entries)
    kept = filtered(
        every,
        host=filters.host.strip() or None,
        instance=filters.instance.strip() or None,
        cluster=filters.cluster.strip() or None,
        layer=filters.layer or None,
    )
    newest = kept[-MAX_ROWS:]
    objects = {event_key(e): e.object.ref for e in newest}
    return Built(tuple(kept), len(every), timeline_rows(newest), objects, recorder.failure)


class TimelineView(QWidget):
    object_activated = Signal(object)  # Ref: the host, node or cluster of a double-clicked event

    def __init__(
        self, controller: MonitorBridge, desk: ActionDesk, history: History, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller, self.desk, self.history = controller, desk, history
        self.recorder = HistoryRecorder(history, log.warning)
        self.model = IconStateTable(TIMELINE_COLUMNS, STATE_COLUMN, icon, self)
        self.view: QTreeView = tree_view(self.model, flat=True)
        self.title = QLabel("Timeline")
        self.title.setObjectName("paneTitle")
        self.message = banner("critical")
        self.host = _filter_box("host", "compute or ESXi host: name or moref")
        self.instance = _filter_box("instance", "instance or VM: name, id or UUID")
        self.cluster = _filter_box("cluster", "vCenter cluster: name or moref")
        self.layer = QComboBox()
        self.layer.setToolTip("Only the events of one layer")
        self.layer.addItem("All layers", "")
        for layer in Layer:
            self.layer.addItem(LAYER_NAMES[layer], layer.value)
        self.built = Built((), 0, ())
        self.builds = 0  # finished builds, for tests
        self._task: asyncio.Task[None] | None = None
        self._again: bool | None = None  # a build asked for while one runs: whether it records
        self._fitted = False
        self._closing = False
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(FILTER_DELAY_MS)
        self._delay.timeout.connect(lambda: self.request_build(record=False))
        for box in (self.host, self.instance, self.cluster):
            box.textChanged.connect(lambda _t: self._delay.start())
        self.layer.currentIndexChanged.connect(lambda _i: self.request_build(record=False))
        self.view.doubleClicked.connect(self._activated)
        self._layout()
        controller.presentation_ready.connect(lambda _p: self.request_build(record=True))

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        for label, widget in (("Host", self.host), ("Instance", self.instance), ("Cluster", self.cluster)):
            head.addWidget(QLabel(label))
            head.addWidget(widget)
        head.addWidget(self.layer)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)

    @property
    def filters(self) -> Filters:
        return Filters(self.host.text(), self.instance.text(), self.cluster.text(), str(self.layer.currentData()))

    def request_build(self, *, record: bool) -> None:
        """Build again from the latest view; requests while one runs make one more build after it."""
        if self._closing:
            return
        if self._task is not None:
            self._again = bool(self._again) or record
            return
        self._task = spawn(self._build(record), name="timeline tab: build", on_error=self._failed)

    async def _build(self, record: bool) -> None:
        try:
            self._take_again()
            while True:
                latest = self.controller.latest
                if latest is None:
                    return
                view = latest.view
                del latest
                entries = await self.desk.audit_entries()
                built = await self.controller.monitor.offload(build, view, self.recorder, entries, self.filters, record)
                del view
                self._show(built)
                again = self._take_again()
                if again is None:
                    return
                record = again
        finally:
            self._task = None

    def _take_again(self) -> bool | None:
        again, self._again = self._again, None
        return again

    def _show(self, built: Built) -> None:
        self.built = built
        self.model.show(built.rows)
        self.builds += 1
        shown = f"{len(built.events)} of {built.total}" if len(built.events) != built.total else str(built.total)
        where = "in memory only (demo)" if self.history.path is None else str(self.history.path)
        self.title.setText(f"Timeline: {shown} events, newest first (observed changes: {where})")
        unsaved = f"Observed changes are kept in memory only: {built.unsaved}" if built.unsaved else ""
        set_banner(self.message, unsaved, "warning")
        if built.rows and not self._fitted:
            self._fitted = True
            for column, width in WIDTHS.items():
                self.view.setColumnWidth(column, width)

    def _activated(self, index: QModelIndex) -> None:
        rows = self.model.rows
        if not index.isValid() or index.row() >= len(rows):
            return
        try:
            ref: Ref = parse_ref(self.built.objects.get(rows[index.row()].key, ""))
        except RefError:
            return
        self.object_activated.emit(ref)

    def _failed(self, exc: BaseException) -> None:
        set_banner(self.message, f"Could not build the timeline: {describe_exception(exc)}", "critical")

    async def aclose(self) -> None:
        self._closing = True
        self._delay.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _filter_box(what: str, tip: str) -> QLineEdit:
    box = QLineEdit()
    box.setPlaceholderText(f"any {what}")
    box.setToolTip(f"Only the events of this {tip} (exact, any case)")
    box.setClearButtonEnabled(True)
    box.setMaximumWidth(220)
    return box


class Window(Protocol):
    """What the Timeline tab needs of the main window."""

    controller: MonitorBridge
    desk: ActionDesk
    tabs: QTabWidget
    nova_view: QTreeView

    def select_key(self, key: Ref) -> None: ...


def add_timeline_tab(window: Window) -> TimelineView:
    """The Timeline tab, last; closed with the window's actions; a double-clicked event's host shown in the trees.

    The demo's observed changes stay in memory: they are not the estate's history.
    """
    view = TimelineView(window.controller, window.desk, history_for(window.controller.endpoints))
    tabs = window.tabs
    tabs.addTab(view, "Timeline")

    def show_in_trees(ref: Ref) -> None:
        pages = [tabs.widget(i) for i in range(tabs.count())]
        estate = next((p for p in pages if p is not None and p.isAncestorOf(window.nova_view)), None)
        if estate is not None:
            tabs.setCurrentWidget(estate)
        window.select_key(ref)

    view.object_activated.connect(show_in_trees)
    window.controller.close_first(view.aclose)
    return view
