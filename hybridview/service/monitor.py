"""The live monitor: follows every endpoint and publishes each evaluated view to its subscribers.

One object, in plain asyncio, owns the worker pool, the periodic full read (rarer for
vCenters whose change feed is live), the change feeds with their backoff, the coalescing
of bursts and the order of publications. Each endpoint's read is published as soon as it
completes (reads started together publish together, waiting at most READ_BATCH_SECONDS for
each other), so a slow or hung endpoint delays no other. The window, ``watch`` and
``status`` are faces over it; ``status`` uses it once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from hybridview.core.health import evaluate
from hybridview.core.model import Estate
from hybridview.core.view import EstateView, unevaluated
from hybridview.service.feeds import ChangeFeed
from hybridview.service.publication import Publication, Subscription
from hybridview.service.refresh import EstateRefresher, close_backend
from hybridview.service.tasks import describe_exception, spawn
from hybridview.service.transitions import States, health_states, with_fault
from hybridview.service.wiring import Endpoints
from hybridview.service.workers import Workers, run_bounded

log = logging.getLogger(__name__)
T = TypeVar("T")
# With a live change feed, a vCenter is re-read in full only this often (the fallback).
FULL_VCENTER_RESYNC_SECONDS = 600.0
READ_TIMEOUT_SECONDS = 60.0
CLOSE_GRACE_SECONDS = 5.0
LOGOUT_SECONDS = 1.0
# Reads that finish together publish together; a slow one delays the others at most this long.
READ_BATCH_SECONDS = 0.5
# A burst of changes (several vCenter feeds at once) settles this long into one evaluation.
BURST_SECONDS = 0.1


def _evaluated(estate: Estate) -> tuple[EstateView, States]:
    view = EstateView(estate, evaluate(estate))
    return view, health_states(view)


class EstateMonitor:
    def __init__(self, endpoints: Endpoints, *, read_timeout_seconds: float = READ_TIMEOUT_SECONDS) -> None:
        self.endpoints = endpoints
        workers = 2 + len(endpoints.openstack) + 2 * len(endpoints.vcenters)
        self._pool = Workers(workers)
        self.refresher = EstateRefresher(
            endpoints.openstack,
            endpoints.vcenters,
            self._pool,
            node_map=endpoints.node_map,
            storage_rules=endpoints.storage_rules,
            timeout_seconds=read_timeout_seconds,
        )
        self.interval_seconds = endpoints.refresh_seconds
        self.auto_refresh = True
        self._subscriptions: list[Subscription] = []
        self._busy_listeners: list[Callable[[bool], None]] = []
        self._reads: dict[str, asyncio.Task[None]] = {}
        self._feeds: dict[str, ChangeFeed] = {}
        self._last_full_read: dict[str, float] = {}
        self._read_started: dict[str, float] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._read_finished = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._dirty = False
        self._feed_changes = False
        self._sequence = 0
        self._closed = False
        self._was_busy = False
        self.latest: Publication | None = None

    # -- faces ---------------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        """An async iterator of updates: the newest publication and the transitions since the last one read."""
        subscription = Subscription(self._unsubscribe)
        if self._closed:
            subscription.end()
            return subscription
        self._subscriptions.append(subscription)
        if self.latest is not None:
            subscription.offer(self.latest)
        return subscription

    def add_busy_listener(self, listener: Callable[[bool], None]) -> None:
        self._busy_listeners.append(listener)

    async def offload(self, call: Callable[..., T], *args: object) -> T:
        """Run a pure, CPU-bound function (row building, say) in the monitor's workers."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args))

    def release(self, *objects: object) -> None:
        """Free replaced views in a worker (see ``Workers.release``); the caller keeps no reference."""
        self._pool.release(*objects)

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._reads.values())

    @property
    def live_feeds(self) -> frozenset[str]:
        return frozenset(name for name, feed in self._feeds.items() if feed.live)

    def start(self) -> None:
        """Read everything now, then follow: periodic reads and, per vCenter, its change feed."""
        if self._ticker is None and not self._closed:
            self._ticker = spawn(self._tick(), name="monitor: periodic reads", on_error=self._fault)
        self.request_refresh()

    def set_interval(self, seconds: float) -> None:
        self.interval_seconds = seconds
        self._wake.set()

    def set_auto_refresh(self, enabled: bool) -> None:
        self.auto_refresh = enabled
        self._wake.set()

    def request_refresh(self) -> None:
        """A full read of every endpoint, as the operator asked for."""
        for name in self.refresher.endpoint_names():
            self._start_read(name)

    async def read_once(self, deadline: float | None = None) -> EstateView:
        """One full read of every endpoint, evaluated: the monitor used once.

        ``deadline`` (a ``time.monotonic()`` value) ends the read: an endpoint that has not
        answered by then is marked stale, "no answer within N s".
        """
        timeout = None if deadline is None else deadline - time.monotonic()
        return await self.refresher.refresh(timeout_seconds=timeout)

    # -- reading -------------------------------------------------------------------------

    async def _tick(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval_seconds)
            except TimeoutError:
                if self.auto_refresh:
                    self._periodic_read_reporting_failure()

    def _periodic_read_reporting_failure(self) -> None:
        """One failed round is shown and logged; the next round runs all the same."""
        try:
            self._periodic_read()
        except Exception as exc:
            log.exception("periodic read failed")
            self._fault(exc, doing="starting the periodic reads")

    def _periodic_read(self) -> None:
        now = time.monotonic()
        live = self.live_feeds
        estate = self.refresher.estate()
        for name in self.refresher.endpoint_names():
            recent = now - self._last_full_read.get(name, 0.0) < FULL_VCENTER_RESYNC_SECONDS
            status = estate.endpoint(name)
            if not (name in live and recent and status is not None and status.ok):
                self._start_read(name)

    def _start_read(self, name: str) -> None:
        running = self._reads.get(name)
        if self._closed or (running is not None and not running.done()) or self.refresher.reading(name):
            return
        self._last_full_read[name] = time.monotonic()
        self._read_started[name] = time.monotonic()
        task = spawn(self._read(name), name=f"read {name}", on_error=partial(self._endpoint_fault, name))
        task.add_done_callback(lambda _t: self._read_done())
        self._reads[name] = task
        self._notify_busy()

    async def _read(self, name: str) -> None:
        await self.refresher.read(name)
        self.request_publish()
        vcenter = next((b for b in self.endpoints.vcenters if b.name == name), None)
        if vcenter is not None and name not in self._feeds and not self._closed:
            feed = ChangeFeed(
                vcenter,
                self.refresher,
                self._pool,
                on_change=self._feed_changed,
                on_recovered=partial(self._start_read, name),
            )
            self._feeds[name] = feed
            feed.start(on_stopped=partial(self._feed_stopped, name))

    def _feed_stopped(self, name: str, exc: BaseException) -> None:
        """A feed died of a bug: show it; the next full read of that vCenter starts a new one."""
        self._feeds.pop(name, None)
        self._endpoint_fault(name, exc, doing="following the change feed")

    def _read_done(self) -> None:
        self._read_finished.set()
        self._notify_busy()

    def _notify_busy(self) -> None:
        busy = self.busy
        if busy == self._was_busy:
            return
        self._was_busy = busy
        for listener in list(self._busy_listeners):
            listener(busy)

    # -- publishing ----------------------------------------------------------------------

    def _feed_changed(self) -> None:
        self._feed_changes = True
        self.request_publish()

    def request_publish(self) -> None:
        """Coalesce bursts (several endpoints or feed batches at once) into one evaluation."""
        self._dirty = True
        if not self._closed and (self._publisher is None or self._publisher.done()):
            self._publisher = spawn(self._publish_while_dirty(), name="monitor: publish", on_error=self._fault)

    async def _publish_while_dirty(self) -> None:
        while self._dirty and not self._closed:
            if self._feed_changes:  # feeds fire in bursts; a read's result is published at once
                await asyncio.sleep(BURST_SECONDS)
            await self._gather_batch()
            self._dirty = self._feed_changes = False
            estate = self.refresher.estate()
            try:
                view, states = await self.offload(_evaluated, estate)
            except Exception as exc:
                log.exception("evaluating the estate failed")
                self._fault(exc, doing="evaluating the estate")
                continue
            self._publish(view, states, None)

    async def _gather_batch(self) -> None:
        """Wait for reads started in the last READ_BATCH_SECONDS: one evaluation, not one each.

        A read older than that is slow (or hung) and holds back no publication.
        """
        while True:
            starts = [self._read_started[name] for name, task in self._reads.items() if not task.done()]
            remaining = max(starts, default=-READ_BATCH_SECONDS) + READ_BATCH_SECONDS - time.monotonic()
            if remaining <= 0:
                return
            self._read_finished.clear()
            try:
                await asyncio.wait_for(self._read_finished.wait(), remaining)
            except TimeoutError:
                return

    def _publish(self, view: EstateView, states: States, fault: str | None) -> None:
        if self._closed:
            return
        self._sequence += 1
        self.latest = Publication(self._sequence, view, states, fault)
        for subscription in list(self._subscriptions):
            subscription.offer(self.latest)

    def _fault(self, exc: BaseException, doing: str = "following the estate") -> None:
        """A failure of the monitor itself: the last view is republished, its overall health UNKNOWN."""
        text = f"internal error while {doing}: {describe_exception(exc)}"
        if self.latest is not None:
            self._publish(self.latest.view, with_fault(self.latest.states, text), text)
        else:  # nothing evaluated yet: the endpoints alone, no item to show as healthy
            self._publish(unevaluated(self.refresher.estate()), with_fault({}, text), text)

    def _endpoint_fault(self, name: str, exc: BaseException, doing: str = "reading it") -> None:
        self.refresher.mark_failed(name, f"internal error while {doing}: {describe_exception(exc)}")
        self.request_publish()

    def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    # -- closing -------------------------------------------------------------------------

    async def aclose(self, grace_seconds: float | None = None) -> None:
        """Stop following, let in-flight SDK calls finish, then close every backend's connections.

        Closing takes about ``grace_seconds`` (CLOSE_GRACE_SECONDS unless given) at most: calls
        still running then are abandoned, and the closes get what is left, or at least
        LOGOUT_SECONDS so the endpoints that answer are logged out.
        """
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._ticker, self._publisher, *self._reads.values()) if t is not None]
        tasks += [feed.stop() for feed in self._feeds.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for subscription in list(self._subscriptions):
            subscription.end()
        grace = max(0.0, CLOSE_GRACE_SECONDS if grace_seconds is None else grace_seconds)
        deadline = time.monotonic() + grace
        stuck = await asyncio.to_thread(self._pool.close, grace)
        if stuck:
            log.warning("%d call(s) still wait on an endpoint after %.1f s; abandoned", stuck, grace)
        names = self.refresher.endpoint_names()
        closes = {name: partial(close_backend, self.refresher.backend(name)) for name in names}
        budget = max(deadline - time.monotonic(), min(LOGOUT_SECONDS, grace))
        still_closing = await run_bounded(closes, budget)
        if still_closing:
            log.warning("closing %s did not finish in %.1f s; abandoned", ", ".join(still_closing), budget)

    async def __aenter__(self) -> EstateMonitor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
