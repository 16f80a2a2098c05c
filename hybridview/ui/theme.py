"""Themes: light (the default sheet), dark, high contrast, or the system's light/dark setting, followed live.

Each theme has its row colours: the trees' roles of the application palette, and the keyed tables'
text colour per level, chosen here once; and its banners' colours per level (the write dialogs', the
Recovery, Activity and Audit tabs' messages). The trees take them from the application palette (a
palette a widget sets for itself is put back by the style sheet's repolish, e.g. entering wall
mode); a theme applied at run time (wall mode, the system's switch) recolours the keyed tables'
rows in place, never resetting a model, and repaints the banners.

Check boxes and radio buttons get their own palette (Fusion, Qt's style here, frames their box in
their Window colour): a frame at 3:1 or more on every theme (WCAG non-text contrast), still drawn by
the style with its check mark, focus and pressed looks (a style-sheet indicator rule would lose them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QAbstractProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLabel

from hybridview.ui.icons import style_sheet


class Theme(Enum):
    LIGHT = "light"
    DARK = "dark"
    HIGH_CONTRAST = "high-contrast"
    SYSTEM = "system"


THEME_NAMES = tuple(t.value for t in Theme)
_ROLE = QPalette.ColorRole
_PALETTES: dict[Theme, dict[QPalette.ColorRole, str]] = {  # besides the rows' roles (RowColours)
    Theme.DARK: {
        _ROLE.Window: "#1e2227",
        _ROLE.WindowText: "#e6e6e6",
        _ROLE.Button: "#2a2f36",
        _ROLE.ButtonText: "#e6e6e6",
        _ROLE.ToolTipBase: "#2a2f36",
        _ROLE.ToolTipText: "#e6e6e6",
        _ROLE.PlaceholderText: "#9aa0a6",
    },
    Theme.HIGH_CONTRAST: {
        _ROLE.Window: "#000000",
        _ROLE.WindowText: "#ffffff",
        _ROLE.Button: "#000000",
        _ROLE.ButtonText: "#ffffff",
        _ROLE.ToolTipBase: "#000000",
        _ROLE.ToolTipText: "#ffffff",
        _ROLE.PlaceholderText: "#d0d0d0",
    },
}
_SHEETS = {Theme.DARK: "dark.qss", Theme.HIGH_CONTRAST: "high-contrast.qss"}
_DISABLED_TEXT = {Theme.DARK: "#7d848c", Theme.HIGH_CONTRAST: "#9a9a9a"}  # a disabled button must look it
_TEXT_ROLES = (_ROLE.WindowText, _ROLE.Text, _ROLE.ButtonText)
# Each theme's frame of a check box's or radio button's indicator: 3:1 or more against the window and
# the box's fill (Base), so an unchecked box is seen; the check mark is the palette's Text.
INDICATOR_FRAMES = {Theme.LIGHT: "#767676", Theme.DARK: "#9ea6af", Theme.HIGH_CONTRAST: "#c8c8c8"}
INDICATOR_CLASSES = ("QCheckBox", "QRadioButton")
FUSION_FRAME_SHADE = 140 / 110  # Fusion's frame: their Window colour .darker(140).lighter(110)


def indicator_window(frame: str) -> QColor:
    """The Window colour from which Fusion draws ``frame`` (nothing else of a check box paints Window)."""
    colour = QColor(frame)
    shaded = round(colour.value() * FUSION_FRAME_SHADE)
    if shaded > 255:
        raise ValueError(f"Fusion cannot draw an indicator frame as light as {frame}")
    return QColor.fromHsv(colour.hsvHue(), colour.hsvSaturation(), shaded)


@dataclass(frozen=True, slots=True)
class RowColours:
    """A theme's rows: every text is at least 4.5:1 against both row backgrounds (WCAG AA).

    The colour only supports the state: every row also says it with an icon and a word.
    """

    base: str
    alternate: str  # every other row
    text: str  # a row with no level (OK, STALE, info)
    highlight: str  # the selected row: its text is ``highlighted_text``, whatever its level
    highlighted_text: str
    levels: Mapping[str, str]  # a KeyedRow level (failed, blocked, running, done) -> its text colour

    def roles(self) -> dict[QPalette.ColorRole, str]:
        return {_ROLE.Base: self.base, _ROLE.AlternateBase: self.alternate, _ROLE.Text: self.text,
                _ROLE.Highlight: self.highlight, _ROLE.HighlightedText: self.highlighted_text}  # fmt: skip


# A palette, not the style sheet: a style-sheet rule on an item view makes Qt draw every cell
# through the style-sheet engine, several times slower per paint.
ROW_COLOURS = {
    Theme.LIGHT: RowColours(
        "#ffffff", "#f7f9fb", "#101418", "#cfe3ff", "#101418",
        {"failed": "#b71c1c", "blocked": "#6d4c00", "running": "#0d47a1", "done": "#1b5e20"},
    ),
    Theme.DARK: RowColours(
        "#16191d", "#1f2329", "#e6e6e6", "#3d6fb6", "#ffffff",
        {"failed": "#ff8a80", "blocked": "#ffd54f", "running": "#90caf9", "done": "#81c784"},
    ),
    Theme.HIGH_CONTRAST: RowColours(
        "#000000", "#111111", "#ffffff", "#ffff00", "#000000",
        {"failed": "#ff9e9e", "blocked": "#ffe066", "running": "#8fd3ff", "done": "#8dff8d"},
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class BannerColours:
    """A banner at one level: its text at least 4.5:1 on its background (WCAG AA); its words say the level too."""

    background: str
    text: str
    border: str
    border_px: int = 1

    def sheet(self) -> str:
        return (
            f"QLabel {{ background: {self.background}; color: {self.text}; "
            f"border: {self.border_px}px solid {self.border}; border-radius: 3px; padding: 5px 8px; }}"
        )


BANNER_LEVELS = ("critical", "warning", "ok", "info")
_HC_CALM = BannerColours("#000000", "#ffffff", "#ffffff", 3)
BANNER_COLOURS: dict[Theme, Mapping[str, BannerColours]] = {
    Theme.LIGHT: {
        "critical": BannerColours("#fdecea", "#7f0000", "#e57373"),
        "warning": BannerColours("#fff8e1", "#4e3600", "#ffca28"),
        "ok": BannerColours("#e8f5e9", "#1b5e20", "#81c784"),
        "info": BannerColours("#e3f2fd", "#0d3c61", "#90caf9"),
    },
    Theme.DARK: {  # as dark.qss's alert strip
        "critical": BannerColours("#4a1414", "#ffd6d6", "#e57373"),
        "warning": BannerColours("#3d3000", "#ffe9a8", "#ffca28"),
        "ok": BannerColours("#14331a", "#c8f0cc", "#66bb6a"),
        "info": BannerColours("#0d2a44", "#cfe8ff", "#64b5f6"),
    },
    Theme.HIGH_CONTRAST: {  # black, white and yellow, as high-contrast.qss
        "critical": BannerColours("#000000", "#ffff00", "#ffff00", 3),
        "warning": _HC_CALM,
        "ok": _HC_CALM,
        "info": _HC_CALM,
    },
}
BANNER_LEVEL = "bannerLevel"  # the property that marks a label as a banner, with its level


def paint_banner(label: QLabel, level: str) -> None:
    """Give a banner its level's colours in the applied theme (again on each theme switch)."""
    label.setProperty(BANNER_LEVEL, level)
    label.setStyleSheet(BANNER_COLOURS[_applied()][level].sheet())


def repaint_banners(app: QApplication) -> None:
    for widget in app.allWidgets():
        if isinstance(widget, QLabel) and isinstance(level := widget.property(BANNER_LEVEL), str):
            paint_banner(widget, level)


@runtime_checkable
class Recolouring(Protocol):
    """A model whose cells carry level colours: it sets them again from ``row_colours()``."""

    def recolour(self) -> None: ...


def row_colours() -> RowColours:
    """The applied theme's row colours (light before any theme is applied)."""
    return ROW_COLOURS[_applied()]


def _applied() -> Theme:
    return _manager[0].applied if _manager else Theme.LIGHT


def level_brush(level: str | None) -> QBrush | None:
    """A keyed row's text brush: its level's colour in the applied theme; None: the palette's text.

    (None, not an empty QBrush: Qt paints a cell whose foreground is an empty brush in black.)
    """
    colour = row_colours().levels.get(level or "")
    return _brush(colour) if colour else None


@cache
def _brush(colour: str) -> QBrush:
    return QBrush(QColor(colour))


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
        palette = QPalette(self._light_palette)
        for role, colour in (_PALETTES.get(resolved, {}) | ROW_COLOURS[resolved].roles()).items():
            palette.setColor(role, QColor(colour))
        disabled, dimmed = QPalette.ColorGroup.Disabled, _DISABLED_TEXT.get(resolved)
        for role in _TEXT_ROLES:  # setColor set every group: give the disabled one its own again
            palette.setColor(disabled, role, QColor(dimmed) if dimmed else self._light_palette.color(disabled, role))
        self._app.setPalette(palette)  # drops the per-class palettes: the indicators' again after it
        indicators = QPalette(palette)
        indicators.setColor(_ROLE.Window, indicator_window(INDICATOR_FRAMES[resolved]))
        for name in INDICATOR_CLASSES:
            self._app.setPalette(indicators, name)  # type: ignore[arg-type]  # the stub says bytes; PySide takes str
        sheet = _SHEETS.get(resolved)
        self._app.setStyleSheet(style_sheet() + ("\n" + _sheet(sheet) if sheet else ""))
        changed, self.applied = resolved is not self.applied, resolved
        if changed:
            recolour_rows(self._app)
            repaint_banners(self._app)
        return resolved

    def _follow(self) -> None:
        if self.choice is Theme.SYSTEM:
            self.apply(Theme.SYSTEM)


def recolour_rows(app: QApplication) -> None:
    """Each model shown in a view that carries level colours sets them again (once each)."""
    models: dict[int, Recolouring] = {}
    for widget in app.allWidgets():
        if isinstance(widget, QAbstractItemView):
            source = widget.model()
            while isinstance(source, QAbstractProxyModel):
                source = source.sourceModel()
            if isinstance(source, Recolouring):
                models[id(source)] = source
    for recolouring in models.values():
        recolouring.recolour()


_manager: list[ThemeManager] = []


def themes(app: QApplication | None = None) -> ThemeManager:
    """The application's one theme manager."""
    if not _manager:
        instance = app or QApplication.instance()
        assert isinstance(instance, QApplication)
        _manager.append(ThemeManager(instance))
    return _manager[0]
