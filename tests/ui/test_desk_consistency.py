"""The desk's loose ends: the alert strip agrees with the Problems tab, a zone's problem has nothing to show in
Estate, the banners read at WCAG AA in every theme, and the wall's larger type cuts no column title."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QHeaderView, QTreeView

from hybridview.core.identity import AggregateRef, NodeRef, ZoneRef
from hybridview.service.wiring import Endpoints
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.problems_view import SHOW_TIP
from hybridview.ui.problems_wiring import button_menu
from hybridview.ui.theme import BANNER_COLOURS, BANNER_LEVELS, Theme, themes
from hybridview.ui.wall import wall_mode
from tests.ui.harness import WindowHarness, fast_demo, window_on, window_over
from tests.ui.test_desk_finish import AA, THEMES, contrast

pytestmark = pytest.mark.ui


@pytest.fixture
def light_after(qapp: QApplication) -> Iterator[None]:
    yield
    themes(qapp).apply(Theme.LIGHT)


def _listed(h: WindowHarness) -> None:
    """Until the Problems tab has listed the latest presentation and the strip has heard of it."""
    problems = h.window.problems
    h.wait_until(lambda: problems.table is not None and problems.builds >= len(h.presentations))


def _tight(scenario: str, cloud: str) -> Endpoints:
    """The demo with zone az1 of ``cloud`` full: its hosts could not absorb one another's failure."""
    endpoints = fast_demo(scenario)
    estate = endpoints.demo
    assert estate is not None
    for node in estate.layout.nodes:
        if node.cloud == cloud and node.zone == "az1" and not node.is_vmware:
            node.memory_mb = node.memory_mb_used
    estate.invalidate()
    return endpoints


def test_a_live_migration_is_activity_in_the_strip_as_in_the_problems_tab(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("live-migration-in-progress")) as h:
        w = h.window
        _listed(h)
        assert h.presentations[-1].view.health.overall.label == "warning", "health warns of the migrating instance"
        assert w.problems.table is not None and w.problems.table.rows == ()
        assert w.tabs.tabText(w.tabs.indexOf(w.problems)) == "Problems (0)"
        text = w.alert.text()
        assert text.startswith("✔ No problems") and "need attention" not in text, text
        assert "1 migration(s) + 1 vMotion(s) running: see Activity" in text
        assert "1 migration(s) + 1 vMotion(s) running" in w.problems.counts.text(), "the header counts the same"
        assert w.alert.property("level") == "ok"


def test_headroom_warnings_make_the_strip_warn_though_health_is_ok(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, _tight("healthy", "demo-cloud")) as h:
        w = h.window
        _listed(h)
        table = w.problems.table
        assert table is not None and table.rows, "the full zone is listed"
        assert h.presentations[-1].view.health.overall.label == "ok", "headroom is no item's health"
        h.wait_until(lambda: "need attention" in w.alert.text())
        assert w.alert.text() == f"⚠ {len(table.rows)} problem(s) need attention: see Problems"
        assert w.alert.property("level") == "warning"
        assert w.tabs.tabText(w.tabs.indexOf(w.problems)) == f"Problems ({len(table.rows)})"


@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")  # a popup, offscreen
def test_show_in_estate_is_disabled_for_a_zone_or_an_aggregate_and_says_why(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, _tight("kvm-host-down", "demo-edge")) as h:
        w, problems = h.window, h.window.problems
        _listed(h)
        assert problems.table is not None
        items = [r.item for r in problems.table.rows]
        assert any(isinstance(i, ZoneRef) for i in items) and any(isinstance(i, AggregateRef) for i in items), items
        for row, item in enumerate(items):
            problems.view.setCurrentIndex(problems.model.index(row, 0))
            selected = problems.selected()
            assert selected is not None and selected.item == item
            button = problems.show_button
            if isinstance(item, ZoneRef | AggregateRef):
                assert not button.isEnabled(), item
                group = "availability zone" if isinstance(item, ZoneRef) else "host aggregate"
                assert f"A Nova {group} has no row in the trees" in button.toolTip()
                menu = button_menu(problems.view, problems.buttons(), problems.view.rect().center())
                assert menu is not None
                show = next(a for a in menu.actions() if a.text() == button.text())
                assert not show.isEnabled() and show.toolTip() == button.toolTip(), "the menu says the same"
                menu.close()
                problems.show_in_estate()
                assert w.tabs.currentWidget() is problems, "nothing to go to: the tab stays"
            else:
                assert button.isEnabled() and button.toolTip() == SHOW_TIP, item
        node = next(i for i in items if isinstance(i, NodeRef))
        problems.view.setCurrentIndex(problems.model.index(items.index(node), 0))
        problems.show_in_estate()
        assert w.tabs.currentWidget().isAncestorOf(w.nova_view) and w.selected_key == node


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.value)
def test_every_banner_reads_at_4_5_to_1_in_every_theme(qapp: QApplication, light_after: None, theme: Theme) -> None:
    themes(qapp).apply(theme)
    painted = {}
    for level in BANNER_LEVELS:
        label = banner(level)
        set_banner(label, "⚠ Not sent: HTTP 409", level)
        label.ensurePolished()
        palette = label.palette()
        text, background = (palette.color(r).name() for r in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window))
        colours = BANNER_COLOURS[theme][level]
        assert (text, background) == (colours.text, colours.background), "the theme's banner, painted"
        painted[level] = (text, background, round(contrast(text, background), 2))
    assert all(ratio >= AA for _t, _bg, ratio in painted.values()), painted
    if theme is not Theme.LIGHT:  # dark boxes, not the light theme's pale ones
        assert all(contrast(bg, "#000000") < contrast(bg, "#ffffff") for _t, bg, _r in painted.values()), painted


def test_a_theme_switch_repaints_the_banners_already_shown(qapp: QApplication, light_after: None) -> None:
    themes(qapp).apply(Theme.LIGHT)
    label = banner("critical")
    set_banner(label, "✖ Refused, nothing can be sent", "critical")
    for theme in (Theme.DARK, Theme.HIGH_CONTRAST, Theme.LIGHT):
        themes(qapp).apply(theme)
        label.ensurePolished()
        assert label.palette().color(QPalette.ColorRole.Window).name() == BANNER_COLOURS[theme]["critical"].background
    set_banner(label, "", "info")
    assert label.isHidden(), "an empty banner takes no room"


def _headers(h: WindowHarness) -> list[QHeaderView]:
    views: list[QTreeView] = [*h.window.recovery.views, h.window.audit.view]
    return [v.header() for v in views]


def test_the_walls_type_cuts_no_column_title_of_the_empty_tables(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_on(qloop, "healthy") as h:
        headers = _headers(h)
        assert all(h_.model().rowCount() == 0 for h_ in headers), "the empty tables"
        before = [[h_.sectionSize(c) for c in range(h_.count())] for h_ in headers]
        assert all(h_.sectionSize(c) >= h_.sectionSizeHint(c) for h_ in headers for c in range(h_.count()))
        wall = wall_mode(h.window)
        wall.enter(full_screen=False)
        columns = [(h_, c, was) for h_, widths in zip(headers, before, strict=True) for c, was in enumerate(widths)]
        assert any(h_.sectionSizeHint(c) > was for h_, c, was in columns), "the wall's titles need more room"
        cut = [
            h_.model().headerData(c, h_.orientation())
            for h_, c, _was in columns
            if h_.sectionSize(c) < h_.sectionSizeHint(c)
        ]
        assert cut == [], "these titles are cut at the wall's type"
        wall.leave()
        assert [[h_.sectionSize(c) for c in range(h_.count())] for h_ in headers] == before, "as they were"
