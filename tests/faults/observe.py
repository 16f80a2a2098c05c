"""Runs one matrix row through the real monitor and records what it published.

A row: a good read, the fault, one refresh (F5), the fault cleared, one more refresh.
Everything runs on one asyncio loop; a ticker on that loop measures its longest gap
while the faulted refresh runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hybridview.core.model import EndpointStatus
from hybridview.service.monitor import EstateMonitor
from hybridview.service.publication import Publication
from tests.faults.fault import Fault
from tests.faults.proxy import FaultProxy
from tests.faults.rows import Row, Trigger
from tests.faults.sites import Site, endpoint_status

READ_TIMEOUT_SECONDS = 3.0  # the refresher's per-endpoint limit
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.01


class Ticker:
    """Sleeps in short steps on the loop and keeps the longest time between two wake-ups.

    ``stop`` counts the time since the last wake-up too, so a stall at the very end shows.
    """

    def __init__(self, step: float = POLL_SECONDS) -> None:
        self.step = step
        self.worst = 0.0
        self.ticks = 0
        self._last = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.step)
            self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        self.worst, self._last = max(self.worst, now - self._last), now
        self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()
        self._tick()


async def until(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        await asyncio.sleep(POLL_SECONDS)


class Watch:
    """Every publication of a monitor, in order."""

    def __init__(self, monitor: EstateMonitor) -> None:
        self.seen: list[Publication] = []
        self._subscription = monitor.subscribe()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def _collect(self) -> None:
        async for update in self._subscription:
            self.seen.append(update.publication)

    async def first(self, condition: Callable[[Publication], bool], what: str, since: int = 0) -> Publication:
        found: list[Publication] = []

        def seen() -> bool:
            found[:] = [p for p in self.seen[since:] if condition(p)][:1]
            return bool(found)

        try:
            await until(seen, what)
        except AssertionError as exc:
            errors = [(p.sequence, _status_line(p)) for p in self.seen[since:]]
            raise AssertionError(f"{exc}; publications since: {errors}") from None
        return found[0]

    async def close(self) -> None:
        self._subscription.close()
        await self._task


def _status_line(publication: Publication) -> str:
    return "; ".join(
        f"{e.name} {'OK' if e.ok else 'STALE'} {e.error or ''} {e.warnings or ''}".strip()
        for e in publication.view.estate.endpoints
    )


@dataclass(slots=True)
class Observed:
    """What one row did, for its assertions and its line in the table."""

    good: Publication | None = None
    faults: list[Fault] = field(default_factory=list)
    read: EndpointStatus | None = None  # the status the faulted full read left
    faulted: Publication | None = None  # the first publication after that read
    during: list[Publication] = field(default_factory=list)  # from the fault until the endpoint recovered
    worst_gap: float = 0.0
    ticks: int = 0
    logins: int = 0  # during the fault
    request_ids: list[str] = field(default_factory=list)
    recovered: Publication | None = None


async def run_row(site: Site, row: Row, proxy: FaultProxy, observed: Observed) -> None:
    """Fill ``observed`` as the row goes, so a failing row still shows how far it got."""
    backend = site.backend(proxy, pinned=row.pinned)
    monitor = EstateMonitor(site.endpoints(backend), read_timeout_seconds=READ_TIMEOUT_SECONDS)
    reads: list[EndpointStatus] = []
    full_read = monitor.refresher.read

    async def read_and_keep_status(name: str, *, timeout_seconds: float | None = None) -> None:
        await full_read(name, timeout_seconds=timeout_seconds)
        status = monitor.refresher.estate().endpoint(name)
        assert status is not None
        reads.append(status)  # exactly what this read left: nothing else ran in between

    monitor.refresher.read = read_and_keep_status  # type: ignore[method-assign]
    watch = Watch(monitor)
    name = site.name
    vcenter = site.peer_label == "vCenter"
    try:
        monitor.start()
        observed.good = await watch.first(
            lambda p: endpoint_status(p.view, name).ok and site.data_present(p.view), "a good first read"
        )
        if vcenter:
            await until(lambda: name in monitor.live_feeds, "the change feed")
        logins, mark = site.logins(proxy), len(watch.seen)
        observed.faults = [proxy.inject(fault) for fault in row.faults(row)]
        ticker = Ticker()
        try:
            if row.trigger is Trigger.FEED_FIRST:
                await watch.first(lambda p: not endpoint_status(p.view, name).ok, "the feed to meet the fault", mark)
            elif row.trigger is Trigger.FEED_HIT:
                await until(lambda: observed.faults[0].hits > 0, "the fault to hit the feed")
                await until(lambda: site.logins(proxy) > logins, "the feed to log in again")
            done = len(reads)
            await until(lambda: not monitor.refresher.reading(name), "earlier reads to end")
            monitor.request_refresh()
            await until(lambda: len(reads) > done, "the faulted refresh")
            observed.read = read = reads[done]
            observed.faulted = await watch.first(
                lambda p: _attempted_since(endpoint_status(p.view, name), read), "its publication", mark
            )
        finally:
            ticker.stop()
            observed.worst_gap, observed.ticks = ticker.worst, ticker.ticks
        observed.logins = site.logins(proxy) - logins
        observed.request_ids = list(proxy.request_ids)
        observed.during = watch.seen[mark:]
        recovered = observed.recovered = await _recover(site, proxy, monitor, watch)
        observed.during = [p for p in watch.seen[mark:] if p.sequence < recovered.sequence]
    finally:
        await watch.close()
        await monitor.aclose(grace_seconds=2.0)


def _attempted_since(status: EndpointStatus, read: EndpointStatus) -> bool:
    return (
        status.last_attempt is not None and read.last_attempt is not None and status.last_attempt >= read.last_attempt
    )


async def _recover(site: Site, proxy: FaultProxy, monitor: EstateMonitor, watch: Watch) -> Publication:
    """Clear the fault, refresh once more: the endpoint is OK again, with data read after the fault."""
    name = site.name
    proxy.clear()
    cleared = time.time()
    mark = len(watch.seen)
    await until(lambda: not monitor.refresher.reading(name), "the last faulted read to end")
    monitor.request_refresh()

    def fresh(p: Publication) -> bool:
        status = endpoint_status(p.view, name)
        refreshed = status.last_refresh is not None and status.last_refresh.timestamp() > cleared
        return status.ok and refreshed and site.taken_at(p.view) > cleared and site.data_present(p.view)

    return await watch.first(fresh, "the endpoint to recover", mark)
