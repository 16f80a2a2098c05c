"""vCenter property sets -> core snapshot, in one place.

The pyVmomi backend turns PropertyCollector results (full reads and WaitForUpdatesEx
change sets alike) into plain values keyed by property path; this module keeps that
state and maps it. No pyVmomi here, so it is tested on plain dictionaries.

An object whose properties are not of the types convert.py produces raises
``MalformedRecord`` and nothing else; ``snapshot`` skips it and says so in its warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from hybridview.backends.records import Collection, Mapped, RecordSkips, checked, is_flag, is_integer, is_text
from hybridview.core.model import (
    Alarm,
    Cluster,
    Datastore,
    EsxiHost,
    VCenterSnapshot,
    VCenterTask,
    VirtualMachine,
    VSphereEvent,
)

CLUSTER = "ClusterComputeResource"
HOST = "HostSystem"
VM = "VirtualMachine"
DATASTORE = "Datastore"
TASK = "Task"  # TaskManager.recentTask
RUNNING_TASK_STATES = frozenset({"queued", "running"})

# Property paths read per type, for full reads and for the update filter alike.
PROPERTIES: Mapping[str, tuple[str, ...]] = {
    CLUSTER: ("name", "configurationEx", "triggeredAlarmState"),
    HOST: (
        "name",
        "parent",
        "runtime.connectionState",
        "runtime.powerState",
        "runtime.inMaintenanceMode",
        "runtime.dasHostState",
        "summary.overallStatus",
        "summary.hardware",
        "summary.quickStats",
        "triggeredAlarmState",
    ),
    VM: (
        "name",
        "config.instanceUuid",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "config.files.vmPathName",
        "config.memoryAllocation.reservation",
        "config.cpuAllocation.reservation",
        "summary.quickStats.hostMemoryUsage",
        "summary.quickStats.overallCpuUsage",
        "runtime.host",
        "runtime.powerState",
        "runtime.connectionState",
        "datastore",
    ),
    DATASTORE: (
        "name",
        "summary.multipleHostAccess",
        "summary.capacity",
        "summary.freeSpace",
        "summary.accessible",
        "host",
    ),
    TASK: ("info",),
}

# Read by full reads, not followed by the change feed: a running VM's quickStats change about every 20 s,
# so on 5,000 VMs following them would be a steady stream of updates, each one rebuilding the snapshot.
# The backend samples them between full reads instead (one RetrievePropertiesEx of these paths alone).
SAMPLED: Mapping[str, tuple[str, ...]] = {
    VM: ("summary.quickStats.hostMemoryUsage", "summary.quickStats.overallCpuUsage"),
}


def followed(kind: str) -> tuple[str, ...]:
    """The property paths the change feed follows for ``kind``: all it reads but the sampled ones."""
    return tuple(path for path in PROPERTIES[kind] if path not in SAMPLED.get(kind, ()))


Props = dict[str, Any]
T = TypeVar("T")

# How a warning names the skipped objects of each type, and what the view lacks without them.
COLLECTIONS: Mapping[str, Collection] = {
    CLUSTER: Collection(CLUSTER, "those clusters are not shown and their hosts show as standalone"),
    HOST: Collection(HOST, "those ESXi hosts are not shown"),
    VM: Collection(VM, "those VMs are not shown"),
    DATASTORE: Collection(DATASTORE, "those datastores are not shown"),
    TASK: Collection(TASK, "those vCenter tasks are not shown"),
}


class MalformedRecord(ValueError):
    """One object's properties are not of the types convert.py produces."""


@dataclass(frozen=True, slots=True)
class Unconvertible:
    """A property value convert.py could not turn into plain values; the object holding it is malformed."""

    reason: str


@dataclass(slots=True)
class InventoryState:
    """moref -> {property path: plain value}, per managed object type."""

    objects: dict[str, dict[str, Props]] = field(default_factory=lambda: {t: {} for t in PROPERTIES})
    alarm_names: dict[str, str] = field(default_factory=dict)

    def replace_type(self, kind: str, rows: Mapping[str, Props]) -> None:
        self.objects[kind] = dict(rows)

    def enter(self, kind: str, moref: str, props: Props) -> None:
        """A whole object from the feed, which does not follow the sampled paths: their last values stay."""
        sampled = SAMPLED.get(kind, ())
        kept = {path: value for path, value in self.objects[kind].get(moref, {}).items() if path in sampled}
        self.objects[kind][moref] = {**kept, **props}

    def sample(self, kind: str, rows: Mapping[str, Props]) -> None:
        """Newer values of the sampled paths, for the objects already known (a new one gets them next time)."""
        for moref, props in rows.items():
            if moref in self.objects[kind]:
                self.objects[kind][moref].update(props)

    def modify(self, kind: str, moref: str, changes: Iterable[tuple[str, str, Any]]) -> None:
        props = self.objects[kind].setdefault(moref, {})
        for op, path, value in changes:
            if op in ("remove", "indirectRemove"):
                props.pop(path, None)
            else:
                props[path] = value

    def leave(self, kind: str, moref: str) -> None:
        self.objects[kind].pop(moref, None)

    def retain(self, kind: str, morefs: set[str]) -> None:
        """Forget every object of this type not in ``morefs``."""
        for moref in [m for m in self.objects[kind] if m not in morefs]:
            del self.objects[kind][moref]

    def alarm_morefs(self) -> set[str]:
        return {
            moref
            for kind in (CLUSTER, HOST)
            for props in self.objects[kind].values()
            for moref in _alarm_refs(props.get("triggeredAlarmState"))
        }


def _alarm_refs(value: Any) -> Iterator[str]:
    """The alarms of a triggeredAlarmState value; a malformed one names none (its object is skipped)."""
    if isinstance(value, list | tuple):
        for alarm_state in value:
            if isinstance(alarm_state, Mapping) and isinstance(alarm_state.get("alarm"), str):
                yield alarm_state["alarm"]


def snapshot(
    state: InventoryState,
    vcenter: str,
    instance_uuid: str,
    taken_at: datetime,
    *,
    version: str | None = None,
    events: tuple[VSphereEvent, ...] = (),
) -> Mapped[VCenterSnapshot]:
    """The core snapshot of ``state``, with a warning per type and cause for the objects it skipped."""
    skips = RecordSkips(MalformedRecord)

    def each(kind: str, mapper: Callable[[str, Props], T]) -> list[T]:
        rows = sorted(state.objects[kind].items())
        return skips.map(COLLECTIONS[kind], rows, lambda row: mapper(*row), lambda row, _position: row[0])

    names = state.alarm_names
    clusters = each(CLUSTER, lambda moref, p: (_cluster(vcenter, moref, p), _alarms(CLUSTER, moref, p, names)))
    cluster_morefs = frozenset(cluster.moref for cluster, _ in clusters)  # a skipped cluster's hosts: standalone
    hosts = each(HOST, lambda moref, p: (_host(vcenter, moref, p, cluster_morefs), _alarms(HOST, moref, p, names)))
    snap = VCenterSnapshot(
        vcenter=vcenter,
        instance_uuid=instance_uuid,
        taken_at=taken_at,
        clusters=tuple(cluster for cluster, _ in clusters),
        hosts=tuple(host for host, _ in hosts),
        vms=tuple(each(VM, lambda moref, p: _vm(vcenter, moref, p))),
        datastores=tuple(each(DATASTORE, lambda moref, p: _datastore(vcenter, moref, p))),
        alarms=tuple(alarm for _, alarms in (*clusters, *hosts) for alarm in alarms),
        events=events,
        version=version,
        tasks=tuple(t for t in each(TASK, lambda moref, p: _task(vcenter, moref, p)) if t.state in RUNNING_TASK_STATES),
    )
    return Mapped(snap, skips.warnings())


# --- one typed value; ``what`` names where it sits, e.g. "HostSystem summary.hardware" ---


def _value(p: Props, key: str, what: str) -> Any:
    value = p.get(key)
    if isinstance(value, Unconvertible):
        raise MalformedRecord(f"{what} {key!r} could not be read ({value.reason})")
    return value


def _checked(p: Props, key: str, what: str, valid: Callable[[Any], bool], noun: str) -> Any:
    return checked(_value(p, key, what), valid, noun, f"{what} {key!r}", MalformedRecord)


def _text(p: Props, key: str, what: str) -> str | None:
    value: str | None = _checked(p, key, what, is_text, "a string")
    return value


def _flag(p: Props, key: str, what: str) -> bool | None:
    value: bool | None = _checked(p, key, what, is_flag, "a boolean")
    return value


def _count(p: Props, key: str, what: str) -> int | None:
    value: int | None = _checked(p, key, what, is_integer, "an integer")
    return value


def _fields(p: Props, key: str, what: str) -> Props:
    """A data object that convert.py turned into a dict; empty when unset."""
    value: Props | None = _checked(p, key, what, lambda v: isinstance(v, dict), "an object")
    return value or {}


def _morefs(p: Props, key: str, what: str) -> tuple[str, ...]:
    value = _value(p, key, what)
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(m, str) for m in value):
        raise MalformedRecord(f"{what} {key!r} is not a list of object references")
    return tuple(value)


# --- one object each ----------------------------------------------------------------------


def _percent(p: Props, key: str, what: str) -> int | None:
    value = _count(p, key, what)
    if value is not None and not 0 <= value <= 100:
        raise MalformedRecord(f"{what} {key!r} is not a percentage")
    return value


def _cluster(vcenter: str, moref: str, p: Props) -> Cluster:
    config = _fields(p, "configurationEx", CLUSTER)
    within = f"{CLUSTER} configurationEx"
    failover_hosts = _count(config, "admission_failover_hosts", within)
    if failover_hosts is not None and failover_hosts < 0:
        raise MalformedRecord(f"{within} 'admission_failover_hosts' is not a host count")
    return Cluster(
        vcenter=vcenter,
        moref=moref,
        name=_text(p, "name", CLUSTER) or moref,
        ha_enabled=bool(_flag(config, "ha_enabled", within)),
        drs_enabled=bool(_flag(config, "drs_enabled", within)),
        admission_control=_flag(config, "admission_control", within),
        drs_behavior=_text(config, "drs_behavior", within),
        admission_policy=_text(config, "admission_policy", within),
        admission_failover_hosts=failover_hosts,
        admission_cpu_percent=_percent(config, "admission_cpu_percent", within),
        admission_memory_percent=_percent(config, "admission_memory_percent", within),
    )


def _host(vcenter: str, moref: str, p: Props, clusters: frozenset[str]) -> EsxiHost:
    parent = _text(p, "parent", HOST)
    hardware = _fields(p, "summary.hardware", HOST)
    stats = _fields(p, "summary.quickStats", HOST)
    cpu_mhz = _count(hardware, "cpu_mhz", f"{HOST} summary.hardware")
    cores = _count(hardware, "cores", f"{HOST} summary.hardware")
    memory = _count(hardware, "memory_bytes", f"{HOST} summary.hardware")
    return EsxiHost(
        vcenter=vcenter,
        moref=moref,
        name=_text(p, "name", HOST) or moref,
        cluster_moref=parent if parent in clusters else None,
        connection_state=_text(p, "runtime.connectionState", HOST) or "unknown",
        power_state=_text(p, "runtime.powerState", HOST) or "unknown",
        in_maintenance=bool(_flag(p, "runtime.inMaintenanceMode", HOST)),
        overall_status=_text(p, "summary.overallStatus", HOST) or "gray",
        das_state=_text(p, "runtime.dasHostState", HOST),
        cpu_mhz=cpu_mhz * cores if cpu_mhz and cores else None,
        cpu_used_mhz=_count(stats, "cpu_mhz", f"{HOST} summary.quickStats"),
        memory_mb=memory // (1024 * 1024) if memory else None,
        memory_used_mb=_count(stats, "memory_mb", f"{HOST} summary.quickStats"),
    )


def _vm(vcenter: str, moref: str, p: Props) -> VirtualMachine:
    return VirtualMachine(
        vcenter=vcenter,
        moref=moref,
        name=_text(p, "name", VM) or moref,
        instance_uuid=_text(p, "config.instanceUuid", VM),
        host_moref=_text(p, "runtime.host", VM),
        power_state=_text(p, "runtime.powerState", VM) or "unknown",
        datastores=_morefs(p, "datastore", VM),
        vcpus=_count(p, "config.hardware.numCPU", VM),
        memory_mb=_count(p, "config.hardware.memoryMB", VM),
        vmx_path=_text(p, "config.files.vmPathName", VM),
        connection_state=_text(p, "runtime.connectionState", VM),
        memory_reservation_mb=_count(p, "config.memoryAllocation.reservation", VM),
        cpu_reservation_mhz=_count(p, "config.cpuAllocation.reservation", VM),
        memory_used_mb=_count(p, "summary.quickStats.hostMemoryUsage", VM),
        cpu_used_mhz=_count(p, "summary.quickStats.overallCpuUsage", VM),
    )


def _datastore(vcenter: str, moref: str, p: Props) -> Datastore:
    mounts = _morefs(p, "host", DATASTORE)
    shared = _flag(p, "summary.multipleHostAccess", DATASTORE)
    name = _text(p, "name", DATASTORE) or moref
    return Datastore(
        vcenter,
        moref,
        name,
        shared if shared is not None else len(mounts) > 1,
        host_morefs=mounts,
        capacity_bytes=_count(p, "summary.capacity", DATASTORE),
        free_bytes=_count(p, "summary.freeSpace", DATASTORE),
        accessible=_flag(p, "summary.accessible", DATASTORE) is not False,
    )


def _task(vcenter: str, moref: str, p: Props) -> VCenterTask:
    info = _fields(p, "info", TASK)
    within = f"{TASK} info"
    queued = _text(info, "queued_at", within)
    try:
        queued_at = datetime.fromisoformat(queued) if queued else None
    except ValueError as exc:
        raise MalformedRecord(f"{within} 'queued_at' is not a time: {queued!r}") from exc
    if queued_at is not None and queued_at.tzinfo is None:
        queued_at = queued_at.replace(tzinfo=UTC)
    progress = _count(info, "progress", within)
    return VCenterTask(
        key=_text(info, "key", within) or moref,
        moref=moref,
        description_id=_text(info, "description_id", within) or "",
        entity_moref=_text(info, "entity", within),
        entity_name=_text(info, "entity_name", within),
        state=_text(info, "state", within) or "unknown",
        progress=progress if progress is None or 0 <= progress <= 100 else None,
        cancelable=bool(_flag(info, "cancelable", within)),
        queued_at=queued_at,
        user=_text(info, "user", within),
    )


def _alarms(kind: str, moref: str, p: Props, names: Mapping[str, str]) -> tuple[Alarm, ...]:
    """The triggered alarms of one cluster or host; a malformed alarm state makes the object malformed."""
    value = _value(p, "triggeredAlarmState", kind)
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(s, dict) for s in value):
        raise MalformedRecord(f"{kind} 'triggeredAlarmState' is not a list of alarm states")
    what = f"{kind} triggeredAlarmState"
    alarms = []
    for alarm_state in value:
        alarm = _text(alarm_state, "alarm", what)
        status = _text(alarm_state, "status", what)
        if alarm is None or status is None:
            raise MalformedRecord(f"{what} has an entry without alarm or status")
        alarms.append(Alarm(moref, names.get(alarm, alarm), status, _text(alarm_state, "time", what)))
    return tuple(alarms)
