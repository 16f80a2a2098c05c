"""Remembered layout per screen: window geometry, splitters, tree column widths and sort, in QSettings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QSplitter, QTreeView

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

SETTINGS_ENV = "HYBRIDVIEW_SETTINGS"  # an INI file instead of the user's settings (tests point it at a temp dir)
ORGANIZATION = "hybridview"
APPLICATION = "hybridview"


def settings() -> QSettings:
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class LayoutMemory(QObject):
    """Saves the window's layout when it closes; restores it once the first presentation has fitted the columns."""

    def __init__(self, window: MainWindow, store: QSettings | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._store = store or settings()
        self.restored = False
        window.installEventFilter(self)
        window.presentation_shown.connect(self._after_first)
        geometry = self._value("geometry")
        self.geometry_restored = geometry is not None and window.restoreGeometry(geometry)

    def group(self) -> str:
        screen = self._window.screen()
        size = screen.size()
        name = (screen.name() or "screen").replace("/", "_")
        return f"layout/{name}-{size.width()}x{size.height()}"

    def _splitters(self) -> list[QSplitter]:
        return self._window.findChildren(QSplitter)

    def _trees(self) -> dict[str, QTreeView]:
        w = self._window
        return {"nova": w.nova_view, "vcenter": w.vcenter_view, "instances": w.instance_view}

    def _value(self, key: str) -> QByteArray | None:
        value = self._store.value(f"{self.group()}/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save(self) -> None:
        s, g = self._store, self.group()
        s.setValue(f"{g}/geometry", self._window.saveGeometry())
        for i, splitter in enumerate(self._splitters()):
            s.setValue(f"{g}/splitter{i}", splitter.saveState())
        for name, view in self._trees().items():
            s.setValue(f"{g}/header-{name}", view.header().saveState())
        s.sync()

    def restore_panes(self) -> None:
        for i, splitter in enumerate(self._splitters()):
            state = self._value(f"splitter{i}")
            if state is not None:
                splitter.restoreState(state)
        for name, view in self._trees().items():
            state = self._value(f"header-{name}")
            if state is not None:
                view.header().restoreState(state)
        self.restored = True

    def _after_first(self, _presentation: object) -> None:
        self._window.presentation_shown.disconnect(self._after_first)
        # The first presentation fits the columns one per event-loop turn: restore once that is done.
        turns = sum(view.model().columnCount() for view in self._trees().values()) + 2
        self._later(turns)

    def _later(self, turns: int) -> None:
        if turns <= 0:
            self.restore_panes()
        else:
            QTimer.singleShot(0, self, lambda: self._later(turns - 1))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._window and event.type() == QEvent.Type.Close:
            self.save()
        return False
