"""vCenter property sets -> core snapshot, in one place.

The pyVmomi backend turns PropertyCollector results (full reads and WaitForUpdatesEx
change sets alike) into plain values keyed by property path; this module keeps that
state and maps it. No pyVmomi here, so it is tested on plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hybridview.core.model import (
    Alarm,
    Cluster,
    Datastore,
    EsxiHost,
    VCenterSnapshot,
    VirtualMachine,
    VSphereEvent,
)

CLUSTER = "ClusterComputeResource"
HOST = "HostSystem"
VM = "VirtualMachine"
DATASTORE = "Datastore"

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
        "runtime.host",
        "runtime.powerState",
        "datastore",
    ),
    DATASTORE: ("name", "summary.multipleHostAccess", "host"),
}

Props = dict[str, Any]


@dataclass(slots=True)
class InventoryState:
    """moref -> {property path: plain value}, per managed object type."""

    objects: dict[str, dict[str, Props]] = field(default_factory=lambda: {t: {} for t in PROPERTIES})
    alarm_names: dict[str, str] = field(default_factory=dict)

    def replace_type(self, kind: str, rows: Mapping[str, Props]) -> None:
        self.objects[kind] = dict(rows)

    def enter(self, kind: str, moref: str, props: Props) -> None:
        self.objects[kind][moref] = dict(props)

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
            state["alarm"]
            for kind in (CLUSTER, HOST)
            for props in self.objects[kind].values()
            for state in props.get("triggeredAlarmState") or ()
        }


def snapshot(
    state: InventoryState,
    vcenter: str,
    instance_uuid: str,
    taken_at: datetime,
    *,
    version: str | None = None,
    events: tuple[VSphereEvent, ...] = (),
) -> VCenterSnapshot:
    clusters = state.objects[CLUSTER]
    return VCenterSnapshot(
        vcenter=vcenter,
        instance_uuid=instance_uuid,
        taken_at=taken_at,
        clusters=tuple(_cluster(vcenter, moref, p) for moref, p in sorted(clusters.items())),
        hosts=tuple(_host(vcenter, moref, p, clusters) for moref, p in sorted(state.objects[HOST].items())),
        vms=tuple(_vm(vcenter, moref, p) for moref, p in sorted(state.objects[VM].items())),
        datastores=tuple(_datastore(vcenter, moref, p) for moref, p in sorted(state.objects[DATASTORE].items())),
        alarms=_alarms(state),
        events=events,
        version=version,
    )


def _cluster(vcenter: str, moref: str, p: Props) -> Cluster:
    config = p.get("configurationEx") or {}
    return Cluster(
        vcenter=vcenter,
        moref=moref,
        name=str(p.get("name") or moref),
        ha_enabled=bool(config.get("ha_enabled")),
        drs_enabled=bool(config.get("drs_enabled")),
        admission_control=config.get("admission_control"),
    )


def _host(vcenter: str, moref: str, p: Props, clusters: Mapping[str, Props]) -> EsxiHost:
    parent = p.get("parent")
    hardware = p.get("summary.hardware") or {}
    stats = p.get("summary.quickStats") or {}
    cpu_mhz = hardware.get("cpu_mhz")
    cores = hardware.get("cores")
    memory = hardware.get("memory_bytes")
    return EsxiHost(
        vcenter=vcenter,
        moref=moref,
        name=str(p.get("name") or moref),
        cluster_moref=parent if parent in clusters else None,
        connection_state=str(p.get("runtime.connectionState") or "unknown"),
        power_state=str(p.get("runtime.powerState") or "unknown"),
        in_maintenance=bool(p.get("runtime.inMaintenanceMode")),
        overall_status=str(p.get("summary.overallStatus") or "gray"),
        das_state=p.get("runtime.dasHostState"),
        cpu_mhz=cpu_mhz * cores if cpu_mhz and cores else None,
        cpu_used_mhz=stats.get("cpu_mhz"),
        memory_mb=memory // (1024 * 1024) if memory else None,
        memory_used_mb=stats.get("memory_mb"),
    )


def _vm(vcenter: str, moref: str, p: Props) -> VirtualMachine:
    return VirtualMachine(
        vcenter=vcenter,
        moref=moref,
        name=str(p.get("name") or moref),
        instance_uuid=p.get("config.instanceUuid"),
        host_moref=p.get("runtime.host"),
        power_state=str(p.get("runtime.powerState") or "unknown"),
        datastores=tuple(p.get("datastore") or ()),
        vcpus=p.get("config.hardware.numCPU"),
        memory_mb=p.get("config.hardware.memoryMB"),
    )


def _datastore(vcenter: str, moref: str, p: Props) -> Datastore:
    mounts = p.get("host") or ()
    shared = p.get("summary.multipleHostAccess")
    return Datastore(
        vcenter, moref, str(p.get("name") or moref), bool(shared) if shared is not None else len(mounts) > 1
    )


def _alarms(state: InventoryState) -> tuple[Alarm, ...]:
    return tuple(
        Alarm(moref, state.alarm_names.get(a["alarm"], a["alarm"]), str(a.get("status")), a.get("time"))
        for kind in (CLUSTER, HOST)
        for moref, props in sorted(state.objects[kind].items())
        for a in props.get("triggeredAlarmState") or ()
    )
