"""Full reads: one ContainerView and one paged RetrievePropertiesEx per type, alarm names, recent events."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pyVmomi import vim, vmodl

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.convert import FOLLOWED_TYPES, plain
from hybridview.backends.vsphere.session import Session
from hybridview.core.model import VSphereEvent

log = logging.getLogger(__name__)
PC = vmodl.query.PropertyCollector
EVENT_WINDOW = timedelta(hours=6)
EVENT_TYPES = (
    "HostConnectionLostEvent",
    "HostDisconnectedEvent",
    "HostConnectedEvent",
    "HostReconnectionFailedEvent",
    "DasHostFailedEvent",
    "VmRestartedOnAlternateHostEvent",
    "EnteredMaintenanceModeEvent",
    "ExitMaintenanceModeEvent",
    "VmMigratedEvent",
    "DrsVmMigratedEvent",
    "VmRelocatedEvent",  # a relocation (vMotion with a storage move, or of a powered-off VM)
    "DasHostIsolatedEvent",
    "VmFailoverFailed",  # vSphere HA could not restart a VM
)
MAX_EVENTS = 200


def filter_spec(session: Session, kind: str, paths: tuple[str, ...] | None = None) -> Any:
    """Every object of ``kind`` in the session's view (tasks: TaskManager.recentTask), with ``paths``
    (default: every property inventory.py maps)."""
    if kind == inv.TASK:
        start = session.content.taskManager
        traverse = PC.TraversalSpec(name="recentTask", path="recentTask", skip=False, type=vim.TaskManager)
    else:
        start = session.views[kind]
        traverse = PC.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
    return PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=start, skip=True, selectSet=[traverse])],
        propSet=[PC.PropertySpec(type=FOLLOWED_TYPES[kind], pathSet=list(paths or inv.PROPERTIES[kind]))],
    )


def retrieve(
    session: Session, kind: str, page_size: int, paths: tuple[str, ...] | None = None
) -> tuple[dict[str, inv.Props], int]:
    """moref -> plain properties (``paths``, default all) of every object of ``kind``, and the round trips it took."""
    collector = session.content.propertyCollector
    round_trips = 1
    spec = filter_spec(session, kind, paths)
    result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=page_size))
    rows: dict[str, inv.Props] = {}
    while result is not None:
        for content in result.objects:
            rows[content.obj._moId] = {prop.name: plain(prop.name, prop.val) for prop in content.propSet}
        if not result.token:
            break
        round_trips += 1
        result = collector.ContinueRetrievePropertiesEx(result.token)
    return rows, round_trips


def alarm_name(stub: Any, moref: str) -> str:
    """An alarm's name, or its moref when it cannot be read."""
    try:
        return str(vim.alarm.Alarm(moref, stub).info.name)
    except vmodl.MethodFault:
        return moref


def recent_events(session: Session, endpoint: str) -> tuple[VSphereEvent, ...] | None:
    """The latest host, HA, maintenance and migration events of the window; None when they cannot be read."""
    spec = vim.event.EventFilterSpec(
        time=vim.event.EventFilterSpec.ByTime(beginTime=datetime.now(UTC) - EVENT_WINDOW),
        eventTypeId=list(EVENT_TYPES),
    )
    try:
        found = session.content.eventManager.QueryEvents(spec) or []
    except vmodl.MethodFault as exc:
        log.debug("events of %s unavailable: %s", endpoint, exc.msg)
        return None
    return tuple(_event(e) for e in sorted(found, key=lambda e: e.createdTime)[-MAX_EVENTS:])


def _event(event: Any) -> VSphereEvent:
    entity = None
    for attr in ("host", "vm", "computeResource"):  # EntityEventArgument holders, most specific first
        holder = getattr(event, attr, None)
        ref = getattr(holder, attr, None) if holder is not None else None
        if ref is not None:
            entity = ref._moId
            break
    created = event.createdTime if event.createdTime.tzinfo else event.createdTime.replace(tzinfo=UTC)
    return VSphereEvent(created, entity, type(event).__name__.rsplit(".", 1)[-1], str(event.fullFormattedMessage or ""))
