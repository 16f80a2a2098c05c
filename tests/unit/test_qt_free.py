"""The service and its tests run with Qt out of reach: no PySide6 or qasync import is reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BLOCKER = """
import sys


class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync", "pytestqt"):
            raise ModuleNotFoundError(f"{name} is blocked: this code must run without Qt")
        return None


sys.meta_path.insert(0, _NoQt())
"""
QT_FREE_TESTS = ("tests/unit/test_monitor.py", "tests/unit/test_transitions.py", "tests/unit/test_refresh.py")


def test_monitor_tests_pass_with_qt_blocked(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:pytest-qt",
            "-W",
            "ignore::pytest.PytestConfigWarning",  # the qt_* settings of the disabled plugin
            *QT_FREE_TESTS,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import PySide6"], env=env, capture_output=True, text=True, check=False
    )
    assert "blocked" in probe.stderr, "the blocker did not block Qt"
