"""Host maintenance ("drain"): empty a KVM compute host through Nova, or an ESXi host through vSphere
(``core.esxi_drain``). An instance that cannot live-migrate is cold-migrated or a blocked step with the
reason: never skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.evacuation import host_is_down
from hybridview.core.esxi_drain import plan_esxi_drain
from hybridview.core.migration_options import MoveContext, MoveKind, instance_move_options
from hybridview.core.model import ComputeNode, OpenStackSnapshot
from hybridview.core.view import EstateView

DEFAULT_MAINTENANCE_TIMEOUT_SECONDS = 1800
DEFAULT_DRAIN_REASON = "drained for maintenance by hybridview"


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
    snap = next((s for s in view.estate.openstack if s.cloud == request.endpoint), None)
    if snap is not None:
        return _compute_drain(view, snap, request)
    if any(v.vcenter == request.endpoint for v in view.estate.vcenters):
        return plan_esxi_drain(
            view,
            request.endpoint,
            request.host,
            undo=request.undo,
            move_powered_off=request.move_powered_off,
            timeout_seconds=request.timeout_seconds,
        )
    return Plan(f"Drain {request.host}", (), refused=f"no cloud or vCenter named {request.endpoint!r} is being read")


# --- KVM compute host ------------------------------------------------------------------------------


def _compute_drain(view: EstateView, snap: OpenStackSnapshot, request: DrainRequest) -> Plan:
    host, cloud = request.host, snap.cloud
    title = f"{'Undo the drain of' if request.undo else 'Drain'} {host} ({cloud})"
    service = next((s for s in snap.services if s.host == host and s.binary == "nova-compute"), None)
    if service is None:
        return Plan(title, (), refused=f"compute host {host!r} is not in cloud {cloud}")
    if request.undo:
        if service.status == "enabled":
            return Plan(title, (), notes=(f"nova-compute on {host} is enabled already: nothing to undo.",))
        step = _service_step(cloud, host, Verb.ENABLE_SERVICE, None)
        return Plan(title, (step,), notes=("The scheduler places instances on it again.",))
    proxy = [n for n in snap.nodes if n.host == host and n.is_vmware]
    if proxy:
        return Plan(title, (), refused=_proxy_refusal(view, host, proxy[0]))
    if host_is_down(service):
        return Plan(title, (), refused=f"nova-compute on {host} is down: nothing can be migrated off it; evacuate it")
    steps: list[Step] = []
    notes: list[str] = []
    if service.status == "enabled":
        steps.append(_service_step(cloud, host, Verb.DISABLE_SERVICE, request.reason or DEFAULT_DRAIN_REASON))
    else:
        notes.append(f"nova-compute on {host} is disabled already ({service.disabled_reason or 'no reason given'}).")
    live, cold, blocked = _instance_steps(view, snap, request)
    steps += live + cold + blocked
    notes += _compute_notes(host, live, cold, blocked)
    return Plan(title, tuple(steps), notes=tuple(notes))


def _service_step(cloud: str, host: str, verb: Verb, reason: str | None) -> Step:
    enabled = verb is Verb.ENABLE_SERVICE
    what = "enable nova-compute" if enabled else f"disable nova-compute ({reason}) so nothing new lands"
    return Step(
        ActionKey(cloud, verb, host),
        f"{what} on {host}",
        {"host": host, "enabled": enabled, "reason": reason},
        label=host,
    )


def _instance_steps(
    view: EstateView, snap: OpenStackSnapshot, request: DrainRequest
) -> tuple[list[Step], list[Step], list[Step]]:
    live: list[Step] = []
    cold: list[Step] = []
    blocked: list[Step] = []
    context = MoveContext(view)
    host = request.host
    for inst in sorted((i for i in snap.instances if i.host == host), key=lambda i: i.name):
        options = instance_move_options(view, inst, context=context)
        can_live, can_cold = options.option(MoveKind.LIVE_MIGRATE), options.option(MoveKind.COLD_MIGRATE)
        key = ActionKey(snap.cloud, Verb.LIVE_MIGRATE, inst.id)
        live_params = {"instance_id": inst.id, "source_host": host, "target_host": None, "block_migration": "auto"}
        if can_live and can_live.available and can_live.scheduler:
            summary = f"live-migrate {inst.name} from {host} to a host the scheduler picks (block migration auto)"
            live.append(Step(key, summary, live_params, label=inst.name, consequence=can_live.reason))
            continue
        live_why = can_live.reason if can_live else "no live migration"
        if request.cold_fallback and can_cold and can_cold.available and can_cold.scheduler:
            running = (inst.vm_state or "").lower() == "active"
            cold.append(
                Step(
                    ActionKey(snap.cloud, Verb.COLD_MIGRATE, inst.id),
                    f"cold-migrate {inst.name} from {host} to a host the scheduler picks, then confirm it",
                    {"instance_id": inst.id, "source_host": host, "target_host": None, "confirm": True},
                    label=inst.name,
                    consequence=f"cannot live-migrate ({live_why}): "
                    + ("powered off while it moves (downtime)" if running else "it stays stopped"),
                )
            )
            continue
        cold_why = "cold fallback is off" if not request.cold_fallback else (can_cold.reason if can_cold else "none")
        why = f"cannot live-migrate: {live_why}; cannot cold-migrate: {cold_why}"
        blocked.append(Step(key, f"move {inst.name} off {host}", live_params, label=inst.name, blocked_reason=why))
    return live, cold, blocked


def _compute_notes(host: str, live: list[Step], cold: list[Step], blocked: list[Step]) -> list[str]:
    notes = [f"{len(live)} live, {len(cold)} cold migration(s); {len(blocked)} instance(s) the operator must handle."]
    if not (live or cold or blocked):
        notes = [f"No instance is on {host}: only its service is disabled."]
    if cold:
        notes.append(f"{len(cold)} instance(s) cannot live-migrate: they are cold-migrated (powered off while moving).")
    if blocked:
        notes.append(f"{len(blocked)} instance(s) can move neither way and stay on {host}: see each blocked step.")
    notes.append("Migrations run a few at a time (the action concurrency); a failed phase stops the later ones.")
    notes.append("Afterwards, re-enable the service with the drain's undo (hybridview drain ... --undo).")
    return notes


def _proxy_refusal(view: EstateView, host: str, node: ComputeNode) -> str:
    ref = view.health.correlation.cluster_for(node)
    vc = next((v for v in view.estate.vcenters if ref and v.vcenter == ref.vcenter), None)
    hosts = [h for h in vc.hosts if ref and h.cluster_moref == ref.moref] if vc else []
    per_host = "; ".join(f"hybridview drain --vcenter {h.vcenter} --host {h.name}" for h in hosts)
    return (
        f"{host} is the nova-compute proxy of a vmwareapi cluster: draining it means moving every VM out of the "
        "whole cluster, which Nova cannot do host by host. Drain the ESXi hosts through vSphere instead"
        + (f": {per_host}" if per_host else " (its cluster is not matched to a vCenter being read)")
    )
