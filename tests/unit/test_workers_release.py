"""Replaced views are freed in a worker thread, not on the event loop's thread."""

from __future__ import annotations

import asyncio
import threading
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
