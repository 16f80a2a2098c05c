"""The ``status`` report: one EstateView as JSON-ready data or as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from hybridview.core.health import nova_node_key, vsphere_key
from hybridview.core.view import EstateView


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def status_document(view: EstateView) -> dict[str, Any]:
    estate, health = view.estate, view.health
    corr = health.correlation
    nodes = []
    for snap in estate.openstack:
        for node in snap.nodes:
            ref = corr.cluster_for(node)
            item = health.of(nova_node_key(node))
            nodes.append(
                {
                    "cloud": node.cloud,
                    "hypervisor_hostname": node.hypervisor_hostname,
                    "host": node.host,
                    "hypervisor_type": node.hypervisor_type,
                    "state": node.state,
                    "status": node.status,
                    "forced_down": node.forced_down,
                    "disabled_reason": node.disabled_reason,
                    "instances": health.instance_counts.get(nova_node_key(node), 0),
                    "vcenter_cluster": ref.key if ref else None,
                    "health": item.severity.label,
                    "reasons": list(item.reasons),
                }
            )
    clusters = []
    for vc in estate.vcenters:
        for cluster in vc.clusters:
            hosts = [h for h in vc.hosts if h.cluster_moref == cluster.moref]
            clusters.append(
                {
                    "vcenter": vc.vcenter,
                    "moref": cluster.moref,
                    "name": cluster.name,
                    "ha_enabled": cluster.ha_enabled,
                    "drs_enabled": cluster.drs_enabled,
                    "nova_node": corr.node_for(cluster),
                    "health": health.of(vsphere_key(vc.vcenter, cluster.moref)).severity.label,
                    "hosts": [
                        {
                            "name": h.name,
                            "moref": h.moref,
                            "connection_state": h.connection_state,
                            "in_maintenance": h.in_maintenance,
                            "overall_status": h.overall_status,
                            "vms": health.vm_counts.get(vsphere_key(vc.vcenter, h.moref), 0),
                            "health": health.of(vsphere_key(vc.vcenter, h.moref)).severity.label,
                        }
                        for h in hosts
                    ],
                }
            )
    return {
        "health": health.overall.label,
        "endpoints": [
            {
                "name": e.name,
                "kind": e.kind.value,
                "ok": e.ok,
                "error": e.error,
                "last_refresh": _iso(e.last_refresh),
                "warnings": list(e.warnings),
            }
            for e in estate.endpoints
        ],
        "compute_nodes": nodes,
        "vcenter_clusters": clusters,
        "standalone_hosts": [
            {"vcenter": vc.vcenter, "name": h.name, "moref": h.moref, "connection_state": h.connection_state}
            for vc in estate.vcenters
            for h in vc.hosts
            if h.cluster_moref is None
        ],
        "failed_hosts": [
            {
                "layer": f.layer,
                "name": f.name,
                "owner": f.owner,
                "reason": f.reason,
                "advice": f.advice,
                "affected_instances": f.affected_instances,
            }
            for f in health.failed_hosts
        ],
        "unmatched_vmware_nodes": list(corr.unmatched_vmware_nodes),
    }


def status_lines(view: EstateView) -> Iterator[str]:
    doc = status_document(view)
    yield f"HYBRIDVIEW {doc['health'].upper()}"
    for e in doc["endpoints"]:
        state = "ok" if e["ok"] else f"STALE: {e['error']}"
        yield f"  {e['kind']:8} {e['name']:24} {state}  (last refresh {e['last_refresh'] or 'never'})"
        for warning in e["warnings"]:
            yield f"           warning: {warning}"
    for f in doc["failed_hosts"]:
        yield f"  FAILED {f['layer']} host {f['name']} ({f['owner']}): {f['reason']}"
        yield f"         what to do: {f['advice']}"
    yield (
        f"  {len(doc['compute_nodes'])} compute nodes, {len(doc['vcenter_clusters'])} vCenter clusters, "
        f"{sum(len(c['hosts']) for c in doc['vcenter_clusters'])} clustered ESXi hosts"
    )
