"""Health states of the things an operator watches, and the transitions between two views.

Watched: compute nodes, vCenter clusters, ESXi hosts, endpoints, and the overall health.
States are computed once per publication (off the event loop); each subscriber diffs
them against the states it saw last, so a slow subscriber that skips views still gets
every change, folded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from hybridview.core.health import Overall, Severity
from hybridview.core.identity import EndpointRef, Ref
from hybridview.core.model import EndpointStatus
from hybridview.core.view import EstateView

OVERALL_REF = "overall"
GONE = "GONE"  # the item left the inventory (a host removed, a node deleted)


class Kind(StrEnum):
    NODE = "node"
    CLUSTER = "cluster"
    HOST = "host"
    ENDPOINT = "endpoint"
    OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class ItemState:
    kind: Kind
    ref: str  # the identity as text; "overall" for the overall health
    name: str  # what the operator calls it
    level: str  # OK, STALE, WARNING, CRITICAL; the overall health also UNKNOWN
    reason: str


@dataclass(frozen=True, slots=True)
class Transition:
    kind: Kind
    ref: str
    name: str
    before: str | None  # None: first report of this item
    after: str
    reason: str


States = Mapping[Ref | str, ItemState]


def health_states(view: EstateView, fault: str | None = None) -> dict[Ref | str, ItemState]:
    """Every watched item's level in this view. ``fault``: the view could not be evaluated."""
    health = view.health
    states: dict[Ref | str, ItemState] = {}
    for snap in view.estate.openstack:
        for node in snap.nodes:
            item = health.of(node.ref)
            states[node.ref] = ItemState(
                Kind.NODE, node.ref.text(), node.hypervisor_hostname, _level(item.severity), item.summary
            )
    for vc in view.estate.vcenters:
        for cluster in vc.clusters:
            item = health.of(cluster.ref)
            states[cluster.ref] = ItemState(
                Kind.CLUSTER, cluster.ref.text(), cluster.name, _level(item.severity), item.summary
            )
        for host in vc.hosts:
            item = health.of(host.ref)
            states[host.ref] = ItemState(Kind.HOST, host.ref.text(), host.name, _level(item.severity), item.summary)
    for endpoint in view.estate.endpoints:
        ref = EndpointRef(endpoint.name)
        states[ref] = _endpoint_state(ref, endpoint)
    states[OVERALL_REF] = _overall_state(view, fault)
    return states


def with_fault(states: States, fault: str) -> dict[Ref | str, ItemState]:
    """The last states, but the overall health UNKNOWN: the newest data could not be evaluated."""
    overall = states.get(OVERALL_REF) or ItemState(Kind.OVERALL, OVERALL_REF, "overall health", "UNKNOWN", fault)
    return {**states, OVERALL_REF: replace(overall, level=Overall.UNKNOWN.name, reason=fault)}


def transitions(before: States | None, after: States) -> list[Transition]:
    """What changed level, and what is gone; with no ``before``, every item not OK and the overall health."""
    changes = []
    for key, state in after.items():
        old = before.get(key) if before is not None else None
        if old is None:
            if state.level == "OK" and state.kind is not Kind.OVERALL:
                continue  # a new item that is fine: nothing to say
        elif old.level == state.level:
            continue
        changes.append(
            Transition(state.kind, state.ref, state.name, old.level if old else None, state.level, state.reason)
        )
    for key, old in (before or {}).items():
        if key not in after:
            changes.append(Transition(old.kind, old.ref, old.name, old.level, GONE, "no longer reported"))
    return changes


def _level(severity: Severity) -> str:
    return severity.name


def _endpoint_state(ref: EndpointRef, endpoint: EndpointStatus) -> ItemState:
    if not endpoint.ok:
        level, reason = "STALE", endpoint.error or "not read"
    elif endpoint.warnings:
        level, reason = "WARNING", "; ".join(endpoint.warnings)
    else:
        level, reason = "OK", "refreshed"
    return ItemState(Kind.ENDPOINT, ref.text(), endpoint.name, level, reason)


def _overall_state(view: EstateView, fault: str | None) -> ItemState:
    if fault is not None:
        return ItemState(Kind.OVERALL, OVERALL_REF, "overall health", Overall.UNKNOWN.name, fault)
    health = view.health
    parts = []
    if health.failed_hosts:
        names = ", ".join(f.name for f in health.failed_hosts[:5]) + ("…" if len(health.failed_hosts) > 5 else "")
        parts.append(f"{len(health.failed_hosts)} failed host(s): {names}")
    stale = [e.name for e in view.estate.endpoints if not e.ok]
    if stale:
        parts.append(f"stale: {', '.join(stale)}")
    if not parts:
        parts.append("no endpoint answered yet" if health.overall is Overall.UNKNOWN else "no failed hosts")
    return ItemState(Kind.OVERALL, OVERALL_REF, "overall health", health.overall.name, "; ".join(parts))
