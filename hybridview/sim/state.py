"""The demo estate's mutable state: the layout with its indices, the clocks, versions and timeline."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hybridview.core.model import VSphereEvent
from hybridview.sim.layout import Layout, SimDatastore, SimHost, SimInstance, SimNode, SimVCenter, SimVM

EPOCH = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
WAIT_POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the demo's asynchronous work takes, in seconds of the estate's clock."""

    evacuation_seconds: float = 3.0
    restart_seconds: float = 2.0
    start_seconds: float = 1.0
    live_migration_seconds: float = 4.0
    cold_migration_seconds: float = 3.0  # to VERIFY_RESIZE
    relocate_seconds: float = 3.0  # a vMotion or Storage vMotion task
    maintenance_seconds: float = 2.0  # an empty host entering (or leaving) maintenance mode
    live_migrations_per_host: int = 0  # Nova's max_concurrent_live_migrations (its default is 1); 0: no limit


@dataclass(slots=True)
class SimMigration:
    cloud: str
    id: str
    instance_id: str
    migration_type: str
    status: str
    source_compute: str
    source_node: str
    dest_compute: str | None
    dest_node: str | None
    created_at: datetime
    updated_at: datetime
    # a live migration copies its bytes between these times of the estate's clock
    copy_from: float | None = None
    copy_until: float | None = None
    memory_total: int = 0
    disk_total: int = 0  # 0 when nothing is block-migrated


@dataclass(slots=True)
class SimTask:
    """One vCenter task (its TaskInfo); kept after it ends, as vCenter keeps a finished task's info."""

    vcenter: str
    key: str
    description_id: str
    entity_moref: str
    entity_name: str
    cancelable: bool
    queued_at: datetime
    user: str | None
    state: str = "running"
    progress: int = 0
    cancelled: bool = False
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.state in ("queued", "running")


@dataclass(slots=True)
class SimMaintenance:
    """A host entering maintenance mode: its task, and what must leave the host first."""

    task: SimTask
    evacuate_powered_off: bool
    blocking_at_start: int
    emptied: bool = False


class Timeline:
    """Actions due at a time of a clock: how writes make progress over real time, not only over ticks."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._running_at: float | None = None  # the due time of the action running now

    def moment(self) -> float:
        """Now on the clock, or, while an action runs, the time it was due."""
        return self._clock() if self._running_at is None else self._running_at

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` that many seconds from now, or from the due time of the action that schedules it."""
        heapq.heappush(self._due, (self.moment() + seconds, next(self._order), action))

    def run_due(self) -> None:
        while self._due and self._due[0][0] <= self._clock():  # an action may make another due at once
            self._running_at, _, action = heapq.heappop(self._due)
            try:
                action()
            finally:
                self._running_at = None


class SimState:
    """Everything that changes, and one lock for it: reads come from workers while writes come from others."""

    def __init__(self, layout: Layout, clock: Callable[[], float], tick_seconds: float, timing: Timing) -> None:
        self.layout = layout
        self.lock = threading.RLock()
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.timing = timing
        self.tick = 0
        self.timeline = Timeline(clock)
        self.version = 0
        self.versions: dict[str, int] = {}
        self.failing: dict[str, str] = {}  # instance id -> the fault its evacuation ends with
        self.ha_batches: dict[tuple[str, str], int] = {}  # failed HA host (vcenter, moref) -> VMs restarted per tick
        self._serial = itertools.count(1)
        self.events: dict[str, list[VSphereEvent]] = {vc.name: [] for vc in layout.vcenters}
        self.nodes: dict[str, list[SimNode]] = {}
        self.instances: dict[str, list[SimInstance]] = {}
        self.migrations: dict[str, list[SimMigration]] = {}
        for n in layout.nodes:
            self.nodes.setdefault(n.cloud, []).append(n)
            self.migrations.setdefault(n.cloud, [])
        for i in layout.instances:
            self.instances.setdefault(i.cloud, []).append(i)
        # nested by endpoint, not keyed by tuples: 30,000 key tuples would be 30,000 more objects for the GC
        self._instance_by_id = {cloud: {i.id: i for i in insts} for cloud, insts in self.instances.items()}
        self._node_by_host = {cloud: {n.service_host: n for n in nodes} for cloud, nodes in self.nodes.items()}
        self.vms: dict[str, list[SimVM]] = {vc.name: [] for vc in layout.vcenters}
        self.hosts: dict[str, list[SimHost]] = {vc.name: [] for vc in layout.vcenters}
        self.datastores: dict[str, list[SimDatastore]] = {vc.name: [] for vc in layout.vcenters}
        for vm in layout.vms:
            self.vms[vm.vcenter].append(vm)
        for h in layout.hosts:
            self.hosts[h.vcenter].append(h)
        for d in layout.datastores:
            self.datastores[d.vcenter].append(d)
        self._host_by_moref = {vc: {h.moref: h for h in hosts} for vc, hosts in self.hosts.items()}
        self.tasks: dict[str, dict[str, SimTask]] = {vc.name: {} for vc in layout.vcenters}
        self.entering: dict[tuple[str, str], SimMaintenance] = {}  # (vcenter, host moref) -> entering maintenance

    # -- time and change -------------------------------------------------------------------

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.tick * self.tick_seconds)

    def changed(self, *endpoints: str) -> None:
        """Something a snapshot of these endpoints (all, when none is named) shows has changed."""
        self.version += 1
        for name in endpoints or (*self.nodes, *self.vms):
            self.versions[name] = self.versions.get(name, 0) + 1

    def forget_records(self) -> None:
        """Drop every cached snapshot record, after a change by hand that the records' checks cannot see."""
        for inst in self.layout.instances:
            inst.record = None
        for vm in self.layout.vms:
            vm.record = None
        self.changed()

    def settle(self) -> None:
        """Apply the progress that is due by the clock."""
        with self.lock:
            self.timeline.run_due()

    def wait(self, ran: threading.Event) -> None:
        """Block, without the lock, until a timeline action set ``ran``: as a vCenter task wait does."""
        while True:
            self.settle()
            if ran.is_set():
                return
            time.sleep(WAIT_POLL_SECONDS)

    # -- names -----------------------------------------------------------------------------

    def serial(self) -> int:
        return next(self._serial)

    def new_migration(self, inst: SimInstance, migration_type: str, status: str, target: str | None) -> SimMigration:
        """A new os-migrations record of the instance, from its host now (``target``: the host asked for)."""
        now = self.now()
        m = SimMigration(
            inst.cloud,
            str(self.serial()),
            inst.id,
            migration_type,
            status,
            inst.host,
            inst.node,
            target,
            None,
            now,
            now,
        )
        self.migrations[inst.cloud].append(m)
        return m

    def moref(self, prefix: str) -> str:
        self.layout.next_moref += 1
        return f"{prefix}{self.layout.next_moref}"

    @staticmethod
    def request_id() -> str:
        return f"req-{uuid.uuid4()}"

    def event(self, vcenter: str, moref: str | None, kind: str, message: str) -> None:
        self.events[vcenter].append(VSphereEvent(self.now(), moref, kind, message))

    # -- lookups ---------------------------------------------------------------------------

    def instance(self, cloud: str, instance_id: str) -> SimInstance | None:
        return self._instance_by_id[cloud].get(instance_id)

    def node(self, cloud: str, host: str) -> SimNode | None:
        """The compute node of a nova-compute host."""
        return self._node_by_host[cloud].get(host)

    def node_of(self, inst: SimInstance) -> SimNode | None:
        return self.node(inst.cloud, inst.host)

    def host(self, vcenter: str, moref: str) -> SimHost | None:
        return self._host_by_moref[vcenter].get(moref)

    def vm(self, vcenter: str, moref: str) -> SimVM | None:
        return next((v for v in self.vms[vcenter] if v.moref == moref), None)

    def datastore(self, vcenter: str, moref: str) -> SimDatastore | None:
        return next((d for d in self.datastores[vcenter] if d.moref == moref), None)

    def vcenter(self, name: str) -> SimVCenter:
        return next(v for v in self.layout.vcenters if v.name == name)

    def cluster_hosts(self, host: SimHost) -> list[SimHost]:
        return [h for h in self.hosts[host.vcenter] if h.cluster == host.cluster]

    def can_run(self, host: SimHost, vm: SimVM) -> bool:
        """Connected, out of maintenance, and mounting every datastore that holds the VM's files."""
        if host.connection_state != "connected" or host.in_maintenance:
            return False
        mounts = {d.moref: d.hosts for d in self.datastores[vm.vcenter] if d.moref in vm.datastores}
        return all(host.moref in mounts.get(ds, ()) for ds in vm.datastores)

    def ha_enabled(self, host: SimHost) -> bool:
        return self.vcenter(host.vcenter).ha_enabled.get(host.cluster, False)


def nova_time(value: datetime) -> str:
    """Nova's timestamp text: UTC without an offset."""
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")
