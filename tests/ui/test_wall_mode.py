"""Wall mode on the demo: read-only, problems first, large type, DATA STALE when refreshes stop; and the themes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from hybridview.actions.desk import ActionDesk
from hybridview.ui.icons import style_sheet
from hybridview.ui.theme import Theme, system_theme, themes
from hybridview.ui.wall import STALE_AFTER_INTERVALS, wall_mode
from tests.ui.harness import window_on


def _px(widget: QWidget) -> int:
    widget.ensurePolished()
    return widget.font().pixelSize() or round(widget.font().pointSizeF() * widget.logicalDpiY() / 72)


def _writable(desk: ActionDesk) -> bool:
    return not (desk.read_only or desk.runner.read_only)


@pytest.fixture
def light_after(qapp: QApplication) -> Iterator[None]:
    yield
    themes(qapp).apply(Theme.LIGHT)


def test_wall_mode_is_read_only_problems_first_and_large(qloop: asyncio.AbstractEventLoop, light_after: None) -> None:
    with window_on(qloop, "esxi-host-down") as h:
        w = h.window
        wall = wall_mode(w)
        w.tabs.setCurrentIndex(w.tabs.count() - 1)
        writes: list[QWidget] = [
            w.recovery.evacuate_host_button,
            w.recovery.evacuate_selected_button,
            w.recovery.restart_button,
            w.recovery.clear_button,
            *w.activity.buttons.values(),
        ]
        assert w.moves.drain_action.isVisible() and w.recovery.restart_button.isVisibleTo(w.recovery)
        wall.enter(full_screen=False)
        h.refresh()
        assert not _writable(w.desk)  # the desk and its runner itself refuses every write
        assert not w.moves.move_action.isVisible() and not w.moves.drain_action.isVisible()
        assert not any(b.isVisibleTo(b.parentWidget() or w) for b in writes)
        assert not any(b.isVisibleTo(w.problems) for b in w.problems.findChildren(QPushButton))  # no acknowledging
        assert len(wall.editing_actions()) == 2 and not any(a.isVisible() for a in wall.editing_actions())
        assert w.tabs.currentWidget() is w.problems
        assert "CRITICAL" in w.problems.focus.text() and "What to do" in w.problems.focus.text()
        assert themes().applied is Theme.DARK
        assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
        assert _px(w.alert) >= 32 and _px(w.problems.counts) >= 32  # the headlines
        assert _px(w.problems.view) >= 20 and _px(w.problems.focus) >= 20  # the body
        ages = [label for label in w.statusBar().findChildren(QLabel) if "vc-east" in label.text()]
        assert ages and _px(ages[0]) >= 20
        assert wall.action.isChecked()
        wall.leave()
        assert _writable(w.desk) and w.moves.drain_action.isVisible()
        assert w.recovery.restart_button.isVisibleTo(w.recovery)
        assert all(a.isVisible() for a in wall.editing_actions())
        assert themes().applied is Theme.LIGHT and _px(w.alert) < 32


def test_data_stale_when_the_monitor_stops_publishing(qloop: asyncio.AbstractEventLoop, light_after: None) -> None:
    with window_on(qloop, "esxi-host-down") as h:  # the harness's monitor has auto-refresh off
        wall = wall_mode(h.window)
        wall.enter(full_screen=False)
        h.refresh()
        assert not wall.is_stale() and not wall.banner.isVisibleTo(h.window)
        later = time.monotonic() + STALE_AFTER_INTERVALS * h.window.interval.value() + 1
        wall.clock = lambda: later
        wall.check_stale()
        assert wall.is_stale() and "DATA STALE" in wall.banner.text() and "no refresh" in wall.banner.text()
        h.refresh()  # a publication: fresh again
        assert not wall.is_stale()


def test_data_stale_when_an_endpoint_stops_answering(qloop: asyncio.AbstractEventLoop, light_after: None) -> None:
    with window_on(qloop, "healthy") as h:
        wall = wall_mode(h.window)
        wall.enter(full_screen=False)
        # the first presentation may come before a slow endpoint's first answer
        h.wait_until(lambda: all(e.ok for e in h.presentations[-1].view.estate.endpoints))
        assert not wall.is_stale()
        h.estate.broken_endpoints.add("vc-west")
        h.refresh()
        assert "STALE vc-west" in h.window.endpoint_bar.text()
        assert wall.is_stale() and "not answering: vc-west" in wall.banner.text()
        h.estate.broken_endpoints.clear()
        h.refresh()
        assert not wall.is_stale()


def test_theme_switch_applies(qloop: asyncio.AbstractEventLoop, qapp: QApplication, light_after: None) -> None:
    manager = themes(qapp)
    assert manager.apply("dark") is Theme.DARK
    assert qapp.palette().color(QPalette.ColorRole.Base).lightness() < 60
    assert "dark:" in qapp.styleSheet() and qapp.styleSheet().startswith(style_sheet())
    assert manager.apply("high-contrast") is Theme.HIGH_CONTRAST
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    assert "high contrast" in qapp.styleSheet()
    assert manager.apply("system") is system_theme()
    assert manager.apply("light") is Theme.LIGHT
    assert qapp.styleSheet() == style_sheet()


def _headline_px(label: QLabel) -> int:
    """The pixel size the focus box's first line is laid out in (its rich text, as Qt reads it)."""
    document = QTextDocument()
    document.setDefaultFont(label.font())
    document.setHtml(label.text())
    fragment = document.begin().begin().fragment()
    return fragment.charFormat().font().pixelSize()


def test_the_problem_headline_is_the_largest_text_on_the_wall(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_on(qloop, "esxi-host-down") as h:
        w = h.window
        focus = w.problems.focus
        h.wait_until(lambda: "CRITICAL" in focus.text())
        normal = _headline_px(focus)
        assert normal == 19 and _px(focus) < normal, "the desk: the headline a little above its body"
        wall = wall_mode(w)
        wall.enter(full_screen=False)
        h.refresh()
        headline = _headline_px(focus)
        assert 34 <= headline <= 40, headline
        others = {
            f"{type(widget).__name__}#{widget.objectName()}": _px(widget)
            for widget in w.findChildren(QWidget)
            if widget.isVisibleTo(w) and widget is not focus and widget is not wall.banner
        }
        assert max(others.values()) < headline, sorted(others.items(), key=lambda kv: -kv[1])[:3]
        assert _px(focus) >= 20 and "CRITICAL" in focus.text(), "the body stays wall-sized"
        # DATA STALE alone is louder: when it shows, the headline may no longer be true
        assert _px(wall.banner) > headline
        assert w.problems.view.iconSize().height() >= 24, "the state icons grow with the words beside them"
        wall.leave()
        assert _headline_px(focus) == normal and w.problems.view.iconSize().height() < 24
