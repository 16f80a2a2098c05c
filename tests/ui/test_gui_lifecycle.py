"""Closing the window shuts the app down cleanly: backends closed, exit code 0, no traceback."""

from __future__ import annotations

import pytest

from tests.ui.offscreen import run_offscreen

pytestmark = pytest.mark.ui

CLOSE_AFTER_START = """
import threading
from PySide6.QtCore import QTimer
from hybridview.ui import app as hvapp
from hybridview.service.wiring import demo_endpoints

endpoints = demo_endpoints("healthy")
closed = []
for backend in [*endpoints.openstack, *endpoints.vcenters]:
    backend.close = lambda name=backend.name: closed.append(name)
build = hvapp.build_window

def build_and_close_soon(ep, note=None):
    window, controller = build(ep, note)
    controller.presentation_ready.connect(lambda _p: QTimer.singleShot(200, window.close))
    return window, controller

hvapp.build_window = build_and_close_soon
code = hvapp.run_gui(endpoints, None)
workers = [t.name for t in threading.enumerate() if t.name.startswith("hv-io")]
print("exit", code, "closed", sorted(closed), "workers", workers)
"""


def test_closing_the_window_closes_every_backend_and_exits_zero() -> None:
    done = run_offscreen(["-c", CLOSE_AFTER_START])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "exit 0 closed ['demo-cloud', 'demo-edge', 'vc-east', 'vc-west'] workers []" in done.stdout
