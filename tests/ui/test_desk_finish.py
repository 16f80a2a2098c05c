"""The desk's finish: every theme's row colours read at WCAG AA, a theme switch recolours rows in place,
and the Problems table's context menu offers what its buttons do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QBrush, QPalette
from PySide6.QtWidgets import QApplication

from hybridview.core.health import Severity
from hybridview.ui.keyed_table import KeyedRow, KeyedTableModel
from hybridview.ui.problem_focus import FocusBox
from hybridview.ui.theme import ROW_COLOURS, Theme, themes
from hybridview.ui.wall import wall_mode
from hybridview.ui.widgets import tree_view
from hybridview.views.activity_rows import STATE_LOOK
from hybridview.views.problems_rows import LOOK
from tests.ui.contrast import contrast
from tests.ui.harness import fast_demo, window_over

pytestmark = pytest.mark.ui
THEMES = (Theme.LIGHT, Theme.DARK, Theme.HIGH_CONTRAST)  # wall mode is the dark theme (test below)
SEVERITIES = tuple(Severity)
AA = 4.5


@pytest.fixture
def light_after(qapp: QApplication) -> Iterator[None]:
    yield
    themes(qapp).apply(Theme.LIGHT)


def test_the_contrast_ratio_is_wcag_s() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#123456", "#123456") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest grey AA allows on white
    assert contrast("#777777", "#ffffff") < AA


def _painted(model: KeyedTableModel, key: object, palette: QPalette) -> str:
    """The colour a row's text is painted in: its foreground, else the view's text colour."""
    brush = model.index_of(key).data(Qt.ItemDataRole.ForegroundRole)
    return brush.color().name() if isinstance(brush, QBrush) else palette.color(QPalette.ColorRole.Text).name()


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.value)
def test_every_severity_and_state_reads_at_4_5_to_1_on_both_row_backgrounds(
    qapp: QApplication, light_after: None, theme: Theme
) -> None:
    themes(qapp).apply(theme)
    levels = {f"severity {s.name}": LOOK[s][2] for s in SEVERITIES} | {
        f"operation {state}": look[1] for state, look in STATE_LOOK.items()
    }
    model = KeyedTableModel(("State", "What"))
    model.apply([KeyedRow(name, (name, "x"), level=level) for name, level in levels.items()])
    view = tree_view(model, flat=True)
    palette = view.palette()
    backgrounds = [palette.color(role).name() for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)]
    assert backgrounds == [ROW_COLOURS[theme].base, ROW_COLOURS[theme].alternate], "the theme's rows, applied"
    ratios = {(name, bg): contrast(_painted(model, name, palette), bg) for name in levels for bg in backgrounds}
    assert min(ratios.values()) >= AA, {k: round(v, 2) for k, v in ratios.items() if v < AA}
    selected = palette.color(QPalette.ColorRole.HighlightedText).name()
    assert contrast(selected, palette.color(QPalette.ColorRole.Highlight).name()) >= AA
    assert len({_painted(model, name, palette) for name in levels}) >= 4, "the levels are told apart, not one colour"


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.value)
def test_the_focus_box_reads_at_4_5_to_1_at_every_level(qapp: QApplication, light_after: None, theme: Theme) -> None:
    themes(qapp).apply(theme)
    box = FocusBox()
    ratios = {}
    for level in ("critical", "warning", "ok"):
        box.show_lines(["✖ CRITICAL host", "What to do: restart it"], level)
        box.ensurePolished()
        palette = box.palette()
        text, background = (palette.color(r).name() for r in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window))
        ratios[level] = (text, background, contrast(text, background))
    assert len({bg for _t, bg, _r in ratios.values()}) >= 2 or theme is Theme.HIGH_CONTRAST, ratios
    assert all(r >= AA for _t, _bg, r in ratios.values()), ratios


def test_a_theme_switch_recolours_the_rows_in_place(qapp: QApplication, light_after: None) -> None:
    themes(qapp).apply(Theme.LIGHT)
    model = KeyedTableModel(("State", "What"))
    model.apply([KeyedRow("bad", ("✖ failed", "x"), level="failed"), KeyedRow("calm", ("• info", "y"))])
    view = tree_view(model, flat=True)
    resets: list[int] = []
    changed: list[tuple[int, int, list[int]]] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda top, bottom, roles: changed.append((top.row(), bottom.row(), list(roles))))
    assert _painted(model, "bad", view.palette()) == ROW_COLOURS[Theme.LIGHT].levels["failed"]
    themes(qapp).apply(Theme.DARK)
    assert _painted(model, "bad", view.palette()) == ROW_COLOURS[Theme.DARK].levels["failed"]
    assert _painted(model, "calm", view.palette()) == ROW_COLOURS[Theme.DARK].text, "no level: the theme's text"
    assert model.index_of("calm").data(Qt.ItemDataRole.ForegroundRole) is None  # an empty brush would paint black
    assert view.palette().color(QPalette.ColorRole.Base).name() == ROW_COLOURS[Theme.DARK].base
    assert resets == [] and changed == [(0, 1, [int(Qt.ItemDataRole.ForegroundRole)])], "one signal, no reset"
    themes(qapp).apply(Theme.DARK)
    assert len(changed) == 1, "the same theme again: nothing to recolour"


def test_entering_wall_mode_recolours_the_problems_and_leaving_puts_them_back(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        themes().apply(Theme.LIGHT)
        problems = h.window.problems
        h.wait_until(lambda: problems.table is not None and bool(problems.table.rows))
        key = problems.model.rows[0].key
        resets: list[int] = []
        problems.model.modelReset.connect(lambda: resets.append(1))
        assert _painted(problems.model, key, problems.view.palette()) == ROW_COLOURS[Theme.LIGHT].levels["failed"]
        wall = wall_mode(h.window)
        wall.enter(full_screen=False)
        palette = problems.view.palette()
        painted = _painted(problems.model, key, palette)
        assert painted == ROW_COLOURS[Theme.DARK].levels["failed"]
        assert palette.color(QPalette.ColorRole.Base).name() == ROW_COLOURS[Theme.DARK].base, "the wall's sheet kept it"
        assert contrast(painted, palette.color(QPalette.ColorRole.Base).name()) >= AA
        wall.leave()
        assert _painted(problems.model, key, problems.view.palette()) == ROW_COLOURS[Theme.LIGHT].levels["failed"]
        assert resets == []


@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")  # a popup, offscreen
def test_the_problems_context_menu_offers_the_buttons_and_none_on_the_wall(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        problems = h.window.problems
        h.wait_until(lambda: problems.table is not None and bool(problems.table.rows))
        problems.view.setCurrentIndex(problems.model.index(0, 0))
        row = problems.target()
        assert row is not None

        def menu() -> dict[str, QAction]:
            problems.view.customContextMenuRequested.emit(QPoint(5, 5))
            assert problems.menu is not None
            return {a.text(): a for a in problems.menu.actions()}

        offered = menu()
        assert {t: a.isEnabled() for t, a in offered.items()} == {b.text(): b.isEnabled() for b in problems.buttons()}
        assert offered["Acknowledge…"].isEnabled() and not offered["Unacknowledge"].isEnabled()
        problems.menu.close()  # type: ignore[union-attr]
        problems.alerts.acknowledge(row, "ana", "", timedelta(hours=1))
        offered = menu()
        assert offered["Unacknowledge"].isEnabled()
        offered["Unacknowledge"].trigger()
        assert not problems.alerts.acknowledged(row) and not problems.unack_button.isEnabled()
        problems.menu.close()  # type: ignore[union-attr]
        wall = wall_mode(h.window)
        wall.enter(full_screen=False)
        problems.view.customContextMenuRequested.emit(QPoint(5, 5))
        assert problems.menu is None, "the wall is read-only: no acknowledging from a menu either"
        wall.leave()
