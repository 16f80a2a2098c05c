"""Plain rows that the Qt models show. Built off the GUI thread; no Qt here."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.health import Severity
from hybridview.core.identity import Ref


@dataclass(frozen=True, slots=True)
class Row:
    key: Ref  # the identity of what the row shows
    cells: tuple[str, ...]
    severity: Severity = Severity.OK
    tooltip: str = ""
    icon: str | None = None  # overrides the severity icon, e.g. "maintenance"
    children: tuple[Row, ...] = ()
    # What a search matches besides the first cell, lowercased (views/filtering.py): the row's own
    # ids, and the text of what it holds (a node's instances, a host's VMs). Never shown.
    search: str = ""
    holds: str = ""

    def same_content(self, other: Row) -> bool:
        return (self.cells, self.severity, self.tooltip, self.icon) == (
            other.cells,
            other.severity,
            other.tooltip,
            other.icon,
        )

    @property
    def icon_name(self) -> str:
        return self.icon or self.severity.label
