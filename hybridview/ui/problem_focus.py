"""The Problems tab's focus box: the one problem to read first, in full, its headline the largest line.

The style sheet sizes it all: the box's font is the body, and its ``headlineSize`` property (set by
``qproperty-headlineSize`` in style.qss, and larger in wall.qss) is the headline's pixel size. Rich
text cannot take that size from a rule, so the box writes it into its text whenever the rule changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Property, Qt
from PySide6.QtWidgets import QLabel

DEFAULT_HEADLINE_PX = 19


class FocusBox(QLabel):
    """A framed label: a headline, then lines; its ``level`` property (critical, warning, ok) picks its colours."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("problemFocus")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self._headline_px = DEFAULT_HEADLINE_PX
        self._lines: tuple[str, ...] = ()

    def show_lines(self, lines: Sequence[str], level: str) -> None:
        """The first line as the headline, the others below it; plain text (escaped here)."""
        self._lines = tuple(lines)
        self._render()
        if self.property("level") != level:
            self.setProperty("level", level)
            self.style().unpolish(self)
            self.style().polish(self)

    def headline_px(self) -> int:
        return self._headline_px

    def _set_headline_px(self, px: int) -> None:
        if px > 0 and px != self._headline_px:
            self._headline_px = px
            self._render()

    headlineSize = Property(int, headline_px, _set_headline_px)  # noqa: N815 (a Qt property, set from QSS)

    def _render(self) -> None:
        if not self._lines:
            self.setText("")
            return
        head, *rest = self._lines
        html = f"<div style='font-size:{self._headline_px}px; font-weight:700'>{escape(head)}</div>"
        self.setText(html + "".join(f"<div style='margin-top:4px'>{escape(line)}</div>" for line in rest))
