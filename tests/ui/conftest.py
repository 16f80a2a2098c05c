"""UI fixtures: a qasync loop on the test's QApplication, and a leak check for workers."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from hybridview.ui.app import GUI_SWITCH_INTERVAL_SECONDS
from hybridview.ui.icons import style_sheet


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    qapp.setStyleSheet(style_sheet())
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_SECONDS)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    """A test must not leave refresh workers running behind it (napari's dangling-thread check)."""
    yield
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("hv-io")]
    assert not leftovers, f"worker threads left running: {leftovers}"
