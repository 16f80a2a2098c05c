"""The Qt-free live monitor: per-endpoint publication, feeds, ordering, the error path, closing."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from hybridview.core.health import Overall
from hybridview.core.identity import EndpointRef
from hybridview.service import monitor as monitor_module
from hybridview.service.monitor import EstateMonitor
from hybridview.service.publication import Subscription, Update
from hybridview.service.transitions import OVERALL_REF
from hybridview.service.wiring import Endpoints
from tests.unit.factories import esxi, vcenter
from tests.unit.fakes import FakeNova, FakeVCenter


def fleet(*vcenters: FakeVCenter) -> tuple[FakeNova, Endpoints]:
    nova = FakeNova("c1")
    for vc in vcenters:
        vc.close_error = None
    return nova, Endpoints(openstack=[nova], vcenters=list(vcenters), refresh_seconds=3600)


async def next_update(subscription: Subscription, seconds: float = 10.0) -> Update:
    return await asyncio.wait_for(anext(subscription), seconds)


async def update_where(subscription: Subscription, condition: Callable[[Update], bool], seconds: float = 10) -> Update:
    deadline = time.monotonic() + seconds
    while True:
        update = await next_update(subscription, max(0.1, deadline - time.monotonic()))
        if condition(update):
            return update


def endpoint_error(update: Update, name: str) -> str | None:
    status = update.view.estate.endpoint(name)
    assert status is not None
    return None if status.ok else status.error


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def test_a_hung_vcenter_delays_no_other_endpoint_and_its_feed_still_reports() -> None:
    hung, live = FakeVCenter("vc-hung"), FakeVCenter("vc-live")
    hung.stall = threading.Event()
    _nova, endpoints = fleet(hung, live)

    async def scenario() -> None:
        monitor = EstateMonitor(endpoints, read_timeout_seconds=30)
        subscription = monitor.subscribe()
        started = time.monotonic()
        monitor.start()
        both = await update_where(
            subscription,
            lambda u: all(u.view.estate.endpoint(n).ok for n in ("c1", "vc-live")),  # type: ignore[union-attr]
        )
        assert time.monotonic() - started < 5
        assert endpoint_error(both, "vc-hung") == "not refreshed yet"
        failed = vcenter("vc-live", hosts=(esxi("esx-9", vcenter="vc-live", connection="notResponding"),))
        live.updates.put(failed)
        shown = await update_where(
            subscription, lambda u: any(f.name == "esx-9.example" for f in u.view.health.failed_hosts)
        )
        assert shown.publication.states[OVERALL_REF].level == "CRITICAL"
        assert live.calls == 1, "the change came through the feed, not a second full read"
        hung.stall.set()
        await monitor.aclose()

    run(scenario)


def test_transitions_are_folded_for_a_subscriber_that_reads_late() -> None:
    vc = FakeVCenter("vc1")
    _nova, endpoints = fleet(vc)

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.start()
            await update_where(subscription, lambda u: u.view.estate.endpoint("vc1").ok)  # type: ignore[union-attr]
            vc.updates.put(vcenter("vc1", hosts=(esxi("h1", vcenter="vc1", connection="notResponding"),)))
            vc.updates.put(vcenter("vc1", hosts=(esxi("h1", vcenter="vc1"),)))
            deadline = time.monotonic() + 10
            while vc.updates.qsize() or monitor._dirty or (monitor._publisher and not monitor._publisher.done()):
                assert time.monotonic() < deadline, "the feed updates were never published"
                await asyncio.sleep(0.05)  # both published while this subscriber was away
            update = await next_update(subscription)
            assert update.publication.sequence == monitor.latest.sequence  # type: ignore[union-attr]
            assert not [t for t in update.transitions if t.name == "h1.example"], "down and up again folds to nothing"

    run(scenario)


def test_a_refresh_that_raises_is_reported_on_its_endpoint_and_the_monitor_goes_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _nova, endpoints = fleet()

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            original = monitor.refresher.read

            async def broken(name: str) -> None:
                raise RuntimeError("refresh bug")

            monkeypatch.setattr(monitor.refresher, "read", broken)
            subscription = monitor.subscribe()
            monitor.start()
            update = await update_where(subscription, lambda u: endpoint_error(u, "c1") is not None)
            assert endpoint_error(update, "c1") == "internal error while reading it: RuntimeError: refresh bug"
            assert update.publication.states[EndpointRef("c1")].level == "STALE"
            monkeypatch.setattr(monitor.refresher, "read", original)
            monitor.request_refresh()
            await update_where(subscription, lambda u: endpoint_error(u, "c1") is None)

    run(scenario)
    assert any("read c1" in r.getMessage() and "refresh bug" in r.getMessage() for r in caplog.records)


def test_a_feed_that_raises_marks_its_vcenter_stale_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    vc = FakeVCenter("vc1")
    _nova, endpoints = fleet(vc)

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.start()
            await update_where(subscription, lambda u: endpoint_error(u, "vc1") is None)
            vc.feed_error = RuntimeError("feed bug")
            update = await update_where(subscription, lambda u: endpoint_error(u, "vc1") is not None)
            assert "change feed" in (endpoint_error(update, "vc1") or "")
            assert "RuntimeError: feed bug" in (endpoint_error(update, "vc1") or "")
            assert "vc1" not in monitor.live_feeds
            calls = vc.calls
            vc.feed_error = None  # back, with nothing new to say: a full read clears STALE
            await update_where(subscription, lambda u: endpoint_error(u, "vc1") is None)
            assert vc.calls == calls + 1

    run(scenario)
    assert any("change feed of vc1" in r.getMessage() for r in caplog.records)


def test_a_publication_that_raises_republishes_the_last_view_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    _nova, endpoints = fleet()
    real_evaluate = monitor_module.evaluate

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.start()
            first = await next_update(subscription)
            assert first.publication.fault is None

            def broken(_estate: object) -> object:
                raise ValueError("evaluation bug")

            monkeypatch.setattr(monitor_module, "evaluate", broken)
            monitor.request_refresh()
            failed = await update_where(subscription, lambda u: u.publication.fault is not None)
            assert failed.publication.fault == "internal error while evaluating the estate: ValueError: evaluation bug"
            overall = [t for t in failed.transitions if t.ref == OVERALL_REF]
            assert overall and overall[0].after == Overall.UNKNOWN.name
            assert failed.view is first.view, "the last good view is shown, marked as old"
            monkeypatch.setattr(monitor_module, "evaluate", real_evaluate)
            monitor.request_refresh()
            healed = await update_where(subscription, lambda u: u.publication.fault is None)
            assert healed.publication.states[OVERALL_REF].level == "OK"

    run(scenario)


def test_busy_follows_reads_and_a_second_request_does_not_double_them() -> None:
    vc = FakeVCenter("vc1")
    nova, endpoints = fleet(vc)
    nova.delay = 0.3
    busy: list[bool] = []

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            monitor.add_busy_listener(busy.append)
            monitor.request_refresh()
            monitor.request_refresh()
            assert monitor.busy
            while monitor.busy:
                await asyncio.sleep(0.01)

    run(scenario)
    assert busy == [True, False]
    assert (nova.calls, vc.calls) == (1, 1)


def test_closing_abandons_a_hung_call_after_the_grace_and_closes_the_rest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hung = FakeVCenter("vc-hung")
    hung.stall = threading.Event()
    nova, endpoints = fleet(hung)
    monkeypatch.setattr(monitor_module, "CLOSE_GRACE_SECONDS", 0.5)

    async def scenario() -> None:
        monitor = EstateMonitor(endpoints)
        monitor.start()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await monitor.aclose()
        assert time.monotonic() - started < 3
        assert nova.closed

    caplog.set_level(logging.WARNING)
    run(scenario)
    hung.stall.set()
    assert any("abandoned" in r.getMessage() for r in caplog.records)


def test_the_periodic_read_skips_a_vcenter_whose_feed_is_live() -> None:
    vc = FakeVCenter("vc1")
    nova, endpoints = fleet(vc)

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            monitor.start()
            deadline = time.monotonic() + 10
            while "vc1" not in monitor.live_feeds and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            monitor.set_interval(0.1)
            while nova.calls < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert nova.calls >= 4
            assert vc.calls == 1

    run(scenario)


def test_reads_that_finish_close_together_publish_once_and_a_slow_one_separately(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick, slow = FakeVCenter("vc-quick"), FakeVCenter("vc-slow")
    nova, endpoints = fleet(quick, slow)
    nova.delay = 0.1
    slow.stall = threading.Event()
    monkeypatch.setattr(monitor_module, "READ_BATCH_SECONDS", 3.0)  # generous on a loaded runner

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.request_refresh()
            first = await next_update(subscription)
            assert first.view.estate.endpoint("c1").ok and first.view.estate.endpoint("vc-quick").ok  # type: ignore[union-attr]
            assert not first.view.estate.endpoint("vc-slow").ok  # type: ignore[union-attr]
            assert first.publication.sequence == 1, "the two quick reads made one publication"
            slow.stall.set()
            second = await next_update(subscription)
            assert second.view.estate.endpoint("vc-slow").ok  # type: ignore[union-attr]

    run(scenario)


def test_a_first_evaluation_that_raises_still_shows_the_endpoints_and_the_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _nova, endpoints = fleet()

    def broken(_estate: object) -> object:
        raise ValueError("evaluation bug")

    monkeypatch.setattr(monitor_module, "evaluate", broken)

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.start()
            update = await next_update(subscription)
            assert update.publication.fault == "internal error while evaluating the estate: ValueError: evaluation bug"
            assert update.view.estate.openstack == () and update.view.estate.vcenters == ()
            assert update.view.health.overall is Overall.UNKNOWN
            assert [(t.ref, t.after) for t in update.transitions] == [(OVERALL_REF, "UNKNOWN")]

    run(scenario)


def test_a_periodic_round_that_raises_is_reported_and_the_next_one_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    nova, endpoints = fleet()

    async def scenario() -> None:
        async with EstateMonitor(endpoints) as monitor:
            subscription = monitor.subscribe()
            monitor.start()
            await next_update(subscription)
            real = monitor._periodic_read
            failures = iter([RuntimeError("tick bug")])

            def flaky() -> None:
                if (failure := next(failures, None)) is not None:
                    raise failure
                real()

            monkeypatch.setattr(monitor, "_periodic_read", flaky)
            monitor.set_interval(0.2)
            faulted = await update_where(subscription, lambda u: u.publication.fault is not None)
            assert "RuntimeError: tick bug" in (faulted.publication.fault or "")
            reads = nova.calls
            await update_where(subscription, lambda u: u.publication.fault is None and nova.calls > reads)

    run(scenario)


def test_subscribing_to_a_closed_monitor_ends_at_once() -> None:
    _nova, endpoints = fleet()

    async def scenario() -> None:
        monitor = EstateMonitor(endpoints)
        await monitor.aclose()
        assert [u async for u in monitor.subscribe()] == []

    run(scenario)
