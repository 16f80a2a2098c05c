"""Host maintenance ("drain"): empty a KVM compute host through Nova, or an ESXi host through vSphere."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.actions import Plan
from hybridview.core.view import EstateView

DEFAULT_MAINTENANCE_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True, slots=True)
class DrainRequest:
    endpoint: str  # a cloud (Nova compute host) or a vCenter (ESXi host)
    host: str  # Nova compute host name, or ESXi host name or moref
    undo: bool = False  # re-enable the service / exit maintenance mode
    reason: str | None = None  # the disabled reason Nova keeps (KVM)
    move_powered_off: bool = False  # ESXi: move powered-off and suspended VMs too
    timeout_seconds: int = DEFAULT_MAINTENANCE_TIMEOUT_SECONDS
    cold_fallback: bool = True  # KVM: cold-migrate what cannot live-migrate (else list it, blocked)


def plan_drain(view: EstateView, request: DrainRequest) -> Plan:
    """KVM compute: DISABLE_SERVICE {host, enabled: False, reason}, then LIVE_MIGRATE per instance (scheduler
    chooses), then COLD_MIGRATE {confirm: True} for what cannot live-migrate, and a blocked step, with the
    reason, for what can move neither way: never skipped silently. Undo: ENABLE_SERVICE.

    ESXi host: when the cluster's DRS is not fully automated, RELOCATE_VM of each powered-on VM (and, with
    move_powered_off, the others) to the least-loaded connected host of the cluster outside maintenance
    that has room, shown in the plan; then ENTER_MAINTENANCE {host_moref, host_name, timeout_seconds,
    evacuate_powered_off}. Undo: EXIT_MAINTENANCE {host_moref, host_name, timeout_seconds}.

    A vmwareapi proxy node: refused, explaining that draining it means the whole cluster, and naming the
    per-host vSphere drain (``hybridview drain --vcenter V --host ESXI``) for each host of the cluster.
    """
    raise NotImplementedError
