"""The window and ``screenshot``: Qt is imported only when one of them runs."""

from __future__ import annotations

from hybridview.service.wiring import Endpoints


def run_gui(endpoints: Endpoints, note: str | None) -> int:
    from hybridview.ui.app import run_gui as run

    return run(endpoints, note)


def run_screenshot(endpoints: Endpoints, out: str, size: str) -> int:
    from hybridview.ui.app import run_screenshot as run

    return run(endpoints, out, size)
