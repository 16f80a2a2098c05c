"""The toolbar's "Connections…" (Ctrl+,): the settings file this run reads, the dialog, and "Restart now".

The monitor cannot switch endpoints in place (the window, its views and the action desk all hold
the backends they started with), so the saved connections take effect at the next start:
"Restart now" closes the window the way quitting does, then executes the program again with the
same arguments, less ``--demo``/``--scenario`` (the operator just configured real endpoints).
Wall mode hides the action: a wall has no editing controls.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence

from hybridview.config import CONFIG_ENV, resolve_path
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import set_banner
from hybridview.ui.connection_views import confirm
from hybridview.ui.connections_dialog import ConnectionsDialog
from hybridview.ui.wall import WallMode

if TYPE_CHECKING:
    import asyncio

    from hybridview.ui.main_window import MainWindow

log = logging.getLogger(__name__)
SHORTCUT = "Ctrl+,"
Execute = Callable[[str, list[str]], object]  # os.execv


def _parser(*flags: str, values: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Parses only ``flags`` (on/off) and ``values`` (with a value) of the command line, as the CLI would."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    for flag in flags:
        parser.add_argument(flag, action="store_true")
    for option in values:
        parser.add_argument(option)
    return parser


def config_path(argv: Sequence[str]) -> tuple[Path, str]:
    """The settings file this run reads (``--config``, else ``$HYBRIDVIEW_CONFIG``, else the default), and why."""
    try:
        known, _rest = _parser(values=("--config",)).parse_known_args(list(argv))
        explicit: str | None = known.config
    except argparse.ArgumentError:
        explicit = None
    path, _named = resolve_path(explicit)
    named = "--config" if explicit else (f"${CONFIG_ENV}" if os.environ.get(CONFIG_ENV) else None)
    source = f"named by {named}" if named else "the default path"
    return path, source


def restart_arguments(argv: Sequence[str]) -> tuple[list[str], bool]:
    """The arguments to start again with, and whether the demo's were left out."""
    demo = _parser("--demo", values=("--scenario",))
    try:
        known, rest = demo.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return list(argv), False
    return rest, bool(known.demo or known.scenario)


def restart_command(argv: Sequence[str]) -> list[str]:
    """How to execute this program again: the frozen build's binary, or this Python with ``-m hybridview.cli``."""
    args, _dropped = restart_arguments(argv)
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "hybridview.cli", *args]


async def restart_program(window: MainWindow, command: list[str], execute: Execute = os.execv) -> None:
    """Quit as the window does (its operations, then the monitor and the backends; the layout saved), then exec."""
    await window.controller.aclose()
    window.close()
    log.warning("restarting: %s", " ".join(command))
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    execute(command[0], command)


class ConnectionsActions(QObject):
    """The action, the dialog it opens (one at a time), and the restart it offers after a save."""

    def __init__(self, window: MainWindow, argv: Sequence[str] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.config_path, self.path_source = config_path(self.argv)
        self.dialog: ConnectionsDialog | None = None
        self.restart_task: asyncio.Task[None] | None = None
        self.action = QAction("Connections…", window)
        self.action.setIconText(self.action.text())  # the toolbar keeps the "…": it opens a dialog
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setToolTip(f"Add, edit, test and remove the clouds and vCenters this desk watches ({SHORTCUT})")
        self.action.triggered.connect(self.open)
        window.toolbar.addAction(self.action)
        QTimer.singleShot(0, self, self._follow_wall_mode)  # the window's WallMode is made after the window

    def wall(self) -> WallMode | None:
        return self.window.findChild(WallMode)

    def _follow_wall_mode(self) -> None:
        wall = self.wall()
        if wall is not None:
            wall.action.toggled.connect(lambda on: self.action.setVisible(not on))
            self.action.setVisible(not wall.active)

    def open(self) -> ConnectionsDialog | None:
        wall = self.wall()
        if wall is not None and wall.active:
            return None
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        _args, demo = restart_arguments(self.argv)
        self.dialog = ConnectionsDialog(
            self.window.controller.monitor,
            self.config_path,
            self.path_source,
            read_only=self.window.controller.endpoints.read_only,
            restart=("Restart now without the demo" if demo else "Restart now", self.restart),
            parent=self.window,
        )
        self.dialog.finished.connect(self._closed)
        self.dialog.open()
        return self.dialog

    def _closed(self, _result: int) -> None:
        self.dialog = None  # deleted on close

    def restart(self) -> None:
        running = [op for op in self.window.desk.runner.operations if not op.done]
        if not running:
            self._restart()
            return
        parent = self.dialog or self.window
        confirm(
            parent,
            "Restart",
            f"Restart while {len(running)} operation(s) run?",
            "Quitting stops sending what is not sent yet; moves already sent are followed again after the start.",
            "Restart",
            self._restart,
        )

    def _restart(self) -> None:
        command = restart_command(self.argv)
        if self.dialog is not None:
            self.dialog.buttons["restart"].setEnabled(False)
            set_banner(self.dialog.message, "Restarting: closing this window's connections first…", "info")
        self.restart_task = spawn(restart_program(self.window, command), name="restart", on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        log.critical("could not restart: %s", describe_exception(exc))  # the window may be gone: the log says it
