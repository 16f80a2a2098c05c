"""The Audit tab: every write sent from here or the CLI, newest first, read from the audit log in workers."""

from __future__ import annotations

import asyncio
import json

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeView, QVBoxLayout, QWidget

from hybridview.actions.audit import AuditEntry, Outcome
from hybridview.actions.desk import ActionDesk
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.keyed_table import KeyedRow, KeyedTableModel
from hybridview.ui.widgets import fit_columns, tree_view

AUDIT_COLUMNS = ("Time", "User", "Endpoint", "Verb", "Target", "Outcome", "Request id", "Error")
OUTCOME_LEVELS = {Outcome.FAILED: "failed", Outcome.SENT: "blocked"}  # done: plain text


def audit_rows(entries: list[AuditEntry]) -> list[KeyedRow]:
    """Newest first; built in a worker."""
    rows = []
    for e in sorted(entries, key=lambda e: e.sent_at, reverse=True):
        tooltip = "\n".join(
            line
            for line in (
                f"{e.verb} {e.target} on {e.endpoint} by {e.user}, sent {e.sent_at.isoformat()}",
                f"finished {e.finished_at.isoformat()}" if e.finished_at else "no outcome recorded",
                f"parameters: {json.dumps(dict(e.parameters), sort_keys=True, default=str)}",
                f"result: {e.result}" if e.result else "",
                f"error: {e.error}" if e.error else "",
            )
            if line
        )
        rows.append(
            KeyedRow(
                e.id,
                (
                    e.sent_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                    e.user,
                    e.endpoint,
                    e.verb,
                    e.target,
                    e.outcome.value,
                    e.request_id or "",
                    e.error or "",
                ),
                tooltip,
                OUTCOME_LEVELS.get(e.outcome),
            )
        )
    return rows


class AuditView(QWidget):
    def __init__(self, controller: MonitorBridge, desk: ActionDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.desk = controller, desk
        self.model = KeyedTableModel(AUDIT_COLUMNS, self)
        self.view: QTreeView = tree_view(self.model, flat=True)
        self.title = QLabel(f"Audit log: {desk.audit.path}")
        self.title.setObjectName("paneTitle")
        self.message = banner("critical")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the audit log again")
        self.refresh_button.clicked.connect(self.request_refresh)
        self.reads = 0  # finished reads, for tests and the title
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._fitted = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.refresh_button)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)

    def request_refresh(self) -> None:
        """Read the log again; a request while a read runs makes one more read after it."""
        if self._task is not None:
            self._again = True
            return
        self._task = spawn(self._refresh(), name="audit tab: read the log", on_error=self._failed)

    async def _refresh(self) -> None:
        try:
            while True:
                self._again = False
                entries = await self.desk.audit_entries()  # the file is read in the runner's workers
                rows = await self.controller.monitor.offload(audit_rows, entries)
                self.model.apply(rows)
                self.reads += 1
                self.title.setText(f"Audit log: {self.desk.audit.path} ({len(rows)} entries, newest first)")
                set_banner(self.message, "", "critical")
                if rows and not self._fitted:
                    self._fitted = True
                    fit_columns([self.view])
                if not self._again:
                    return
        finally:
            self._task = None

    def _failed(self, exc: BaseException) -> None:
        set_banner(self.message, f"Could not read the audit log: {describe_exception(exc)}", "critical")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
