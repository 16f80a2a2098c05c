"""``hybridview --version`` and the About box: the same lines, each true to the installed distribution."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMainWindow, QMessageBox, QToolBar
from pytestqt.qtbot import QtBot

from hybridview import version
from hybridview.config import AUDIT_LOG_ENV
from hybridview.ui.about import TITLE, about_lines, add_about_action
from tests.ui.conftest import qloop  # noqa: F401  (the window test's qasync loop)
from tests.ui.harness import window_on

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "hybridview"
# The child may load QtCore and nothing that needs a display or a platform plugin.
BLOCK_DISPLAY_QT = """
import sys


class _QtCoreOnly:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("PySide6.QtGui", "PySide6.QtWidgets", "qasync")):
            raise ModuleNotFoundError(f"{name} is blocked: --version must need QtCore only")
        return None


sys.meta_path.insert(0, _QtCoreOnly())
"""


def expected_lines() -> list[str]:
    return [
        f"hybridview {metadata.version('hybridview')}",
        f"Qt {qVersion()} (PySide6 {metadata.version('PySide6-Essentials')})",
        f"openstacksdk {metadata.version('openstacksdk')}",
        f"pyVmomi {metadata.version('pyvmomi')}",
        f"Python {platform.python_version()}",
    ]


@pytest.fixture(scope="module")
def cli_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What the installed script prints with no display, no platform plugin and QtGui out of reach."""
    assert SCRIPT.exists(), f"no console script at {SCRIPT}: run bash scripts/bootstrap.sh"
    blocker = tmp_path_factory.mktemp("blocker")
    (blocker / "sitecustomize.py").write_text(BLOCK_DISPLAY_QT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PYTHONPATH=str(blocker), QT_QPA_PLATFORM_PLUGIN_PATH=str(blocker / "no-plugins"))
    done = subprocess.run(
        [str(SCRIPT), "--version"], cwd=blocker, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_version_prints_each_installed_distribution(cli_lines: list[str]) -> None:
    assert cli_lines == expected_lines()


def test_the_blocker_in_the_version_test_blocks_qtgui(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_DISPLAY_QT, encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", "import PySide6.QtCore; import PySide6.QtGui"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode != 0 and "is blocked" in probe.stderr


def test_a_checkout_that_is_not_installed_reads_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert version.hybridview_version() == pyproject["project"]["version"]
    assert version.version_lines("6.0.0", "6.0.1")[2:4] == ["openstacksdk unknown", "pyVmomi unknown"]


def test_a_missing_or_broken_pyproject_gives_unknown(tmp_path: Path) -> None:
    assert version.checkout_version(tmp_path / "absent.toml") == "unknown"
    (tmp_path / "broken.toml").write_text("[project\nversion = 1", encoding="utf-8")
    assert version.checkout_version(tmp_path / "broken.toml") == "unknown"


def test_the_about_box_says_what_the_cli_prints(qtbot: QtBot, cli_lines: list[str]) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = QToolBar()
    window.addToolBar(bar)
    action = add_about_action(window, bar)
    assert action in bar.actions() and action.text() == "About"
    action.trigger()
    box = window.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert box.windowTitle() == TITLE
    assert box.text().splitlines() == cli_lines == about_lines()
    assert not box.iconPixmap().isNull(), "no app icon in the About box"
    box.close()


def test_the_window_offers_the_about_box(
    qloop: asyncio.AbstractEventLoop,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(AUDIT_LOG_ENV, str(tmp_path / "audit.jsonl"))
    with window_on(qloop, "healthy") as h:
        action = h.window.about_action
        assert action in h.window.toolbar.actions()
        action.trigger()
        box = h.window.findChild(QMessageBox)
        assert box is not None and box.isVisible()
        assert box.text().splitlines() == expected_lines()
        box.close()
