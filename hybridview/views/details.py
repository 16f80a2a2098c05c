"""HTML for the details pane: what the selected item is, what is wrong, what to do."""

from __future__ import annotations

from collections import Counter
from html import escape

from hybridview.core.correlation import instances_hit_by_host
from hybridview.core.headroom import Headroom, cluster_headroom, nova_headroom
from hybridview.core.health import ItemHealth, Severity
from hybridview.core.identity import ClusterRef, EndpointRef, HostRef, NodeRef, Ref
from hybridview.core.model import EndpointStatus
from hybridview.views.presentation import Presentation, node_label, node_name

_BADGE = {
    Severity.OK: ("#2e7d32", "HEALTHY"),
    Severity.STALE: ("#616161", "STALE"),
    Severity.WARNING: ("#8a5a00", "WARNING"),
    Severity.CRITICAL: ("#b71c1c", "CRITICAL"),
}


def _badge(health: ItemHealth) -> str:
    color, text = _BADGE[health.severity]
    stale = " · data is stale" if health.stale else ""
    reasons = "".join(f"<li>{escape(r)}</li>" for r in health.reasons)
    return f"<p><b style='color:{color}'>{text}</b>{stale}</p>" + (f"<ul>{reasons}</ul>" if reasons else "")


def details_html(p: Presentation, key: Ref | None) -> str:
    if key is None:
        return _overview(p)
    health = p.view.health.of(key)
    advice = "".join(
        f"<p><b>What to do:</b> {escape(f.advice)}</p>" for f in p.view.health.failed_hosts if f.ref == key
    )
    if isinstance(key, NodeRef) and key in p.nodes:
        return _node(p, key) + _badge(health) + advice + _headroom(_node_rooms(p, key))
    if isinstance(key, HostRef) and key in p.hosts:
        return _host(p, key) + _badge(health) + advice + _alarms(p, key) + _host_events(p, key)
    if isinstance(key, EndpointRef) and (endpoint := p.view.estate.endpoint(key.name)) is not None:
        return _endpoint(endpoint) + _badge(health)
    if isinstance(key, ClusterRef) and key in p.cluster_hosts:
        room = _cluster_room(p, key)
        return _cluster(p, key) + _badge(health) + _headroom((room,) if room else ())
    return f"<p>{escape(key.text())}</p>" + _badge(health)


_SELECT_HINT = "<p>Select a compute node, cluster or ESXi host to see its instances.</p>"


def _overview(p: Presentation) -> str:
    """Failed hosts first; never "all responding" while an endpoint's data is stale."""
    failed = p.view.health.failed_hosts
    stale = [e for e in p.view.estate.endpoints if not e.ok]
    stale_part = "".join(f"<li><b>{escape(e.name)}</b>: {escape(e.error or 'no answer yet')}</li>" for e in stale)
    stale_html = (
        f"<h3 style='color:#616161'>STALE: {len(stale)} endpoint(s) not answering</h3><ul>{stale_part}</ul>"
        "<p>Their hosts are shown as last seen; their health is unknown.</p>"
        if stale
        else ""
    )
    if not failed:
        heading = "" if stale else "<h3>All hosts responding</h3>"
        return heading + stale_html + _SELECT_HINT
    items = "".join(
        f"<li><b>{escape(f.name)}</b> ({f.layer}, {escape(f.owner)}): {escape(f.reason)}<br>{escape(f.advice)}</li>"
        for f in failed
    )
    return f"<h3 style='color:#b71c1c'>{len(failed)} failed host(s)</h3><ul>{items}</ul>" + stale_html


def _endpoint(endpoint: EndpointStatus) -> str:
    last = endpoint.last_refresh.strftime("%H:%M:%S") if endpoint.last_refresh else "never"
    state = "reachable" if endpoint.ok else f"<b style='color:#b71c1c'>STALE</b>: {escape(endpoint.error or '')}"
    warnings = "".join(f"<p>⚠ {escape(w)}</p>" for w in endpoint.warnings)
    return (
        f"<h3>{escape(endpoint.name)}</h3><p>{endpoint.kind.value}: {state}<br>last good refresh {last}</p>{warnings}"
    )


def _node(p: Presentation, key: NodeRef) -> str:
    node = p.nodes[key]
    ref = p.view.health.correlation.cluster_for(node)
    found = p.clusters.get(ref) if ref else None
    cluster = (
        f"<br>proxies vCenter cluster <b>{escape(found.name if found else ref.moref)}</b> ({escape(ref.moref)}) "
        f"on {escape(ref.vcenter)}"
        if ref
        else ""
    )
    reason = f" ({escape(node.disabled_reason)})" if node.disabled_reason else ""
    return (
        f"<h3>{escape(node_name(node, found))}</h3>"
        f"<p>hypervisor_hostname {escape(node.hypervisor_hostname)}<br>"
        f"{escape(node.hypervisor_type)} · service host {escape(node.host)}<br>"
        f"nova-compute {escape(node.state)}, {escape(node.status)}{reason}"
        f"{', FORCED DOWN' if node.forced_down else ''}{cluster}</p>"
    )


def _host(p: Presentation, key: HostRef) -> str:
    vc, host = p.hosts[key]
    hit = instances_hit_by_host(host, vc, p.view.health.correlation)
    projects = Counter(i.project_id for i in hit)
    per_project = ", ".join(f"{escape(name)} ({n})" for name, n in projects.most_common()) or "none"
    return (
        f"<h3>{escape(host.name)}</h3>"
        f"<p>ESXi host {escape(host.moref)} on {escape(vc.vcenter)}<br>"
        f"connection {escape(host.connection_state)}, power {escape(host.power_state)}, "
        f"overall {escape(host.overall_status)}{', in maintenance mode' if host.in_maintenance else ''}</p>"
        f"<p><b>Nova instances on this host:</b> {len(hit)} — projects: {per_project}</p>"
    )


def _cluster(p: Presentation, key: ClusterRef) -> str:
    row_hosts = p.cluster_hosts[key]
    vc = p.hosts[row_hosts[0]][0] if row_hosts else None
    cluster = next((c for c in vc.clusters if c.ref == key), None) if vc else None
    if cluster is None:
        return f"<h3>{escape(key.text())}</h3>"
    node = p.view.health.correlation.node_for(cluster)
    return (
        f"<h3>Cluster {escape(cluster.name)}</h3><p>{escape(cluster.moref)} on {escape(cluster.vcenter)}<br>"
        f"vSphere HA {'enabled' if cluster.ha_enabled else '<b>DISABLED</b>'}, "
        f"DRS {'enabled' if cluster.drs_enabled else 'disabled'}<br>"
        f"{len(row_hosts)} ESXi hosts · Nova node: {escape(node_label(node)) if node else 'none'}</p>"
    )


def _cluster_room(p: Presentation, key: ClusterRef) -> Headroom | None:
    cluster = p.clusters.get(key)
    hosts = [p.hosts[ref][1] for ref in p.cluster_hosts.get(key, []) if ref in p.hosts]
    if cluster is None:
        return None
    vms = {h.moref: p.vms_by_host.get(h.ref, []) for h in hosts}
    return cluster_headroom(cluster, hosts, vms, stale=_stale(p, key.vcenter))


def _node_rooms(p: Presentation, key: NodeRef) -> tuple[Headroom, ...]:
    """A KVM node's zones and aggregates; a vmwareapi node's cluster (judged on the vSphere side)."""
    node = p.nodes[key]
    if node.is_vmware:
        cluster = p.view.health.correlation.cluster_for(node)
        room = _cluster_room(p, cluster) if cluster else None
        return (room,) if room else ()
    snap = next((s for s in p.view.estate.openstack if s.cloud == key.cloud), None)
    return nova_headroom(snap, stale=_stale(p, key.cloud), host=node.host) if snap else ()


def _stale(p: Presentation, endpoint: str) -> bool:
    status = p.view.estate.endpoint(endpoint)
    return status is not None and not status.ok


_VERDICT = {
    True: ("#2e7d32", "enough"),
    False: (_BADGE[Severity.WARNING][0], "NOT ENOUGH"),
    None: ("#616161", "unknown"),
}


def _headroom(rooms: tuple[Headroom, ...]) -> str:
    """The N+1 headroom of each group, with vSphere HA admission control where there is one."""
    lines = []
    for room in rooms:
        color, word = _VERDICT[room.enough]
        stale = " (stale data)" if room.stale else ""
        admission = f"<br>{escape(room.admission_control)}" if room.admission_control else ""
        lines.append(
            f"<li><b style='color:{color}'>{word}</b> · {room.kind.value} {escape(room.group)}: "
            f"{escape(room.text)}{stale}{admission}</li>"
        )
    return f"<p><b>N+1 headroom</b></p><ul>{''.join(lines)}</ul>" if lines else ""


def _alarms(p: Presentation, key: HostRef) -> str:
    vc, host = p.hosts[key]
    triggered = [a for a in vc.alarms if a.entity_moref == host.moref]
    if not triggered:
        return ""
    lines = "".join(f"<li>{escape(a.status)}: {escape(a.name)}</li>" for a in triggered)
    return f"<p><b>Triggered vCenter alarms</b></p><ul>{lines}</ul>"


def _host_events(p: Presentation, key: HostRef) -> str:
    vc, host = p.hosts[key]
    events = [e for e in vc.events if e.entity_moref == host.moref or host.name in e.message]
    if not events:
        return ""
    lines = "".join(f"<li>{e.time:%H:%M:%S} {escape(e.message)}</li>" for e in events[-8:])
    return f"<p><b>Recent vCenter events</b></p><ul>{lines}</ul>"
