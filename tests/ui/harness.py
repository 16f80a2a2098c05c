"""Drives a real MainWindow, on the demo estate or on real backends, through its qasync refresh path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hybridview.actions.executors import Tracking
from hybridview.sim import SimSize
from hybridview.sim.backends import demo_backends
from hybridview.sim.estate import SimEstate
from hybridview.ui.app import build_window
from hybridview.views.presentation import Presentation
from hybridview.service.wiring import Endpoints, demo_endpoints

FAST_TRACKING = Tracking(poll_seconds=0.05, limit_seconds=60.0)  # follow the demo's writes closely


class WindowHarness:
    """A real window over ``endpoints`` (the demo's, or real backends), auto-refresh off."""

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: Endpoints, tracking: Tracking | None = None) -> None:
        self.loop = loop
        self.endpoints = endpoints
        self.window, self.controller = build_window(endpoints, tracking=tracking)
        self.controller.set_auto_refresh(False)
        self.presentations: list[Presentation] = []
        self.window.presentation_shown.connect(self.presentations.append)

    @classmethod
    def on_demo(
        cls, loop: asyncio.AbstractEventLoop, scenario: str, size: SimSize | None = None, tick_seconds: float = 3600.0
    ) -> WindowHarness:
        return cls(loop, demo_endpoints(scenario, size, tick_seconds=tick_seconds))

    @property
    def estate(self) -> SimEstate:
        assert self.endpoints.demo is not None, "not the demo"
        return self.endpoints.demo

    def run(self, awaitable: asyncio.Future[object] | object, timeout: float = 60.0) -> object:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, timeout))  # type: ignore[arg-type]

    def wait_presentations(self, count: int, timeout: float = 60.0) -> Presentation:
        async def wait() -> None:
            while len(self.presentations) < count:
                await asyncio.sleep(0.01)

        self.run(wait(), timeout)
        return self.presentations[-1]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async def wait() -> None:
            while not condition():
                await asyncio.sleep(0.01)

        self.run(wait(), timeout)

    def refresh(self) -> Presentation:
        before = len(self.presentations)
        self.controller.request_refresh()
        return self.wait_presentations(before + 1)

    def close(self) -> None:
        self.run(self.controller.aclose())  # the window's actions first, then the monitor
        self.window.close()


@contextmanager
def window_on(
    loop: asyncio.AbstractEventLoop, scenario: str, size: SimSize | None = None, tick_seconds: float = 3600.0
) -> Iterator[WindowHarness]:
    harness = WindowHarness.on_demo(loop, scenario, size, tick_seconds)
    harness.window.resize(1600, 1000)
    harness.window.show()
    try:
        harness.controller.start()
        harness.wait_presentations(1)
        yield harness
    finally:
        harness.close()


def fast_demo(
    scenario: str, *, read_only: bool = False, evacuation_seconds: float = 0.4, live_migration_seconds: float = 0.1
) -> Endpoints:
    """The demo with quick writes (the default tick keeps vSphere HA still)."""
    estate = SimEstate(
        scenario,
        tick_seconds=3600.0,
        evacuation_seconds=evacuation_seconds,
        restart_seconds=0.2,
        live_migration_seconds=live_migration_seconds,
        cold_migration_seconds=0.1,
        relocate_seconds=0.1,
        maintenance_seconds=0.1,
    )
    nova, vcenters = demo_backends(estate)
    return Endpoints(list(nova), list(vcenters), demo=estate, refresh_seconds=5.0, read_only=read_only)


@contextmanager
def window_over(loop: asyncio.AbstractEventLoop, endpoints: Endpoints) -> Iterator[WindowHarness]:
    """A shown window over ``endpoints`` that follows its writes closely, after its first presentation."""
    harness = WindowHarness(loop, endpoints, FAST_TRACKING)
    harness.window.resize(1600, 1000)
    harness.window.show()
    try:
        harness.controller.start()
        harness.wait_presentations(1)
        yield harness
    finally:
        harness.close()
