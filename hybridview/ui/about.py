"""The About box, and the version lines that ``hybridview --version`` prints.

Only QtCore is imported at the top: ``--version`` runs with no display and no platform plugin.
The widgets are imported when the box is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import PySide6
from PySide6.QtCore import qVersion

from hybridview.version import version_lines

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMainWindow, QMessageBox, QToolBar, QWidget

TITLE = "About hybridview"
SUMMARY = "One window over hybrid VMware vSphere + OpenStack Nova clouds."
ICON_SIZE = 64


def about_lines() -> list[str]:
    return version_lines(qt_runtime=qVersion(), pyside=PySide6.__version__)


def about_box(parent: QWidget) -> QMessageBox:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from hybridview.ui.icons import icon

    box = QMessageBox(parent)
    box.setWindowTitle(TITLE)
    box.setIconPixmap(icon("hybridview").pixmap(ICON_SIZE, ICON_SIZE))
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText("\n".join(about_lines()))
    box.setInformativeText(SUMMARY)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to paste into a bug report
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


def add_about_action(window: QMainWindow, bar: QToolBar) -> QAction:
    """An "About" action at the end of the toolbar (and on F1) that opens the box, window-modal."""
    from PySide6.QtGui import QAction, QKeySequence

    action = QAction("About", window)
    action.setToolTip("About hybridview: its version and Qt's, openstacksdk's, pyVmomi's and Python's (F1)")
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    action.triggered.connect(lambda: about_box(window).open())
    bar.addSeparator()
    bar.addAction(action)
    return action
