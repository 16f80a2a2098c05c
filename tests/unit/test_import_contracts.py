"""The import contracts hold today, and each one fails on a throwaway module that breaks it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
BREAKERS = {
    "Qt outside ui": ("hybridview/service/throwaway.py", "import PySide6.QtCore\n", "Qt and qasync only under ui"),
    "openstacksdk outside the Nova backend": (
        "hybridview/views/throwaway.py",
        "import openstack\n",
        "openstacksdk and keystoneauth only under the Nova backend",
    ),
    "pyVmomi outside the vSphere backend": (
        "hybridview/backends/nova_throwaway.py",
        "import pyVmomi\n",
        "pyVmomi only under the vSphere backend",
    ),
    "ui from core": ("hybridview/core/throwaway.py", "import hybridview.ui.icons\n", "layers"),
    "service from a backend": ("hybridview/backends/throwaway.py", "import hybridview.service.monitor\n", "layers"),
    "views from the service": ("hybridview/service/throwaway.py", "import hybridview.views.rows\n", "layers"),
    "a top-level module the layers do not name": ("hybridview/throwaway.py", "import hybridview.core\n", "layers"),
    "a backend from a face": (
        "hybridview/cli/throwaway.py",
        "import hybridview.backends.base\n",
        "faces reach backends only through the action layer and the service",
    ),
    "the action layer from the service": ("hybridview/service/throwaway.py", "import hybridview.actions\n", "layers"),
    "yaml in core": ("hybridview/core/throwaway.py", "import yaml\n", "core imports no third-party package"),
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def copy_of_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    shutil.copytree(REPO / "hybridview", root / "hybridview", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold_on_the_real_tree(copy_of_repo: Path) -> None:
    done = lint_imports(copy_of_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("breaker", sorted(BREAKERS))
def test_a_throwaway_module_breaks_its_contract(copy_of_repo: Path, breaker: str) -> None:
    path, source, contract = BREAKERS[breaker]
    module = copy_of_repo / path
    module.write_text(source, encoding="utf-8")
    try:
        done = lint_imports(copy_of_repo)
    finally:
        module.unlink()
    assert done.returncode != 0, f"{breaker}: lint-imports passed\n{done.stdout}"
    broken = [line for line in done.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), done.stdout


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_only_the_standard_library_and_itself() -> None:
    files = sorted((REPO / "hybridview" / "core").rglob("*.py"))
    assert files
    outside = {
        f"{path.name}: {name}"
        for path in files
        for name in _imported_top_levels(path)
        if name not in sys.stdlib_module_names and name != "hybridview"
    }
    assert not outside, outside
    package_imports = {
        f"{path.name}: {node.module}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("hybridview.")
        and not node.module.startswith("hybridview.core")
    }
    assert not package_imports, package_imports
