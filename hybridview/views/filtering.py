"""The trees' and the instance pane's filter: "problems only" and a search text. Plain Python, run in a worker.

A search is a case-insensitive substring of a row's first cell, of its ids (``Row.search``) or of
what it holds (``Row.holds``: a node's instances, an ESXi host's VMs). A row is kept when it
matches, when it lies under a row that matches by its own name or ids, or when one of its
descendants is kept: the path to every match stays. "Problems only" keeps the rows above OK
and their ancestors. Rows that pass whole are the same objects, so the diff skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, HostRef, NodeRef, Ref
from hybridview.views.rows import Row

if TYPE_CHECKING:
    from hybridview.views.presentation import Presentation  # which fills the search text with ``searchable``


@dataclass(frozen=True, slots=True)
class RowFilter:
    text: str = ""
    problems_only: bool = False

    @property
    def needle(self) -> str:
        return self.text.strip().lower()

    @property
    def active(self) -> bool:
        return bool(self.needle) or self.problems_only

    def forest(self, rows: tuple[Row, ...]) -> tuple[Row, ...]:
        """The tree ``rows`` with only what passes; ``rows`` itself when nothing is filtered."""
        if not self.active:
            return rows
        kept = _filter(rows, self.needle, self.problems_only, accepted=False)
        return rows if _same(kept, rows) else kept

    def pane(self, rows: Sequence[Row], selected: Row | None) -> tuple[Row, ...]:
        """The instance pane's rows; all that pass "problems only" when the selection matches by itself."""
        needle = self.needle
        whole = not needle or (selected is not None and own_match(selected, needle))
        return tuple(
            row
            for row in rows
            if (whole or matches(row, needle)) and (not self.problems_only or row.severity > Severity.OK)
        )


def own_match(row: Row, needle: str) -> bool:
    """The row's first cell or its ids contain ``needle`` (already lowercased)."""
    return needle in row.search or (bool(row.cells) and needle in row.cells[0].lower())


def matches(row: Row, needle: str) -> bool:
    return own_match(row, needle) or needle in row.holds


def find(rows: Iterable[Row], key: Ref) -> Row | None:
    """The row of ``key`` anywhere in the forest."""
    for row in rows:
        if row.key == key:
            return row
        found = find(row.children, key)
        if found is not None:
            return found
    return None


def _filter(rows: tuple[Row, ...], needle: str, problems: bool, accepted: bool) -> tuple[Row, ...]:
    kept = []
    for row in rows:
        hit = accepted or not needle or matches(row, needle)
        below = accepted or not needle or own_match(row, needle)  # a name or id matched: its subtree stays
        children = _filter(row.children, needle, problems, below) if row.children else ()
        if children or (hit and (not problems or row.severity > Severity.OK)):
            kept.append(row if _same(children, row.children) else replace(row, children=children))
    return tuple(kept)


def _same(kept: tuple[Row, ...], rows: tuple[Row, ...]) -> bool:
    return len(kept) == len(rows) and all(a is b for a, b in zip(kept, rows, strict=True))


# -- the search text, filled while the rows are built ---------------------------------------


def lowered(parts: Iterable[str | None]) -> str:
    """Search text from ``parts``, one a line (a search never matches across two)."""
    return "\n".join(part for part in parts if part).lower()


def searchable(p: Presentation, rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """The tree ``rows`` with each row's own names and ids, and those of what it holds."""
    return _Searchable(p).forest(rows)


class _Searchable:
    def __init__(self, p: Presentation) -> None:
        self._p = p
        self._corr = p.view.health.correlation
        self._project_of_vm = {(v.vcenter, v.moref): i.project_id for v, i in self._corr.instance_by_vm.items()}

    def forest(self, rows: tuple[Row, ...]) -> tuple[Row, ...]:
        return tuple(self._row(row) for row in rows)

    def _row(self, row: Row) -> Row:
        search, holds = self._text(row.key)
        return replace(row, search=search, holds=holds, children=self.forest(row.children))

    def _text(self, key: Ref) -> tuple[str, str]:
        p = self._p
        if isinstance(key, NodeRef) and key in p.nodes:
            node = p.nodes[key]
            ref = self._corr.cluster_for(node)
            cluster = p.clusters.get(ref) if ref else None
            own = (node.id, node.hypervisor_hostname, node.host, node.host_ip, cluster.name if cluster else None)
            instances = p.instances_by_node.get(key, ())
            return lowered(own), "\n".join([f"{i.name}\n{i.id}\n{i.project_id}" for i in instances]).lower()
        if isinstance(key, HostRef) and key in p.hosts:
            host, project = p.hosts[key][1], self._project_of_vm
            vms = [
                f"{v.name}\n{v.moref}\n{v.instance_uuid}\n{project.get((v.vcenter, v.moref), '')}"
                for v in p.vms_by_host.get(key, ())
            ]
            return lowered((host.moref, host.name)), "\n".join(vms).lower()
        if isinstance(key, ClusterRef) and key in p.clusters:
            cluster = p.clusters[key]
            proxy = self._corr.cluster_to_node.get(key)
            return lowered((cluster.moref, cluster.name, proxy.hypervisor_hostname if proxy else None)), ""
        return "", ""
