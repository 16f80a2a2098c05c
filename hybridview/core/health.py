"""Health evaluation: what is failed, degraded or stale, why, and what to do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from hybridview.core.correlation import Correlation, correlate
from hybridview.core.identity import ClusterRef, HostRef, NodeRef, Ref
from hybridview.core.model import (
    Cluster,
    ComputeNode,
    EsxiHost,
    Estate,
    Instance,
    OpenStackSnapshot,
    VCenterSnapshot,
)


class Severity(IntEnum):
    OK = 0
    STALE = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Overall(IntEnum):
    """Monitoring-plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class ItemHealth:
    severity: Severity
    reasons: tuple[str, ...] = ()
    stale: bool = False

    @property
    def summary(self) -> str:
        text = "; ".join(self.reasons) if self.reasons else "healthy"
        return f"{text} (stale data)" if self.stale else text


HEALTHY = ItemHealth(Severity.OK)


@dataclass(frozen=True, slots=True)
class FailedHost:
    layer: str  # "nova" | "esxi"
    name: str
    reason: str
    advice: str
    ref: NodeRef | HostRef
    owner: str  # cloud or vCenter name
    affected_instances: int = 0


@dataclass(frozen=True, slots=True)
class HealthReport:
    overall: Overall
    items: Mapping[Ref, ItemHealth]
    failed_hosts: tuple[FailedHost, ...]
    correlation: Correlation
    instance_counts: Mapping[NodeRef, int] = field(default_factory=dict)
    vm_counts: Mapping[HostRef, int] = field(default_factory=dict)

    def of(self, ref: Ref) -> ItemHealth:
        return self.items.get(ref, HEALTHY)


NOT_RESPONDING = "notResponding"
# vSphere HA states of a host that lost its management network but may still run its VMs.
HA_ISOLATION_STATES = frozenset({"networkIsolated", "networkPartitionedFromMaster", "fdmUnreachable"})


EVACUATION_TASK_STATES = frozenset({"rebuilding", "rebuild_spawning", "rebuild_block_device_mapping"})


class _Collector:
    def __init__(self, estate: Estate) -> None:
        self.stale_endpoints = {e.name for e in estate.endpoints if not e.ok}
        self.items: dict[Ref, ItemHealth] = {}
        self.failed: list[FailedHost] = []

    def put(self, ref: Ref, reasons: list[tuple[Severity, str]]) -> None:
        """Record the item's health; stale when the endpoint that reports it is."""
        stale = ref.endpoint.name in self.stale_endpoints
        if not reasons and not stale:
            return
        severity = max((s for s, _ in reasons), default=Severity.OK)
        if stale:
            severity = max(severity, Severity.STALE)
        if severity is Severity.OK:
            return
        self.items[ref] = ItemHealth(severity, tuple(r for _, r in reasons), stale)


def evaluate(estate: Estate, correlation: Correlation | None = None) -> HealthReport:
    corr = correlation or correlate(estate)
    col = _Collector(estate)
    instance_counts: dict[NodeRef, int] = {}
    vm_counts: dict[HostRef, int] = {}
    for vc in estate.vcenters:
        vm_counts.update(_evaluate_vcenter(vc, corr, col))
    cluster_health = {ref: h for ref, h in col.items.items() if isinstance(ref, ClusterRef)}
    for snap in estate.openstack:
        instance_counts.update(_evaluate_cloud(snap, corr, cluster_health, col))
    return HealthReport(
        overall=_overall(estate, col),
        items=col.items,
        failed_hosts=tuple(col.failed),
        correlation=corr,
        instance_counts=instance_counts,
        vm_counts=vm_counts,
    )


def _overall(estate: Estate, col: _Collector) -> Overall:
    if not estate.endpoints or not any(e.ok for e in estate.endpoints):
        return Overall.UNKNOWN
    worst = max((h.severity for h in col.items.values()), default=Severity.OK)
    if worst is Severity.CRITICAL:
        return Overall.CRITICAL
    if worst >= Severity.STALE or col.stale_endpoints or any(e.warnings for e in estate.endpoints):
        return Overall.WARNING
    return Overall.OK


# --- Nova side -------------------------------------------------------------


def _evaluate_cloud(
    snap: OpenStackSnapshot,
    corr: Correlation,
    cluster_health: Mapping[ClusterRef, ItemHealth],
    col: _Collector,
) -> dict[NodeRef, int]:
    per_node = Counter(i.node for i in snap.instances)
    counts: dict[NodeRef, int] = {}
    worst = Severity.OK
    for node in snap.nodes:
        n_instances = per_node.get(node.hypervisor_hostname, 0)
        counts[node.ref] = n_instances
        reasons = _node_reasons(node, n_instances, corr.cluster_for(node), cluster_health, col)
        col.put(node.ref, reasons)
        worst = max([worst, *(s for s, _ in reasons)])
    failed_nodes = {n.hypervisor_hostname: n for n in snap.nodes if n.state == "down" or n.forced_down}
    for inst in snap.instances:
        if inst.status == "ERROR" or inst.task_state or inst.node in failed_nodes or snap.cloud in col.stale_endpoints:
            col.put(inst.ref, _instance_reasons(inst, failed_nodes))
    cloud_reasons = [(worst, "some compute nodes need attention")] if worst > Severity.OK else []
    col.put(snap.ref, cloud_reasons)
    return counts


def _node_reasons(
    node: ComputeNode,
    n_instances: int,
    cluster: ClusterRef | None,
    cluster_health: Mapping[ClusterRef, ItemHealth],
    col: _Collector,
) -> list[tuple[Severity, str]]:
    reasons: list[tuple[Severity, str]] = []
    if node.forced_down or node.state == "down":
        reason, advice = _nova_failure_text(node, n_instances, cluster)
        reasons.append((Severity.CRITICAL, reason))
        col.failed.append(
            FailedHost("nova", node.hypervisor_hostname, reason, advice, node.ref, node.cloud, n_instances)
        )
    elif node.state not in ("up", "down"):  # e.g. its service record was malformed and skipped
        reasons.append((Severity.WARNING, f"nova-compute state unknown ({node.state})"))
    if node.status == "disabled":
        why = f": {node.disabled_reason}" if node.disabled_reason else ""
        reasons.append((Severity.WARNING, f"compute service disabled{why}"))
    if node.is_vmware and cluster is None:
        reasons.append((Severity.WARNING, "vmwareapi node, but no matching vCenter cluster was found"))
    if cluster is not None:
        ch = cluster_health.get(cluster)
        if ch is not None and ch.severity >= Severity.WARNING:
            reasons.append((Severity.WARNING, f"vCenter cluster {cluster.moref}: {ch.summary}"))
    return reasons


def _nova_failure_text(node: ComputeNode, n_instances: int, cluster: ClusterRef | None) -> tuple[str, str]:
    if node.is_vmware:
        where = f"cluster {cluster.moref} on {cluster.vcenter}" if cluster else "its vCenter cluster"
        reason = f"nova-compute proxy on {node.host} is down"
        advice = (
            f"The VMs of {where} keep running; Nova cannot manage them until the proxy returns. "
            f"Restart nova-compute on {node.host}. Do not evacuate: the vmwareapi driver "
            "does not support it and the instances would end in ERROR."
        )
        return reason, advice
    if node.forced_down:
        reason = f"nova-compute on {node.host} is forced down"
        advice = (
            f"Host is fenced: evacuate its {n_instances} instance(s). With shared storage their data "
            "survives; without it they are rebuilt from their image and local data is lost."
            if n_instances
            else "No instances left: repair the host, then clear force-down and enable the service."
        )
        return reason, advice
    reason = f"nova-compute on {node.host} is down"
    advice = (
        f"Nothing restarts its {n_instances} instance(s). Fence the host (power it off), "
        "mark its nova-compute forced down, then evacuate. With shared storage data survives; "
        "without it instances are rebuilt from their image."
    )
    return reason, advice


def _instance_reasons(inst: Instance, failed_nodes: Mapping[str, ComputeNode]) -> list[tuple[Severity, str]]:
    reasons: list[tuple[Severity, str]] = []
    if inst.status == "ERROR":
        reasons.append((Severity.CRITICAL, "instance is in ERROR"))
    failed = failed_nodes.get(inst.node or "")
    if failed is not None and inst.status != "ERROR":
        if failed.is_vmware:
            reasons.append((Severity.WARNING, "VM keeps running; Nova cannot manage it while its proxy is down"))
        else:
            reasons.append((Severity.CRITICAL, f"its compute node {inst.node} is down"))
    if inst.task_state in EVACUATION_TASK_STATES:
        reasons.append((Severity.WARNING, f"being rebuilt/evacuated ({inst.task_state})"))
    elif inst.task_state and "migrat" in inst.task_state:
        reasons.append((Severity.WARNING, f"migration in progress ({inst.task_state})"))
    return reasons


# --- vSphere side -----------------------------------------------------------


def _evaluate_vcenter(vc: VCenterSnapshot, corr: Correlation, col: _Collector) -> dict[HostRef, int]:
    vms_per_host = Counter(vm.host_moref for vm in vc.vms)
    counts = {h.ref: vms_per_host.get(h.moref, 0) for h in vc.hosts}
    clusters = {c.moref: c for c in vc.clusters}
    for host in vc.hosts:
        cluster = clusters.get(host.cluster_moref or "")
        reasons = _host_reasons(vc, host, cluster, vms_per_host.get(host.moref, 0), corr, col)
        col.put(host.ref, reasons)
    for cluster in vc.clusters:
        members = [h for h in vc.hosts if h.cluster_moref == cluster.moref]
        col.put(cluster.ref, _cluster_reasons(cluster, members))
    failed_hosts = {h.moref: h for h in vc.hosts if h.connection_state == NOT_RESPONDING}
    stale = vc.vcenter in col.stale_endpoints
    for vm in vc.vms:
        failed = failed_hosts.get(vm.host_moref or "")
        if failed is not None:
            col.put(vm.ref, [_stranded_vm_reason(failed)])
        elif stale:  # last known state only: never shown as healthy
            col.put(vm.ref, [])
    worst = max((col.items[ref].severity for ref in counts if ref in col.items), default=Severity.OK)
    col.put(vc.ref, [(worst, "some hosts need attention")] if worst else [])
    return counts


def _host_reasons(
    vc: VCenterSnapshot,
    host: EsxiHost,
    cluster: Cluster | None,
    n_vms: int,
    corr: Correlation,
    col: _Collector,
) -> list[tuple[Severity, str]]:
    reasons: list[tuple[Severity, str]] = []
    if host.connection_state == "disconnected":
        reasons.append(
            (
                Severity.WARNING,
                "disconnected from vCenter (usually on purpose): vSphere HA does not act for it and its VMs run "
                "unmanaged; reconnect it in vCenter",
            )
        )
    elif host.connection_state == NOT_RESPONDING:
        reason = f"ESXi host is {host.connection_state}"
        if host.das_state in HA_ISOLATION_STATES:
            reason += f" (vSphere HA: {host.das_state})"
        advice = _esxi_failure_advice(host, cluster, n_vms, corr)
        reasons.append((Severity.CRITICAL, reason))
        affected = sum(1 for vm in vc.vms if vm.host_moref == host.moref and vm.ref in corr.instance_by_vm)
        col.failed.append(FailedHost("esxi", host.name, reason, advice, host.ref, vc.vcenter, affected))
    elif host.overall_status == "red":
        reasons.append((Severity.CRITICAL, "overall status red"))
    elif host.overall_status == "yellow":
        reasons.append((Severity.WARNING, "overall status yellow"))
    if host.in_maintenance:
        reasons.append((Severity.WARNING, "in maintenance mode"))
    if host.power_state in ("poweredOff", "standBy") and host.responding:
        reasons.append((Severity.WARNING, f"power state {host.power_state}"))
    return reasons


def _stranded_vm_reason(host: EsxiHost) -> tuple[Severity, str]:
    if host.das_state in HA_ISOLATION_STATES:
        return Severity.WARNING, f"its ESXi host lost its management network ({host.das_state}); the VM may still run"
    return Severity.CRITICAL, "its ESXi host is not responding; waiting for vSphere HA restart"


def _esxi_failure_advice(host: EsxiHost, cluster: Cluster | None, n_vms: int, corr: Correlation) -> str:
    nova_note = (
        "Nova is not told about this and must not evacuate them: the vmwareapi driver does not support evacuate."
    )
    if host.das_state in HA_ISOLATION_STATES:
        return (
            f"vSphere HA reports the host {host.das_state}: its management network is cut, but its {n_vms} VM(s) "
            "may still be running; the cluster's host isolation response decides whether HA restarts them. "
            f"Check the host's network before acting. {nova_note}"
        )
    if cluster is None:
        return f"Standalone host: no vSphere HA. Its {n_vms} VM(s) stay down until the host returns. {nova_note}"
    if cluster.ha_enabled:
        return (
            f"vSphere HA restarts its {n_vms} VM(s) on the surviving hosts of cluster {cluster.name}. "
            f"Watch the VM count fall to zero. {nova_note}"
        )
    return (
        f"vSphere HA is OFF on cluster {cluster.name}: its {n_vms} VM(s) will not restart by "
        f"themselves. Restart them from vCenter on a surviving host. {nova_note}"
    )


def _cluster_reasons(cluster: Cluster, members: Iterable[EsxiHost]) -> list[tuple[Severity, str]]:
    hosts = list(members)
    failed = sum(1 for h in hosts if h.connection_state == NOT_RESPONDING)
    reasons: list[tuple[Severity, str]] = []
    if hosts and failed == len(hosts):
        reasons.append((Severity.CRITICAL, f"all {failed} hosts failed"))
    elif failed:
        reasons.append((Severity.WARNING, f"{failed} of {len(hosts)} hosts failed"))
    return reasons
