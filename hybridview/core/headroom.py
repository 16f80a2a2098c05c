"""N+1 headroom: could the other hosts of a group absorb the load of one of them if it failed now?

The groups: every vSphere cluster; on the Nova side, of the KVM (not vmwareapi) nodes only, each availability
zone (its hosts from nova-compute's service records, else from the aggregates that define it) and each host
aggregate. A zone with exactly one aggregate's hosts is reported once, as the zone: operators pick zones. A
vmwareapi node never counts as a Nova host here: its cluster is judged on the vSphere side.

``headroom_loads`` says what each host weighs. The survivors are the usable hosts (up, enabled, connected,
powered on, out of maintenance mode). A host up but not usable can still fail: its need is judged, but it offers
nothing. The need of a host that has already failed (instances waiting for evacuation, VMs for HA) is pending:
it counts against the survivors' spare, so the verdict holds steady while HA restarts its VMs.

Every up host's failure is checked, in one pass from the group's totals (on uneven hardware a smaller host's
failure may be the one that does not fit); the result names the biggest host whose load would not fit, else the
biggest host. ``enough`` is None when it cannot be judged, with the reason: no capacity data, a single host, no
host up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hybridview.core.headroom_loads import (
    CPU_MHZ,
    HYPERVISORS,
    MEMORY,
    NOVA_RESOURCES,
    VSPHERE_RESOURCES,
    HostLoad,
    HostState,
    admission_text,
    esxi_load,
    kept_free,
    node_load,
)
from hybridview.core.identity import AggregateRef, ClusterRef, HostGroupRef, HostRef, NodeRef, ZoneRef
from hybridview.core.model import Cluster, ComputeNode, EsxiHost, Estate, OpenStackSnapshot, VirtualMachine
from hybridview.core.move_targets import gib

SLACK = 1e-6  # float sums: a fit to the megabyte is a fit


class GroupKind(StrEnum):
    CLUSTER = "cluster"
    ZONE = "zone"
    AGGREGATE = "aggregate"


@dataclass(frozen=True, slots=True)
class Resource:
    name: str  # memory_mb | vcpu | cpu_mhz: the unit is in the name
    needed: float  # the load of the host whose failure is judged
    spare: float  # free on the other usable hosts, net of the load still on failed hosts (never below 0)
    short: float  # how much of ``needed`` would not fit


@dataclass(frozen=True, slots=True)
class Headroom:
    kind: GroupKind
    key: ClusterRef | HostGroupRef
    owner: str  # the vCenter or cloud
    group: str  # the cluster's, zone's or aggregate's name
    enough: bool | None  # None: cannot be judged, see ``reason``
    biggest_host: str | None  # the biggest host whose load would not fit elsewhere, else the biggest
    resources: tuple[Resource, ...]
    hosts: int  # usable hosts counted, the judged one included when it is usable
    text: str  # one sentence with the numbers
    reason: str | None = None  # why ``enough`` is None
    admission_control: str | None = None  # vSphere HA admission control in words (clusters)
    source: str = ""  # placement | hypervisors | placement+hypervisors | vcenter
    stale: bool = False  # from an endpoint's last good data
    biggest_ref: NodeRef | HostRef | None = None
    members: tuple[NodeRef | HostRef, ...] = ()

    @property
    def layer(self) -> str:
        return "vsphere" if self.kind is GroupKind.CLUSTER else "nova"

    def resource(self, name: str) -> Resource | None:
        return next((r for r in self.resources if r.name == name), None)


@dataclass(frozen=True, slots=True)
class _Verdict:
    enough: bool | None
    reason: str | None = None
    worst: HostLoad | None = None
    resources: tuple[Resource, ...] = ()
    usable: int = 0
    idle: int = 0  # up but not usable
    failed: int = 0  # down, their need pending
    pending: tuple[tuple[str, float], ...] = ()  # (resource, amount) waiting on the failed hosts


def estate_headroom(estate: Estate) -> tuple[Headroom, ...]:
    """Every cluster of every vCenter, then every zone and aggregate of KVM hosts of every cloud."""
    stale = {e.name for e in estate.endpoints if not e.ok}
    found: list[Headroom] = []
    for vc in estate.vcenters:
        vms: dict[str, list[VirtualMachine]] = defaultdict(list)
        for vm in vc.vms:
            if vm.host_moref is not None:
                vms[vm.host_moref].append(vm)
        members: dict[str, list[EsxiHost]] = defaultdict(list)
        for host in vc.hosts:
            if host.cluster_moref is not None:
                members[host.cluster_moref].append(host)
        for cluster in vc.clusters:
            room = cluster_headroom(cluster, members.get(cluster.moref, []), vms, stale=vc.vcenter in stale)
            if room is not None:
                found.append(room)
    for snap in estate.openstack:
        found.extend(nova_headroom(snap, stale=snap.cloud in stale))
    return tuple(found)


def cluster_headroom(
    cluster: Cluster, hosts: Sequence[EsxiHost], vms: Mapping[str, Sequence[VirtualMachine]], *, stale: bool = False
) -> Headroom | None:
    """One cluster: ``hosts`` its ESXi hosts, ``vms`` every VM by its host's moref. None without hosts."""
    if not hosts:
        return None
    kept = kept_free(cluster)
    loads = [esxi_load(h, vms.get(h.moref, ()), kept) for h in hosts]
    verdict = _judge(loads, VSPHERE_RESOURCES)
    return _result(
        GroupKind.CLUSTER,
        cluster.ref,
        cluster.vcenter,
        cluster.name,
        verdict,
        loads,
        stale,
        admission=admission_text(cluster),
        note="",
    )


def nova_headroom(snap: OpenStackSnapshot, *, stale: bool = False, host: str | None = None) -> tuple[Headroom, ...]:
    """Each zone and aggregate of the cloud's KVM hosts (only those holding compute host ``host``, if given)."""
    kvm: dict[str, list[ComputeNode]] = defaultdict(list)
    for node in snap.nodes:
        if not node.is_vmware:
            kvm[node.host].append(node)
    groups = [g for g in _nova_groups(snap, kvm) if host is None or host in g[3]]
    if not groups:
        return ()
    providers = {p.name: p for p in snap.providers}
    loads: dict[str, list[HostLoad]] = {}  # each compute host's, once for all its groups
    found = []
    for kind, key, name, hosts in groups:
        for h in hosts:
            if h not in loads:
                loads[h] = [node_load(n, providers.get(n.hypervisor_hostname)) for n in kvm[h]]
        members = [load for h in hosts for load in loads[h]]
        verdict = _judge(members, NOVA_RESOURCES)
        if verdict.enough is None and verdict.reason == _NO_DATA and snap.capacity_error:
            verdict = _Verdict(None, f"no capacity data: {snap.capacity_error}")
        note = _source_note(members, snap.capacity_error)
        found.append(_result(kind, key, snap.cloud, name, verdict, members, stale, admission=None, note=note))
    return tuple(found)


def _nova_groups(
    snap: OpenStackSnapshot, kvm: Mapping[str, list[ComputeNode]]
) -> list[tuple[GroupKind, HostGroupRef, str, tuple[str, ...]]]:
    """(kind, key, name, compute hosts): the zones, then the aggregates that are not exactly one zone."""
    zone_of = {s.host: s.zone for s in snap.services if s.binary == "nova-compute" and s.zone and s.host in kvm}
    for aggregate in snap.aggregates:
        if aggregate.availability_zone:
            for h in aggregate.hosts:
                if h in kvm:
                    zone_of.setdefault(h, aggregate.availability_zone)
    zones: dict[str, list[str]] = defaultdict(list)
    for h, zone in zone_of.items():
        zones[zone].append(h)
    groups: list[tuple[GroupKind, HostGroupRef, str, tuple[str, ...]]] = [
        (GroupKind.ZONE, ZoneRef(snap.cloud, zone), zone, tuple(hosts)) for zone, hosts in sorted(zones.items())
    ]
    as_zone = {frozenset(hosts) for hosts in zones.values()}
    for aggregate in sorted(snap.aggregates, key=lambda a: a.name):
        hosts = tuple(dict.fromkeys(h for h in aggregate.hosts if h in kvm))
        if hosts and frozenset(hosts) not in as_zone:
            groups.append((GroupKind.AGGREGATE, AggregateRef(snap.cloud, aggregate.id), aggregate.name, hosts))
    return groups


_NO_DATA = "no capacity data"


def _judge(hosts: Sequence[HostLoad], names: Sequence[str]) -> _Verdict:
    up = [h for h in hosts if h.state in (HostState.USABLE, HostState.BUSY)]
    down = [h for h in hosts if h.state is HostState.DOWN]
    usable = sum(1 for h in up if h.state is HostState.USABLE)
    if len(up) + len(down) < 2:
        return _Verdict(None, "a single host: no other host to take its load")
    if not up:
        return _Verdict(None, "no host is up")
    judged = [r for r in names if all(r in h.capacity and r in h.need for h in up)]
    if not judged:
        return _Verdict(None, _NO_DATA)
    spare = {
        r: [max(0.0, h.capacity[r] - h.load[r]) if h.state is HostState.USABLE else 0.0 for h in up] for r in judged
    }
    total = {r: sum(spare[r]) for r in judged}
    pending = {r: sum(h.need.get(r, 0.0) for h in down) for r in judged}

    def margin(i: int, r: str) -> float:
        return total[r] - spare[r][i] - pending[r] - up[i].need[r]

    short = [i for i in range(len(up)) if any(margin(i, r) < -SLACK for r in judged)]
    worst = min(short or range(len(up)), key=lambda i: tuple(-up[i].need[r] for r in judged))  # the biggest
    resources = tuple(
        Resource(r, up[worst].need[r], max(0.0, total[r] - spare[r][worst] - pending[r]), max(0.0, -margin(worst, r)))
        for r in judged
    )
    return _Verdict(
        not short,
        worst=up[worst],
        resources=resources,
        usable=usable,
        idle=len(up) - usable,
        failed=len(down),
        pending=tuple((r, pending[r]) for r in judged if pending[r] > 0),
    )


def _result(
    kind: GroupKind,
    key: ClusterRef | HostGroupRef,
    owner: str,
    name: str,
    verdict: _Verdict,
    hosts: Sequence[HostLoad],
    stale: bool,
    *,
    admission: str | None,
    note: str,
) -> Headroom:
    worst = verdict.worst
    return Headroom(
        kind,
        key,
        owner,
        name,
        verdict.enough,
        worst.name if worst else None,
        verdict.resources,
        sum(1 for h in hosts if h.state is HostState.USABLE),
        _sentence(verdict) + note,
        verdict.reason,
        admission,
        "+".join(sorted({h.source for h in hosts if h.capacity})),
        stale,
        worst.ref if worst else None,
        tuple(h.ref for h in hosts),
    )


def _sentence(v: _Verdict) -> str:
    """E.g. "If kvm-0003 failed, its 96.0 GiB and 24 vCPU would not fit: the other 3 hosts have 40.0 GiB free
    (56.0 GiB short)"."""
    if v.enough is None or v.worst is None:
        return f"Headroom unknown: {v.reason}."
    others = v.usable - (v.worst.state is HostState.USABLE)
    if others == 0:
        who = "no other usable host is left"
    else:
        who = "the other host has" if others == 1 else f"the other {others} hosts have"
    needs = " and ".join(amount(r.name, r.needed) for r in v.resources)
    if v.enough and all(r.needed <= SLACK for r in v.resources):
        text = f"If {v.worst.name} failed, nothing would need a new host"
    elif v.enough:
        spares = " and ".join(amount(r.name, r.spare) for r in v.resources)
        text = f"If {v.worst.name} failed, its {needs} would fit: {who} {spares} free"
    else:
        short = " and ".join(
            f"{amount(r.name, r.spare)} free ({amount(r.name, r.short)} short)" for r in v.resources if r.short > SLACK
        )
        text = f"If {v.worst.name} failed, its {needs} would not fit: " + (f"{who} {short}" if others else who)
    if v.pending:
        waiting = " and ".join(amount(name, value) for name, value in v.pending)
        text += f", after the {waiting} still on {v.failed} failed host" + ("s" if v.failed > 1 else "")
    if v.idle:
        text += f"; {v.idle} host" + (" is up but takes no load" if v.idle == 1 else "s are up but take no load")
    return text + "."


def amount(name: str, value: float) -> str:
    """A resource's amount as an operator reads it: GiB with one decimal, whole vCPUs, GHz."""
    if name == MEMORY:
        return gib(round(value))
    if name == CPU_MHZ:
        return f"{value / 1000:.1f} GHz"
    return f"{value:,.0f} vCPU"


def _source_note(hosts: Sequence[HostLoad], capacity_error: str | None) -> str:
    fallback = sum(1 for h in hosts if h.source == HYPERVISORS)
    note = ""
    if fallback:
        which = "all hosts" if fallback == len(hosts) else f"{fallback} of {len(hosts)} hosts"
        note = f" Capacity of {which} from the hypervisor records: Placement gave none."
    if capacity_error and any(h.capacity for h in hosts) and fallback < len(hosts):
        note += f" Placement's last read failed ({capacity_error}): figures may be old."
    return note
