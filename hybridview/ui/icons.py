"""Icons and the style sheet, loaded once from the package's resources."""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtGui import QIcon


@cache
def icon(name: str) -> QIcon:
    path = resources.files("hybridview.resources") / "icons" / f"{name}.svg"
    return QIcon(str(path))


def style_sheet() -> str:
    return (resources.files("hybridview.resources") / "style.qss").read_text(encoding="utf-8")
