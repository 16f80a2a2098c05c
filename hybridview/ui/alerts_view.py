"""Alerts on the Problems tab: the state machine fed each problems table, acknowledgements and
silences asked for in small dialogs, the tray and its notifications, and the alert history dialog.

The machine runs on the GUI thread (a dict step per problem, no I/O); the store's writes go to a
worker thread, one at a time, newest state last.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hybridview.core.alerting import AlertEvent, AlertMachine, EventKind, Observed, Policy
from hybridview.core.health import Severity
from hybridview.core.problems import ProblemId
from hybridview.service.alert_store import AlertStore
from hybridview.service.tasks import spawn
from hybridview.ui.tray import Notification, Notifier, Tray
from hybridview.ui.widgets import tree_view
from hybridview.views.problems_rows import PROBLEM_COLUMNS, ProblemRow

TICK_MS = 5000
ITEM, WHAT = PROBLEM_COLUMNS.index("Item"), PROBLEM_COLUMNS.index("What")
ACK_DURATIONS = (("8 hours", timedelta(hours=8)), ("1 day", timedelta(days=1)), ("1 week", timedelta(weeks=1)))
SILENCE_DURATIONS = (
    ("1 hour", timedelta(hours=1)),
    ("15 minutes", timedelta(minutes=15)),
    ("4 hours", timedelta(hours=4)),
    ("1 day", timedelta(days=1)),
)
HISTORY_COLUMNS = ("When", "Event", "Severity", "Problem", "Who", "Comment", "Until", "Notified")
HISTORY_WIDTHS = (150, 80, 150, 380, 80, 200, 130, 120)
_VERB = {EventKind.RAISED: "New", EventKind.ESCALATED: "Worse", EventKind.CLEARED: "Cleared",
         EventKind.FLAPPING: "Flapping"}  # fmt: skip


def key_text(key: Hashable) -> str:
    """A problem id as the store keeps it: "node node:cloud/host", "action … evacuate"."""
    kind, ref, detail = cast(ProblemId, key)
    return " ".join(part for part in (str(kind), ref.text(), detail) if part)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"


class AlertDesk(QObject):
    """The alerting of one window: owned by its Problems view."""

    changed = Signal()  # an acknowledgement, silence or flapping mark changed: rows to mark again

    def __init__(
        self,
        window: QWidget,
        clock: Callable[[], datetime],
        policy: Policy | None = None,
        store: AlertStore | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__(window)
        self.clock = clock
        self.store = store or AlertStore()
        standing, self.history = self.store.load()
        self.machine = AlertMachine(policy, standing.acks, standing.silences, standing.shown)
        self.tray = Tray(window, notifier)
        self.dialog: NoteDialog | None = None
        self.history_dialog: AlertHistoryDialog | None = None
        self._unsaved: list[AlertEvent] = []
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self._apply(self.machine.tick(self.clock())))
        self._timer.start()

    # -- steps ---------------------------------------------------------------------------------

    def observe(self, rows: Sequence[ProblemRow]) -> None:
        """A new problems table: notices (an operator's own doing) and OK rows never alert."""
        seen = [
            Observed(key_text(r.key), r.item.text(), r.severity, f"{r.cells[ITEM]}: {r.cells[WHAT]}")
            for r in rows
            if not r.notice and r.severity >= Severity.WARNING
        ]
        self._apply(self.machine.observe(seen, self.clock()), always=True)

    def _apply(self, events: list[AlertEvent], always: bool = False) -> None:
        for event in events:
            if event.notify:
                verb = _VERB.get(event.kind, event.kind.value)
                word = event.severity.name if event.severity is not None else "OK"
                self.tray.notify(Notification(f"hybridview: {verb} · {word}", event.title, event.severity,
                                              event.kind.value, event.key))  # fmt: skip
        if events:
            self._record(events)
            self.changed.emit()
        if events or always:
            self._follow()

    def _follow(self) -> None:
        waiting = sorted(self.machine.attention(), key=lambda a: -a[1])
        worst = waiting[0][1] if waiting else None
        summary = "\n".join(f"{s.name}: {title}" for _k, s, title in waiting[:5])
        more = f"\n+{len(waiting) - 5} more" if len(waiting) > 5 else ""
        self.tray.follow(worst, summary + more)

    def _record(self, events: list[AlertEvent]) -> None:
        self.history.extend(events)
        self._unsaved.extend(events)
        self._dirty = True
        if self.history_dialog is not None:
            self.history_dialog.add(events)
        if self._writer is None:
            self._writer = spawn(self._write(), name="alerts: save")

    async def _write(self) -> None:
        try:
            while self._dirty:
                self._dirty = False
                events, self._unsaved = self._unsaved, []
                acks, silences = tuple(self.machine.acks.values()), tuple(self.machine.silences.values())
                shown = self.machine.shown()
                await asyncio.to_thread(self.store.append, events)
                await asyncio.to_thread(self.store.save, acks, silences, shown)
        finally:
            self._writer = None

    async def flush(self) -> None:
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def aclose(self) -> None:
        self._timer.stop()
        await self.flush()
        self.tray.hide()

    # -- operator actions ----------------------------------------------------------------------

    def acknowledge(self, row: ProblemRow, who: str, comment: str, duration: timedelta) -> None:
        event = self.machine.acknowledge(key_text(row.key), who, comment, self.clock(), duration)
        self._apply([event] if event else [], always=True)

    def silence(self, row: ProblemRow, who: str, comment: str, duration: timedelta) -> None:
        event = self.machine.silence(row.item.text(), who, comment, self.clock(), duration, row.cells[ITEM])
        self._apply([event], always=True)

    def acknowledged(self, row: ProblemRow) -> bool:
        return self.machine.ack_of(key_text(row.key)) is not None

    def silenced(self, row: ProblemRow) -> bool:
        return self.machine.silence_of(row.item.text()) is not None

    def unacknowledge(self, row: ProblemRow, who: str | None = None) -> None:
        """Lift the row's acknowledgement now, in the history as ``who`` (the desktop's user)."""
        event = self.machine.unacknowledge(key_text(row.key), who or os_user(), self.clock())
        self._apply([event] if event else [], always=True)

    def lift_silence(self, row: ProblemRow, who: str | None = None) -> None:
        """Lift the silence of the row's item now: its problems notify again."""
        event = self.machine.unsilence(row.item.text(), who or os_user(), self.clock(), row.cells[ITEM])
        self._apply([event] if event else [], always=True)

    def ask(self, parent: QWidget, row: ProblemRow, silence: bool) -> NoteDialog:
        """The dialog for an acknowledgement or a silence of ``row``; not modal to the event loop."""
        dialog = self.dialog = NoteDialog(parent, row, silence)

        def done() -> None:
            who, comment, duration = dialog.values()
            (self.silence if silence else self.acknowledge)(row, who, comment, duration)

        dialog.accepted.connect(done)
        dialog.open()
        return dialog

    def show_history(self, parent: QWidget) -> AlertHistoryDialog:
        if self.history_dialog is None:
            self.history_dialog = AlertHistoryDialog(parent, self.history)
        if self.history_dialog.isVisible():
            self.history_dialog.raise_()
        else:
            self.history_dialog.show()
        return self.history_dialog

    # -- marks ---------------------------------------------------------------------------------

    def marks(self, key: ProblemId, item_text: str, short: bool = False) -> str:
        """Acknowledged by whom, when, why; silenced until; flapping. ``short``: for the row's cell."""
        parts = []
        ack = self.machine.ack_of(key_text(key))
        silence = self.machine.silence_of(item_text)
        if short:
            parts += [f"✓ ACK {ack.who}"] if ack else []
            parts += [f"⊘ SILENCED →{silence.until:%H:%M}"] if silence else []
        elif ack is not None:
            note = f" “{ack.comment}”" if ack.comment else ""
            parts.append(f"✓ ACK by {ack.who} {ack.at:%H:%M}{note}")
        if silence is not None and not short:
            parts.append(f"⊘ SILENCED by {silence.who} until {silence.until:%Y-%m-%d %H:%M}")
        if self.machine.is_flapping(key_text(key)):
            parts.append("⇅ FLAPPING")
        return " · ".join(parts)

    def marked(self, rows: Sequence[ProblemRow]) -> list[ProblemRow]:
        """The rows with their marks in the "What" cell and the tooltip."""
        out = []
        for row in rows:
            mark = self.marks(row.key, row.item.text())  # type: ignore[arg-type]
            if mark:
                short = self.marks(row.key, row.item.text(), short=True)  # type: ignore[arg-type]
                cells = (*row.cells[:WHAT], f"[{short}] {row.cells[WHAT]}", *row.cells[WHAT + 1 :])
                row = replace(row, cells=cells, tooltip=f"{mark}\n{row.tooltip}")
            out.append(row)
        return out


class NoteDialog(QDialog):
    """Who, a comment and for how long: an acknowledgement or a silence."""

    def __init__(self, parent: QWidget, row: ProblemRow, silence: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle(("Silence " if silence else "Acknowledge ") + row.cells[ITEM])
        self.who = QLineEdit(os_user())
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("why, ticket, who is on it")
        self.duration = QComboBox()
        for label, delta in SILENCE_DURATIONS if silence else ACK_DURATIONS:
            self.duration.addItem(label, delta)
        form = QFormLayout()
        form.addRow("Problem", QLineEdit(f"{row.cells[0]} {row.cells[ITEM]}: {row.cells[WHAT]}", readOnly=True))
        form.addRow("Who", self.who)
        form.addRow("Comment", self.comment)
        form.addRow("Silence for" if silence else "Expires after", self.duration)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> tuple[str, str, timedelta]:
        delta = self.duration.currentData()
        return self.who.text().strip() or os_user(), self.comment.text().strip(), delta


class AlertHistoryDialog(QDialog):
    """Every alert event kept, newest first; rows are inserted, never reset."""

    def __init__(self, parent: QWidget, events: Sequence[AlertEvent]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alert history")
        self.resize(1100, 500)
        self.model = QStandardItemModel(0, len(HISTORY_COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(HISTORY_COLUMNS))
        self.view = tree_view(self.model, flat=True)
        for column, width in enumerate(HISTORY_WIDTHS):
            self.view.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        self.add(events)

    def add(self, events: Sequence[AlertEvent]) -> None:
        for event in events:
            self.model.insertRow(0, [QStandardItem(text) for text in history_cells(event)])


def history_cells(e: AlertEvent) -> tuple[str, ...]:
    severity = e.severity.name if e.severity is not None else ("OK" if e.kind is EventKind.CLEARED else "—")
    if e.previous is not None:
        severity = f"{e.previous.name} → {severity}"
    notified = "yes" if e.notify else ("no (silenced)" if e.silenced else "no (acknowledged)" if e.acked else "no")
    until = f"{e.until:%Y-%m-%d %H:%M}" if e.until else ""
    return (f"{e.at:%Y-%m-%d %H:%M:%S}", e.kind.value, severity, e.title or e.key, e.who, e.comment, until, notified)
