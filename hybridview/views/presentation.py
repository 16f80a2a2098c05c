"""EstateView -> rows for the three panes. Plain Python, run off the GUI thread."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hybridview.core import migration_options
from hybridview.core.health import HealthReport, ItemHealth, Severity
from hybridview.core.identity import ClusterRef, HostRef, NodeRef, Ref
from hybridview.core.migration_options import MoveContext
from hybridview.core.model import (
    Cluster,
    ComputeNode,
    EndpointStatus,
    EsxiHost,
    Instance,
    OpenStackSnapshot,
    VCenterSnapshot,
    VirtualMachine,
)
from hybridview.core.view import EstateView
from hybridview.views.filtering import lowered, searchable
from hybridview.views.rows import Row

NOVA_COLUMNS = ("Compute node", "Type", "State", "Status", "Forced down", "Instances", "vCenter cluster")
VCENTER_COLUMNS = (
    "vCenter / cluster / ESXi host",
    "Connection",
    "Maintenance",
    "Overall",
    "VMs",
    "HA / DRS",
    "Nova node",
)
INSTANCE_COLUMNS = (
    "Name",
    "Status",
    "Project",
    "Nova node",
    "ESXi host",
    "Flavor",
    "Storage",
    "Can move by",
    "Health",
    "ID",
)


@dataclass(slots=True)
class Presentation:
    view: EstateView
    nova_rows: tuple[Row, ...]
    vcenter_rows: tuple[Row, ...]
    instances_by_node: dict[NodeRef, list[Instance]] = field(default_factory=dict)
    vms_by_host: dict[HostRef, list[VirtualMachine]] = field(default_factory=dict)
    nodes: dict[NodeRef, ComputeNode] = field(default_factory=dict)
    hosts: dict[HostRef, tuple[VCenterSnapshot, EsxiHost]] = field(default_factory=dict)
    cluster_hosts: dict[ClusterRef, list[HostRef]] = field(default_factory=dict)
    clusters: dict[ClusterRef, Cluster] = field(default_factory=dict)


def present(view: EstateView) -> Presentation:
    p = Presentation(view, (), ())
    p.clusters = {c.ref: c for vc in view.estate.vcenters for c in vc.clusters}
    p.nova_rows = tuple(_cloud_row(snap, view, p) for snap in view.estate.openstack)
    p.vcenter_rows = tuple(_vcenter_row(vc, view, p) for vc in view.estate.vcenters)
    p.nova_rows, p.vcenter_rows = searchable(p, p.nova_rows), searchable(p, p.vcenter_rows)
    return p


def _stale_suffix(status: EndpointStatus | None) -> str:
    return "" if status is None or status.ok else f" — STALE: {status.error}"


def _with_health(base: str, health: ItemHealth) -> str:
    return f"{base}\n{health.summary}" if health.severity is not Severity.OK else base


def _short_type(node: ComputeNode) -> str:
    return "vmwareapi (vCenter)" if node.is_vmware else node.hypervisor_type


def _cloud_row(snap: OpenStackSnapshot, view: EstateView, p: Presentation) -> Row:
    health = view.health
    by_node: dict[NodeRef | None, list[Instance]] = defaultdict(list)
    for inst in snap.instances:
        by_node[inst.node_ref].append(inst)
    children = []
    for node in sorted(snap.nodes, key=lambda n: (n.is_vmware, n.hypervisor_hostname)):
        p.nodes[node.ref] = node
        p.instances_by_node[node.ref] = by_node.get(node.ref, [])
        children.append(_node_row(node, health, p.clusters))
    up = sum(1 for n in snap.nodes if n.state == "up" and not n.forced_down)
    status = view.estate.endpoint(snap.cloud)
    item = health.of(snap.ref)
    return Row(
        key=snap.ref,
        cells=(
            f"☁ {snap.cloud}{_stale_suffix(status)}",
            f"Nova {snap.microversion or ''}".strip(),
            f"{up}/{len(snap.nodes)} up",
            "",
            "",
            str(len(snap.instances)),
            "",
        ),
        severity=item.severity,
        tooltip=_with_health(f"OpenStack cloud {snap.cloud}", item),
        children=tuple(children),
    )


def node_name(node: ComputeNode, cluster: Cluster | None) -> str:
    """How a Nova node is shown: a vmwareapi node as its cluster's name and vCenter, else its hypervisor hostname."""
    return f"{cluster.name} ({cluster.vcenter})" if node.is_vmware and cluster else node.hypervisor_hostname


def _node_row(node: ComputeNode, health: HealthReport, clusters: dict[ClusterRef, Cluster]) -> Row:
    item = health.of(node.ref)
    ref = health.correlation.cluster_for(node)
    name = node_name(node, clusters.get(ref) if ref else None)
    known_as = f"{name}\nhypervisor_hostname {node.hypervisor_hostname}" if name != node.hypervisor_hostname else name
    cluster = f"{ref.vcenter} / {ref.moref}" if ref else ("NOT FOUND" if node.is_vmware else "")
    status = node.status + (f": {node.disabled_reason}" if node.disabled_reason and node.status == "disabled" else "")
    state = node.state.upper() if node.state != "up" else "up"
    return Row(
        key=node.ref,
        cells=(
            name,
            _short_type(node),
            state,
            status,
            "FORCED DOWN" if node.forced_down else "",
            str(health.instance_counts.get(node.ref, 0)),
            cluster,
        ),
        severity=item.severity,
        tooltip=_with_health(f"{known_as}\nservice host {node.host}", item),
    )


def _vcenter_row(vc: VCenterSnapshot, view: EstateView, p: Presentation) -> Row:
    health = view.health
    by_host: dict[HostRef | None, list[VirtualMachine]] = defaultdict(list)
    for vm in vc.vms:
        by_host[vm.host_ref].append(vm)
    clusters = []
    for cluster in sorted(vc.clusters, key=lambda c: c.name):
        members = sorted((h for h in vc.hosts if h.cluster_moref == cluster.moref), key=lambda h: h.name)
        host_rows = tuple(_host_row(vc, h, health, by_host, p) for h in members)
        p.cluster_hosts[cluster.ref] = [h.ref for h in members]
        item = health.of(cluster.ref)
        node = health.correlation.node_for(cluster)
        clusters.append(
            Row(
                key=cluster.ref,
                cells=(
                    f"▣ {cluster.name} ({cluster.moref})",
                    f"{sum(1 for h in members if h.responding)}/{len(members)} connected",
                    "",
                    "",
                    str(sum(len(by_host[h.ref]) for h in members)),
                    f"HA {'on' if cluster.ha_enabled else 'OFF'} / DRS {'on' if cluster.drs_enabled else 'off'}",
                    node.hypervisor_hostname if node else "—",
                ),
                severity=item.severity,
                tooltip=_with_health(
                    f"Cluster {cluster.name}"
                    + (f"\nproxied by Nova node {node_label(node)}" if node else "\nnot proxied by any Nova node"),
                    item,
                ),
                children=host_rows,
            )
        )
    standalone = tuple(
        _host_row(vc, h, health, by_host, p) for h in sorted(vc.hosts, key=lambda h: h.name) if h.cluster_moref is None
    )
    status = view.estate.endpoint(vc.vcenter)
    item = health.of(vc.ref)
    warnings = "; ".join(status.warnings) if status and status.warnings else ""
    return Row(
        key=vc.ref,
        cells=(
            f"⛁ {vc.vcenter}{_stale_suffix(status)}",
            f"vCenter {vc.version or ''}".strip(),
            "",
            warnings,
            str(len(vc.vms)),
            "",
            "",
        ),
        severity=max(item.severity, Severity.WARNING if warnings else Severity.OK),
        tooltip=_with_health(f"vCenter {vc.vcenter}\ninstanceUuid {vc.instance_uuid}", item),
        children=(*clusters, *standalone),
    )


def _host_row(
    vc: VCenterSnapshot,
    host: EsxiHost,
    health: HealthReport,
    by_host: dict[HostRef | None, list[VirtualMachine]],
    p: Presentation,
) -> Row:
    key = host.ref
    p.hosts[key] = (vc, host)
    p.vms_by_host[key] = by_host.get(key, [])
    item = health.of(key)
    connection = host.connection_state if host.responding else host.connection_state.upper()
    return Row(
        key=key,
        cells=(
            host.name,
            connection,
            "MAINTENANCE" if host.in_maintenance else "",
            host.overall_status,
            str(len(p.vms_by_host[key])),
            host.das_state or "",
            "",
        ),
        severity=item.severity,
        tooltip=_with_health(
            f"ESXi host {host.name} ({host.moref})" + ("" if host.cluster_moref else "\nstandalone host"), item
        ),
        icon="maintenance" if host.in_maintenance and item.severity <= Severity.WARNING else None,
    )


# --- lower pane ----------------------------------------------------------------


def node_label(node: NodeRef) -> str:
    """How a Nova node is named to the operator: its hypervisor hostname and its cloud."""
    return f"{node.hypervisor_hostname} ({node.cloud})"


def instance_rows(p: Presentation, key: Ref) -> tuple[Row, ...]:
    """Rows for whatever is selected in either tree."""
    if isinstance(key, NodeRef) and key in p.instances_by_node:
        moves = MoveContext(p.view)
        return tuple(_instance_row(p, inst, moves) for inst in sorted(p.instances_by_node[key], key=lambda i: i.name))
    host_keys: list[HostRef] = []
    if isinstance(key, ClusterRef):
        host_keys = p.cluster_hosts.get(key, [])
    elif isinstance(key, HostRef) and key in p.vms_by_host:
        host_keys = [key]
    moves = MoveContext(p.view)
    return tuple(
        _vm_row(p, vm, hk, moves) for hk in host_keys for vm in sorted(p.vms_by_host.get(hk, []), key=lambda v: v.name)
    )


def _esxi_of(p: Presentation, inst: Instance) -> str:
    vm = p.view.health.correlation.vm_by_instance.get(inst.ref)
    if vm is None:
        return ""
    found = p.hosts.get(vm.host_ref) if vm.host_ref else None
    return found[1].name if found else vm.host_moref or ""


def _instance_row(p: Presentation, inst: Instance, moves: MoveContext) -> Row:
    item = p.view.health.of(inst.ref)
    options = migration_options.instance_move_options(p.view, inst, context=moves)
    task = f" ({inst.task_state})" if inst.task_state else ""
    esxi = _esxi_of(p, inst)
    return Row(
        key=inst.ref,
        cells=(
            inst.name,
            inst.status + task,
            inst.project_id,
            inst.node or "",
            esxi,
            inst.flavor or "",
            "volume" if inst.boot_from_volume else "image (local disk)",
            migration_options.summary(options),
            item.summary,
            inst.id,
        ),
        severity=item.severity,
        tooltip=migration_options.tooltip(options),
        search=lowered((inst.id, inst.project_id, inst.node, esxi)),
    )


def _vm_row(p: Presentation, vm: VirtualMachine, host_key: HostRef, moves: MoveContext) -> Row:
    corr = p.view.health.correlation
    inst = corr.instance_by_vm.get(vm.ref)
    item = p.view.health.of(vm.ref)
    host = p.hosts[host_key][1].name if host_key in p.hosts else ""
    if inst is None:
        options = migration_options.vm_move_options(p.view, vm, context=moves)
        cells: tuple[str, ...] = (
            vm.name,
            vm.power_state,
            "",
            "not a Nova instance",
            host,
            "",
            "",
            migration_options.summary(options),
            item.summary,
            vm.moref,
        )
        search = lowered((vm.moref, vm.instance_uuid, host))
        return Row(
            key=vm.ref, cells=cells, severity=item.severity, tooltip=migration_options.tooltip(options), search=search
        )
    row = _instance_row(p, inst, moves)
    severity = max(row.severity, item.severity)
    summary = item.summary if item.severity > row.severity else row.cells[8]
    cells = (*row.cells[:4], host, *row.cells[5:8], summary, row.cells[9])
    search = lowered((row.search, vm.moref, host))
    return Row(key=row.key, cells=cells, severity=severity, tooltip=row.tooltip, search=search)
