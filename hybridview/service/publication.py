"""What the monitor publishes, and a subscriber's view of it.

A subscription always yields the newest publication: a subscriber that is busy while
several views are published gets the last one, with the transitions folded since the
view it read before. Views therefore arrive in order, and an older one never follows a
newer one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from hybridview.core.view import EstateView
from hybridview.service.transitions import States, Transition, transitions


@dataclass(frozen=True, slots=True)
class Publication:
    sequence: int
    view: EstateView
    states: States
    fault: str | None = None  # the monitor failed to evaluate newer data: this view is old


@dataclass(frozen=True, slots=True)
class Update:
    publication: Publication
    previous: States | None  # the states of the update this subscriber read before

    @property
    def view(self) -> EstateView:
        return self.publication.view

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """Since the previous update this subscriber read; computed on demand (the window needs none)."""
        return tuple(transitions(self.previous, self.publication.states))


class Subscription:
    def __init__(self, on_close: Callable[[Subscription], None]) -> None:
        self._on_close = on_close
        self._pending: Publication | None = None
        self._seen: States | None = None
        self._ready = asyncio.Event()
        self._ended = False

    def offer(self, publication: Publication) -> None:
        self._pending = publication
        self._ready.set()

    def end(self) -> None:
        self._ended = True
        self._ready.set()

    def close(self) -> None:
        self.end()
        self._on_close(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Update:
        while self._pending is None:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        publication, self._pending = self._pending, None
        update = Update(publication, self._seen)
        self._seen = publication.states
        return update
