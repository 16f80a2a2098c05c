"""The desktop bundle from ``packaging/build.sh``, moved away from the checkout, runs with no venv on PATH."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEMO_ENDPOINTS = ["demo-cloud", "demo-edge", "vc-east", "vc-west"]
QT_LIBS = {"Core", "Gui", "Widgets", "Svg", "DBus", "XcbQpa"}
QT_PLUGINS = {
    "platforms/libqxcb.so",
    "platforms/libqoffscreen.so",
    "xcbglintegrations/libqxcb-glx-integration.so",
    "xcbglintegrations/libqxcb-egl-integration.so",
    "iconengines/libqsvgicon.so",
    "imageformats/libqsvg.so",
    "platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "platforminputcontexts/libibusplatforminputcontextplugin.so",
}
BUILD_TIMEOUT_SECONDS = 840  # 50 s on an idle 2-core machine; CI runners are slower and loaded

# The first test builds the bundle (the module's fixture) inside its own timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle's executable, built into a temporary dist/ and then moved elsewhere."""
    out = tmp_path_factory.mktemp("build")
    proc = subprocess.run(
        ["bash", str(REPO / "packaging" / "build.sh"), str(out / "dist"), str(out / "work")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    moved = tmp_path_factory.mktemp("elsewhere") / "hybridview"
    shutil.move(out / "dist" / "hybridview", moved)
    shutil.rmtree(out)
    return moved / "hybridview"


def no_venv_env(home: Path) -> dict[str, str]:
    """This environment without the venv: its bin/ off PATH, no VIRTUAL_ENV, a fresh HOME, Qt offscreen."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.pop("HYBRIDVIEW_CONFIG", None)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and ".venv" not in Path(p).parts]
    path = [p for p in path if Path(p).resolve() != VENV_BIN.resolve()]
    env.update(PATH=os.pathsep.join(path), HOME=str(home), QT_QPA_PLATFORM="offscreen")
    found = shutil.which("hybridview", path=env["PATH"])
    assert found is None or VENV_BIN.resolve() not in Path(found).resolve().parents
    return env


def run_bundle(
    exe: Path, tmp_path: Path, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**no_venv_env(tmp_path), **(extra or {})}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False
    )


def run_venv(tmp_path: Path, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), **(extra or {})}
    env.pop("HYBRIDVIEW_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "hybridview.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in proc.stderr, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


@pytest.mark.parametrize("scenario", ["healthy", "kvm-host-down"])
def test_status_from_the_bundle_matches_the_venv(bundle: Path, tmp_path: Path, scenario: str) -> None:
    args = ("status", "--demo", "--scenario", scenario, "--json")
    frozen, venv = run_bundle(bundle, tmp_path, *args), run_venv(tmp_path, *args)
    doc, expected = report(frozen), report(venv)
    assert frozen.returncode == venv.returncode == {"healthy": 0, "kvm-host-down": 2}[scenario]
    assert [e["name"] for e in doc["endpoints"]] == DEMO_ENDPOINTS
    assert all(e["ok"] for e in doc["endpoints"])
    assert doc["health"] == expected["health"]
    assert [n["ref"] for n in doc["compute_nodes"]] == [n["ref"] for n in expected["compute_nodes"]]
    assert [h["ref"] for h in doc["failed_hosts"]] == [h["ref"] for h in expected["failed_hosts"]]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_screenshot_from_the_bundle(bundle: Path, tmp_path: Path) -> None:
    args = ("--demo", "--scenario", "esxi-host-down", "--size", "1600x1000")
    frozen = run_bundle(bundle, tmp_path, "screenshot", str(tmp_path / "bundle.png"), *args)
    venv = run_venv(tmp_path, "screenshot", str(tmp_path / "venv.png"), *args)
    assert frozen.returncode == venv.returncode == 0, frozen.stderr
    assert "Traceback" not in frozen.stderr, frozen.stderr
    assert png_size(tmp_path / "bundle.png") == png_size(tmp_path / "venv.png") == (1600, 1000)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_real_endpoints_load_openstacksdk_keystoneauth_and_pyvmomi_in_the_bundle(bundle: Path, tmp_path: Path) -> None:
    """A clouds.yaml cloud and a vCenter that refuse connections: the SDKs import, load their auth plugin
    (keystoneauth's through entry points) and fail the same way as from the venv."""
    port = closed_port()
    clouds = tmp_path / "clouds.yaml"
    auth = {
        "auth_url": f"http://127.0.0.1:{port}/identity/v3",
        "username": "u",
        "password": "p",
        "project_name": "p",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    clouds.write_text(yaml.safe_dump({"clouds": {"offline": {"auth": auth, "region_name": "RegionOne"}}}))
    config = tmp_path / "config.yaml"
    vcenter = {
        "name": "vc-offline",
        "host": "127.0.0.1",
        "port": port,
        "user": "u",
        "password_env": "HV_PW",
        "verify": False,
    }
    config.write_text(
        yaml.safe_dump(
            {"version": 1, "clouds": [{"name": "offline", "clouds_yaml": str(clouds)}], "vcenters": [vcenter]}
        )
    )
    args = ("status", "--json", "--timeout", "20", "--config", str(config))
    frozen, venv = (
        run_bundle(bundle, tmp_path, *args, extra={"HV_PW": "x"}),
        run_venv(tmp_path, *args, extra={"HV_PW": "x"}),
    )
    doc, expected = report(frozen), report(venv)
    assert frozen.returncode == venv.returncode == 3
    errors = {e["name"]: e["error"] for e in doc["endpoints"]}
    assert errors == {e["name"]: e["error"] for e in expected["endpoints"]}
    assert "connection refused" in errors["offline"] and "connection refused" in errors["vc-offline"]


def test_version_from_the_bundle_matches_the_venv(bundle: Path, tmp_path: Path) -> None:
    frozen, venv = run_bundle(bundle, tmp_path, "--version"), run_venv(tmp_path, "--version")
    assert frozen.returncode == venv.returncode == 0, frozen.stderr
    assert frozen.stdout == venv.stdout
    assert "unknown" not in frozen.stdout


def test_the_window_starts_from_the_bundle(bundle: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(bundle), "--demo"],
        cwd=tmp_path,
        env=no_venv_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(6)  # past the imports, the platform plugin and the first demo refresh
        alive = proc.poll() is None
    finally:
        proc.kill()
        _, stderr = proc.communicate(timeout=30)
    assert alive, stderr
    assert "Traceback" not in stderr, stderr


def test_the_bundle_ships_only_the_qt_it_uses(bundle: Path) -> None:
    internal = bundle.parent / "_internal"
    qt = internal / "PySide6" / "Qt"
    libs = {p.name.split(".so")[0].removeprefix("libQt6") for p in internal.rglob("libQt6*.so*")}
    assert libs == QT_LIBS
    plugins = {str(p.relative_to(qt / "plugins")) for p in (qt / "plugins").rglob("*.so")}
    assert plugins == QT_PLUGINS
    assert not (qt / "translations").exists()
    assert sorted(p.name for p in internal.glob("PySide6/Qt*.so")) == [
        "QtCore.abi3.so",
        "QtGui.abi3.so",
        "QtWidgets.abi3.so",
    ]
    resources = internal / "hybridview" / "resources"
    assert (resources / "style.qss").is_file()
    icons = {p.stem for p in (resources / "icons").glob("*.svg")}
    assert {"ok", "warning", "critical", "stale", "maintenance", "hybridview"} <= icons
