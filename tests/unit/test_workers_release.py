"""The worker pool: every thread started up front; replaced views freed in a worker, not on the loop's thread."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref

from hybridview.service.workers import THREAD_PREFIX, Workers


class _Big:
    """Stands for a replaced estate view."""


def test_released_objects_are_freed_in_a_worker() -> None:
    freed_in: list[str] = []

    async def scenario(pool: Workers) -> None:
        view = _Big()
        weakref.finalize(view, lambda: freed_in.append(threading.current_thread().name))
        pool.release(view)
        del view
        for _ in range(200):
            if freed_in:
                return
            await asyncio.sleep(0.01)

    pool = Workers(2)
    try:
        asyncio.run(scenario(pool))
    finally:
        pool.close(1.0)
    assert len(freed_in) == 1
    assert freed_in[0].startswith(THREAD_PREFIX)


def test_after_close_they_are_freed_all_the_same() -> None:
    freed: list[bool] = []

    async def scenario(pool: Workers) -> None:
        view = _Big()
        weakref.finalize(view, lambda: freed.append(True))
        pool.close(1.0)
        pool.release(view)
        del view
        await asyncio.sleep(0.05)

    asyncio.run(scenario(Workers(1)))
    assert freed == [True]


def test_every_worker_thread_starts_up_front() -> None:
    before = {t.name for t in threading.enumerate()}
    pool = Workers(4)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            started = {t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)} - before
            if len(started) == 4:
                break
            time.sleep(0.01)
        assert len(started) == 4
        for _ in range(20):  # a burst of work adds no thread
            pool.submit(time.sleep, 0.01)
        assert {t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)} - before == started
    finally:
        pool.close(1.0)
