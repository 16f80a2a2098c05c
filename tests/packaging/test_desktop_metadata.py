"""The desktop entry, the AppStream metainfo and the icons validate, and install-desktop.sh puts them
where the freedesktop specs say (a missing Debian tool fails, naming its apt package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
APP_ID = "io.github.hybridview.HybridView"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
SVG = REPO / "resources" / "icons" / "hybridview.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
INSTALL = PACKAGING / "install-desktop.sh"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package}")
    return path


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=120)


def _entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def _exec_argv(value: str) -> list[str]:
    """Exec= as argv (Desktop Entry spec, "The Exec key"): string escapes, double quotes, then %% for %."""
    text = value.replace("\\\\", "\\")
    args: list[str] = []
    arg, quoted, i = "", False, 0
    while i < len(text):
        char = text[i]
        if quoted and char == "\\" and text[i + 1 : i + 2] in ('"', "`", "$", "\\"):
            arg += text[i + 1]
            i += 1
        elif char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            args.append(arg)
            arg = ""
        else:
            arg += char
        i += 1
    assert not quoted, value
    return [a.replace("%%", "%") for a in [*args, arg] if a]


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def _icon_files() -> list[str]:
    pngs = [f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in SIZES]
    return [
        f"applications/{APP_ID}.desktop",
        f"metainfo/{APP_ID}.metainfo.xml",
        *pngs,
        f"icons/hicolor/scalable/apps/{APP_ID}.svg",
    ]


def test_desktop_entry_validates_without_a_hint() -> None:
    result = _run(_tool("desktop-file-validate", "desktop-file-utils"), DESKTOP)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_metainfo_validates_strictly_offline() -> None:
    # --strict fails on any info or warning; only pedantic hints (the id's capitals) are allowed.
    result = _run(_tool("appstreamcli", "appstream"), "validate", "--no-net", "--strict", METAINFO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_agrees_with_the_desktop_entry_and_pyproject() -> None:
    root = ET.parse(METAINFO).getroot()  # noqa: S314 (our own file)
    project = _project()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert root.findtext("provides/binary") in project["scripts"]
    license_ = project["license"]  # PEP 639 string, or the older {text = ...} table
    assert root.findtext("project_license") == (license_ if isinstance(license_, str) else license_["text"])
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert next(r.get("version") for r in root.iter("release")) == project["version"]
    entry = _entry(DESKTOP)
    assert entry["Icon"] == APP_ID and entry["Exec"] == "hybridview" and entry["Terminal"] == "false"
    assert set(entry["Categories"].rstrip(";").split(";")) == {c.text for c in root.iter("category")}


def test_the_app_names_its_window_class_and_desktop_file() -> None:
    """StartupWMClass is Qt's X11 window class (the application name); Wayland's app id is the desktop file name."""
    code = "from hybridview.ui.app import application as make\napp = make()\n"
    code += "print(app.applicationName(), app.desktopFileName())"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = _run(sys.executable, "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [_entry(DESKTOP)["StartupWMClass"], APP_ID]


def _pixels(path: Path, size: int) -> bytes:
    image = QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == (size, size), path
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)  # kept alive while its bits are copied
    return bytes(rgba.constBits())


def test_icons_are_the_svg_rendered_at_every_hicolor_size(tmp_path: Path) -> None:
    result = _run(sys.executable, PACKAGING / "make_icons.py", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    for size in SIZES:
        rel = f"hicolor/{size}x{size}/apps/{APP_ID}.png"
        fresh, committed = _pixels(tmp_path / rel, size), _pixels(PACKAGING / "icons" / rel, size)
        alpha = fresh[3::4]
        assert max(alpha) == 255 and min(alpha) == 0, f"{rel}: blank or without transparent corners"
        assert len({fresh[i : i + 4] for i in range(0, len(fresh), 4)}) > 4, f"{rel}: a flat image"
        # Not bytes: another Qt may antialias slightly differently. A stale set (the SVG changed) differs a lot.
        drift = sum(abs(a - b) for a, b in zip(fresh, committed, strict=True)) / len(fresh)
        assert drift < 4, f"{rel} is not the SVG's render (mean drift {drift:.1f}/255): run packaging/make_icons.py"
    scalable = f"hicolor/scalable/apps/{APP_ID}.svg"
    assert (PACKAGING / "icons" / scalable).read_bytes() == SVG.read_bytes()


def _install(data: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(data.parent)}
    if path is not None:
        env["PATH"] = path
    return _run(_tool("bash", "bash"), INSTALL, *args, env=env)


def test_install_puts_every_file_where_the_specs_say_and_uninstall_removes_them(tmp_path: Path) -> None:
    # validate-tree reads <root>/usr/share like a distribution's tree: the metainfo, its desktop entry, its icons.
    data = tmp_path / "root" / "usr" / "share"
    exe = tmp_path / 'odd "dir" $HOME 100%' / "hybridview"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    result = _install(data, "--exec", str(exe))
    assert result.returncode == 0, result.stderr
    for rel in _icon_files():
        assert (data / rel).is_file(), rel
    for rel in _icon_files()[1:]:
        source = PACKAGING / (rel if rel.startswith("icons/") else Path(rel).name)
        assert (data / rel).read_bytes() == source.read_bytes(), rel
    installed = data / "applications" / f"{APP_ID}.desktop"
    argv = _exec_argv(_entry(installed)["Exec"])
    assert argv == [str(exe)] and os.access(argv[0], os.X_OK)
    assert _entry(installed)["TryExec"] == str(exe)
    check = _run(_tool("desktop-file-validate", "desktop-file-utils"), installed)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    tree = _run(_tool("appstreamcli", "appstream"), "validate-tree", "--no-net", "--strict", tmp_path / "root")
    assert tree.returncode == 0, tree.stdout + tree.stderr

    result = _install(data, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert [rel for rel in _icon_files() if (data / rel).exists()] == []


def test_exec_is_found_on_path_then_in_the_venv(tmp_path: Path) -> None:
    on_path = tmp_path / "bin" / "hybridview"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    first = _install(tmp_path / "a", path=f"{on_path.parent}:{os.environ['PATH']}")
    assert first.returncode == 0, first.stderr
    assert _exec_argv(_entry(tmp_path / "a" / "applications" / f"{APP_ID}.desktop")["Exec"]) == [str(on_path)]
    venv = REPO / ".venv" / "bin" / "hybridview"
    assert venv.is_file(), "the repository's venv has no hybridview: run scripts/bootstrap.sh"
    second = _install(tmp_path / "b", path="/usr/bin:/bin")
    assert second.returncode == 0, second.stderr
    argv = _exec_argv(_entry(tmp_path / "b" / "applications" / f"{APP_ID}.desktop")["Exec"])
    assert argv == [str(venv)] and os.access(argv[0], os.X_OK)


def test_install_needs_no_cache_tools_and_refuses_a_non_executable(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for tool in ("install", "chmod", "mv", "rm", "dirname", "basename"):
        (bare / tool).symlink_to(_tool(tool, "coreutils"))
    exe = tmp_path / "hybridview"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    result = _install(tmp_path / "data", "--exec", str(exe), path=str(bare))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data" / "icons" / "hicolor" / "icon-theme.cache").exists()
    assert _install(tmp_path / "data", "--uninstall", path=str(bare)).returncode == 0
    exe.chmod(0o644)
    refused = _install(tmp_path / "other", "--exec", str(exe))
    assert refused.returncode != 0 and "not an executable" in refused.stderr
    assert not (tmp_path / "other" / "applications").exists()
