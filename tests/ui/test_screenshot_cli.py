"""`hybridview screenshot` renders the real window offscreen after the first refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from tests.ui.offscreen import run_offscreen

pytestmark = pytest.mark.ui
BANNER = QColor("#ff8f00")
CRITICAL_RED = QColor("#c62828")


def _count(image: QImage, color: QColor, rows: range) -> int:
    step = 4
    return sum(1 for y in rows for x in range(0, image.width(), step) if image.pixelColor(x, y).rgb() == color.rgb())


def test_screenshot_shows_banner_and_failed_host(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    shot = ["-m", "hybridview.cli", "screenshot", str(out), "--demo", "--scenario", "esxi-host-down"]
    done = run_offscreen([*shot, "--size", "1600x1000"])
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    assert _count(image, BANNER, range(0, 80)) > 200, "no DEMO banner at the top"
    assert _count(image, CRITICAL_RED, range(100, 600)) > 5, "no critical icon in the panes"


def test_screenshot_rejects_a_bad_size(tmp_path: Path) -> None:
    done = run_offscreen(["-m", "hybridview.cli", "screenshot", str(tmp_path / "x.png"), "--demo", "--size", "huge"])
    assert done.returncode != 0
    assert "--size must look like 1600x1000" in done.stderr
    assert "Traceback" not in done.stderr
