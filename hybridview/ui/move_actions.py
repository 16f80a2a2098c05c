"""The window's move writes: "Move…" and "Drain host…" on the selection (toolbar and context menus),
the Activity tab's controls, and their dialogs.

The dialogs are kept with the Recovery view's (one per item and kind: asking again shows the open
or still running one, and the window's close abandons them all). Every control goes through a small
plan dialog that says what will be sent and sends it once.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QTreeView, QWidget

from hybridview.actions.desk import ActionDesk
from hybridview.core.actions import Plan, Step
from hybridview.core.identity import HostRef, InstanceRef, NodeRef, VmRef
from hybridview.core.view import EstateView
from hybridview.ui.action_dialog import ActionDialog, Prepared
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.drain_dialog import DrainDialog
from hybridview.ui.move_dialog import MoveDialog
from hybridview.ui.tree_model import KEY_ROLE
from hybridview.views.activity_rows import MOVE_ITEM_COLUMNS, Control, ControlTarget, move_item_cells

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

CONTROL_SUBMIT = {
    Control.ABORT: "Abort",
    Control.FORCE_COMPLETE: "Force-complete",
    Control.CONFIRM: "Confirm",
    Control.REVERT: "Revert",
    Control.CANCEL_TASK: "Cancel task",
}


def plan_control(desk: ActionDesk, control: Control, target: ControlTarget, view: EstateView) -> Plan:
    instance = InstanceRef(target.endpoint, target.target)
    if control in (Control.ABORT, Control.FORCE_COMPLETE):
        return desk.live_migration_control(view, instance, abort=control is Control.ABORT)
    if control in (Control.CONFIRM, Control.REVERT):
        return desk.resize_decision(view, instance, confirm=control is Control.CONFIRM)
    return desk.task_cancel(view, target.endpoint, target.target)


def prepare_control(
    desk: ActionDesk, control: Control, target: ControlTarget, view: EstateView, _choice: object
) -> Prepared:
    return Prepared(plan_control(desk, control, target, view), control, None)


class ControlDialog(ActionDialog):
    """Abort, force-complete, confirm, revert or cancel one running move: what is sent, then sent once."""

    item_columns = (*MOVE_ITEM_COLUMNS,)
    column_widths = (200, 200, 160, 260)

    def __init__(
        self,
        desk: ActionDesk,
        controller: MonitorBridge,
        control: Control,
        target: ControlTarget,
        parent: QWidget | None = None,
    ) -> None:
        planner = partial(prepare_control, desk, control, target)
        super().__init__(desk, controller, target.endpoint, target.label, planner, parent)
        self.submit.setText(CONTROL_SUBMIT[control])
        self.setWindowTitle(f"{CONTROL_SUBMIT[control]}: {target.label}")
        self.resize(1100, 420)
        self.options.setRowVisible(self.concurrency, False)
        self.replan()

    def choice(self) -> object:
        return None

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return move_item_cells(step)


class MoveActions:
    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self._desk, self._controller = window.desk, window.controller
        self._keeper = window.recovery.writes  # one registry of dialogs for the window
        self.menu: QMenu | None = None
        self.move_action = QAction("Move…", window)
        self.move_action.setToolTip("Move the selected instance or VM: every way there is, and why not the others")
        self.move_action.triggered.connect(self.move_selected)
        self.drain_action = QAction("Drain host…", window)
        self.drain_action.setToolTip("Empty the selected Nova compute host or ESXi host for maintenance, or undo it")
        self.drain_action.triggered.connect(self.drain_selected)
        writable = not self._desk.read_only
        window.toolbar.addSeparator().setVisible(writable)
        for action in (self.move_action, self.drain_action):
            action.setVisible(writable)
            window.toolbar.addAction(action)
        for view, action in (
            (window.instance_view, self.move_action),
            (window.nova_view, self.drain_action),
            (window.vcenter_view, self.drain_action),
        ):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(partial(self._context_menu, view, action))
            view.selectionModel().currentRowChanged.connect(lambda *_a: self.update())
        window.presentation_shown.connect(lambda _p: self.update())
        window.activity.control_requested.connect(self.open_control)
        self.update()

    # -- the selection ---------------------------------------------------------------------------

    def selected_subject(self) -> InstanceRef | VmRef | None:
        index = self._window.instance_view.currentIndex()
        key = index.data(KEY_ROLE) if index.isValid() else None
        return key if isinstance(key, InstanceRef | VmRef) else None

    def selected_host(self) -> NodeRef | HostRef | None:
        key = self._window.selected_key
        return key if isinstance(key, NodeRef | HostRef) else None

    def update(self) -> None:
        writable = not self._desk.read_only
        self.move_action.setEnabled(writable and self.selected_subject() is not None)
        self.drain_action.setEnabled(writable and self.selected_host() is not None)

    def _context_menu(self, view: QTreeView, action: QAction, position: QPoint) -> None:
        self.update()
        if not action.isVisible() or not action.isEnabled():
            return
        menu = QMenu(view)
        menu.addAction(action)
        self.menu = menu
        menu.popup(view.viewport().mapToGlobal(position))  # no nested event loop

    # -- opening ------------------------------------------------------------------------------------

    def move_selected(self) -> ActionDialog | None:
        subject = self.selected_subject()
        if subject is None:
            return None
        row = self._window.instance_model.row_for(subject)
        return self.open_move(subject, row.cells[0] if row is not None else subject.local)

    def drain_selected(self) -> ActionDialog | None:
        key, latest = self.selected_host(), self._controller.latest
        if key is None or latest is None:
            return None
        if isinstance(key, NodeRef):
            node = latest.nodes.get(key)
            host = node.host if node is not None else key.hypervisor_hostname
            return self.open_drain(key.cloud, host, host, esxi=False)
        found = latest.hosts.get(key)
        return self.open_drain(key.vcenter, key.moref, found[1].name if found else key.moref, esxi=True)

    def open_move(self, subject: InstanceRef | VmRef, name: str) -> ActionDialog:
        return self._keeper.open_dialog(
            ("move", subject.scope, subject.local, ()),
            lambda: MoveDialog(self._desk, self._controller, subject, name, self._window),
        )

    def open_drain(self, endpoint: str, host: str, name: str, *, esxi: bool) -> ActionDialog:
        def make() -> ActionDialog:
            dialog = DrainDialog(self._desk, self._controller, endpoint, host, name, esxi=esxi, parent=self._window)
            dialog.per_host_requested.connect(lambda vc, moref, label: self.open_drain(vc, moref, label, esxi=True))
            return dialog

        return self._keeper.open_dialog(("drain", endpoint, host, ()), make)

    def open_control(self, control: Control, target: ControlTarget) -> ActionDialog:
        return self._keeper.open_dialog(
            (f"control {control.value}", target.endpoint, target.target, ()),
            lambda: ControlDialog(self._desk, self._controller, control, target, self._window),
        )
