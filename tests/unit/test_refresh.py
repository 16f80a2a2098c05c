"""EstateRefresher with small fake backends."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from hybridview.backends.base import BackendError, OpenStackBackend, VCenterBackend
from hybridview.core.health import Overall
from hybridview.core.identity import ClusterSelector
from hybridview.core.model import EndpointKind
from hybridview.core.view import EstateView
from hybridview.service.refresh import EstateRefresher, describe_failure

from tests.unit.factories import esxi, vcenter
from tests.unit.fakes import FakeNova, FakeVCenter


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def step(self) -> None:
        self.now += timedelta(seconds=30)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


def run(refresher: EstateRefresher) -> EstateView:
    return asyncio.run(refresher.refresh())


def make(pool: ThreadPoolExecutor, **kwargs: object) -> tuple[EstateRefresher, FakeNova, FakeNova, FakeVCenter, Clock]:
    a, b, vc = FakeNova("c1"), FakeNova("c2"), FakeVCenter("vc1")
    clock = Clock()
    refresher = EstateRefresher([a, b], [vc], pool, clock=clock, **kwargs)  # type: ignore[arg-type]
    return refresher, a, b, vc, clock


def test_fakes_satisfy_the_protocols() -> None:
    assert isinstance(FakeNova("x"), OpenStackBackend)
    assert isinstance(FakeVCenter("x"), VCenterBackend)


def test_before_first_refresh_everything_is_stale(pool: ThreadPoolExecutor) -> None:
    refresher, *_ = make(pool)
    estate = refresher.estate()
    assert [e.name for e in estate.endpoints] == ["c1", "c2", "vc1"]
    assert [e.kind for e in estate.endpoints] == [EndpointKind.NOVA, EndpointKind.NOVA, EndpointKind.VCENTER]
    assert all(not e.ok and e.error == "not refreshed yet" for e in estate.endpoints)
    assert estate.openstack == ()
    assert estate.vcenters == ()


def test_refresh_fetches_all_concurrently(pool: ThreadPoolExecutor) -> None:
    refresher, a, b, vc, clock = make(pool, node_map={"n": ClusterSelector("vc1", "Cluster1")})
    barrier = threading.Barrier(3)  # only passes if all three fetches run at once
    a.barrier = b.barrier = vc.barrier = barrier
    view = run(refresher)
    assert not barrier.broken
    assert [s.cloud for s in view.estate.openstack] == ["c1", "c2"]
    assert [s.vcenter for s in view.estate.vcenters] == ["vc1"]
    assert all(e.ok and e.error is None and e.last_refresh == clock.now for e in view.estate.endpoints)
    assert view.estate.node_map == {"n": ClusterSelector("vc1", "Cluster1")}
    assert view.health.overall is Overall.OK


def test_backend_error_keeps_last_good_snapshot(pool: ThreadPoolExecutor) -> None:
    refresher, a, _b, _vc, clock = make(pool)
    first = run(refresher)
    good = first.estate.openstack[0]
    first_time = clock.now
    clock.step()
    a.error = BackendError("c1", "service unavailable", status_code=503, request_id="req-1")
    view = run(refresher)
    assert view.estate.openstack[0] is good  # last good data kept
    assert view.estate.openstack[1] is not first.estate.openstack[1]  # the others refreshed
    status = view.estate.endpoint("c1")
    assert status is not None
    assert not status.ok
    assert status.error == "HTTP 503: service unavailable (request id req-1)"
    assert status.last_refresh == first_time
    assert status.last_attempt == clock.now
    assert view.estate.endpoint("c2").ok  # type: ignore[union-attr]
    assert view.estate.endpoint("vc1").ok  # type: ignore[union-attr]
    assert view.health.overall is Overall.WARNING
    # recovery
    a.error = None
    view = run(refresher)
    assert view.estate.endpoint("c1").ok  # type: ignore[union-attr]
    assert view.estate.endpoint("c1").error is None  # type: ignore[union-attr]


def test_failure_before_any_success_has_no_snapshot(pool: ThreadPoolExecutor) -> None:
    refresher, a, *_ = make(pool)
    a.error = BackendError("c1", "cannot connect: refused")
    view = run(refresher)
    assert [s.cloud for s in view.estate.openstack] == ["c2"]
    assert view.estate.endpoint("c1").error == "cannot connect: refused"  # type: ignore[union-attr]
    assert view.estate.endpoint("c1").last_refresh is None  # type: ignore[union-attr]


def test_unexpected_exception_is_reported_and_logged(
    pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    refresher, _a, _b, vc, _clock = make(pool)
    vc.error = KeyError("moref")
    with caplog.at_level(logging.ERROR, logger="hybridview.service.refresh"):
        view = run(refresher)
    status = view.estate.endpoint("vc1")
    assert status is not None
    assert not status.ok
    assert status.error == "unexpected KeyError: 'moref'"
    assert view.estate.endpoint("c1").ok  # type: ignore[union-attr]
    assert any("vc1" in r.getMessage() for r in caplog.records)


def test_timeout_marks_endpoint_timed_out(pool: ThreadPoolExecutor) -> None:
    refresher, a, _b, _vc, _clock = make(pool, timeout_seconds=0.05)
    a.delay = 0.5
    started = time.monotonic()
    view = run(refresher)
    assert time.monotonic() - started < 0.45  # did not wait for the slow backend
    status = view.estate.endpoint("c1")
    assert status is not None
    assert not status.ok
    assert status.error is not None
    assert status.error.startswith("timed out")
    assert view.estate.endpoint("c2").ok  # type: ignore[union-attr]


def test_a_call_that_fails_after_its_timeout_leaves_no_unretrieved_exception(pool: ThreadPoolExecutor) -> None:
    refresher, a, _b, _vc, _clock = make(pool, timeout_seconds=0.05)
    a.delay, a.error = 0.2, BackendError("c1", "login refused")
    reported: list[dict[str, object]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        await refresher.refresh()  # c1 times out; its call fails later in the worker
        while refresher.reading("c1"):
            await asyncio.sleep(0.01)
        gc.collect()  # an unretrieved exception is reported when its future is collected
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert reported == []


def test_refresh_while_previous_still_running(pool: ThreadPoolExecutor) -> None:
    refresher, a, _b, _vc, _clock = make(pool, timeout_seconds=0.05)
    a.delay = 0.4

    async def twice() -> EstateView:
        await refresher.refresh()  # c1 times out but its fetch keeps running
        return await refresher.refresh()

    view = asyncio.run(twice())
    assert view.estate.endpoint("c1").error == "previous refresh still running"  # type: ignore[union-attr]
    assert a.calls == 1


def test_apply_vcenter_update(pool: ThreadPoolExecutor) -> None:
    refresher, _a, _b, vc, clock = make(pool)
    vc.error = BackendError("vc1", "login failed")
    run(refresher)
    assert not refresher.estate().endpoint("vc1").ok  # type: ignore[union-attr]
    clock.step()
    update = vcenter("vc1", hosts=(esxi("host-99", vcenter="vc1", connection="notResponding"),))
    refresher.apply_vcenter_update(update)
    estate = refresher.estate()
    assert estate.vcenters == (update,)
    status = estate.endpoint("vc1")
    assert status is not None
    assert status.ok
    assert status.error is None
    assert status.last_refresh == clock.now
    view = asyncio.run(refresher.evaluate())
    assert view.health.overall is Overall.CRITICAL
    assert [f.name for f in view.health.failed_hosts] == ["host-99.example"]


def test_mark_failed(pool: ThreadPoolExecutor) -> None:
    refresher, *_ = make(pool)
    run(refresher)
    refresher.mark_failed("c2", "session expired")
    status = refresher.estate().endpoint("c2")
    assert status is not None
    assert not status.ok
    assert status.error == "session expired"
    assert status.last_refresh is not None


def test_backend_warnings_reach_endpoint_status(pool: ThreadPoolExecutor) -> None:
    a = FakeNova("c1", warnings=("microversion 2.1 only",))
    refresher = EstateRefresher([a], [], pool)
    view = run(refresher)
    assert view.estate.endpoint("c1").warnings == ("microversion 2.1 only",)  # type: ignore[union-attr]
    assert view.health.overall is Overall.WARNING


def test_close_survives_a_failing_backend(pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture) -> None:
    refresher, a, b, _vc, _clock = make(pool)
    with caplog.at_level(logging.WARNING, logger="hybridview.service.refresh"):
        refresher.close()
    assert a.closed
    assert b.closed
    assert any("vc1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (BackendError("x", "boom"), "boom"),
        (BackendError("x", "boom", status_code=401), "HTTP 401: boom"),
        (TimeoutError(), "timed out"),
        (ValueError("bad"), "unexpected ValueError: bad"),
    ],
)
def test_describe_failure(exc: BaseException, text: str) -> None:
    assert describe_failure(exc) == text


def test_a_read_that_fails_after_its_fetch_does_not_leave_the_endpoint_reading(pool: ThreadPoolExecutor) -> None:
    class BrokenWarnings(FakeNova):
        broken = True

        @property
        def warnings(self) -> tuple[str, ...]:
            if self.broken:
                raise RuntimeError("warnings bug")
            return ()

    nova = BrokenWarnings("c1")
    refresher = EstateRefresher([nova], [], pool)

    async def twice() -> None:
        await refresher.read("c1")
        status = refresher.estate().endpoint("c1")
        assert status is not None and status.error == "unexpected RuntimeError: warnings bug"
        await asyncio.sleep(0)  # the worker's done callback
        assert not refresher.reading("c1")
        nova.broken = False
        await refresher.read("c1")

    asyncio.run(twice())
    assert nova.calls == 2
    assert refresher.estate().endpoint("c1").ok  # type: ignore[union-attr]
