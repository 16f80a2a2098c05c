"""The worker pool every blocking SDK call runs in, with a bounded close.

A call stuck on an endpoint that accepts connections and never answers cannot be
interrupted; closing waits for running calls a bounded time and reports how many it had
to abandon, so a face can exit instead of hanging until the socket times out.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
THREAD_PREFIX = "hv-io"


class Workers(futures.ThreadPoolExecutor):
    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=THREAD_PREFIX)
        self._lock = threading.Lock()
        self._running: set[futures.Future[Any]] = set()
        self._start_every_thread(max_workers)

    def _start_every_thread(self, count: int) -> None:
        """Start all workers now, so a busy moment never adds threads and their number stays flat."""
        gate = threading.Barrier(count, timeout=5.0)
        for _ in range(count):
            super().submit(_meet, gate)  # each waits for the others, so each lands on a thread of its own

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> futures.Future[T]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: futures.Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    def release(self, *objects: object) -> None:
        """Let ``objects`` be freed in a worker once the event loop's current callback is over.

        Freeing a replaced estate (tens of thousands of objects) costs the loop's thread
        milliseconds it does not have. The caller must keep no other reference to them.
        """
        box = list(objects)
        del objects
        asyncio.get_running_loop().call_soon(self._free_in_worker, box)

    def _free_in_worker(self, box: list[object]) -> None:
        try:
            self.submit(box.clear)
        except RuntimeError:  # shut down: free them here
            box.clear()

    def close(self, grace_seconds: float) -> int:
        """Refuse new work, wait for running calls up to ``grace_seconds``; the number still running."""
        self.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = set(self._running)
        _done, stuck = futures.wait(running, timeout=grace_seconds)
        return len(stuck)


def _meet(gate: threading.Barrier) -> None:
    try:
        gate.wait()
    except threading.BrokenBarrierError:  # a thread that never came: the pool starts it on first use
        pass


async def run_bounded(calls: Mapping[str, Callable[[], object]], seconds: float) -> list[str]:
    """Run each call in its own daemon thread; the names of those still running after ``seconds``.

    For closing connections: a close that waits on a hung login must hold back neither the
    other closes nor the exit.
    """
    loop = asyncio.get_running_loop()
    pending = dict.fromkeys(calls, True)
    all_done = asyncio.Event()

    def finished(name: str) -> None:
        pending.pop(name, None)
        if not pending:
            all_done.set()

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            call()
        finally:
            loop.call_soon_threadsafe(finished, name)

    if not calls:
        return []
    for name, call in calls.items():
        threading.Thread(target=run, args=(name, call), name=f"{THREAD_PREFIX}-close-{name}", daemon=True).start()
    try:
        await asyncio.wait_for(all_done.wait(), seconds)
    except TimeoutError:
        return sorted(pending)
    return []


def abandoned_workers() -> int:
    """Worker threads still alive: calls stuck on an endpoint after every close."""
    return sum(1 for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive())
