"""Every item not OK across both layers, one problem each, worst and oldest first: the Problems view.

One row per thing to act on. A consequence is shown on the row of its cause, not as a row of
its own: the instances and VMs of a failed host (its "affected"), the vmwareapi node whose
cluster lost a host, the cloud and vCenter aggregates, a cluster with some (not all) hosts
failed, the items of a stale endpoint whose only trouble is staleness (the endpoint's row).
Moves and evacuations running are activity, counted in ``problem_counts``, not problems.
At equal severity and age, an item that waits for the operator (VMs HA left behind, instances
to evacuate) comes first, its follow-up row right after it.

An operator-made state is a *notice*: a compute service disabled with a reason, an ESXi host in
maintenance mode. It keeps the severity health gives it (WARNING) but sorts after every warning.
A service disabled without a reason is a plain warning: nobody said why. A cluster, zone or
aggregate without N+1 headroom (``core.headroom``) is a warning with the numbers.

The texts are health's (``ItemHealth.reasons``, ``FailedHost.advice``); ``ADVICE`` only covers
the kinds health gives no advice for. ``since`` is the item's own time where the data has one
(a heartbeat, a vCenter event, a last good refresh), else when hybridview first saw the problem:
the caller keeps that map across calls (``remember``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hybridview.core.affected import NOTHING, Affected, projects_of, ranked, total
from hybridview.core.compute_service import _parse as parse_nova_time
from hybridview.core.correlation import instances_hit_by_host
from hybridview.core.headroom import Headroom, estate_headroom
from hybridview.core.health import NOT_RESPONDING, Severity
from hybridview.core.identity import EndpointRef, HostRef, NodeRef, Ref, VmRef
from hybridview.core.model import ComputeNode, EndpointKind, EsxiHost, Instance, VCenterSnapshot
from hybridview.core.problem_actions import ActionProblem, action_ref
from hybridview.core.recovery import Recovery, recovery
from hybridview.core.view import EstateView


class ProblemKind(StrEnum):
    NODE = "node"
    ESXI_HOST = "esxi-host"
    CLUSTER = "cluster"
    ENDPOINT = "endpoint"
    INSTANCE = "instance"
    EVACUATION = "evacuation"  # instances of a failed KVM host waiting to be evacuated
    LEFT_BEHIND = "left-behind"  # VMs of a failed ESXi host vSphere HA will not restart
    ACTION = "action"  # one of hybridview's own writes that failed or whose outcome is unknown
    HEADROOM = "headroom"  # a group whose other hosts could not absorb one host's failure; capacity unknown


# a cause before its follow-ups when severity and age are equal
_KIND_ORDER = {kind: n for n, kind in enumerate(ProblemKind)}
ProblemId = tuple[ProblemKind, Ref, str]  # kind, item, and for actions the verb

ADVICE = {
    "disabled": "Disabled by an operator (known): Nova schedules nothing new here. Enable it when the work is done.",
    "unknown": "Nova's service record for this node could not be read; see the endpoint's warnings.",
    "unmatched": "Nova names a vCenter cluster hybridview does not read: add that vCenter, or map the node "
    "in the config's node_map.",
    "maintenance": "In maintenance mode (known): DRS places no VM here. Exit maintenance when the work is done.",
    "esxi": "See the host's triggered alarms and recent events in vCenter.",
    "cluster": "No host of this cluster is left for vSphere HA to restart its VMs on: bring a host back first.",
    "stale": "Its items show their last known state, marked STALE. Check the endpoint's reachability and login.",
    "warnings": "Some records were skipped as malformed; the rest is shown.",
    "instance": "Look at the instance's fault (openstack server show), then rebuild, reset its state or delete it.",
    "evacuation": "Evacuate them from the Recovery tab (Evacuate host…) once the host is fenced.",
    "left-behind": "Fence the host, then restart them by hand (Recovery tab: Restart VMs…).",
    "action": "See the Activity tab and the audit log; the item stays as its endpoint reports it.",
    "headroom": "Add capacity, or move load out, before the next host failure.",
    "capacity": "Placement could not be read, so no zone or aggregate headroom is judged: check Placement.",
}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    key: Ref  # the item, to select it in the trees
    severity: Severity
    layer: str  # "nova" | "vsphere" | "hybridview"
    owner: str  # cloud or vCenter name
    title: str  # what is wrong
    affected: Affected
    since: datetime
    advice: str
    notice: bool = False  # an operator-made state: sorts after the warnings
    stale: bool = False  # from an endpoint's last good data
    detail: str = ""  # tells apart two actions on one item (the verb)

    @property
    def id(self) -> ProblemId:
        return (self.kind, self.key, self.detail)


def problems(
    view: EstateView,
    now: datetime,
    first_seen: Mapping[ProblemId, datetime] | None = None,
    actions: Sequence[ActionProblem] = (),
    found: Recovery | None = None,
    rooms: Sequence[Headroom] | None = None,
) -> tuple[Problem, ...]:
    """Every problem of ``view``, worst first, then oldest first; ``rooms``: its headroom, if known already."""
    collector = _Problems(view, now, first_seen or {})
    collector.endpoints()
    collector.nodes()
    collector.vsphere()
    collector.instances()
    collector.recovery(found if found is not None else recovery(view))
    collector.actions(actions)
    collector.headroom(estate_headroom(view.estate) if rooms is None else rooms)
    waiting = {p.key for p in collector.found if p.kind in _FOLLOW_UPS}
    return tuple(sorted(collector.found, key=lambda p: _order(p, waiting)))


def remember(
    first_seen: Mapping[ProblemId, datetime], found: Iterable[Problem], now: datetime
) -> dict[ProblemId, datetime]:
    """The first-seen map for the next call: the current problems only, new ones seen ``now``."""
    return {p.id: first_seen.get(p.id, now) for p in found}


_FOLLOW_UPS = frozenset({ProblemKind.EVACUATION, ProblemKind.LEFT_BEHIND})


def _order(p: Problem, waiting: set[Ref]) -> tuple[int, bool, datetime, bool, str, int, str]:
    """Worst, then oldest; at a tie, an item that waits for the operator (it has a follow-up) first, its
    follow-up right after it."""
    return (-int(p.severity), p.notice, p.since, p.key not in waiting, p.key.text(), _KIND_ORDER[p.kind], p.title)


class _Problems:
    def __init__(self, view: EstateView, now: datetime, first_seen: Mapping[ProblemId, datetime]) -> None:
        self.view, self.now, self.first_seen = view, now, first_seen
        self.health = view.health
        self.found: list[Problem] = []
        self.on_node: dict[NodeRef, list[Instance]] = defaultdict(list)
        for snap in view.estate.openstack:
            for inst in snap.instances:
                if inst.node_ref is not None:
                    self.on_node[inst.node_ref].append(inst)
        self.failed_advice = {f.ref: f.advice for f in self.health.failed_hosts}
        self.host_since: dict[HostRef, datetime] = {}
        self.node_since: dict[tuple[str, str], datetime] = {}  # (cloud, compute host): of its node's problem

    def add(
        self,
        kind: ProblemKind,
        key: Ref,
        layer: str,
        title: str,
        advice: str,
        *,
        since: datetime | None = None,
        severity: Severity | None = None,
        notice: bool = False,
        affected: Affected = NOTHING,
        detail: str = "",
        stale: bool | None = None,
    ) -> Problem:
        """A problem of ``key``: health's severity and reasons unless given; first seen unless ``since``."""
        item = self.health.of(key)
        seen = since or self.first_seen.get((kind, key, detail), self.now)
        problem = Problem(
            kind,
            key,
            item.severity if severity is None else severity,
            layer,
            key.endpoint.name,
            title or "; ".join(item.reasons),
            affected,
            min(seen, self.now),
            advice,
            notice,
            item.stale if stale is None else stale,
            detail,
        )
        self.found.append(problem)
        return problem

    # -- endpoints ------------------------------------------------------------------------

    def endpoints(self) -> None:
        estate = self.view.estate
        for status in estate.endpoints:
            if status.ok and not status.warnings:
                continue
            layer = "nova" if status.kind is EndpointKind.NOVA else "vsphere"
            if status.ok:
                title, advice = "; ".join(status.warnings), ADVICE["warnings"]
            else:
                title, advice = f"STALE: {status.error or 'no answer yet'}", ADVICE["stale"]
            self.add(
                ProblemKind.ENDPOINT,
                status.ref,
                layer,
                title,
                advice,
                severity=Severity.WARNING,
                since=None if status.ok else status.last_refresh,
                affected=self._endpoint_affected(status.name),
            )

    def _endpoint_affected(self, name: str) -> Affected:
        estate = self.view.estate
        instances = [i for s in estate.openstack if s.cloud == name for i in s.instances]
        vms = sum(len(v.vms) for v in estate.vcenters if v.vcenter == name)
        return Affected(len(instances), vms, projects_of(instances))

    # -- Nova ----------------------------------------------------------------------------

    def nodes(self) -> None:
        corr = self.health.correlation
        unmatched = set(corr.unmatched_vmware_nodes)
        for snap in self.view.estate.openstack:
            heartbeats = {s.host: s.updated_at for s in snap.services if s.binary == "nova-compute"}
            for node in snap.nodes:
                failed = node.forced_down or node.state == "down"
                odd = node.state not in ("up", "down")
                disabled = node.status == "disabled"
                if not (failed or odd or disabled or node.ref in unmatched):
                    continue
                notice = disabled and bool(node.disabled_reason) and not (failed or odd or node.ref in unmatched)
                since = parse_nova_time(heartbeats.get(node.host)) if failed else None
                advice = self.failed_advice.get(node.ref) or _node_advice(node, failed, odd, disabled)
                instances = self.on_node.get(node.ref, [])
                problem = self.add(
                    ProblemKind.NODE,
                    node.ref,
                    "nova",
                    "",
                    advice,
                    since=since,
                    notice=notice,
                    affected=Affected(len(instances), 0, projects_of(instances)),
                )
                self.node_since[(node.cloud, node.host)] = problem.since

    def instances(self) -> None:
        """Instances in ERROR; those of a failed host are its row's, and a task running is activity."""
        for snap in self.view.estate.openstack:
            for inst in snap.instances:
                if inst.status == "ERROR":
                    self.add(
                        ProblemKind.INSTANCE,
                        inst.ref,
                        "nova",
                        "instance is in ERROR",
                        ADVICE["instance"],
                        severity=Severity.CRITICAL,
                        affected=Affected(1, 0, (inst.project_id,)),
                    )

    # -- vSphere -------------------------------------------------------------------------

    def vsphere(self) -> None:
        for vc in self.view.estate.vcenters:
            for host in vc.hosts:
                if self.health.of(host.ref).reasons:
                    self._host(vc, host)
            for cluster in vc.clusters:
                members = [h for h in vc.hosts if h.cluster_moref == cluster.moref]
                if members and all(h.connection_state == NOT_RESPONDING for h in members):
                    since = min((self.host_since.get(h.ref, self.now) for h in members), default=None)
                    self.add(
                        ProblemKind.CLUSTER,
                        cluster.ref,
                        "vsphere",
                        "",
                        ADVICE["cluster"],
                        since=since,
                        affected=total(self._host_affected(vc, h) for h in members),
                    )

    def _host(self, vc: VCenterSnapshot, host: EsxiHost) -> None:
        item = self.health.of(host.ref)
        notice = host.in_maintenance and host.responding and item.severity <= Severity.WARNING
        title = ""  # health's reasons
        if host.ref in self.failed_advice:
            advice = self.failed_advice[host.ref]
        elif host.connection_state == "disconnected":  # health's reason says what to do
            title, advice = "ESXi host is disconnected from vCenter", item.reasons[0]
        else:
            advice = ADVICE["maintenance"] if notice else ADVICE["esxi"]
        problem = self.add(
            ProblemKind.ESXI_HOST,
            host.ref,
            "vsphere",
            title,
            advice,
            since=_event_time(vc, host),
            notice=notice,
            affected=self._host_affected(vc, host),
        )
        self.host_since[host.ref] = problem.since

    def _host_affected(self, vc: VCenterSnapshot, host: EsxiHost) -> Affected:
        hit = instances_hit_by_host(host, vc, self.health.correlation)
        return Affected(len(hit), self.health.vm_counts.get(host.ref, 0), projects_of(hit))

    # -- what waits for the operator -------------------------------------------------------

    def recovery(self, found: Recovery) -> None:
        by_node: dict[tuple[str, str], list[str]] = defaultdict(list)  # projects of the instances waiting
        blocked: Counter[tuple[str, str]] = Counter()
        for p in found.evacuations:
            by_node[(p.cloud, p.source_host)].append(p.project)
            blocked[(p.cloud, p.source_host)] += not p.evacuable
        nodes = {(n.cloud, n.host): n for s in self.view.estate.openstack for n in s.nodes}
        for (cloud, host), projects in by_node.items():
            node = nodes.get((cloud, host))
            n_blocked = blocked[(cloud, host)]
            self.add(
                ProblemKind.EVACUATION,
                node.ref if node else EndpointRef(cloud),
                "nova",
                f"{len(projects)} instance(s) of {host} wait for evacuation"
                + (f" ({n_blocked} blocked)" if n_blocked else ""),
                ADVICE["evacuation"],
                since=self.node_since.get((cloud, host)),
                severity=Severity.CRITICAL,
                affected=Affected(len(projects), 0, ranked(projects)),
            )
        stranded: dict[HostRef, list[VmRef]] = defaultdict(list)
        why: dict[HostRef, str] = {}
        for vm in found.left_behind:
            stranded[vm.host.ref].append(VmRef(vm.vcenter, vm.vm_moref))
            why[vm.host.ref] = vm.why
        instance_by_vm = self.health.correlation.instance_by_vm
        for host_ref, vms in stranded.items():
            hit = [i for v in vms if (i := instance_by_vm.get(v)) is not None]
            self.add(
                ProblemKind.LEFT_BEHIND,
                host_ref,
                "vsphere",
                f"{len(vms)} VM(s) vSphere HA will not restart: {why[host_ref]}",
                ADVICE["left-behind"],
                since=self.host_since.get(host_ref),
                severity=Severity.CRITICAL,
                affected=Affected(len(hit), len(vms), projects_of(hit)),
            )

    def actions(self, actions: Sequence[ActionProblem]) -> None:
        for action in actions:
            key = action.key
            self.add(
                ProblemKind.ACTION,
                action_ref(self.view, key),
                "hybridview",
                f"{action.operation}: {action.label or key.target} {action.state}"
                + (f": {action.message}" if action.message else ""),
                ADVICE["action"],
                severity=Severity.WARNING,
                detail=key.verb.value,
            )

    def headroom(self, rooms: Sequence[Headroom]) -> None:
        """Groups whose other hosts could not absorb one host's failure now; clouds whose capacity is unknown."""
        kind, warn, advice = ProblemKind.HEADROOM, Severity.WARNING, ADVICE["headroom"]
        for room in (r for r in rooms if r.enough is False):
            title = room.text + (f" {room.admission_control}." if room.admission_control else "")
            hit = self._load_of(room.biggest_ref)
            self.add(kind, room.key, room.layer, title, advice, severity=warn, stale=room.stale, affected=hit)
        for snap in self.view.estate.openstack:
            if snap.capacity_error and any(not n.is_vmware for n in snap.nodes):
                title, advice = f"Headroom unknown: {snap.capacity_error}", ADVICE["capacity"]
                self.add(kind, snap.ref, "nova", title, advice, severity=warn)

    def _load_of(self, ref: NodeRef | HostRef | None) -> Affected:
        """The instances and VMs of the host whose failure could not be absorbed."""
        if isinstance(ref, NodeRef):
            return Affected(len(self.on_node.get(ref, [])), 0, projects_of(self.on_node.get(ref, [])))
        found = [(vc, h) for vc in self.view.estate.vcenters for h in vc.hosts if h.ref == ref]
        return self._host_affected(*found[0]) if found else NOTHING


def _node_advice(node: ComputeNode, failed: bool, odd: bool, disabled: bool) -> str:
    if odd:
        return ADVICE["unknown"]
    if node.is_vmware and not failed and not disabled:
        return ADVICE["unmatched"]
    return ADVICE["disabled"] if disabled else ""


_HOST_EVENTS = {
    NOT_RESPONDING: ("HostNotRespondingEvent", "HostConnectionLostEvent"),
    "disconnected": ("HostDisconnectedEvent",),
}


def _event_time(vc: VCenterSnapshot, host: EsxiHost) -> datetime | None:
    """When the host entered its state, if vCenter's recent events say (the latest such event)."""
    kinds = _HOST_EVENTS.get(host.connection_state) or (
        ("EnteredMaintenanceModeEvent", "EnteringMaintenanceModeEvent") if host.in_maintenance else ()
    )
    times = [e.time for e in vc.events if e.entity_moref == host.moref and e.kind in kinds]
    return max(times) if times else None
