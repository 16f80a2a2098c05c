"""The simulated estate's state over time, and the snapshots it hands out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar
from datetime import UTC, datetime, timedelta

from hybridview.core.model import (
    Cluster,
    ComputeNode,
    ComputeService,
    EsxiHost,
    Instance,
    OpenStackSnapshot,
    VCenterSnapshot,
    VirtualMachine,
    VSphereEvent,
)
from hybridview.sim.layout import KVM_TYPE, Layout, SimHost, SimInstance, SimNode, SimSize, build_layout

S = TypeVar("S", OpenStackSnapshot, VCenterSnapshot)
SCENARIOS = ("healthy", "kvm-host-down", "esxi-host-down", "vmware-proxy-down")
HA_RESTART_TICKS = 3
EPOCH = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


class SimEstate:
    """Deterministic for a given (size, seed, scenario, tick). Thread-safe."""

    def __init__(
        self,
        scenario: str = "healthy",
        size: SimSize | None = None,
        seed: int = 7,
        tick_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        self.scenario = scenario
        self.layout: Layout = build_layout(size or SimSize(), seed)
        self.tick = 0
        self.events: dict[str, list[VSphereEvent]] = {vc.name: [] for vc in self.layout.vcenters}
        self._lock = threading.Lock()
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._started = clock()
        self._failed_host: SimHost | None = None
        self.broken_endpoints: set[str] = set()
        self._version = 0
        self._os_cache: dict[str, tuple[int, OpenStackSnapshot]] = {}
        self._vc_cache: dict[str, tuple[int, VCenterSnapshot]] = {}
        self._apply_scenario()

    # -- time ------------------------------------------------------------------

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.tick * self._tick_seconds)

    def advance(self, ticks: int = 1) -> None:
        with self._lock:
            for _ in range(ticks):
                self.tick += 1
                self._step()
            self._version += 1

    def catch_up(self) -> None:
        """Advance to the tick the wall clock says we are at."""
        due = int((self._clock() - self._started) / self._tick_seconds)
        if due > self.tick:
            self.advance(due - self.tick)

    # -- scenarios -------------------------------------------------------------

    @property
    def version(self) -> int:
        """Bumped on every change a snapshot could show."""
        return self._version

    def set_host_state(self, host: str, connection_state: str) -> None:
        """The failure hook: an ESXi host (by name or moref) stops or starts responding."""
        with self._lock:
            target = next(h for h in self.layout.hosts if host in (h.name, h.moref))
            target.connection_state = connection_state
            target.overall_status = "green" if connection_state == "connected" else "gray"
            self._version += 1

    def invalidate(self) -> None:
        """Call after changing the layout by hand, so the next snapshot shows it."""
        with self._lock:
            self._version += 1

    def _apply_scenario(self) -> None:
        if self.scenario == "kvm-host-down":
            kvm = [n for n in self.layout.nodes if n.hypervisor_type == KVM_TYPE]
            kvm[2 % len(kvm)].state = "down"
        elif self.scenario == "vmware-proxy-down":
            proxy = next(n for n in self.layout.nodes if n.cluster is not None)
            proxy.state = "down"
        elif self.scenario == "esxi-host-down":
            self._fail_first_ha_host()

    def _fail_first_ha_host(self) -> None:
        vc = self.layout.vcenters[0]
        moref = next(m for m, ha in vc.ha_enabled.items() if ha)
        host = next(h for h in self.layout.hosts if h.vcenter == vc.name and h.cluster == moref)
        host.connection_state = "notResponding"
        host.overall_status = "gray"
        self._failed_host = host
        self._event(vc.name, host.moref, "HostNotRespondingEvent", f"Host {host.name} is not responding")

    def _step(self) -> None:
        host = self._failed_host
        if host is None:
            return
        survivors = [
            h
            for h in self.layout.hosts
            if h.vcenter == host.vcenter and h.cluster == host.cluster and h.connection_state == "connected"
        ]
        stranded = [vm for vm in self.layout.vms if vm.host == host.moref]
        if not survivors or not stranded:
            return
        batch = max(1, -(-len(stranded) // max(1, HA_RESTART_TICKS - self.tick + 1)))
        for index, vm in enumerate(stranded[:batch]):
            target = survivors[index % len(survivors)]
            vm.host = target.moref
            self._event(
                host.vcenter,
                host.moref,
                "VmRestartedOnAlternateHostEvent",
                f"vSphere HA restarted virtual machine {vm.name} from {host.name} on host {target.name}",
            )

    def _event(self, vcenter: str, moref: str, kind: str, message: str) -> None:
        self.events[vcenter].append(VSphereEvent(self.now(), moref, kind, message))

    # -- snapshots -------------------------------------------------------------

    def openstack_snapshot(self, cloud: str) -> OpenStackSnapshot:
        with self._lock:
            return self._cached(self._os_cache, cloud, self._build_openstack)

    def vcenter_snapshot(self, name: str) -> VCenterSnapshot:
        with self._lock:
            return self._cached(self._vc_cache, name, self._build_vcenter)

    def _cached(self, cache: dict[str, tuple[int, S]], name: str, build: Callable[[str], S]) -> S:
        """Snapshots are rebuilt only after a change: a 30,000-instance estate is costly to copy."""
        hit = cache.get(name)
        if hit is not None and hit[0] == self._version:
            return hit[1]
        snapshot = build(name)
        cache[name] = (self._version, snapshot)
        return snapshot

    def _build_openstack(self, cloud: str) -> OpenStackSnapshot:
        nodes = tuple(_node(n) for n in self.layout.nodes if n.cloud == cloud)
        if not nodes:
            raise KeyError(cloud)
        services = tuple(_service(n) for n in self.layout.nodes if n.cloud == cloud)
        instances = tuple(_instance(i) for i in self.layout.instances if i.cloud == cloud)
        return OpenStackSnapshot(cloud, self.now(), nodes, services, instances, (), "2.100")

    def _build_vcenter(self, name: str) -> VCenterSnapshot:
        vc = next(v for v in self.layout.vcenters if v.name == name)
        clusters = tuple(
            Cluster(name, moref, cname, vc.ha_enabled[moref], True, vc.ha_enabled[moref], "dc-demo")
            for moref, cname in vc.clusters.items()
        )
        hosts = tuple(_host(h) for h in self.layout.hosts if h.vcenter == name)
        vms = tuple(
            VirtualMachine(name, vm.moref, vm.name, vm.instance_uuid, vm.host, vm.power_state, ("ds-shared",), 2, 4096)
            for vm in self.layout.vms
            if vm.vcenter == name
        )
        events = tuple(self.events[name][-200:])
        return VCenterSnapshot(
            name, vc.instance_uuid, self.now(), clusters, hosts, vms, events=events, version="8.0.2 (simulated)"
        )

    def cloud_names(self) -> list[str]:
        return list(dict.fromkeys(n.cloud for n in self.layout.nodes))

    def vcenter_names(self) -> list[str]:
        return [vc.name for vc in self.layout.vcenters]


def _node(n: SimNode) -> ComputeNode:
    return ComputeNode(
        n.cloud,
        n.id,
        n.hostname,
        n.hypervisor_type,
        n.service_host,
        n.state,
        n.status,
        n.disabled_reason,
        n.forced_down,
        n.host_ip,
        n.service_id,
    )


def _service(n: SimNode) -> ComputeService:
    return ComputeService(
        n.cloud,
        n.service_id,
        "nova-compute",
        n.service_host,
        "nova",
        n.state,
        n.status,
        n.disabled_reason,
        n.forced_down,
        None,
    )


def _instance(i: SimInstance) -> Instance:
    power = 1 if i.status == "ACTIVE" else 4
    return Instance(
        i.cloud,
        i.id,
        i.name,
        i.project,
        i.status,
        i.status.lower(),
        i.task_state,
        power,
        i.host,
        i.node,
        i.flavor,
        i.boot_from_volume,
        "nova",
    )


def _host(h: SimHost) -> EsxiHost:
    return EsxiHost(
        h.vcenter,
        h.moref,
        h.name,
        h.cluster,
        h.connection_state,
        "poweredOn" if h.connection_state == "connected" else "unknown",
        h.in_maintenance,
        h.overall_status,
        None,
        2 * 2600 * 16,
        2 * 2600 * 5,
        512 * 1024,
        180 * 1024,
    )
