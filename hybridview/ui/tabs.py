"""The window's tabs: the Estate panes, then Recovery, Activity and Audit, each with its live count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTabWidget, QWidget

from hybridview.ui.problems_view import tab_counter, when_shown

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow


def build_tabs(window: MainWindow, estate: QWidget) -> QTabWidget:
    """Problems (first) and Timeline (last) add themselves; counts and refreshes follow tabs by widget, not index."""
    tabs = QTabWidget()
    tabs.setDocumentMode(True)
    tabs.addTab(estate, "Estate")
    tabs.addTab(window.recovery, "Recovery")
    tabs.addTab(window.activity, "Activity")
    tabs.addTab(window.audit, "Audit")
    window.recovery.waiting_changed.connect(tab_counter(tabs, window.recovery, "Recovery"))
    window.recovery.operation_finished.connect(lambda _op: window.audit.request_refresh())
    tabs.currentChanged.connect(when_shown(tabs, window.audit, window.audit.request_refresh))
    window.activity.count_changed.connect(tab_counter(tabs, window.activity, "Activity"))
    return tabs
