"""Rows of the Problems table, its header line and its focus text. Qt-free, built in workers.

Each row says its severity in words and a glyph beside the icon (never colour alone), names its
item as the trees do (a vmwareapi node by its cluster and vCenter), and its age ("12 min"),
which the window re-renders as time passes from ``ProblemRow.since`` without building rows again.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hybridview.core.headroom import estate_headroom
from hybridview.core.health import Severity
from hybridview.core.identity import AggregateRef, ClusterRef, EndpointRef, InstanceRef, Ref, VmRef, ZoneRef
from hybridview.core.problem_counts import Counts, problem_counts
from hybridview.core.problem_actions import ActionProblem
from hybridview.core.problems import Problem, ProblemId, ProblemKind, problems, remember
from hybridview.core.recovery import recovery
from hybridview.core.view import EstateView
from hybridview.views.presentation import node_name

PROBLEM_COLUMNS = ("Severity", "Layer", "Owner", "Item", "What", "Affected", "Since", "Advice")
SINCE_COLUMN = PROBLEM_COLUMNS.index("Since")
LAYER_TEXT = {"nova": "Nova", "vsphere": "vSphere", "hybridview": "hybridview"}
KIND_TEXT = {
    ProblemKind.NODE: "compute node",
    ProblemKind.ESXI_HOST: "ESXi host",
    ProblemKind.CLUSTER: "cluster",
    ProblemKind.ENDPOINT: "endpoint",
    ProblemKind.INSTANCE: "instance",
    ProblemKind.EVACUATION: "evacuation",
    ProblemKind.LEFT_BEHIND: "VMs left behind",
    ProblemKind.ACTION: "action",
    ProblemKind.HEADROOM: "headroom of",
}
GROUP_TEXT = {ClusterRef: "cluster", ZoneRef: "zone", AggregateRef: "aggregate", EndpointRef: "cloud"}
# severity: (glyph and word, icon name, the keyed table's text colour level)
LOOK = {
    Severity.CRITICAL: ("✖ CRITICAL", "critical", "failed"),
    Severity.WARNING: ("⚠ WARNING", "warning", "blocked"),
    Severity.STALE: ("? STALE", "stale", None),
    Severity.OK: ("✔ OK", "ok", None),
}
NOTICE_LOOK = ("ℹ NOTICE", "maintenance", None)
MAX_PROJECTS = 3


@dataclass(frozen=True, slots=True)
class ProblemRow:
    key: Hashable  # the problem's id: one row each
    item: Ref  # what to select in the trees
    cells: tuple[str, ...]
    tooltip: str
    icon: str
    level: str | None
    since: datetime
    severity: Severity
    notice: bool


@dataclass(frozen=True, slots=True)
class ProblemTable:
    rows: tuple[ProblemRow, ...]
    header: str
    header_level: str  # "critical" | "warning" | "ok"
    focus: str  # the worst problem and its advice, or that there is none


def age_text(since: datetime, now: datetime) -> str:
    """How long ago, as an operator reads it: "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def names_of(view: EstateView, keys: Sequence[Ref]) -> dict[Ref, str]:
    """The items' names as the trees show them; an item no longer in the view keeps its id."""
    wanted = set(keys)
    names: dict[Ref, str] = {}
    clusters = {c.ref: c for vc in view.estate.vcenters for c in vc.clusters}
    corr = view.health.correlation
    for snap in view.estate.openstack:
        for node in snap.nodes:
            if node.ref in wanted:
                ref = corr.cluster_for(node)
                names[node.ref] = node_name(node, clusters.get(ref) if ref else None)
        if any(isinstance(k, InstanceRef) and k.cloud == snap.cloud for k in wanted):
            names.update((i.ref, i.name) for i in snap.instances if i.ref in wanted)
        if any(isinstance(k, AggregateRef) and k.cloud == snap.cloud for k in wanted):
            names.update((g, a.name) for a in snap.aggregates if (g := AggregateRef(a.cloud, a.id)) in wanted)
    for vc in view.estate.vcenters:
        names.update((h.ref, h.name) for h in vc.hosts if h.ref in wanted)
        names.update((c.ref, c.name) for c in vc.clusters if c.ref in wanted)
        if any(isinstance(k, VmRef) and k.vcenter == vc.vcenter for k in wanted):
            names.update((v.ref, v.name) for v in vc.vms if v.ref in wanted)
    for key in wanted - names.keys():
        names[key] = key.name if isinstance(key, EndpointRef) else key.local
    return names


def affected_text(problem: Problem) -> str:
    a = problem.affected
    parts = []
    if a.instances:
        parts.append(f"{a.instances} instance(s)")
    if a.vms and (a.vms != a.instances or problem.layer == "vsphere"):
        parts.append(f"{a.vms} VM(s)")
    text = ", ".join(parts) or "—"
    if a.projects:
        shown = ", ".join(a.projects[:MAX_PROJECTS])
        more = f" +{len(a.projects) - MAX_PROJECTS}" if len(a.projects) > MAX_PROJECTS else ""
        text += f" · projects {shown}{more}"
    return text


def advice_of(problem: Problem) -> str:
    return problem.advice or problem.title


def problem_row(problem: Problem, name: str, now: datetime) -> ProblemRow:
    word, icon, level = NOTICE_LOOK if problem.notice else LOOK[problem.severity]
    what = problem.title + (" (stale data)" if problem.stale else "")
    advice = advice_of(problem)
    item = f"{KIND_TEXT[problem.kind]} {name}" if problem.kind is not ProblemKind.ENDPOINT else name
    if problem.kind is ProblemKind.HEADROOM:  # "headroom of zone az1"
        item = f"{KIND_TEXT[problem.kind]} {GROUP_TEXT.get(type(problem.key), '')} {name}"
    cells = (
        word,
        LAYER_TEXT.get(problem.layer, problem.layer),
        problem.owner,
        item,
        what,
        affected_text(problem),
        age_text(problem.since, now),
        advice,
    )
    projects = ", ".join(problem.affected.projects) or "none known"
    tooltip = (
        f"{word} · {item} on {problem.owner}\n{what}\nsince {problem.since:%Y-%m-%d %H:%M:%S %Z}\n"
        f"projects: {projects}\n\nWhat to do: {advice}\n\n{problem.key.text()}"
    )
    return ProblemRow(
        problem.id, problem.key, cells, tooltip, icon, level, problem.since, problem.severity, problem.notice
    )


def problem_table(view: EstateView, found: Sequence[Problem], counts: Counts, now: datetime) -> ProblemTable:
    names = names_of(view, [p.key for p in found])
    rows = tuple(problem_row(p, names[p.key], now) for p in found)
    return ProblemTable(rows, header_text(counts), header_level(found), focus_text(rows[0] if rows else None))


def problems_for(
    view: EstateView, now: datetime, first_seen: Mapping[ProblemId, datetime], actions: Sequence[ActionProblem]
) -> tuple[ProblemTable, dict[ProblemId, datetime]]:
    """In a worker: the table for ``view`` and the first-seen map for the next one."""
    waiting, rooms = recovery(view), estate_headroom(view.estate)
    found = problems(view, now, first_seen, actions, waiting, rooms)
    return problem_table(view, found, problem_counts(view, waiting, rooms), now), remember(first_seen, found, now)


def focus_text(row: ProblemRow | None) -> str:
    """The one problem to read first, in full: what, where, since, and what to do."""
    if row is None:
        return "✔ No problems: every host responds and every endpoint is fresh."
    word, _layer, owner, item, what, affected, since, advice = row.cells
    return f"{word}  {item} ({owner}) — {what}\n{affected} · for {since}\nWhat to do: {advice}"


def header_level(found: Sequence[Problem]) -> str:
    worst = max((p.severity for p in found if not p.notice), default=Severity.OK)
    return "critical" if worst is Severity.CRITICAL else ("warning" if worst > Severity.OK else "ok")


def header_text(c: Counts) -> str:
    nova = f"Nova: {c.nodes_up} nodes up" + (f", {c.nodes_down} DOWN" if c.nodes_down else ", 0 down")
    hosts = f"vSphere: {c.hosts_ok} ESXi hosts ok" + (f", {c.hosts_down} DOWN" if c.hosts_down else ", 0 down")
    if c.hosts_maintenance:
        hosts += f", {c.hosts_maintenance} in maintenance"
    moves = f"{c.migrations_running} migration(s)" + (
        f" + {c.vmotions_running} vMotion(s)" if c.vmotions_running else ""
    )
    parts = [
        nova,
        hosts,
        f"{c.at_risk} instance(s)/VM(s) at risk",
        f"{c.evacuations_pending} evacuation(s) pending",
        f"{moves} running",
    ]
    if c.without_headroom:
        parts.append(f"{c.without_headroom} group(s) without N+1 headroom")
    if c.stale_endpoints:
        parts.append(f"{c.stale_endpoints} endpoint(s) STALE")
    return "   ·   ".join(parts)


def retick(rows: Sequence[ProblemRow], shown: Mapping[Hashable, str], now: datetime) -> dict[Hashable, str]:
    """The age texts that changed since ``shown``, by row key."""
    fresh = {r.key: age_text(r.since, now) for r in rows}
    return {key: text for key, text in fresh.items() if shown.get(key) != text}
