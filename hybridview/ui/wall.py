"""Wall mode: full screen, dark, large type, read-only, problems first, and a loud DATA STALE banner.

The larger type needs wider columns: entering widens every table's columns whose title no longer fits
(empty tables too), leaving puts back the widths they had.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QTreeView
from shiboken6 import isValid

from hybridview.ui.theme import Theme, themes
from hybridview.views.presentation import Presentation

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow

STALE_AFTER_INTERVALS = 3  # no publication for this many refresh intervals: the data is stale
CHECK_MS = 1000
WALL_ICON_PX = 26  # the state icons beside the words in the tables, to match the wall's type


def _wall_sheet() -> str:
    return (resources.files("hybridview.resources") / "wall.qss").read_text(encoding="utf-8")


class WallMode(QObject):
    """The toolbar's Wall toggle, and the DATA STALE banner (refreshes stopped, or an endpoint not answering).

    A child of the window (find it with ``wall_mode(window)``), so the window's module stays small.
    """

    def __init__(self, window: MainWindow, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window)
        self._window = window
        self.clock = clock
        self.active = False
        self.last_published = clock()
        self._last_wall_clock: datetime | None = None
        self._not_ok: list[str] = []
        self._not_yet: list[str] = []  # no first answer yet: nothing shown for them is data
        self._before: tuple[bool, Theme] | None = None
        self._hidden: list[QPushButton] = []  # the Problems tab's buttons: acknowledging and silencing are edits
        self._icon_sizes: list[tuple[QAbstractItemView, QSize]] = []
        self._widths: list[tuple[QHeaderView, list[int]]] = []  # each table's columns before the wall's type
        self.banner = QLabel()
        self.banner.setObjectName("wallStale")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        self.banner.hide()
        central = window.centralWidget()
        layout = central.layout() if central is not None else None
        assert isinstance(layout, QBoxLayout)
        layout.insertWidget(0, self.banner)
        self.action = QAction("Wall", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("F11"))
        self.action.setToolTip("Wall mode: full screen, dark, large type, read-only (F11)")
        self.action.toggled.connect(lambda on: self.enter() if on else self.leave())
        window.toolbar.insertAction(window.about_action, self.action)  # About stays last
        window.presentation_shown.connect(self._on_presentation)
        self._timer = QTimer(window)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check_stale)
        self._timer.start()

    # -- the mode --------------------------------------------------------------------------------

    def enter(self, *, full_screen: bool = True) -> None:
        if self.active:
            return
        w = self._window
        self.active = True
        desk = w.desk
        self._before = (desk.read_only, themes().choice)
        headers = [h for v in w.findChildren(QAbstractItemView) if (h := _header(v)) is not None]
        self._widths = [(h, [h.sectionSize(c) for c in range(h.count())]) for h in headers]  # before the wall's type
        self._set_read_only(True)
        themes().apply(Theme.DARK)
        w.setStyleSheet(_wall_sheet())  # the Problems tab's sizes too: its headline the largest text
        self._icon_sizes = [(v, v.iconSize()) for v in w.findChildren(QAbstractItemView)]
        for view, _size in self._icon_sizes:
            view.setIconSize(QSize(WALL_ICON_PX, WALL_ICON_PX))
        for header, _widths in self._widths:
            fit_header(header)
        w.tabs.setCurrentWidget(w.problems)
        for action in self.editing_actions():
            action.setVisible(False)
        self._hidden = [b for b in w.problems.findChildren(QPushButton) if b.isVisibleTo(w.problems)]
        for button in self._hidden:
            button.setVisible(False)
        self.action.setChecked(True)
        if full_screen:
            w.showFullScreen()
        self.check_stale()

    def leave(self) -> None:
        if not self.active or self._before is None:
            return
        w = self._window
        self.active = False
        read_only, theme = self._before
        self._set_read_only(read_only)
        themes().apply(theme)
        w.setStyleSheet("")
        for view, size in self._icon_sizes:
            if isValid(view):  # a write dialog closed on the wall has taken its views with it
                view.setIconSize(size)
        for header, widths in self._widths:  # as they were for the usual type
            for column, width in enumerate(widths[: header.count()] if isValid(header) else []):
                header.resizeSection(column, width)
        for action in self.editing_actions():
            action.setVisible(True)
        for button in self._hidden:
            button.setVisible(True)
        self.action.setChecked(False)
        if w.isFullScreen():
            w.showNormal()
        self.check_stale()

    def _set_read_only(self, read_only: bool) -> None:
        """The desk's read-only switch: its runner refuses writes; the write controls follow it."""
        w = self._window
        w.desk.read_only = w.desk.runner.read_only = read_only
        visible = not read_only
        for action in (w.moves.move_action, w.moves.drain_action):
            action.setVisible(visible)
        w.moves.update()
        r = w.recovery
        for button in (
            r.evacuate_host_button,
            r.evacuate_selected_button,
            r.restart_button,
            r.clear_button,
            *w.activity.buttons.values(),
        ):
            button.setVisible(visible)

    def editing_actions(self) -> list[QAction]:
        """The toolbar actions holding controls that change what the window does: the refresh interval."""
        bar, widgets = self._window.toolbar, (self._window.interval, self._window.auto_refresh)
        return [a for a in bar.actions() if bar.widgetForAction(a) in widgets]

    # -- DATA STALE --------------------------------------------------------------------------------

    def _on_presentation(self, p: Presentation) -> None:
        self.last_published = self.clock()
        self._last_wall_clock = datetime.now().astimezone()
        endpoints = p.view.estate.endpoints
        self._not_ok = [e.name for e in endpoints if not e.ok and e.last_attempt is not None]
        self._not_yet = [e.name for e in endpoints if not e.ok and e.last_attempt is None]
        self.check_stale()

    def stale_reason(self) -> str | None:
        """Why the data on screen may be old, or None while it is fresh."""
        interval = float(self._window.interval.value())
        age = self.clock() - self.last_published
        if age > STALE_AFTER_INTERVALS * interval:
            since = self._last_wall_clock.strftime("%H:%M:%S") if self._last_wall_clock else "never"
            return f"no refresh for {age:.0f} s (last {since})"
        if self._not_ok:
            return f"not answering: {', '.join(self._not_ok)}"
        if self._not_yet:
            return f"no first answer yet from {', '.join(self._not_yet)}"
        return None

    def check_stale(self) -> None:
        reason = self.stale_reason()
        # Outside wall mode the alert strip and the status bar already name endpoints that do not answer.
        show = reason is not None and (self.active or reason.startswith("no refresh"))
        if show:
            self.banner.setText(f"⚠ DATA STALE — {reason}. What is shown may no longer be true.")
        self.banner.setVisible(show)

    def is_stale(self) -> bool:
        return self.banner.isVisibleTo(self._window) and self.banner.text().startswith("⚠ DATA STALE")


def _header(view: QAbstractItemView) -> QHeaderView | None:
    if isinstance(view, QTreeView):
        return view.header()
    return view.horizontalHeader() if isinstance(view, QTableView) else None


def fit_header(header: QHeaderView) -> None:
    """Widen each column whose title no longer fits (the wall's larger type), so no title is cut."""
    header.ensurePolished()
    for column in range(header.count()):
        hint = header.sectionSizeHint(column)
        if not header.isSectionHidden(column) and header.sectionSize(column) < hint:
            header.resizeSection(column, hint)


def wall_mode(window: QObject) -> WallMode:
    found = window.findChild(WallMode)
    assert isinstance(found, WallMode)
    return found
