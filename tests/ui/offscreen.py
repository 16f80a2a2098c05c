"""Runs a Python child process with Qt offscreen, for tests of whole-program behaviour."""

from __future__ import annotations

import os
import subprocess
import sys


def run_offscreen(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
