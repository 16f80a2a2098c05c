"""Small fake backends for the refresher and the monitor: fetch on demand, fail or stall on cue."""

from __future__ import annotations

import queue
import threading
import time

from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot
from tests.unit.factories import cloud, esxi, kvm_node, vcenter


class FakeNova:
    def __init__(self, name: str, *, warnings: tuple[str, ...] = ()) -> None:
        self._name = name
        self._warnings = warnings
        self.error: BaseException | None = None
        self.delay = 0.0
        self.barrier: threading.Barrier | None = None
        self.calls = 0
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    def fetch(self) -> OpenStackSnapshot:
        self.calls += 1
        if self.barrier is not None:
            self.barrier.wait(timeout=2)
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return cloud(self._name, nodes=(kvm_node(f"kvm-{self.calls}", cloud=self._name),))

    def close(self) -> None:
        self.closed = True


class FakeVCenter:
    def __init__(self, name: str) -> None:
        self._name = name
        self.error: BaseException | None = None
        self.feed_error: BaseException | None = None
        self.barrier: threading.Barrier | None = None
        self.stall: threading.Event | None = None  # set: a vCenter that accepts connections and never answers
        self.updates: queue.Queue[VCenterSnapshot] = queue.Queue()
        self.close_error: BaseException | None = RuntimeError("close fails")
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def fetch(self) -> VCenterSnapshot:
        self.calls += 1
        if self.stall is not None:
            self.stall.wait(timeout=30)
        if self.barrier is not None:
            self.barrier.wait(timeout=2)
        if self.error is not None:
            raise self.error
        return vcenter(self._name, hosts=(esxi(f"host-{self.calls}", vcenter=self._name),))

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        if self.stall is not None:
            self.stall.wait(timeout=30)
        if self.feed_error is not None:
            time.sleep(0.01)
            raise self.feed_error
        try:
            return self.updates.get(timeout=max_wait_seconds)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self.close_error is not None:
            raise self.close_error
