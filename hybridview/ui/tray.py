"""The tray icon and desktop notifications.

The icon and tooltip follow the worst problem that is neither acknowledged nor silenced (state as
icon and words, never colour alone). A notification goes to every hook in ``NOTIFY_HOOKS`` (tests
capture them there), to the notifier the tray was given if any, else to the system tray's
``showMessage`` where the desktop has a tray that shows messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from hybridview.core.health import Severity
from hybridview.ui.icons import icon


@dataclass(frozen=True, slots=True)
class Notification:
    title: str
    text: str
    severity: Severity | None  # None: a problem cleared
    kind: str  # the alert event's kind: raised, escalated, cleared, flapping
    key: str  # the problem's id


Notifier = Callable[[Notification], None]
NOTIFY_HOOKS: list[Notifier] = []
MESSAGE_MS = 15000
_ICON = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.STALE: "stale"}
_MESSAGE_ICON = {
    Severity.CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
    Severity.WARNING: QSystemTrayIcon.MessageIcon.Warning,
}


class Tray:
    def __init__(self, window: QWidget, notifier: Notifier | None = None) -> None:
        self.window = window
        self.notifier = notifier
        self.sent: list[Notification] = []
        self.icon = QSystemTrayIcon(window)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.worst: Severity | None = None
        self.follow(None, "")
        self.icon.activated.connect(lambda _reason: self._raise_window())
        self.icon.messageClicked.connect(self._raise_window)
        if self.available:
            self.icon.show()

    def follow(self, worst: Severity | None, summary: str) -> None:
        """Show the worst unacknowledged, unsilenced problem (None: nothing needs attention)."""
        self.worst = worst
        self.icon.setIcon(icon(_ICON.get(worst, "ok") if worst is not None else "ok"))
        head = f"{worst.name}" if worst is not None else "OK: nothing needs attention"
        self.icon.setToolTip(f"hybridview · {head}" + (f"\n{summary}" if summary else ""))

    def tooltip(self) -> str:
        return self.icon.toolTip()

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)
        for hook in list(NOTIFY_HOOKS):
            hook(notification)
        if self.notifier is not None:
            self.notifier(notification)
        elif self.available and QSystemTrayIcon.supportsMessages():
            kind = _MESSAGE_ICON.get(notification.severity, QSystemTrayIcon.MessageIcon.Information)  # type: ignore[arg-type]
            self.icon.showMessage(notification.title, notification.text, kind, MESSAGE_MS)

    def hide(self) -> None:
        self.icon.hide()

    def _raise_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
