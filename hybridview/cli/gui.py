"""The window and ``screenshot``: Qt is imported only when one of them runs."""

from __future__ import annotations

import os
import sys

from hybridview.service.wiring import Endpoints

NO_DISPLAY = (
    "hybridview: no display found (DISPLAY/WAYLAND_DISPLAY unset): run `hybridview status`, "
    "`hybridview watch`, `hybridview screenshot OUT.png`, or set QT_QPA_PLATFORM=offscreen"
)
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def no_display() -> str | None:
    """Why the window cannot open here, before Qt aborts with a misleading plugin error; None if it can."""
    if sys.platform.startswith("linux") and not any(os.environ.get(name) for name in DISPLAY_VARIABLES):
        return NO_DISPLAY
    return None


def run_gui(endpoints: Endpoints, note: str | None, wall: bool = False, theme: str = "system") -> int:
    from hybridview.ui.app import run_gui as run

    return run(endpoints, note, wall=wall, theme=theme)


def run_screenshot(endpoints: Endpoints, out: str, size: str, wall: bool = False, theme: str = "light") -> int:
    from hybridview.ui.app import run_screenshot as run

    return run(endpoints, out, size, wall=wall, theme=theme)
