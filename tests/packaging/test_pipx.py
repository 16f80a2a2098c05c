"""pipx: the built wheel, and the source tree, install into a temporary PIPX_HOME and run with icons and style.

The wheel goes the README's locked way (`pipx install`, then `pipx runpip ... --require-hashes -r
requirements/app.lock`); the source tree the plain way, within pyproject.toml's ranges. pip downloads
what its cache lacks from PyPI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from PySide6.QtGui import QImage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
APP_LOCK = REPO / "requirements" / "app.lock"
PIPX = Path(sys.executable).parent / "pipx"
SOURCES = ("pyproject.toml", "README.md", "hybridview", "resources")  # what the wheel is built from
BANNER = bytes((0xFF, 0x8F, 0x00))  # style.qss: QLabel#demoBanner's background
SCENARIO = "esxi-host-down"  # failed hosts: status icons on whichever tab comes first
ICON_FILL_PIXELS = 60  # one 16 px status icon: about 75 pixels of its exact fill colour (3 icons gave 228)
SHOT_SIZE = (1600, 1000)


@dataclass
class Pipx:
    home: Path
    bin_dir: Path
    work: Path
    env: dict[str, str]
    seconds: dict[str, float]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PIPX), *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def timed(self, label: str, *args: str) -> None:
        started = time.monotonic()
        done = self.run(*args)
        self.seconds[label] = time.monotonic() - started
        assert done.returncode == 0, f"pipx {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    def app(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed app, from PIPX_BIN_DIR, offscreen, with no test venv on PATH."""
        env = {**self.env, "QT_QPA_PLATFORM": "offscreen"}
        return subprocess.run(
            [str(self.bin_dir / name), *args],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def venv_python(self, venv: str) -> Path:
        return self.home / "venvs" / venv / "bin" / "python"


@pytest.fixture(scope="module")
def pipx(tmp_path_factory: pytest.TempPathFactory) -> Pipx:
    assert PIPX.exists(), f"no pipx at {PIPX}: bash scripts/bootstrap.sh installs it from requirements/test.lock"
    root = tmp_path_factory.mktemp("pipx")
    home, bin_dir, work = root / "home", root / "bin", root / "work"
    work.mkdir()
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != PIPX.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=path,
        PIPX_HOME=str(home),
        PIPX_BIN_DIR=str(bin_dir),
        PIPX_MAN_DIR=str(root / "man"),
        PIPX_DEFAULT_BACKEND="pip",  # the same backend whatever else is on PATH
        PIPX_DEFAULT_PYTHON=sys.executable,
    )
    return Pipx(home, bin_dir, work, env, {})


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the wheel is built from: the build writes nothing into the checkout."""
    tree = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, tree / name)
    return tree


@pytest.fixture(scope="module")
def wheel_app(pipx: Pipx, source: Path, tmp_path_factory: pytest.TempPathFactory) -> Pipx:
    out = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    pipx.seconds["build wheel"] = time.monotonic() - started
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = out.glob("hybridview-*.whl")
    pipx.timed("pipx install wheel", "install", str(wheel))
    pipx.timed("pin to app.lock", "runpip", "hybridview", "install", "--quiet", "--require-hashes", "-r", str(APP_LOCK))
    pipx.timed("pip check", "runpip", "hybridview", "check")
    return pipx


def _locked_pins() -> dict[str, str]:
    """The app lock's pins that apply to this interpreter and platform."""
    pins: dict[str, str] = {}
    for line in APP_LOCK.read_text(encoding="utf-8").splitlines():
        if not line[:1].isalnum():
            continue
        requirement, _, marker = line.rstrip(" \\").partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, _, pinned = requirement.strip().partition("==")
        pins[canonicalize_name(name)] = pinned
    return pins


def _installed(python: Path) -> dict[str, str]:
    script = "from importlib import metadata\nfor d in metadata.distributions(): print(d.metadata['Name'], d.version)"
    done = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return {canonicalize_name(name): ver for name, ver in (line.split() for line in done.stdout.splitlines())}


def _installed_resources(python: Path) -> Path:
    script = "from importlib import resources\nprint(resources.files('hybridview.resources'))"
    done = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return Path(done.stdout.strip())


def _assert_has_every_resource(installed: Path, home: Path) -> None:
    assert installed.is_relative_to(home), f"hybridview.resources comes from {installed}, not the pipx venv"
    wanted = sorted(
        p.relative_to(RESOURCES) for p in RESOURCES.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    icons = [p for p in wanted if p.parts[0] == "icons"]
    assert Path("style.qss") in wanted and len(icons) >= 6
    missing = [str(p) for p in wanted if not (installed / p).is_file()]
    assert not missing, f"the installed package lacks {missing}"
    changed = [str(p) for p in wanted if (installed / p).read_bytes() != (RESOURCES / p).read_bytes()]
    assert not changed, changed


def _status_icon_fills(icons: Path) -> set[bytes]:
    """The fill colours of the status icons (ok, warning, critical, ...), less white and near-black."""
    fills = set()
    for svg in icons.glob("*.svg"):
        if svg.stem != "hybridview":  # the app's own icon is not drawn inside the window
            fills.update(bytes.fromhex(h) for h in re.findall(r'fill="#([0-9a-fA-F]{6})"', svg.read_text("utf-8")))
    return {rgb for rgb in fills if not (min(rgb) > 0xF0 or max(rgb) < 0x30)}


def _colour_counts(png: Path) -> Counter[bytes]:
    image = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    assert (image.width(), image.height()) == SHOT_SIZE
    data, line, width = bytes(image.constBits()), image.bytesPerLine(), image.width() * 3
    return Counter(data[y * line + x : y * line + x + 3] for y in range(image.height()) for x in range(0, width, 3))


def test_the_wheel_installs_the_locked_versions_only(wheel_app: Pipx) -> None:
    installed = _installed(wheel_app.venv_python("hybridview"))
    installed.pop("pip")  # pipx's shared pip, seen through its .pth file
    assert installed.pop("hybridview") == _installed(Path(sys.executable))["hybridview"]
    assert installed == _locked_pins()


def test_the_pipx_app_reports_the_demo(wheel_app: Pipx) -> None:
    done = wheel_app.app("hybridview", "status", "--demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HYBRIDVIEW OK")
    assert "16 compute nodes, 4 vCenter clusters" in done.stdout
    version = wheel_app.app("hybridview", "--version")
    assert version.returncode == 0 and version.stdout.startswith("hybridview 0.1.0\nQt 6.")


def test_the_pipx_venv_has_every_icon_and_the_style_sheet(wheel_app: Pipx) -> None:
    _assert_has_every_resource(_installed_resources(wheel_app.venv_python("hybridview")), wheel_app.home)


def test_the_pipx_screenshot_shows_the_icons_and_the_style(wheel_app: Pipx) -> None:
    """The status icons' fill colours are in the screenshot, and leave it with the installed icons."""
    icons = _installed_resources(wheel_app.venv_python("hybridview")) / "icons"
    fills = _status_icon_fills(icons)
    assert len(fills) >= 4, fills
    shot = wheel_app.work / "shot.png"
    done = wheel_app.app("hybridview", "screenshot", str(shot), "--scenario", SCENARIO)
    assert done.returncode == 0, done.stderr
    counts = _colour_counts(shot)
    assert counts[BANNER] > 1000, "no orange demo banner: the style sheet was not applied"
    # The control: the same screenshot with the installed status icons moved away.
    hidden = wheel_app.work / "hidden-icons"
    hidden.mkdir()
    moved = [svg.rename(hidden / svg.name) for svg in icons.glob("*.svg") if svg.stem != "hybridview"]
    try:
        bare = wheel_app.work / "no-icons.png"
        assert wheel_app.app("hybridview", "screenshot", str(bare), "--scenario", SCENARIO).returncode == 0
    finally:
        for svg in moved:
            svg.rename(icons / svg.name)
    without = _colour_counts(bare)
    drawn = sum(counts[rgb] for rgb in fills) - sum(without[rgb] for rgb in fills)
    assert drawn > ICON_FILL_PIXELS, f"only {drawn} pixels of the icons' fills come from the installed icons"


def test_pipx_installs_the_source_tree_within_the_ranges(pipx: Pipx, source: Path) -> None:
    pipx.timed("pipx install source tree", "install", "--suffix=-src", str(source))
    done = pipx.app("hybridview-src", "status", "--demo")
    assert done.returncode == 0, done.stderr
    assert "16 compute nodes" in done.stdout
    _assert_has_every_resource(_installed_resources(pipx.venv_python("hybridview-src")), pipx.home)
    print("pipx timings (s):", {k: round(v, 1) for k, v in pipx.seconds.items()})
