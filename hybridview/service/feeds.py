"""One vCenter's change feed: WaitForUpdatesEx in a worker, each change applied at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from hybridview.backends.base import BackendError, VCenterBackend
from hybridview.service.refresh import EstateRefresher, describe_failure
from hybridview.service.tasks import spawn

log = logging.getLogger(__name__)
UPDATE_WAIT_SECONDS = 1.0
MAX_FEED_BACKOFF_SECONDS = 30.0


class ChangeFeed:
    """Follows one vCenter. A failure marks it stale at once, then retries with backoff."""

    def __init__(
        self,
        backend: VCenterBackend,
        refresher: EstateRefresher,
        executor: Executor,
        *,
        on_change: Callable[[], None],
        on_recovered: Callable[[], None],
    ) -> None:
        self.backend = backend
        self._refresher = refresher
        self._executor = executor
        self._on_change = on_change
        self._on_recovered = on_recovered
        self._task: asyncio.Task[None] | None = None
        self.live = False
        self._failing = False

    def start(self, *, on_stopped: Callable[[BaseException], None]) -> None:
        self._task = spawn(self._follow(), name=f"change feed {self.backend.name}", on_error=on_stopped)

    def stop(self) -> asyncio.Task[None]:
        assert self._task is not None
        self._task.cancel()
        return self._task

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = UPDATE_WAIT_SECONDS
        while True:
            try:
                snapshot = await loop.run_in_executor(
                    self._executor, self.backend.wait_for_updates, UPDATE_WAIT_SECONDS
                )
                if snapshot is not None:
                    self._refresher.apply_vcenter_update(snapshot)
            except Exception as exc:
                if not isinstance(exc, BackendError):
                    log.error("change feed of %s failed unexpectedly", self.backend.name, exc_info=exc)
                self.live, self._failing = False, True
                self._refresher.mark_failed(self.backend.name, f"change feed: {describe_failure(exc)}")
                self._on_change()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_FEED_BACKOFF_SECONDS)
                continue
            backoff = UPDATE_WAIT_SECONDS
            recovered, self._failing, self.live = self._failing, False, True
            if snapshot is not None:
                self._on_change()
            if recovered:  # the feed is back: a full read repairs what it missed and clears STALE
                self._on_recovered()
