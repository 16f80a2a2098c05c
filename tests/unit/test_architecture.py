"""ARCHITECTURE.md and the package list stay true to the tree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "hybridview"
MAX_MODULE_LINES = 400


def _packages() -> list[str]:
    return sorted(".".join(init.parent.relative_to(REPO).parts) for init in PACKAGE.rglob("__init__.py"))


def test_every_package_is_named_in_architecture_md() -> None:
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(hybridview/[\w/]+?)/?`", text))
    missing = [p for p in _packages() if p != "hybridview" and p.replace(".", "/") not in named]
    assert not missing, f"ARCHITECTURE.md does not name {missing}"


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"]) - {"hybridview.resources"}
    assert listed == set(_packages())


def test_no_module_passes_400_lines() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_ui_owns_no_pool_no_executor_and_no_backend() -> None:
    forbidden = ("ThreadPoolExecutor", "run_in_executor", "hybridview.backends", "wait_for_updates", ".fetch(")
    found = {
        f"{path.name}: {word}"
        for path in (PACKAGE / "ui").rglob("*.py")
        for word in forbidden
        if word in path.read_text(encoding="utf-8")
    }
    assert not found, found


WRITE_CALLS = (
    *(".evacuate(", ".set_forced_down(", ".set_service_enabled(", ".start_server(", ".restart_vm("),
    *(".live_migrate(", ".migrate(", ".confirm_resize(", ".revert_resize(", ".abort_live_migration("),
    *(".force_complete_live_migration(", ".relocate_vm(", ".enter_maintenance(", ".exit_maintenance("),
    ".cancel_task(",
)


def test_writes_are_called_only_by_the_action_layer() -> None:
    """A backend's write method is called from hybridview/actions only (backends and the demo define them)."""
    callers = {
        f"{path.relative_to(REPO)}: {call}"
        for path in PACKAGE.rglob("*.py")
        if path.parent.name not in ("actions", "nova", "vsphere", "sim", "backends")
        for call in WRITE_CALLS
        if call in path.read_text(encoding="utf-8")
    }
    assert not callers, callers
