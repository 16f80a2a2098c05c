"""Which threads may be alive once the fault matrix is done."""

from __future__ import annotations

import threading


class ThreadCensus:
    """The threads alive before the module, plus those its peers keep while they run."""

    def __init__(self) -> None:
        self.expected = set(threading.enumerate())

    def allow_new(self, before: set[threading.Thread]) -> None:
        self.expected |= set(threading.enumerate()) - before

    def extra(self) -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in self.expected]
