"""The toolbar's "Export…" menu: a tree, the instance pane, the Problems or the Timeline as CSV; copy the details.

The rows are the ones the window shows (as filtered); the CSV is built and written in the
monitor's workers, never on the GUI thread. "Copy details" (Ctrl+Shift+C) puts the details
pane's plain text on the clipboard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton, QTreeView

from hybridview.service.tasks import describe_exception, spawn
from hybridview.views.export import problems_csv, timeline_csv, tree_csv, write_text
from hybridview.views.presentation import INSTANCE_COLUMNS, NOVA_COLUMNS, VCENTER_COLUMNS

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

MESSAGE_MS = 10000
Builder = Callable[[], tuple[Callable[..., str], tuple[object, ...]]]  # on the GUI thread: what to call in a worker


class ExportActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.task: asyncio.Task[None] | None = None  # the last export, for tests
        self.last_message = ""
        w = window
        self.tables: dict[str, tuple[str, Builder]] = {
            "nova": ("Nova tree", lambda: (tree_csv, (NOVA_COLUMNS, w.nova_model.rows))),
            "vcenter": ("vCenter tree", lambda: (tree_csv, (VCENTER_COLUMNS, w.vcenter_model.rows))),
            "instances": ("Instance pane", lambda: (tree_csv, (INSTANCE_COLUMNS, w.instance_model.rows))),
            "problems": ("Problems", self._problems),
            "timeline": ("Timeline", lambda: (timeline_csv, (w.timeline.built.rows,))),
        }
        menu = QMenu("Export", window)
        self.current_action = menu.addAction("Current view as CSV…")
        self.current_action.setShortcut(QKeySequence("Ctrl+E"))
        self.current_action.triggered.connect(lambda: self.export(self.current()))
        menu.addSeparator()
        self.actions: dict[str, QAction] = {}
        for name, (title, _build) in self.tables.items():
            action = menu.addAction(f"{title} as CSV…")
            action.triggered.connect(lambda _c=False, n=name: self.export(n))
            self.actions[name] = action
        menu.addSeparator()
        self.copy_action = menu.addAction("Copy details")
        self.copy_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_action.setToolTip("Copy the details pane as plain text (Ctrl+Shift+C)")
        self.copy_action.triggered.connect(self.copy_details)
        window.addAction(self.current_action)  # the shortcuts work with the menu closed
        window.addAction(self.copy_action)
        self.button = QToolButton()
        self.button.setText("Export…")
        self.button.setToolTip("Save what a view shows as CSV (Ctrl+E: the current one); copy the details")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(menu)
        self.menu = menu
        window.toolbar.addWidget(self.button)

    def _problems(self) -> tuple[Callable[..., str], tuple[object, ...]]:
        p = self.window.problems
        rows = [p.rows[k.key] for k in p.model.rows if k.key in p.rows]  # as the table orders them
        return problems_csv, (rows, p.clock())

    def current(self) -> str:
        """The table the operator is looking at: the current tab, or on the estate tab the focused pane."""
        w = self.window
        tab = w.tabs.currentWidget()
        if tab is w.problems:
            return "problems"
        if tab is w.timeline or w.timeline.isAncestorOf(tab):
            return "timeline"
        focused: QTreeView | None = None
        for view in (w.vcenter_view, w.instance_view):
            if view.hasFocus():
                focused = view
        return {w.vcenter_view: "vcenter", w.instance_view: "instances"}.get(focused, "nova") if focused else "nova"

    def export(self, name: str) -> None:
        title, build = self.tables[name]
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        start = str(Path.home() / f"hybridview-{name}-{stamp}.csv")
        options = QFileDialog.Option(0)
        if QGuiApplication.platformName() in ("offscreen", "minimal"):
            options |= QFileDialog.Option.DontUseNativeDialog
        path, _filter = QFileDialog.getSaveFileName(
            self.window, f"Export {title} as CSV", start, "CSV files (*.csv);;All files (*)", options=options
        )
        if not path:
            return
        call, args = build()  # the rows shown now, taken on the GUI thread; the text is made in a worker
        self.task = spawn(self._write(title, Path(path), call, args), name=f"export {name}", on_error=self._failed)

    async def _write(self, title: str, path: Path, call: Callable[..., str], args: tuple[object, ...]) -> None:
        size = await self.window.controller.monitor.offload(_build_and_write, path, call, *args)
        self._say(f"✔ Exported {title} to {path} ({size} bytes)")

    def _failed(self, exc: BaseException) -> None:
        self._say(f"✖ Export failed: {describe_exception(exc)}")

    def _say(self, text: str) -> None:
        self.last_message = text
        self.window.statusBar().showMessage(text, MESSAGE_MS)

    def copy_details(self) -> None:
        text = self.window.details.toPlainText()
        QGuiApplication.clipboard().setText(text)
        self._say(f"✔ Copied the details ({len(text.splitlines())} lines)")


def _build_and_write(path: Path, call: Callable[..., str], *args: object) -> int:
    return write_text(path, call(*args))
