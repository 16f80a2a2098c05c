"""The simulated estate over time, the snapshots it hands out, and the writes it takes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot, VSphereEvent
from hybridview.sim import capacity, scenarios, snapshots
from hybridview.sim.layout import Layout, SimSize, build_layout
from hybridview.sim.nova_writes import SimNovaWrites
from hybridview.sim.scenarios import HA_RESTART_TICKS, SCENARIOS
from hybridview.sim.state import EPOCH, SimState, Timing
from hybridview.sim.vsphere_writes import SimVCenterWrites

__all__ = ["EPOCH", "HA_RESTART_TICKS", "SCENARIOS", "SimEstate"]

S = TypeVar("S", OpenStackSnapshot, VCenterSnapshot)


class SimEstate:
    """Deterministic for a given (size, seed, scenario, tick) and clock. Thread-safe.

    Ticks (``tick_seconds``) move vSphere HA along; writes make progress over the same
    ``clock`` (monotonic seconds) continuously, so a caller sees an evacuation's REBUILD and its end,
    a live migration's byte counters grow and a vCenter task's progress climb. The ``*_seconds``
    knobs say how long each takes (``Timing``). ``restart_vm`` blocks until its power-on is due on
    that clock (as a vCenter task wait does).
    """

    def __init__(
        self,
        scenario: str = "healthy",
        size: SimSize | None = None,
        seed: int = 7,
        tick_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        evacuation_seconds: float = 3.0,
        restart_seconds: float = 2.0,
        start_seconds: float = 1.0,
        live_migration_seconds: float = 4.0,
        cold_migration_seconds: float = 3.0,
        relocate_seconds: float = 3.0,
        maintenance_seconds: float = 2.0,
        live_migrations_per_host: int = 0,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        self.scenario = scenario
        timing = Timing(
            evacuation_seconds=evacuation_seconds,
            restart_seconds=restart_seconds,
            start_seconds=start_seconds,
            live_migration_seconds=live_migration_seconds,
            cold_migration_seconds=cold_migration_seconds,
            relocate_seconds=relocate_seconds,
            maintenance_seconds=maintenance_seconds,
            live_migrations_per_host=live_migrations_per_host,
        )
        layout = build_layout(size or SimSize(), seed)
        capacity.furnish(layout)
        self.state = SimState(layout, clock, tick_seconds, timing)
        self.broken_endpoints: set[str] = set()
        self._started = clock()
        self._os_cache: dict[str, tuple[int, OpenStackSnapshot]] = {}
        self._vc_cache: dict[str, tuple[int, VCenterSnapshot]] = {}
        with self.state.lock:
            scenarios.apply(self.state, scenario, seed)

    @property
    def layout(self) -> Layout:
        return self.state.layout

    @property
    def tick(self) -> int:
        return self.state.tick

    @property
    def events(self) -> dict[str, list[VSphereEvent]]:
        return self.state.events

    # -- time ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.state.now()

    def advance(self, ticks: int = 1) -> None:
        with self.state.lock:
            for _ in range(ticks):
                self.state.tick += 1
                scenarios.ha_step(self.state)
            self.state.changed()

    def catch_up(self) -> None:
        """Advance to the tick the clock says we are at, and apply the writes' progress that is due."""
        with self.state.lock:
            due = int((self.state.clock() - self._started) / self.state.tick_seconds)
            if due > self.state.tick:
                self.advance(due - self.state.tick)
            self.state.settle()

    # -- change ----------------------------------------------------------------

    @property
    def version(self) -> int:
        """Bumped on every change a snapshot could show."""
        return self.state.version

    def version_of(self, endpoint: str) -> int:
        """Bumped on every change a snapshot of this endpoint could show."""
        return self.state.versions.get(endpoint, 0)

    def set_host_state(self, host: str, connection_state: str) -> None:
        """The failure hook: an ESXi host (by name or moref) stops or starts responding."""
        with self.state.lock:
            target = next(h for h in self.state.layout.hosts if host in (h.name, h.moref))
            scenarios.set_connection(self.state, target, connection_state)

    def invalidate(self) -> None:
        """Call after changing the layout by hand, so the next snapshot shows it."""
        with self.state.lock:
            self.state.forget_records()

    # -- snapshots and writes --------------------------------------------------

    def openstack_snapshot(self, cloud: str) -> OpenStackSnapshot:
        with self.state.lock:
            self.state.settle()
            return self._cached(self._os_cache, cloud, snapshots.openstack_snapshot)

    def vcenter_snapshot(self, name: str) -> VCenterSnapshot:
        with self.state.lock:
            self.state.settle()
            return self._cached(self._vc_cache, name, snapshots.vcenter_snapshot)

    def _cached(self, cache: dict[str, tuple[int, S]], name: str, build: Callable[[SimState, str], S]) -> S:
        """Snapshots are rebuilt only after a change to their endpoint: 30,000 instances are costly to copy."""
        version = self.version_of(name)
        hit = cache.get(name)
        if hit is not None and hit[0] == version:
            return hit[1]
        snapshot = build(self.state, name)
        cache[name] = (version, snapshot)
        return snapshot

    def nova_writes(self, cloud: str) -> SimNovaWrites:
        if cloud not in self.state.nodes:
            raise KeyError(cloud)
        return SimNovaWrites(self.state, cloud)

    def vcenter_writes(self, vcenter: str) -> SimVCenterWrites:
        if vcenter not in self.state.vms:
            raise KeyError(vcenter)
        return SimVCenterWrites(self.state, vcenter)

    def cloud_names(self) -> list[str]:
        return list(self.state.nodes)

    def vcenter_names(self) -> list[str]:
        return [vc.name for vc in self.state.layout.vcenters]
