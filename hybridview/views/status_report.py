"""The ``status`` report: one EstateView as JSON-ready data or as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from hybridview.core.headroom import Headroom, estate_headroom
from hybridview.core.identity import Ref, ref_text
from hybridview.core.migration_options import options_by_hypervisor_type
from hybridview.core.recovery import recovery
from hybridview.core.view import EstateView


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(ref: Ref | None) -> str | None:
    return ref_text(ref) if ref is not None else None


def status_document(view: EstateView) -> dict[str, Any]:
    """Identities appear as their text (``ref_text``): ``ref`` of each node, cluster and host, and links."""
    estate, health = view.estate, view.health
    corr = health.correlation
    nodes = []
    for snap in estate.openstack:
        for node in snap.nodes:
            item = health.of(node.ref)
            nodes.append(
                {
                    "ref": ref_text(node.ref),
                    "cloud": node.cloud,
                    "hypervisor_hostname": node.hypervisor_hostname,
                    "host": node.host,
                    "hypervisor_type": node.hypervisor_type,
                    "state": node.state,
                    "status": node.status,
                    "forced_down": node.forced_down,
                    "disabled_reason": node.disabled_reason,
                    "instances": health.instance_counts.get(node.ref, 0),
                    "vcenter_cluster": _text(corr.cluster_for(node)),
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
                    "ref": ref_text(cluster.ref),
                    "vcenter": vc.vcenter,
                    "moref": cluster.moref,
                    "name": cluster.name,
                    "ha_enabled": cluster.ha_enabled,
                    "drs_enabled": cluster.drs_enabled,
                    "drs_behavior": cluster.drs_behavior,
                    "nova_node": _text(corr.node_for(cluster)),
                    "health": health.of(cluster.ref).severity.label,
                    "hosts": [
                        {
                            "ref": ref_text(h.ref),
                            "name": h.name,
                            "moref": h.moref,
                            "connection_state": h.connection_state,
                            "in_maintenance": h.in_maintenance,
                            "overall_status": h.overall_status,
                            "vms": health.vm_counts.get(h.ref, 0),
                            "health": health.of(h.ref).severity.label,
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
            {
                "ref": ref_text(h.ref),
                "vcenter": vc.vcenter,
                "name": h.name,
                "moref": h.moref,
                "connection_state": h.connection_state,
            }
            for vc in estate.vcenters
            for h in vc.hosts
            if h.cluster_moref is None
        ],
        "failed_hosts": [
            {
                "ref": ref_text(f.ref),
                "layer": f.layer,
                "name": f.name,
                "owner": f.owner,
                "reason": f.reason,
                "advice": f.advice,
                "affected_instances": f.affected_instances,
            }
            for f in health.failed_hosts
        ],
        "unmatched_vmware_nodes": [ref_text(n) for n in corr.unmatched_vmware_nodes],
        "migration_options": options_by_hypervisor_type(view),  # per hypervisor type, as its driver's facts say
        **_recovery_document(view),
        "headroom": [headroom_json(r) for r in estate_headroom(estate)],
    }


def headroom_json(room: Headroom) -> dict[str, Any]:
    """One group's N+1 headroom; ``needed`` and ``spare`` name their units (memory_mb, vcpu, cpu_mhz)."""
    return {
        "ref": ref_text(room.key),
        "kind": room.kind.value,
        "owner": room.owner,
        "group": room.group,
        "enough": room.enough,
        "reason": room.reason,
        "biggest_host": room.biggest_host,
        "needed": {r.name: round(r.needed) for r in room.resources},
        "spare": {r.name: round(r.spare) for r in room.resources},
        "short": {r.name: round(r.short) for r in room.resources if r.short},
        "hosts": room.hosts,
        "text": room.text,
        "admission_control": room.admission_control,
        "source": room.source,
        "stale": room.stale,
    }


def _recovery_document(view: EstateView) -> dict[str, Any]:
    waiting = recovery(view)
    return {
        "pending_evacuations": [p.as_json() for p in waiting.evacuations],
        "left_behind_vms": [vm.as_json() for vm in waiting.left_behind],
        "hosts_back": [
            {"cloud": h.cloud, "host": h.host, "heartbeat": _iso(h.heartbeat), "advice": h.advice}
            for h in waiting.returning
        ],
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
    pending = doc["pending_evacuations"]
    if pending:
        evacuable = sum(p["evacuable"] for p in pending)
        yield f"  {len(pending)} instance(s) wait for evacuation ({evacuable} evacuable now)"
    for vm in doc["left_behind_vms"]:
        yield f"  LEFT BEHIND VM {vm['name']} on {vm['host']} ({vm['vcenter']}): {vm['why']}"
    for host in doc["hosts_back"]:
        yield f"  HOST BACK {host['host']} ({host['cloud']}): {host['advice']}"
    short = [r for r in doc["headroom"] if r["enough"] is False]
    if short:
        yield f"  Headroom: {len(short)} group(s) could not absorb the failure of one more host"
    for r in short:
        admission = f" {r['admission_control']}." if r["admission_control"] else ""
        stale = " (stale data)" if r["stale"] else ""
        yield f"    {r['kind']} {r['group']} ({r['owner']}): {r['text']}{admission}{stale}"
    yield (
        f"  {len(doc['compute_nodes'])} compute nodes, {len(doc['vcenter_clusters'])} vCenter clusters, "
        f"{sum(len(c['hosts']) for c in doc['vcenter_clusters'])} clustered ESXi hosts"
    )
