"""With no display, the window says what to run instead; ``screenshot`` still works."""

from __future__ import annotations

from pathlib import Path

from hybridview.cli.gui import DISPLAY_VARIABLES
from tests.unit.test_cli_status import run_cli


def test_the_window_with_no_display_says_what_to_run_instead() -> None:
    proc = run_cli("--demo", unset=DISPLAY_VARIABLES)  # conftest sets QT_QPA_PLATFORM for this process
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        "hybridview: no display found (DISPLAY/WAYLAND_DISPLAY unset): run `hybridview status`, "
        "`hybridview watch`, `hybridview screenshot OUT.png`, or set QT_QPA_PLATFORM=offscreen"
    ]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_screenshot_works_with_no_display(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    proc = run_cli("screenshot", "--demo", str(out), "--size", "800x600", unset=DISPLAY_VARIABLES)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.stat().st_size > 0
