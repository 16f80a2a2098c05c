"""Controls seen on every theme: a check box's or radio button's frame at 3:1 or more against the window and
its fill (WCAG non-text contrast) and a clear mark when checked; the write dialogs' and the Activity tab's
column titles whole (at a dialog's default size, narrower, on the wall)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHeaderView,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from hybridview.core.model import Instance
from hybridview.ui.action_dialog import ActionDialog
from hybridview.ui.action_widgets import PROGRESS_WIDTH
from hybridview.ui.evacuation_dialog import EvacuationDialog
from hybridview.ui.main_window import MainWindow
from hybridview.ui.theme import Theme, themes
from hybridview.ui.wall import wall_mode
from tests.ui.contrast import contrast
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui
THEMES = (Theme.LIGHT, Theme.DARK, Theme.HIGH_CONTRAST)
NON_TEXT = 3.0  # WCAG 2.1 SC 1.4.11: a control's frame and its state against what is next to it
EMPTY = 1.5  # nothing inside an unchecked box stands out this much from its fill
NARROW = 1200  # the width the review found the Progress title cut at
Indicated = QCheckBox | QRadioButton  # the buttons with an indicator


@pytest.fixture
def light_after(qapp: QApplication) -> Iterator[None]:
    yield
    themes(qapp).apply(Theme.LIGHT)


@dataclass(frozen=True, slots=True)
class IndicatorLook:
    """The colours painted for one check box's or radio button's indicator."""

    name: str
    height: int  # the indicator's, in px
    letters: int  # its label's ascent, in px
    outside: str  # just above the indicator: what it is seen against
    frame: str  # the frame pixel that stands out most from ``outside``
    fill: str  # the box's fill (the palette's Base)
    mark: str  # the inner pixel that stands out most from the fill

    def frame_ratios(self) -> tuple[float, float]:
        return contrast(self.frame, self.outside), contrast(self.frame, self.fill)

    def mark_ratio(self) -> float:
        return contrast(self.mark, self.fill)


def indicator_look(image: QImage, top: QWidget, button: Indicated) -> IndicatorLook:
    """Reads ``button``'s indicator off ``image``, a grab of ``top`` (the real background around it)."""
    option = QStyleOptionButton()
    button.initStyleOption(option)
    radio = isinstance(button, QRadioButton)
    element = QStyle.SubElement.SE_RadioButtonIndicator if radio else QStyle.SubElement.SE_CheckBoxIndicator
    rect = button.style().subElementRect(element, option, button).translated(button.mapTo(top, QPoint(0, 0)))

    def at(x: int, y: int) -> str:
        return QColor(image.pixel(x, y)).name()

    outside = at(rect.center().x(), rect.top() - 1)
    band = [at(x, rect.center().y()) for x in range(rect.left(), rect.left() + 3)]  # the frame's left side
    inset = rect.width() // 4
    inner = rect.adjusted(inset, inset, -inset, -inset)
    fill = button.palette().color(QPalette.ColorRole.Base).name()
    pixels = [at(x, y) for x in range(inner.left(), inner.right() + 1) for y in range(inner.top(), inner.bottom() + 1)]
    return IndicatorLook(
        button.text(),
        rect.height(),
        button.fontMetrics().ascent(),
        outside,
        max(band, key=lambda c: contrast(c, outside)),
        fill,
        max(pixels, key=lambda c: contrast(c, fill)),
    )


def assert_seen(look: IndicatorLook, checked: bool) -> None:
    assert look.height >= look.letters, ("the box is as tall as its label's letters (the wall's too)", look)
    on_outside, on_fill = look.frame_ratios()
    assert on_outside >= NON_TEXT and on_fill >= NON_TEXT, (look, round(on_outside, 2), round(on_fill, 2))
    if checked:
        assert look.mark_ratio() >= NON_TEXT, (look, round(look.mark_ratio(), 2))
    else:
        assert look.mark_ratio() < EMPTY, ("an unchecked box looks empty", look)


def visible_buttons(top: QWidget) -> list[Indicated]:
    """The check boxes and radio buttons shown in ``top`` itself (not in a dialog it owns)."""
    found: list[Indicated] = [*top.findChildren(QCheckBox), *top.findChildren(QRadioButton)]
    return [b for b in found if b.window() is top and b.isVisibleTo(top)]


def grab(top: QWidget) -> QImage:
    QApplication.processEvents()
    return top.grab().toImage()


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.value)
def test_check_boxes_and_radio_buttons_are_framed_at_3_to_1_and_marked_when_checked(
    qapp: QApplication, light_after: None, theme: Theme
) -> None:
    themes(qapp).apply(theme)
    page = QWidget()
    layout = QVBoxLayout(page)
    buttons: list[Indicated] = [QCheckBox("off"), QCheckBox("on"), QRadioButton("off"), QRadioButton("on")]
    for button in buttons:
        layout.addWidget(button)
        button.setAutoExclusive(False)
    buttons[1].setChecked(True)
    buttons[3].setChecked(True)
    page.show()
    image = grab(page)
    assert QColor(image.pixel(1, 1)).name() == page.palette().color(QPalette.ColorRole.Window).name()
    for button in buttons:
        assert_seen(indicator_look(image, page, button), button.isChecked())
    page.close()


def _failed_host(h: WindowHarness) -> tuple[str, str]:
    snap = h.presentations[-1].view.estate.openstack[0]
    down = next(n for n in snap.nodes if n.state == "down")
    return snap.cloud, down.host


def _kvm_instances(h: WindowHarness) -> list[Instance]:
    snap = h.presentations[-1].view.estate.openstack[0]
    up = {n.ref for n in snap.nodes if not n.is_vmware and n.state == "up"}
    return [i for i in snap.instances if i.node_ref in up and i.status == "ACTIVE"]


def _show_estate(w: MainWindow) -> None:
    """The Estate tab, whose filter bar holds "Problems only"."""
    page = next(w.tabs.widget(i) for i in range(w.tabs.count()) if w.tabs.widget(i).isAncestorOf(w.filter_bar))
    w.tabs.setCurrentIndex(w.tabs.indexOf(page))


def test_the_fencing_gate_and_problems_only_are_seen_on_every_theme_and_on_the_wall(
    qloop: asyncio.AbstractEventLoop, light_after: None, tmp_path: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        themes().apply(Theme.LIGHT)
        dialog = w.recovery.writes.open_evacuation(*_failed_host(h))
        assert isinstance(dialog, EvacuationDialog)
        h.wait_until(lambda: dialog.plan is not None)
        assert dialog.fence.isVisibleTo(dialog) and not dialog.fence.isChecked()
        assert dialog.force_down.isChecked(), "a checked box in the same dialog"
        instance = _kvm_instances(h)[0]
        move = w.moves.open_move(instance.ref, instance.name)  # its ways to move are radio buttons
        h.wait_until(lambda: move.plan is not None)
        must_show = {dialog: dialog.fence, move: next(iter(move.radios.values())), w: w.filter_bar.problems}
        for look in (*(t.value for t in THEMES), "wall"):  # switched live, the dialogs open throughout
            if look == "wall":
                wall_mode(w).enter(full_screen=False)
            else:
                themes().apply(look)
            _show_estate(w)
            for top, button in must_show.items():
                image = grab(top)
                image.save(str(tmp_path / f"{type(top).__name__}-{look}.png"))
                shown = visible_buttons(top)
                assert button in shown, (look, button.text())
                for each in shown:
                    assert_seen(indicator_look(image, top, each), each.isChecked())
        wall_mode(w).leave()
        dialog.close()
        move.close()


def _titles_whole(header: QHeaderView) -> dict[str, tuple[int, int]]:
    """The columns whose title is cut: title -> (width, the width its title needs)."""
    model = header.model()
    return {
        str(model.headerData(c, header.orientation())): (header.sectionSize(c), header.sectionSizeHint(c))
        for c in range(header.count())
        if not header.isSectionHidden(c) and header.sectionSize(c) < header.sectionSizeHint(c)
    }


def _every_write_dialog(h: WindowHarness) -> list[ActionDialog]:
    """Evacuation, VM restart, move and drain, each opened as the window opens it."""
    w, view = h.window, h.presentations[-1].view
    cloud, failed = _failed_host(h)
    instance = _kvm_instances(h)[0]
    assert instance.host is not None
    vcenter = view.estate.vcenters[0]
    return [
        w.recovery.writes.open_evacuation(cloud, failed),
        w.recovery.writes.open_restarts(vcenter.vcenter, vcenter.hosts[0].name),
        w.moves.open_move(instance.ref, instance.name),
        w.moves.open_drain(cloud, instance.host, instance.host, esxi=False),
    ]


def test_every_item_table_title_fits_at_the_default_size_narrower_and_in_high_contrast(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        themes().apply(Theme.LIGHT)
        dialogs = _every_write_dialog(h)
        h.wait_until(lambda: all(d.plan is not None for d in dialogs))
        for dialog in dialogs:
            header = dialog.table.horizontalHeader()
            progress = header.count() - 2
            default = dialog.size()
            for width, theme in ((default.width(), Theme.LIGHT), (NARROW, Theme.LIGHT), (NARROW, Theme.HIGH_CONTRAST)):
                themes().apply(theme)  # high contrast: bolder titles, wider
                dialog.resize(width, default.height())
                QApplication.processEvents()
                assert dialog.width() == width
                assert _titles_whole(header) == {}, (dialog.windowTitle(), width, theme)
                assert header.sectionSize(progress) >= PROGRESS_WIDTH, (dialog.windowTitle(), width)
            themes().apply(Theme.LIGHT)
            dialog.resize(default.width() + 300, default.height())  # room for what the operator wants
            QApplication.processEvents()
            header.resizeSection(0, header.sectionSize(0) + 40)  # as the operator drags it
            widened = header.sectionSize(0)
            dialog.resize(default.width() + 310, default.height())
            QApplication.processEvents()
            assert header.sectionSize(0) == widened, "a column the operator sized keeps its width"
            dialog.close()


def test_activity_titles_stay_whole_when_rows_arrive_on_the_wall(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_over(qloop, fast_demo("healthy", live_migration_seconds=120.0)) as h:
        activity = h.window.activity
        assert activity.model.rowCount() == 0, "no rows before the wall"
        wall_mode(h.window).enter(full_screen=False)
        header = activity.view.header()
        assert _titles_whole(header) == {}, "entering the wall widens them"
        instance = _kvm_instances(h)[0]
        h.estate.nova_writes(instance.cloud).live_migrate(instance.id, target_host=None, block_migration="auto")
        h.refresh()  # a move started elsewhere (another operator's CLI) is found running
        h.wait_until(lambda: activity.model.rowCount() > 0)
        h.run(asyncio.sleep(0.05))  # the fit after the first rows
        assert activity.model.rowCount() > 0
        assert _titles_whole(header) == {}
        wall_mode(h.window).leave()


def test_leaving_the_wall_after_a_write_dialog_closed_on_it_restores_the_window(
    qloop: asyncio.AbstractEventLoop, light_after: None
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        themes().apply(Theme.LIGHT)
        dialog = w.recovery.writes.open_evacuation(*_failed_host(h))
        h.wait_until(lambda: dialog.plan is not None)
        wall = wall_mode(w)
        wall.enter(full_screen=False)
        dialog.close()  # its views are deleted with it
        h.wait_until(lambda: not isValid(dialog))
        wall.leave()
        assert themes().applied is Theme.LIGHT and not wall.active
        assert all(a.isVisible() for a in wall.editing_actions())
