"""The alert strip above the tabs, kept in step with the Problems tab (its words: ``views.alert_line``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from hybridview.views.alert_line import LEVELS, AlertLine, EstateFacts, ProblemSummary, alert_line
from hybridview.views.presentation import Presentation

if TYPE_CHECKING:
    from hybridview.ui.main_window import MainWindow


def alert_label() -> QLabel:
    label = QLabel()
    label.setObjectName("alertStrip")  # its colours per level: the style sheets
    label.setWordWrap(True)
    for level in LEVELS:  # style each level now, not during the first load
        show_line(label, AlertLine("", level))
    show_line(label, alert_line(None, None, None))
    return label


def show_line(label: QLabel, line: AlertLine) -> None:
    label.setText(line.text)
    label.setProperty("level", line.level)
    label.style().unpolish(label)
    label.style().polish(label)


class AlertStrip(QObject):
    """Shows the window's alert line again on each presentation shown, fault, and Problems list.

    A child of the window (the window's module stays small); it keeps the little it needs of a view, not the view.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._facts: EstateFacts | None = None
        self._summary: ProblemSummary | None = None
        window.presentation_shown.connect(self._on_presentation)
        window.controller.fault_changed.connect(lambda _fault: self.show())
        window.problems.summary_changed.connect(self._on_summary)

    def _on_presentation(self, p: Presentation) -> None:
        self._facts = EstateFacts.of(p.view)
        self.show()

    def _on_summary(self, summary: ProblemSummary) -> None:
        self._summary = summary
        self.show()

    def show(self) -> None:
        line = alert_line(self._facts, self._window.controller.fault, self._summary)
        show_line(self._window.alert, line)
