"""Starting the Qt application under qasync, for the window and for screenshots."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from PySide6.QtCore import QSize, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from hybridview.actions.desk import ActionDesk
from hybridview.actions.executors import Tracking
from hybridview.config import audit_log_path
from hybridview.service.monitor import EstateMonitor
from hybridview.service.tasks import install_exception_hooks
from hybridview.ui.bridge import MonitorBridge
from hybridview.ui.icons import style_sheet
from hybridview.ui.layout_memory import LayoutMemory
from hybridview.ui.main_window import MainWindow
from hybridview.ui.theme import Theme, themes
from hybridview.ui.wall import WallMode, wall_mode
from hybridview.service.wiring import Endpoints

log = logging.getLogger("hybridview.qt")
GUI_SWITCH_INTERVAL_SECONDS = 0.0005
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, _context: object, message: str) -> None:
    log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    qInstallMessageHandler(_qt_message)
    # Hand the GIL back to the GUI thread within 0.5 ms (default 5 ms) while workers parse and stage:
    # each of its Python steps beside a busy worker waits up to this long (1 ms: worst stalls of 60-80 ms).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_SECONDS)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("hybridview")
    app.setDesktopFileName("io.github.hybridview.HybridView")  # the Wayland app id: the menu entry's name
    app.setStyleSheet(style_sheet())
    return app


DEMO_TRACKING = Tracking(poll_seconds=0.5)  # the demo answers at once: follow its writes closely


def build_window(
    endpoints: Endpoints, note: str | None = None, *, tracking: Tracking | None = None
) -> tuple[MainWindow, MonitorBridge]:
    """The window over a monitor, and one action desk for every write it sends; with its Wall toggle.

    Closing the bridge (``aclose``) first stops the window's operations, then the monitor.
    """
    bridge = MonitorBridge(EstateMonitor(endpoints))
    if tracking is None and endpoints.demo is not None:
        tracking = DEMO_TRACKING
    desk = ActionDesk(endpoints, audit_log_path(), tracking=tracking)
    window = MainWindow(bridge, desk, note)
    WallMode(window)  # a child of the window: wall_mode(window) finds it
    bridge.close_first(window.aclose_actions)
    return window, bridge


def run_gui(endpoints: Endpoints, note: str | None, *, wall: bool = False, theme: str = Theme.SYSTEM.value) -> int:
    import qasync

    app = application()
    themes(app).apply(theme)
    app.setQuitOnLastWindowClosed(False)  # the loop must outlive the window to close the backends

    async def main() -> None:
        install_exception_hooks(asyncio.get_running_loop())
        window, controller = build_window(endpoints, note)
        if not LayoutMemory(window).geometry_restored:
            window.resize(1600, 1000)
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        window.show()
        if wall:
            wall_mode(window).enter(full_screen=True)
        if note:
            window.statusBar().showMessage(note, 15000)
        controller.start()
        await closed.wait()
        await controller.aclose()

    qasync.run(main())
    return 0


def parse_size(text: str) -> QSize:
    width, _, height = text.lower().partition("x")
    try:
        size = QSize(int(width), int(height))
    except ValueError as exc:
        raise SystemExit(f"hybridview: --size must look like 1600x1000, not {text!r}") from exc
    if size.width() < 200 or size.height() < 150:
        raise SystemExit("hybridview: --size is too small (at least 200x150)")
    return size


def run_screenshot(
    endpoints: Endpoints, out: str, size_text: str, *, wall: bool = False, theme: str = Theme.LIGHT.value
) -> int:
    import qasync

    size = parse_size(size_text)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    themes(app).apply(theme)
    result: list[int] = []

    async def main() -> None:
        install_exception_hooks(asyncio.get_running_loop())
        window, controller = build_window(endpoints)
        window.resize(size)
        window.show()
        if wall:  # the given size, not the screen's
            wall_mode(window).enter(full_screen=False)
        ready = asyncio.Event()
        window.presentation_shown.connect(lambda p: ready.set() if p.view.estate.every_endpoint_answered else None)
        controller.start()
        try:
            await asyncio.wait_for(ready.wait(), 120)
            await asyncio.sleep(0.2)
            app.processEvents()
            ok = window.grab().save(out)
            result.append(0 if ok else 3)
            if not ok:
                print(f"hybridview: could not write {out}", file=sys.stderr)
        finally:
            await controller.aclose()
            window.close()

    qasync.run(main())
    return result[0] if result else 3
