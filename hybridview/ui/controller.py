"""Drives refreshes on the qasync loop and hands finished presentations to the window."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer, Signal

from hybridview.backends.base import VCenterBackend
from hybridview.core.view import EstateView
from hybridview.service.refresh import EstateRefresher, describe_failure
from hybridview.ui.heap import HeapSettler
from hybridview.views.presentation import Presentation, present
from hybridview.service.wiring import Endpoints

log = logging.getLogger(__name__)
UPDATE_WAIT_SECONDS = 1.0
# With a live change feed, a vCenter is re-read in full only this often (the fallback).
FULL_VCENTER_RESYNC_SECONDS = 600.0
MAX_FEED_BACKOFF_SECONDS = 30.0


class RefreshController(QObject):
    """Owns the refresher; every SDK call and all row building run in its pool."""

    presentation_ready = Signal(object)  # Presentation
    busy_changed = Signal(bool)

    def __init__(self, endpoints: Endpoints, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.endpoints = endpoints
        workers = 2 + len(endpoints.openstack) + 2 * len(endpoints.vcenters)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hv-io")
        self.refresher = EstateRefresher(
            endpoints.openstack, endpoints.vcenters, self._pool, node_map=endpoints.node_map
        )
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer)
        self.set_interval(endpoints.refresh_seconds)
        self._refreshing: asyncio.Task[None] | None = None
        self._watchers: list[asyncio.Task[None]] = []
        self._publisher: asyncio.Task[None] | None = None
        self._live_feeds: set[str] = set()
        self._published = 0
        self._shown = 0
        self._last_full_read: dict[str, float] = {}
        self._dirty = False
        self._closed = False
        self.latest: Presentation | None = None
        self._heap = HeapSettler(self)

    @property
    def busy(self) -> bool:
        return self._refreshing is not None and not self._refreshing.done()

    def set_interval(self, seconds: float) -> None:
        self._timer.setInterval(int(seconds * 1000))

    def set_auto_refresh(self, enabled: bool) -> None:
        if enabled:
            self._timer.start()
        else:
            self._timer.stop()

    def start(self) -> None:
        self._heap.settle()  # imports, SDK type registries and the window are here to stay
        self._timer.start()
        self.request_refresh()

    def request_refresh(self) -> None:
        """A full refresh of every endpoint, as the operator asked for."""
        self._start_refresh(skip=())

    def _on_timer(self) -> None:
        """Periodic refresh. vCenters whose change feed is live are only re-read in full now and then."""
        now = time.monotonic()
        skip = {
            name for name in self._live_feeds if now - self._last_full_read.get(name, 0.0) < FULL_VCENTER_RESYNC_SECONDS
        }
        self._start_refresh(skip)

    def _start_refresh(self, skip: Collection[str]) -> None:
        if self.busy or self._closed:
            return
        now = time.monotonic()
        self._last_full_read.update({vc.name: now for vc in self.endpoints.vcenters if vc.name not in skip})
        self._refreshing = asyncio.ensure_future(self._refresh(skip))

    async def _refresh(self, skip: Collection[str]) -> None:
        self.busy_changed.emit(True)
        try:
            view = await self.refresher.refresh(skip)
            await self._publish_view(view)
            if not self._watchers and not self._closed:
                self._watchers = [asyncio.ensure_future(self._watch(vc)) for vc in self.endpoints.vcenters]
        finally:
            self.busy_changed.emit(False)

    async def _publish_view(self, view: EstateView) -> None:
        self._published += 1
        sequence = self._published
        presentation = await asyncio.get_running_loop().run_in_executor(self._pool, present, view)
        if not self._closed and sequence > self._shown:  # a slower, older view never replaces a newer one
            self._shown = sequence
            self.latest = presentation
            self.presentation_ready.emit(presentation)
            self._heap.settle()

    async def _watch(self, backend: VCenterBackend) -> None:
        """Follow one vCenter's change feed; apply each update without a full refresh."""
        loop = asyncio.get_running_loop()
        backoff = UPDATE_WAIT_SECONDS
        while not self._closed:
            try:
                snapshot = await loop.run_in_executor(self._pool, backend.wait_for_updates, UPDATE_WAIT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - a broken feed marks the endpoint stale, then retries
                self._live_feeds.discard(backend.name)
                self.refresher.mark_failed(backend.name, describe_failure(exc))
                self._request_publish()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_FEED_BACKOFF_SECONDS)
                continue
            backoff = UPDATE_WAIT_SECONDS
            self._live_feeds.add(backend.name)
            if snapshot is not None and not self._closed:
                self.refresher.apply_vcenter_update(snapshot)
                self._request_publish()

    def _request_publish(self) -> None:
        """Coalesce bursts of feed updates (several vCenters at once) into one evaluation."""
        self._dirty = True
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.ensure_future(self._publish_while_dirty())

    async def _publish_while_dirty(self) -> None:
        while self._dirty and not self._closed:
            self._dirty = False
            await self._publish_view(await self.refresher.evaluate())

    async def aclose(self) -> None:
        self._closed = True
        self._timer.stop()
        tasks = [t for t in [self._refreshing, self._publisher, *self._watchers] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Let in-flight SDK calls finish before closing the backends, so no connection is left open.
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)
        await asyncio.to_thread(self.refresher.close)
