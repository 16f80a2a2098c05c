"""Refreshes every endpoint off the calling thread and keeps the last good data.

Plain asyncio: the GUI runs it under qasync, ``status`` under ``asyncio.run``.
A failed endpoint keeps its last snapshot but is marked stale with its error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from hybridview.backends.base import BackendError, OpenStackBackend, VCenterBackend
from hybridview.core.health import evaluate
from hybridview.core.identity import ClusterSelector
from hybridview.core.model import (
    EndpointKind,
    EndpointStatus,
    Estate,
    OpenStackSnapshot,
    StorageRules,
    VCenterSnapshot,
)
from hybridview.core.view import EstateView

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, BackendError):
        return exc.describe()
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"unexpected {type(exc).__name__}: {exc}"


def _seconds(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class EstateRefresher:
    def __init__(
        self,
        openstack: Sequence[OpenStackBackend],
        vcenters: Sequence[VCenterBackend],
        executor: Executor,
        *,
        node_map: Mapping[str, ClusterSelector] | None = None,
        storage_rules: StorageRules | None = None,
        timeout_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.openstack = list(openstack)
        self.vcenters = list(vcenters)
        self._executor = executor
        self._node_map = dict(node_map or {})
        self._storage_rules = dict(storage_rules or {})
        self._timeout = timeout_seconds
        self._clock = clock
        self._os: dict[str, OpenStackSnapshot] = {}
        self._vc: dict[str, VCenterSnapshot] = {}
        self._status: dict[str, EndpointStatus] = {
            **{b.name: EndpointStatus(b.name, EndpointKind.NOVA, False, "not refreshed yet") for b in self.openstack},
            **{b.name: EndpointStatus(b.name, EndpointKind.VCENTER, False, "not refreshed yet") for b in self.vcenters},
        }
        self._in_flight: set[str] = set()

    def estate(self) -> Estate:
        return Estate(
            openstack=tuple(self._os[b.name] for b in self.openstack if b.name in self._os),
            vcenters=tuple(self._vc[b.name] for b in self.vcenters if b.name in self._vc),
            endpoints=tuple(self._status[b.name] for b in self._backends()),
            node_map=self._node_map,
            storage_rules=self._storage_rules,
        )

    async def refresh(self, skip: Collection[str] = (), *, timeout_seconds: float | None = None) -> EstateView:
        """Fetch every endpoint (but those in ``skip``) concurrently; one failure never hides the others.

        ``timeout_seconds`` shortens this round's per-endpoint timeout (never lengthens it).
        """
        names = [b.name for b in self._backends() if b.name not in skip]
        await asyncio.gather(*(self.read(name, timeout_seconds=timeout_seconds) for name in names))
        return await self.evaluate()

    async def read(self, name: str, *, timeout_seconds: float | None = None) -> None:
        """One endpoint's full read, kept (or marked failed) as soon as it completes."""
        limit = self._timeout if timeout_seconds is None else max(0.0, min(timeout_seconds, self._timeout))
        vcenter = next((b for b in self.vcenters if b.name == name), None)
        if vcenter is not None:
            await self._refresh_one(vcenter, vcenter.fetch, self._keep_vcenter, limit)
        else:
            cloud = next(b for b in self.openstack if b.name == name)
            await self._refresh_one(cloud, cloud.fetch, self._keep_openstack, limit)

    def backend(self, name: str) -> OpenStackBackend | VCenterBackend:
        return next(b for b in self._backends() if b.name == name)

    def endpoint_names(self) -> list[str]:
        return [b.name for b in self._backends()]

    def reading(self, name: str) -> bool:
        """Whether a full read of this endpoint is still under way (or hung past its timeout)."""
        return name in self._in_flight

    async def evaluate(self) -> EstateView:
        estate = self.estate()
        health = await asyncio.get_running_loop().run_in_executor(self._executor, evaluate, estate)
        return EstateView(estate, health)

    def apply_vcenter_update(self, snapshot: VCenterSnapshot) -> None:
        """An incremental update from a vCenter's change feed."""
        self._keep_vcenter(snapshot)
        self._mark_ok(snapshot.vcenter, self._warnings_of(snapshot.vcenter))

    def _keep_openstack(self, snapshot: OpenStackSnapshot) -> None:
        self._os[snapshot.cloud] = snapshot

    def _keep_vcenter(self, snapshot: VCenterSnapshot) -> None:
        """A full read and the change feed race; the later view of the vCenter wins."""
        current = self._vc.get(snapshot.vcenter)
        if current is None or snapshot.taken_at >= current.taken_at:
            self._vc[snapshot.vcenter] = snapshot

    def mark_failed(self, name: str, error: str) -> None:
        self._status[name] = replace(self._status[name], ok=False, error=error, last_attempt=self._clock())

    async def _refresh_one(
        self,
        backend: OpenStackBackend | VCenterBackend,
        fetch: Callable[[], T],
        keep: Callable[[T], None],
        limit_seconds: float,
    ) -> None:
        name = backend.name
        if name in self._in_flight:
            self.mark_failed(name, "previous refresh still running")
            return
        self._in_flight.add(name)
        future = asyncio.get_running_loop().run_in_executor(self._executor, fetch)
        try:
            keep(await asyncio.wait_for(asyncio.shield(future), limit_seconds))
            self._mark_ok(name, backend.warnings)
        except TimeoutError:
            self.mark_failed(name, f"timed out: no answer within {_seconds(limit_seconds)} s")
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.exception("refresh of %s failed unexpectedly", name)
            self.mark_failed(name, describe_failure(exc))
        finally:
            # A call that timed out goes on in its worker: the endpoint counts as read until it returns.
            future.add_done_callback(lambda f: self._late_answer(name, f))

    def _late_answer(self, name: str, future: asyncio.Future[Any]) -> None:
        """The worker's call is over; a failure nobody awaited any more (timed out, cancelled) is only logged."""
        self._in_flight.discard(name)
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.debug("late answer from %s after its read was given up: %s", name, describe_failure(exc))

    def _backends(self) -> list[OpenStackBackend | VCenterBackend]:
        return [*self.openstack, *self.vcenters]

    def _warnings_of(self, name: str) -> tuple[str, ...]:
        return self.backend(name).warnings

    def _mark_ok(self, name: str, warnings: tuple[str, ...]) -> None:
        now = self._clock()
        self._status[name] = replace(
            self._status[name], ok=True, error=None, last_refresh=now, last_attempt=now, warnings=warnings
        )

    def close(self) -> None:
        for backend in self._backends():
            close_backend(backend)


def close_backend(backend: OpenStackBackend | VCenterBackend) -> None:
    try:
        backend.close()
    except Exception:
        log.warning("closing %s failed", backend.name, exc_info=True)
