"""What ``hybridview --version`` and the About box say: hybridview, Qt, the two SDKs and Python, one a line.

Standard library only: the Qt versions come from the caller (``hybridview.ui.about``, the one place
that may import Qt), the others from the installed distributions' metadata.
"""

from __future__ import annotations

import platform
import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "hybridview"
# A checkout's pyproject.toml, beside the package: the version when hybridview is not installed.
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
UNKNOWN = "unknown"


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def hybridview_version() -> str:
    """The installed version; run from a checkout that is not installed, pyproject.toml's."""
    installed = distribution_version(DISTRIBUTION)
    return installed if installed != UNKNOWN else checkout_version(PYPROJECT)


def checkout_version(pyproject: Path) -> str:
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return UNKNOWN
    version = project.get("version") if isinstance(project, dict) else None
    return version if isinstance(version, str) else UNKNOWN


def version_lines(qt_runtime: str, pyside: str) -> list[str]:
    """``qt_runtime`` is qVersion() (the Qt library loaded), ``pyside`` the PySide6 binding's version."""
    return [
        f"hybridview {hybridview_version()}",
        f"Qt {qt_runtime} (PySide6 {pyside})",
        f"openstacksdk {distribution_version('openstacksdk')}",
        f"pyVmomi {distribution_version('pyvmomi')}",
        f"Python {platform.python_version()}",
    ]
