"""UI fixtures: a qasync loop on the test's QApplication, and a leak check for workers."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from hybridview.config import AUDIT_LOG_ENV
from hybridview.service.alert_store import ALERTS_ENV
from hybridview.ui.app import GUI_SWITCH_INTERVAL_SECONDS
from hybridview.ui.icons import style_sheet

LEFTOVER_GRACE_SECONDS = 15.0  # a close that takes longer on a loaded 2-core runner is stuck, not slow


class SlicedQEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """A qasync loop that tests run in many short slices (one run_until_complete per step).

    After each slice qasync processes pending Qt events once more, but with no running loop
    set, so a task stepped there fails with "no running event loop". The app runs its loop
    once and never meets this; here the last pass keeps the loop marked as running.
    """

    def run_forever(self) -> None:
        try:
            super().run_forever()
        finally:
            asyncio.events._set_running_loop(self)

    def run_until_complete(self, future: object) -> object:
        try:
            return super().run_until_complete(future)
        finally:
            asyncio.events._set_running_loop(None)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    qapp.setStyleSheet(style_sheet())
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_SECONDS)
    loop = SlicedQEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    """A test must not leave refresh workers running behind it (napari's dangling-thread check)."""
    yield
    # A bounded close may still be finishing on a loaded runner: a leak is a thread that outlives the grace.
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    for thread in [t for t in threading.enumerate() if t.name.startswith("hv-io")]:
        thread.join(max(0.0, deadline - time.monotonic()))
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("hv-io")]
    assert not leftovers, f"worker threads left running {LEFTOVER_GRACE_SECONDS:.0f} s after the test: {leftovers}"


@pytest.fixture(autouse=True)
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every window writes its audit log (and its running-action locks) under the test's own directory."""
    path = tmp_path / "audit" / "audit.jsonl"
    monkeypatch.setenv(AUDIT_LOG_ENV, str(path))
    return path


@pytest.fixture(autouse=True)
def alerts_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Acknowledgements, silences and the alert history under the test's own directory."""
    path = tmp_path / "alerts" / "alerts.json"
    monkeypatch.setenv(ALERTS_ENV, str(path))
    return path
