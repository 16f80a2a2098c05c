"""The window: Nova compute nodes on the left, vCenter clusters on the right; Recovery, Activity and Audit tabs."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QMainWindow,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from hybridview.actions.desk import ActionDesk
from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, NodeRef, Ref
from hybridview.ui.about import add_about_action
from hybridview.ui.activity_view import ActivityView
from hybridview.ui.alert_strip import AlertStrip, alert_label
from hybridview.ui.audit_view import AuditView
from hybridview.ui.bridge import MonitorBridge
from hybridview.views.details import details_html
from hybridview.ui.export_actions import ExportActions
from hybridview.ui.connections_wiring import ConnectionsActions
from hybridview.ui.icons import icon
from hybridview.ui.move_actions import MoveActions
from hybridview.ui.problems_view import ProblemsView
from hybridview.ui.tabs import build_tabs
from hybridview.ui.filter_bar import FilterBar, RowFilter, instance_pane_rows
from hybridview.views.presentation import INSTANCE_COLUMNS, NOVA_COLUMNS, VCENTER_COLUMNS, Presentation
from hybridview.ui.recovery_view import RecoveryCapture, RecoveryView, StagedRecovery
from hybridview.ui.status_bar import EndpointStatusBar
from hybridview.ui.timeline_view import add_timeline_tab
from hybridview.ui.tree_model import KEY_ROLE, DiffTreeModel, StagedChanges
from hybridview.ui.widgets import fit_columns, pane, tree_view
from hybridview.views.rows import Row


@dataclass(frozen=True, slots=True)
class _Staged:
    nova: StagedChanges
    vcenter: StagedChanges
    selected: Ref | None  # the selection the instance pane and the details were made for
    instances: StagedChanges
    details: str
    recovery: StagedRecovery | None


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the panes show once the queued steps are done: the base for staging the next presentation."""

    nova: tuple[Row, ...] = ()
    vcenter: tuple[Row, ...] = ()
    selected: Ref | None = None
    instances: tuple[Row, ...] = ()


@dataclass(frozen=True, slots=True)
class _Captured:
    shown: _Shown
    recovery: RecoveryCapture
    row_filter: RowFilter


class _Stager:
    """Stages a presentation's pane changes in the monitor's workers (see ``MonitorBridge.stager``)."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._nova = window.nova_model.factory
        self._vcenter = window.vcenter_model.factory
        self._instances = window.instance_model.factory
        self._recovery = window.recovery.stager

    def capture(self) -> object:
        return _Captured(self._window.shown_after_steps, self._recovery.capture(), self._window.filter_bar.row_filter)

    def stage(self, presentation: Presentation, captured: object) -> object:
        assert isinstance(captured, _Captured)
        shown, f = captured.shown, captured.row_filter
        instances = instance_pane_rows(presentation, shown.selected, f)
        return _Staged(
            self._nova.stage(shown.nova, f.forest(presentation.nova_rows)),
            self._vcenter.stage(shown.vcenter, f.forest(presentation.vcenter_rows)),
            shown.selected,
            self._instances.stage(shown.instances, instances),
            details_html(presentation, shown.selected),
            self._recovery.stage(presentation, captured.recovery),
        )


class MainWindow(QMainWindow):
    presentation_shown = Signal(object)  # Presentation: every pane shows it

    def __init__(self, controller: MonitorBridge, desk: ActionDesk, note: str | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.desk = desk
        self.recovery = RecoveryView(controller, desk)
        self.audit = AuditView(controller, desk)
        self.activity = ActivityView(controller, desk)
        self.setWindowTitle("hybridview")
        self.setWindowIcon(icon("hybridview"))
        self.nova_model = DiffTreeModel(NOVA_COLUMNS, icon, self)
        self.vcenter_model = DiffTreeModel(VCENTER_COLUMNS, icon, self)
        self.instance_model = DiffTreeModel(INSTANCE_COLUMNS, icon, self)
        self.nova_view = tree_view(self.nova_model)
        self.vcenter_view = tree_view(self.vcenter_model)
        self.instance_view = tree_view(self.instance_model, flat=True)
        self.filter_bar = FilterBar(self)
        self.details = QTextBrowser()
        self.details.setObjectName("details")
        self.alert = alert_label()
        self.instance_title = QLabel("Instances / VMs")
        self.instance_title.setObjectName("paneTitle")
        self._selected_key: Ref | None = None
        self._syncing = False
        self._first = True
        self._expanded_once: set[Ref] = set()
        self._fit_instances = True
        self._steps: deque[Callable[[], None]] = deque()  # what is left of the presentations being shown
        self.shown_after_steps = _Shown()
        self._build_layout(note)
        self._build_actions()
        self.endpoint_bar = EndpointStatusBar(self.statusBar())
        self.nova_view.selectionModel().currentRowChanged.connect(
            lambda cur, _p: self._on_selected(cur, self.nova_view)
        )
        self.vcenter_view.selectionModel().currentRowChanged.connect(
            lambda cur, _p: self._on_selected(cur, self.vcenter_view)
        )
        controller.stager = _Stager(self)
        controller.presentation_ready.connect(self.show_presentation)
        controller.busy_changed.connect(self._on_busy)
        self.moves = MoveActions(self)  # Move… and Drain host… on the selection, after the window's own handlers
        self.export, self.connections = ExportActions(self), ConnectionsActions(self)  # Export…, Connections… (Ctrl+,)
        self.about_action = add_about_action(self, self.toolbar)  # last on the toolbar, and F1
        self.alert_strip = AlertStrip(self)  # the alert strip, in step with the Problems tab

    # -- construction ------------------------------------------------------------------

    def _build_layout(self, note: str | None) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 0, 6, 4)
        layout.setSpacing(4)
        demo = self.controller.endpoints.demo
        if demo is not None:
            banner = QLabel(
                f"DEMO — simulated estate, scenario “{demo.scenario}”. Nothing here is a real cloud."
                + (f"   ({note})" if note else "")
            )
            banner.setObjectName("demoBanner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(banner)
        layout.addWidget(self.alert)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(pane("OpenStack Nova — compute nodes", self.nova_view))
        top.addWidget(pane("VMware vCenter — clusters and ESXi hosts", self.vcenter_view))
        bottom = QSplitter(Qt.Orientation.Horizontal)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(4, 2, 4, 2)
        lower_layout.addWidget(self.instance_title)
        lower_layout.addWidget(self.instance_view)
        bottom.addWidget(lower)
        bottom.addWidget(pane("Details", self.details))
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(top)
        vertical.addWidget(bottom)
        vertical.setStretchFactor(0, 3)
        vertical.setStretchFactor(1, 2)
        self.tabs = build_tabs(self, self.filter_bar.above(vertical))
        self.problems = ProblemsView(self)  # the first tab, shown first
        self.timeline = add_timeline_tab(self)  # the last tab
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _build_actions(self) -> None:
        bar = self.toolbar = QToolBar("Main")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.refresh_action = QAction("Refresh now", self)
        self.refresh_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Refresh), QKeySequence("Ctrl+R")])
        self.refresh_action.setToolTip("Refresh every endpoint now (F5, Ctrl+R)")
        self.refresh_action.triggered.connect(self.controller.request_refresh)
        bar.addAction(self.refresh_action)
        self.auto_refresh = QCheckBox("Auto-refresh every")
        self.auto_refresh.setChecked(True)
        self.auto_refresh.toggled.connect(self.controller.set_auto_refresh)
        bar.addWidget(self.auto_refresh)
        self.interval = QSpinBox()
        self.interval.setRange(2, 3600)
        self.interval.setSuffix(" s")
        self.interval.setValue(int(self.controller.endpoints.refresh_seconds))
        self.interval.valueChanged.connect(lambda v: self.controller.set_interval(float(v)))
        bar.addWidget(self.interval)
        for text, keys, view in (
            ("Nova pane", "Ctrl+1", self.nova_view),
            ("vCenter pane", "Ctrl+2", self.vcenter_view),
            ("Instances pane", "Ctrl+3", self.instance_view),
        ):
            action = QAction(f"Focus {text}", self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(view.setFocus)
            self.addAction(action)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

    # -- updates -------------------------------------------------------------------------

    def _on_busy(self, busy: bool) -> None:
        # Stays enabled: the monitor never reads an endpoint twice at once, so with one endpoint
        # hung, F5 still re-reads all the others.
        self.refresh_action.setText("Refreshing…" if busy else "Refresh now")

    def show_presentation(self, p: Presentation) -> None:
        """Queue the presentation's steps: one pane per event-loop turn, so each turn repaints one pane."""
        taken = self.controller.take_staged(p)
        staged = taken if isinstance(taken, _Staged) else None
        idle = not self._steps  # else the chain of steps is running and will reach these
        nova, vcenter = (staged.nova.rows, staged.vcenter.rows) if staged else self.filter_bar.trees(p)
        self._steps.extend(
            (
                lambda: self.nova_model.apply(nova, staged.nova if staged else None),
                lambda: self.vcenter_model.apply(vcenter, staged.vcenter if staged else None),
                self.recovery.step(staged.recovery if staged else None),
                lambda: self._show_rest(p, staged),
            )
        )
        self.shown_after_steps = (
            _Shown(nova, vcenter, staged.selected, staged.instances.rows)
            if staged is not None
            else replace(self.shown_after_steps, nova=nova, vcenter=vcenter)
        )
        if idle:
            self._next_step()

    def _next_step(self) -> None:
        self._steps.popleft()()
        if self._steps:
            QTimer.singleShot(0, self, self._next_step)

    def _show_rest(self, p: Presentation, staged: _Staged | None) -> None:
        self.endpoint_bar.show_endpoints(p.view.estate.endpoints)
        self._expand_new_top_rows()
        selected = self._selected_key
        if self._first:
            self._first = False
            self.audit.request_refresh()
            failed = p.view.health.failed_hosts
            if failed:
                self.select_key(failed[0].ref)
        if self._selected_key == selected:  # a new selection has shown itself already
            self._show_selection(p, staged if staged is not None and staged.selected == selected else None)
        self.presentation_shown.emit(p)

    def _expand_new_top_rows(self) -> None:
        """Expand each cloud and vCenter the first time it appears, and its troubled children."""
        fresh_views = []
        for view, model in ((self.nova_view, self.nova_model), (self.vcenter_view, self.vcenter_model)):
            fresh = [top for top in model.rows if top.key not in self._expanded_once]
            for top in fresh:
                self._expanded_once.add(top.key)
                view.expand(model.index_of(top.key))
                for child in top.children:
                    if child.children and child.severity >= Severity.WARNING:
                        view.expand(model.index_of(child.key))
            if fresh:
                fresh_views.append(view)
        if fresh_views:
            QTimer.singleShot(0, self, lambda: fit_columns(fresh_views))

    # -- selection ---------------------------------------------------------------------

    @property
    def selected_key(self) -> Ref | None:
        """What the operator selected last in either tree (not the counterpart selected with it)."""
        return self._selected_key

    def select_key(self, key: Ref) -> None:
        for view, model in ((self.nova_view, self.nova_model), (self.vcenter_view, self.vcenter_model)):
            index = model.index_of(key)
            if index.isValid():
                self._reveal(view, index)
                return

    def _reveal(self, view: QTreeView, index: QModelIndex) -> None:
        parent = index.parent()
        while parent.isValid():
            view.expand(parent)
            parent = parent.parent()
        view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        view.scrollTo(index)

    def _on_selected(self, current: QModelIndex, source: QTreeView) -> None:
        self._fit_instances = True
        key: Ref | None = current.data(KEY_ROLE) if current.isValid() else None
        self._selected_key = key
        p = self.controller.latest
        if p is None:
            return
        if not self._syncing and key:
            self._syncing = True
            try:
                self._select_counterpart(p, key, source)
            finally:
                self._syncing = False
        self._show_selection(p)

    def _select_counterpart(self, p: Presentation, key: Ref, source: QTreeView) -> None:
        corr = p.view.health.correlation
        if source is self.nova_view and isinstance(key, NodeRef):
            cluster = corr.node_to_cluster.get(key)
            if cluster is not None:
                self._reveal(self.vcenter_view, self.vcenter_model.index_of(cluster))
        elif source is self.vcenter_view and isinstance(key, ClusterRef):
            node = corr.cluster_to_node.get(key)
            if node is not None:
                self._reveal(self.nova_view, self.nova_model.index_of(node))
        self._selected_key = key

    def _show_selection(self, p: Presentation, staged: _Staged | None = None) -> None:
        """The selection's instances and details; staged in a worker when shown for a presentation."""
        key = self._selected_key
        if staged is not None:
            rows, html = staged.instances.rows, staged.details
        else:
            rows, html = instance_pane_rows(p, key, self.filter_bar.row_filter), details_html(p, key)
        self.instance_model.apply(rows, staged.instances if staged is not None else None)
        self.shown_after_steps = replace(self.shown_after_steps, selected=key, instances=self.instance_model.rows)
        if self._fit_instances and rows:
            self._fit_instances = False
            QTimer.singleShot(0, self.instance_view, lambda: fit_columns([self.instance_view]))
        label = (self.nova_model.row_for(key) or self.vcenter_model.row_for(key)) if key else None
        where = f" on {label.cells[0]}" if label else " — select a compute node, cluster or ESXi host"
        self.instance_title.setText(f"Instances / VMs{where} ({len(rows)})")
        self.details.setHtml(html)

    async def aclose_actions(self) -> None:
        """Before the monitor closes: stop following, then stop the desk's operations and its workers."""
        await self.recovery.aclose()
        await self.activity.aclose()
        await self.audit.aclose()
        await self.desk.aclose()
