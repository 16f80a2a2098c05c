"""Themes: light (the default sheet), dark, high contrast, or the system's light/dark setting, followed live."""

from __future__ import annotations

from enum import Enum
from importlib import resources

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from hybridview.ui.icons import style_sheet


class Theme(Enum):
    LIGHT = "light"
    DARK = "dark"
    HIGH_CONTRAST = "high-contrast"
    SYSTEM = "system"


THEME_NAMES = tuple(t.value for t in Theme)
_PALETTES: dict[Theme, dict[QPalette.ColorRole, str]] = {
    Theme.DARK: {
        QPalette.ColorRole.Window: "#1e2227",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#16191d",
        QPalette.ColorRole.AlternateBase: "#1f2329",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2a2f36",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fb6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2a2f36",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    },
    Theme.HIGH_CONTRAST: {
        QPalette.ColorRole.Window: "#000000",
        QPalette.ColorRole.WindowText: "#ffffff",
        QPalette.ColorRole.Base: "#000000",
        QPalette.ColorRole.AlternateBase: "#111111",
        QPalette.ColorRole.Text: "#ffffff",
        QPalette.ColorRole.Button: "#000000",
        QPalette.ColorRole.ButtonText: "#ffffff",
        QPalette.ColorRole.Highlight: "#ffff00",
        QPalette.ColorRole.HighlightedText: "#000000",
        QPalette.ColorRole.ToolTipBase: "#000000",
        QPalette.ColorRole.ToolTipText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#d0d0d0",
    },
}
_SHEETS = {Theme.DARK: "dark.qss", Theme.HIGH_CONTRAST: "high-contrast.qss"}


def _sheet(name: str) -> str:
    return (resources.files("hybridview.resources") / name).read_text(encoding="utf-8")


def system_theme() -> Theme:
    """Dark when the platform says so (Qt 6.5+ colour scheme), else light."""
    scheme = QGuiApplication.styleHints().colorScheme()
    return Theme.DARK if scheme is Qt.ColorScheme.Dark else Theme.LIGHT


class ThemeManager:
    """Applies a theme to the application; with ``system`` it follows the platform's changes."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._light_palette = QPalette(app.palette())
        self.choice = Theme.LIGHT
        self.applied = Theme.LIGHT
        app.styleHints().colorSchemeChanged.connect(lambda _s: self._follow())

    def apply(self, choice: Theme | str) -> Theme:
        self.choice = Theme(choice)
        resolved = system_theme() if self.choice is Theme.SYSTEM else self.choice
        if resolved is Theme.LIGHT:
            self._app.setPalette(self._light_palette)
            self._app.setStyleSheet(style_sheet())
        else:
            palette = QPalette(self._light_palette)
            for role, colour in _PALETTES[resolved].items():
                palette.setColor(role, QColor(colour))
            self._app.setPalette(palette)
            self._app.setStyleSheet(style_sheet() + "\n" + _sheet(_SHEETS[resolved]))
        self.applied = resolved
        return resolved

    def _follow(self) -> None:
        if self.choice is Theme.SYSTEM:
            self.apply(Theme.SYSTEM)


_manager: list[ThemeManager] = []


def themes(app: QApplication | None = None) -> ThemeManager:
    """The application's one theme manager."""
    if not _manager:
        instance = app or QApplication.instance()
        assert isinstance(instance, QApplication)
        _manager.append(ThemeManager(instance))
    return _manager[0]
