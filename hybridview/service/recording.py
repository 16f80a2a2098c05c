"""The one way a face records what it observed in the history: the window, ``watch`` and ``status``.

``history_for`` says which history a run keeps (the file; the demo's changes are not the estate's,
they stay in memory). ``HistoryRecorder.record`` records one view (blocking: in a worker) and never
raises for the file: a history that cannot be written (a read-only directory, a full disk) is
reported once through ``warn`` and kept as ``failure``, and its changes wait in memory for the next
write that works. ``observe`` is for a face that follows publications: it returns at once and the
views are recorded in the monitor's workers one at a time, in order, so a down and up between two
writes are both kept; a disk so slow that ``MAX_WAITING`` views wait drops the oldest of them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hybridview.core.timeline import ObservedChange
from hybridview.core.view import EstateView
from hybridview.service.history import History, history_path
from hybridview.service.tasks import spawn
from hybridview.service.wiring import Endpoints

log = logging.getLogger(__name__)
Offload = Callable[..., Awaitable[Any]]  # EstateMonitor.offload: a call in the monitor's workers
MAX_WAITING = 8  # views observed while one is written; a view is a whole estate


def history_for(endpoints: Endpoints) -> History:
    """The history a run records in: the file, or for the demo memory only."""
    return History(None if endpoints.demo is not None else history_path())


class HistoryRecorder:
    def __init__(self, history: History, warn: Callable[[str], None]) -> None:
        self.history = history
        self.failure: str | None = None  # why the last write failed; None once one works
        self._warn = warn  # called once, from a worker or the event loop
        self._warned = False
        self._lock = threading.Lock()
        self._waiting: deque[EstateView] = deque()
        self._task: asyncio.Task[None] | None = None

    def record(self, view: EstateView) -> list[ObservedChange]:
        """Record what ``view`` shows changed (blocks: call it in a worker); a failed write is reported once."""
        try:
            found = self.history.record(view)
        except OSError as exc:
            self._failed(f"cannot write {self.history.path}: {exc.strerror or exc}")
            return []
        self.failure = None
        return found

    async def record_within(self, view: EstateView, offload: Offload, seconds: float) -> None:
        """Record ``view`` in the workers, giving up (reported once) after ``seconds``: for one-shot commands."""
        try:
            await asyncio.wait_for(offload(self.record, view), max(0.0, seconds))
        except TimeoutError:
            self._failed(f"writing {self.history.path} took longer than {seconds:.1f} s")

    def observe(self, view: EstateView, offload: Offload) -> None:
        """Record ``view`` in the workers after the one being recorded; returns at once."""
        if self.history.path is None:
            return  # memory only, and no one here reads it back
        if len(self._waiting) == MAX_WAITING:
            self._waiting.popleft()
            self._failed(f"writing {self.history.path} falls behind: views were skipped")
        self._waiting.append(view)
        if self._task is None or self._task.done():
            self._task = spawn(self._record_waiting(offload), name="history: record observed changes")

    async def _record_waiting(self, offload: Offload) -> None:
        while self._waiting:
            await offload(self.record, self._waiting.popleft())

    async def aclose(self, seconds: float) -> None:
        """Let what is observed be written, for at most ``seconds``."""
        task = self._task
        if task is None or task.done():
            return
        try:  # a failure of the task itself is logged by spawn's error path
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), seconds)
        except TimeoutError:  # the task is cancelled; the worker's write goes on unwaited
            self._failed(f"writing {self.history.path} took longer than {seconds:.1f} s")

    def _failed(self, why: str) -> None:
        self.failure = why
        log.debug("observed changes not recorded: %s", why)
        with self._lock:
            first, self._warned = not self._warned, True
        if first:
            self._warn(f"observed changes not recorded in the history: {why}")
