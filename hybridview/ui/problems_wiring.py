"""What the Problems view takes from the rest of the window: its clock and this window's failed writes; its
context menu; and tab helpers that find a tab by its widget, not its index, now that the Problems tab comes first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QMenu, QPushButton, QTabWidget, QWidget

from hybridview.actions.operation import ItemState, ItemStatus, Operation
from hybridview.core.actions import ActionKey
from hybridview.core.problem_actions import ActionProblem
from hybridview.service.wiring import Endpoints

TROUBLE = frozenset({ItemState.FAILED, ItemState.UNKNOWN})


def clock_for(endpoints: Endpoints) -> Callable[[], datetime]:
    """Wall-clock time; on the demo, the demo's clock (it starts at a fixed date) moving at the wall's pace."""
    demo = endpoints.demo
    if demo is None:
        return lambda: datetime.now(UTC)
    offset = demo.now() - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


def action_problems(operations: Iterable[Operation]) -> tuple[ActionProblem, ...]:
    """Each item whose latest attempt failed or never ended (a later attempt that worked clears it)."""
    latest: dict[ActionKey, tuple[Operation, ItemStatus]] = {}
    for operation in operations:
        for item in operation.items:
            if item.state is not ItemState.BLOCKED:
                latest[item.step.key] = (operation, item)
    return tuple(
        ActionProblem(key, item.step.label, item.state.value, item.message, operation.title)
        for key, (operation, item) in latest.items()
        if item.state in TROUBLE
    )


def button_menu(view: QAbstractItemView, buttons: Sequence[QPushButton], at: QPoint) -> QMenu | None:
    """A context menu of the buttons shown beside the view, each enabled as its button is (hidden ones,
    as in wall mode, are left out); it clicks the button, so both do the same. None when none is shown."""
    shown = [b for b in buttons if b.isVisibleTo(b.window())]
    if not shown:
        return None
    menu = QMenu(view)
    menu.aboutToHide.connect(menu.deleteLater)  # after its action is triggered: one menu at a time
    for button in shown:
        action = QAction(button.text(), menu)
        action.setEnabled(button.isEnabled())
        action.setToolTip(button.toolTip())
        action.triggered.connect(button.click)
        menu.addAction(action)
    menu.popup(view.viewport().mapToGlobal(at))  # no nested event loop
    return menu


def tab_counter(tabs: QTabWidget, widget: QWidget, name: str) -> Callable[[int], None]:
    """Sets the widget's tab text to "name (n)", or "name" for none."""
    return lambda n: tabs.setTabText(tabs.indexOf(widget), f"{name} ({n})" if n else name)


def when_shown(tabs: QTabWidget, widget: QWidget, call: Callable[[], None]) -> Callable[[int], None]:
    """For ``currentChanged``: ``call`` whenever the widget's tab becomes the current one."""

    def changed(index: int) -> None:
        if tabs.widget(index) is widget:
            call()

    return changed
