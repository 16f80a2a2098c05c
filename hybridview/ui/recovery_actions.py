"""The Recovery view's writes: its dialogs, kept alive while they run, and the forced-down confirmation.

One dialog per host and kind: asking again for a host whose dialog is open or still running
shows that dialog, so a second click never plans a second run beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from hybridview.actions.claims import AlreadyRunning
from hybridview.actions.desk import ActionDesk
from hybridview.actions.runner import ActionRefused
from hybridview.core.actions import Plan
from hybridview.core.compute_service import ReturningHost, ServiceChange
from hybridview.ui.action_dialog import ActionDialog
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.evacuation_dialog import EvacuationDialog
from hybridview.ui.restart_dialog import RestartDialog

if TYPE_CHECKING:
    from hybridview.ui.recovery_view import RecoveryView

DialogKey = tuple[str, str, str, tuple[str, ...]]  # kind, endpoint, host, instance ids


class RecoveryActions:
    def __init__(self, view: RecoveryView, controller: MonitorBridge, desk: ActionDesk) -> None:
        self._view, self._controller, self._desk = view, controller, desk
        self.dialogs: dict[DialogKey, ActionDialog] = {}
        self.confirmation: QMessageBox | None = None

    def open_evacuation(self, cloud: str, host: str, instance_ids: tuple[str, ...] = ()) -> ActionDialog:
        return self.open_dialog(
            ("evacuate", cloud, host, instance_ids),
            lambda: EvacuationDialog(self._desk, self._controller, cloud, host, instance_ids, self._view.window()),
        )

    def open_restarts(self, vcenter: str, host: str) -> ActionDialog:
        return self.open_dialog(
            ("restart", vcenter, host, ()),
            lambda: RestartDialog(self._desk, self._controller, vcenter, host, self._view.window()),
        )

    def open_dialog(self, key: DialogKey, make: Callable[[], ActionDialog]) -> ActionDialog:
        dialog = self.dialogs.get(key)
        shown = dialog is not None and dialog.isVisible()
        if dialog is None or not (dialog.isVisible() or dialog.running):
            if dialog is not None:
                self._drop(key, dialog)
            dialog = make()
            self.dialogs[key] = dialog
            dialog.finished.connect(lambda _result: self._closed(key, dialog))
            dialog.operation_finished.connect(lambda _op: None if dialog.isVisible() else self._closed(key, dialog))
        dialog.show()
        if shown and QGuiApplication.platformName() != "offscreen":  # the offscreen plugin cannot raise
            dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _closed(self, key: DialogKey, dialog: ActionDialog) -> None:
        """A closed dialog goes once nothing runs in it; closing never stops its operation."""
        if not dialog.running and self.dialogs.get(key) is dialog:
            self._drop(key, dialog)

    def _drop(self, key: DialogKey, dialog: ActionDialog) -> None:
        if self.dialogs.get(key) is dialog:
            del self.dialogs[key]
        dialog.abandon()
        dialog.deleteLater()

    def clear_forced_down(self, back: ReturningHost) -> None:
        latest = self._controller.latest
        if latest is None:
            return
        change = ServiceChange(back.cloud, back.host, enable=True if back.disabled else None, forced_down=False)
        plan = self._desk.service_change(latest.view, change)
        if plan.refused or not plan.sendable:
            self._view.say(f"Nothing to send for {back.host}: {plan.refused or 'it is already so'}", "warning")
            return
        box = QMessageBox(self._view.window())
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(plan.title)
        box.setText(f"{plan.title}: is {back.host} repaired?")
        lines = [f"• {s.summary}" for s in plan.sendable]
        lines += [f"• NOT sent: {s.summary}: {s.blocked_reason}" for s in plan.blocked]
        box.setInformativeText("\n".join([*lines, *plan.notes, back.advice]))
        label = "Clear forced-down" + (" and enable" if back.disabled else "")
        yes = box.addButton(label, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._confirmed(box, yes, plan))
        self.confirmation = box
        box.open()  # window-modal, no nested event loop

    def _confirmed(self, box: QMessageBox, yes: QAbstractButton, plan: Plan) -> None:
        self.confirmation = None
        chosen = box.clickedButton()
        box.deleteLater()
        if chosen is not yes:
            return
        try:
            operation = self._desk.runner.submit(plan)  # clearing forced-down needs no fencing
        except (ActionRefused, AlreadyRunning) as exc:
            self._view.say(f"Not sent: {exc}", "critical")
            return
        self._view.say(f"Sent: {plan.title} (operation {operation.number}); see the Hosts back table.", "info")

    def abandon(self) -> list[asyncio.Task[None]]:
        """The window closes: every dialog stops planning; the tasks cancelled."""
        return [task for dialog in self.dialogs.values() for task in dialog.abandon()]
