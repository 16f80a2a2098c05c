"""One time-ordered list of what happened, across both layers and hybridview's own writes.

From Nova's instance actions and migrations, the compute service and ESXi host changes
hybridview observed (``ObservedChange``, kept by ``service.history``; a compute service found
down with nothing observed gets an event at its last heartbeat), vCenter's events and running
tasks, and the audit log's entries (anything shaped as ``SentAction``). Each event names the
hosts, clusters and instances it concerns, so one filter works over all sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from hybridview.core.identity import ClusterRef, InstanceRef, NodeRef, VmRef
from hybridview.core.model import InstanceAction, Migration, OpenStackSnapshot, VCenterSnapshot
from hybridview.core.view import EstateView

FAILED_ACTION_RESULTS = frozenset({"error", "failed"})
ACTIONS = "os-instance-actions"
COMPUTE = "compute service"
BAD_EVENTS = frozenset(
    {
        "HostConnectionLostEvent",
        "HostNotRespondingEvent",  # the demo's
        "DasHostFailedEvent",
        "HostDisconnectedEvent",
        "HostReconnectionFailedEvent",
        "DasHostIsolatedEvent",
        "VmFailoverFailed",
    }
)
GOOD_EVENTS = frozenset({"HostConnectedEvent", "ExitMaintenanceModeEvent", "VmRestartedOnAlternateHostEvent"})
WARNING_EVENTS = frozenset({"EnteredMaintenanceModeEvent"})


class Layer(StrEnum):
    NOVA = "nova"
    VCENTER = "vcenter"
    HYBRIDVIEW = "hybridview"  # the writes hybridview sent


class Level(StrEnum):
    """How an event reads: its icon and text say it, never colour alone."""

    INFO = "info"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


EVENT_LEVELS = {
    **dict.fromkeys(BAD_EVENTS, Level.CRITICAL),
    **dict.fromkeys(GOOD_EVENTS, Level.OK),
    **dict.fromkeys(WARNING_EVENTS, Level.WARNING),
}


@dataclass(frozen=True, slots=True)
class TimelineObject:
    ref: str  # the identity text (``host:vc/host-12``), or the raw target when it names no known object
    label: str  # what the operator calls it


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    time: datetime
    layer: Layer
    object: TimelineObject
    kind: str
    text: str
    source: str  # where it was read: os-instance-actions, os-migrations, history, heartbeat, events, tasks, audit
    level: Level = Level.INFO
    # what the filters match (lower case): names and ids of the hosts, clusters and instances it concerns
    hosts: frozenset[str] = field(default=frozenset(), compare=False)
    clusters: frozenset[str] = field(default=frozenset(), compare=False)
    instances: frozenset[str] = field(default=frozenset(), compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "layer": self.layer.value,
            "object": {"ref": self.object.ref, "label": self.object.label},
            "kind": self.kind,
            "text": self.text,
            "source": self.source,
            "level": self.level.value,
        }


@dataclass(frozen=True, slots=True)
class ObservedChange:
    """A compute service's or ESXi host's state changing, as hybridview saw it between two reads."""

    time: datetime  # when it happened as far as known: the read that saw it, or the last heartbeat
    endpoint: str
    ref: str  # identity text of the node or ESXi host
    label: str  # the compute host or ESXi host name
    kind: str  # "compute service" | "ESXi host"
    state: str  # up, down; connected, notResponding, disconnected
    flags: tuple[str, ...] = ()  # "forced down", "disabled: <reason>", "maintenance"
    before: str | None = None  # the state and flags before, as text; None: first seen so
    # "observed": seen changing; "heartbeat": first seen down, at its last heartbeat; "first seen": found so
    basis: str = "observed"
    clusters: tuple[str, ...] = ()  # the ESXi host's cluster (name and moref)


class SentAction(Protocol):
    """What the timeline reads of an audit entry (``actions.audit.AuditEntry`` is one)."""

    @property
    def sent_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def user(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def verb(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def result(self) -> str | None: ...


def nova_time(text: str | None) -> datetime | None:
    """A Nova timestamp (UTC, with or without an offset or ``Z``); None when absent or unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _low(*names: str | None) -> frozenset[str]:
    return frozenset(n.lower() for n in names if n)


@dataclass(frozen=True, slots=True)
class _About:
    """The object of an event, and the names the filters match it by."""

    obj: TimelineObject
    hosts: frozenset[str] = frozenset()
    clusters: frozenset[str] = frozenset()
    instances: frozenset[str] = frozenset()


def _event(
    time: datetime, layer: Layer, about: _About, kind: str, text: str, source: str, level: Level = Level.INFO
) -> TimelineEvent:
    return TimelineEvent(
        time, layer, about.obj, kind, text, source, level, about.hosts, about.clusters, about.instances
    )


class _Index:
    """What an event concerns, looked up in the view (built once per timeline, in a worker)."""

    def __init__(self, view: EstateView) -> None:
        estate = view.estate
        self.node_cluster = view.health.correlation.node_to_cluster
        self.nodes_by_host = {(s.cloud, n.host): n for s in estate.openstack for n in s.nodes}
        self.instances = {(s.cloud, i.id): i for s in estate.openstack for i in s.instances}
        self.hosts = {(v.vcenter, h.moref): h for v in estate.vcenters for h in v.hosts}
        self.clusters = {(v.vcenter, c.moref): c for v in estate.vcenters for c in v.clusters}
        self.vms = {(v.vcenter, m.moref): m for v in estate.vcenters for m in v.vms}
        self.vm_by_uuid = {(v.vcenter, m.instance_uuid): m for v in estate.vcenters for m in v.vms if m.instance_uuid}

    def compute_host(self, cloud: str, host: str | None, *also: str | None) -> _About:
        """A compute host: its service host and node names, and a vmwareapi node's cluster."""
        node = self.nodes_by_host.get((cloud, host or ""))
        ref = node.ref if node else NodeRef(cloud, host or "?")
        cluster = self.node_cluster.get(node.ref) if node else None
        names = _low(host, node.hypervisor_hostname if node else None, *also)
        return _About(TimelineObject(ref.text(), host or "?"), names, self._cluster_names(cluster))

    def instance(self, cloud: str, instance_id: str, host: str | None = None, *also: str | None) -> _About:
        inst = self.instances.get((cloud, instance_id))
        where = self.compute_host(cloud, host or (inst.host if inst else None), *also)
        label = inst.name if inst and inst.name else instance_id
        names = _low(instance_id, inst.name if inst else None)
        return _About(TimelineObject(InstanceRef(cloud, instance_id).text(), label), where.hosts, where.clusters, names)

    def vsphere(self, vcenter: str, moref: str | None) -> _About:
        """An ESXi host, cluster or VM of a vCenter, by moref."""
        key = (vcenter, moref or "")
        if key in self.hosts:
            host = self.hosts[key]
            cluster = ClusterRef(vcenter, host.cluster_moref) if host.cluster_moref else None
            obj = TimelineObject(host.ref.text(), host.name)
            return _About(obj, _low(host.name, host.moref), self._cluster_names(cluster))
        if key in self.clusters:
            found = self.clusters[key]
            return _About(TimelineObject(found.ref.text(), found.name), clusters=self._cluster_names(found.ref))
        vm = self.vms.get(key)
        if vm is None:
            return _About(TimelineObject(moref or vcenter, moref or vcenter), _low(moref), instances=_low(moref))
        where = self.vsphere(vcenter, vm.host_moref) if vm.host_moref else _About(TimelineObject("", ""))
        obj = TimelineObject(VmRef(vcenter, vm.moref).text(), vm.name)
        return _About(obj, where.hosts, where.clusters, _low(vm.name, vm.instance_uuid, vm.moref))

    def _cluster_names(self, ref: ClusterRef | None) -> frozenset[str]:
        cluster = self.clusters.get((ref.vcenter, ref.moref)) if ref else None
        return _low(cluster.name, cluster.moref) if cluster else frozenset()


def timeline(
    view: EstateView,
    history: Iterable[ObservedChange],
    audit_entries: Iterable[SentAction],
    *,
    since: datetime | None = None,
    host: str | None = None,
    instance: str | None = None,
    cluster: str | None = None,
    layer: Layer | str | None = None,
) -> tuple[TimelineEvent, ...]:
    """Every event, oldest first; each filter (a name or id, any case) narrows it."""
    index = _Index(view)
    observed = list(history)
    events: list[TimelineEvent] = [_observed(change) for change in observed]
    for snap in view.estate.openstack:
        for action in snap.instance_actions:
            events += _action_events(action, index)
        for migration in snap.migrations:
            events += _migration_events(migration, index)
        events += _heartbeats(snap, observed, index)
    for vc in view.estate.vcenters:
        events += _vcenter_events(vc, index)
    endpoints = {e.name for e in view.estate.endpoints}
    for entry in audit_entries:
        if not endpoints or entry.endpoint in endpoints:  # this estate's writes
            events += _sent(entry, index)
    kept = filtered(events, since=since, host=host, instance=instance, cluster=cluster, layer=layer)
    return tuple(sorted(kept, key=lambda e: (e.time, e.layer, e.object.label, e.text)))


def filtered(
    events: Iterable[TimelineEvent],
    *,
    since: datetime | None = None,
    host: str | None = None,
    instance: str | None = None,
    cluster: str | None = None,
    layer: Layer | str | None = None,
) -> list[TimelineEvent]:
    wanted = [(v.lower(), attr) for v, attr in ((host, "hosts"), (instance, "instances"), (cluster, "clusters")) if v]
    return [
        e
        for e in events
        if (since is None or e.time >= since)
        and (not layer or e.layer == layer)
        and all(value in getattr(e, attr) for value, attr in wanted)
    ]


def _action_events(action: InstanceAction, index: _Index) -> list[TimelineEvent]:
    start = nova_time(action.start_time)
    if start is None:
        return []
    failed = [e for e in action.events if (e.result or "").lower() in FAILED_ACTION_RESULTS]
    host = next((e.host for e in action.events if e.host), None)
    about = index.instance(action.cloud, action.instance_id, host)
    by = f", by {action.user_id}" if action.user_id else ""
    steps = "; ".join(f"{e.event} {e.result or 'running'}" for e in action.events)
    text = f"{action.action} (request {action.request_id}{by})" + (f": {action.message}" if action.message else "")
    level = Level.CRITICAL if action.message or failed else Level.INFO
    kind = f"action {action.action}"
    events = [_event(start, Layer.NOVA, about, kind, text + (f"; {steps}" if steps else ""), ACTIONS, level)]
    for step in failed:
        at = nova_time(step.finish_time) or nova_time(step.start_time) or start
        detail = f": {step.details}" if step.details else ""
        text = f"{action.action}: {step.event} {step.result}{detail}"
        events.append(_event(at, Layer.NOVA, about, f"event {step.event}", text, ACTIONS, Level.CRITICAL))
    return events


def _migration_events(m: Migration, index: _Index) -> list[TimelineEvent]:
    created, updated = nova_time(m.created_at), nova_time(m.updated_at)
    about = index.instance(m.cloud, m.instance_id, m.source_compute, m.dest_compute, m.source_node, m.dest_node)
    route = f"{about.obj.label}: {m.migration_type} from {m.source_compute or '?'} to {m.dest_compute or '(scheduler)'}"
    kind = f"migration {m.migration_type}"
    events = []
    if created is not None:
        events.append(_event(created, Layer.NOVA, about, kind, f"{route} started", "os-migrations"))
    if updated is not None and updated != created:
        level = Level.CRITICAL if m.status in ("error", "failed") else Level.INFO if m.in_progress else Level.OK
        events.append(_event(updated, Layer.NOVA, about, kind, f"{route}: {m.status}", "os-migrations", level))
    return events


def _heartbeats(snap: OpenStackSnapshot, observed: Sequence[ObservedChange], index: _Index) -> list[TimelineEvent]:
    """A compute service down now and never observed going down: an event at its last heartbeat."""
    seen = {c.label for c in observed if c.endpoint == snap.cloud and c.kind == COMPUTE and c.state == "down"}
    events = []
    for service in snap.services:
        heartbeat = nova_time(service.updated_at)
        if service.binary != "nova-compute" or service.state != "down" or service.host in seen or heartbeat is None:
            continue
        forced = " (forced down)" if service.forced_down else ""
        text = f"{COMPUTE} {service.host} found down{forced}: last heartbeat"
        about = index.compute_host(snap.cloud, service.host)
        events.append(_event(heartbeat, Layer.NOVA, about, f"{COMPUTE} down", text, "heartbeat", Level.CRITICAL))
    return events


def _observed(change: ObservedChange) -> TimelineEvent:
    now = ", ".join((change.state, *change.flags))
    up = change.state in ("up", "connected")
    level = Level.CRITICAL if not up else Level.WARNING if change.flags else Level.OK
    if change.basis == "heartbeat":
        text = f"{change.kind} {change.label} found {now}: last heartbeat"
    elif change.basis == "first seen":
        text = f"{change.kind} {change.label} found {now}"
    else:
        text = f"{change.kind} {change.label}: {now}" + (f" (was {change.before})" if change.before else "")
    about = _About(TimelineObject(change.ref, change.label), _low(change.label), _low(*change.clusters))
    layer = Layer.NOVA if change.kind == COMPUTE else Layer.VCENTER
    return _event(change.time, layer, about, f"{change.kind} {change.state}", text, "history", level)


def _vcenter_events(vc: VCenterSnapshot, index: _Index) -> list[TimelineEvent]:
    events = []
    for event in vc.events:
        level = EVENT_LEVELS.get(event.kind, Level.INFO)
        about = index.vsphere(vc.vcenter, event.entity_moref)
        text = event.message or event.kind
        events.append(_event(event.time, Layer.VCENTER, about, event.kind, text, "events", level))
    for task in vc.tasks:
        if task.queued_at is None:
            continue
        about = index.vsphere(vc.vcenter, task.entity_moref)
        progress = f" {task.progress}%" if task.progress is not None else ""
        by = f" by {task.user}" if task.user else ""
        text = f"{task.description_id} on {task.entity_name or about.obj.label}{by}: {task.state}{progress}"
        events.append(_event(task.queued_at, Layer.VCENTER, about, f"task {task.description_id}", text, "tasks"))
    return events


def _sent(entry: SentAction, index: _Index) -> list[TimelineEvent]:
    about = _target(entry.endpoint, entry.target, index)
    what = f"{entry.verb} {about.obj.label} on {entry.endpoint}"
    sent = _event(entry.sent_at, Layer.HYBRIDVIEW, about, f"sent {entry.verb}", f"{what} sent by {entry.user}", "audit")
    if entry.finished_at is None:
        return [sent]
    failed = entry.outcome == "failed"
    tail = entry.error if failed else entry.result
    text = f"{what}: {entry.outcome}" + (f": {tail}" if tail else "")
    level = Level.CRITICAL if failed else Level.OK
    kind = f"{entry.outcome} {entry.verb}"
    return [sent, _event(entry.finished_at, Layer.HYBRIDVIEW, about, kind, text, "audit", level)]


def _target(endpoint: str, target: str, index: _Index) -> _About:
    """An audit target: a server id or compute host of a cloud; a VM (moref or instanceUuid) or host of a vCenter."""
    if (endpoint, target) in index.instances:
        return index.instance(endpoint, target)
    if (endpoint, target) in index.nodes_by_host:
        return index.compute_host(endpoint, target)
    vm = index.vm_by_uuid.get((endpoint, target))
    return index.vsphere(endpoint, vm.moref if vm else target)
