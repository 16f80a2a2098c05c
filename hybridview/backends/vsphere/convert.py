"""pyVmomi values -> plain values (str, numbers, lists, dicts) keyed by property path.

A value that is not the data object vSphere documents for its path (a missing attribute,
an unset reference) becomes ``inventory.Unconvertible``: the object holding it is then
skipped as malformed, with a warning, instead of failing the whole read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyVmomi import vim

from hybridview.backends.vsphere import inventory as inv

log = logging.getLogger(__name__)
# The managed object type read for each inventory kind.
MANAGED_TYPES: dict[str, type] = {
    inv.CLUSTER: vim.ClusterComputeResource,
    inv.HOST: vim.HostSystem,
    inv.VM: vim.VirtualMachine,
    inv.DATASTORE: vim.Datastore,
}
# Every type the full reads and the change feed follow: the inventory's, and the recent tasks.
FOLLOWED_TYPES: dict[str, type] = {**MANAGED_TYPES, inv.TASK: vim.Task}


def kind_of(obj: Any) -> str | None:
    """The inventory kind of a managed object, or None for a type we do not read."""
    return next((kind for kind, mo_type in FOLLOWED_TYPES.items() if isinstance(obj, mo_type)), None)


def plain(path: str, value: Any) -> Any:
    """The plain form of one property value, as inventory.py expects it."""
    try:
        return _CONVERTERS.get(path, _scalar)(value)
    except (AttributeError, TypeError, ValueError) as exc:
        log.debug("cannot convert %s", path, exc_info=True)
        return inv.Unconvertible(f"{type(exc).__name__} on a {type(value).__name__}")


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def _moref(value: Any) -> str | None:
    return value._moId if value is not None else None


def _cluster_config(value: Any) -> dict[str, Any]:
    das = getattr(value, "dasConfig", None)
    drs = getattr(value, "drsConfig", None)
    return {
        "ha_enabled": bool(das and das.enabled),
        "admission_control": das.admissionControlEnabled if das else None,
        "drs_enabled": bool(drs and drs.enabled),
        "drs_behavior": str(drs.defaultVmBehavior) if drs and drs.defaultVmBehavior else None,
        **(_admission_policy(das.admissionControlPolicy) if das and das.admissionControlEnabled else {}),
    }


def _admission_policy(policy: Any) -> dict[str, Any]:
    """vSphere HA's admission control policy (dasConfig.admissionControlPolicy); another kind names none."""
    if isinstance(policy, vim.cluster.FailoverLevelAdmissionControlPolicy):
        return {"admission_policy": "failover-level", "admission_failover_hosts": policy.failoverLevel}
    if isinstance(policy, vim.cluster.FailoverResourcesAdmissionControlPolicy):
        return {
            "admission_policy": "percentage",
            "admission_cpu_percent": policy.cpuFailoverResourcesPercent,
            "admission_memory_percent": policy.memoryFailoverResourcesPercent,
        }
    if isinstance(policy, vim.cluster.FailoverHostAdmissionControlPolicy):
        return {"admission_policy": "failover-hosts", "admission_failover_hosts": len(policy.failoverHosts or ())}
    return {}


def _task_info(value: Any) -> dict[str, Any]:
    reason = value.reason
    return {
        "key": value.key,
        "description_id": value.descriptionId,
        "entity": _moref(value.entity),
        "entity_name": value.entityName,
        "state": str(value.state),
        "progress": value.progress,
        "cancelable": value.cancelable,
        "queued_at": value.queueTime.isoformat() if value.queueTime else None,
        "user": reason.userName if isinstance(reason, vim.TaskReasonUser) else None,
    }


def _alarm_states(value: Any) -> list[dict[str, Any]]:
    return [
        {"alarm": s.alarm._moId, "status": str(s.overallStatus), "time": s.time.isoformat() if s.time else None}
        for s in value or ()
    ]


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "parent": _moref,
    "runtime.host": _moref,
    "datastore": lambda v: [m._moId for m in v or ()],
    "host": lambda v: [m.key._moId for m in v or ()],
    "configurationEx": _cluster_config,
    "info": _task_info,
    "triggeredAlarmState": _alarm_states,
    "runtime.dasHostState": lambda v: str(v.state) if v is not None and v.state is not None else None,
    "summary.hardware": lambda v: (
        {"cpu_mhz": v.cpuMhz, "cores": v.numCpuCores, "memory_bytes": v.memorySize} if v else {}
    ),
    "summary.quickStats": lambda v: {"cpu_mhz": v.overallCpuUsage, "memory_mb": v.overallMemoryUsage} if v else {},
}
