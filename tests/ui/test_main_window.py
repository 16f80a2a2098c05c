"""The window on the demo estate, driven through the real refresh path (qasync + workers)."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.core.health import Severity
from hybridview.core.identity import EndpointRef, HostRef, Ref
from hybridview.ui.tree_model import KEY_ROLE, SEVERITY_ROLE
from tests.ui.harness import WindowHarness, window_on

pytestmark = pytest.mark.ui


def _current_key(view: object) -> Ref | None:
    index = view.currentIndex()  # type: ignore[attr-defined]
    return index.data(KEY_ROLE) if index.isValid() else None


def test_failed_esxi_host_stands_out_and_is_selected(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    with window_on(qloop, "esxi-host-down") as h:
        w = h.window
        failed = h.presentations[-1].view.health.failed_hosts
        assert [f.layer for f in failed] == ["esxi", "esxi"]  # a host of an HA cluster, and one without HA
        index = w.vcenter_model.index_of(failed[0].ref)
        assert index.data(SEVERITY_ROLE) == int(Severity.CRITICAL)
        assert w.vcenter_model.index(index.row(), 1, index.parent()).data() == "NOTRESPONDING"
        assert "2 failed host" in w.alert.text() and failed[0].name in w.alert.text()
        assert _current_key(w.vcenter_view) == failed[0].ref
        assert "What to do" in w.details.toHtml() and "vSphere HA" in w.details.toPlainText()
        assert w.instance_model.rowCount() > 0
        banner = w.findChild(type(w.alert), "demoBanner")
        assert banner is not None and banner.isVisible() and "DEMO" in banner.text()
        for model in (w.nova_model, w.vcenter_model, w.instance_model):
            qtmodeltester.check(model)


def test_selecting_a_vmware_node_reveals_its_cluster_and_back(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        corr = h.presentations[-1].view.health.correlation
        node, cluster = next(iter(corr.node_to_cluster.items()))
        w.select_key(node)
        assert _current_key(w.vcenter_view) == cluster
        assert w.instance_model.rowCount() > 0
        other_node, other_cluster = list(corr.node_to_cluster.items())[-1]
        w.select_key(other_cluster)
        assert _current_key(w.nova_view) == other_node


def test_ha_restarts_arrive_incrementally_without_reset(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "esxi-host-down") as h:
        w = h.window
        failed_key = h.presentations[-1].view.health.failed_hosts[0].ref
        vm_column = 4

        def vms_on_failed_host() -> int:
            index = w.vcenter_model.index_of(failed_key)
            return int(w.vcenter_model.index(index.row(), vm_column, index.parent()).data())

        before = vms_on_failed_host()
        resets: list[int] = []
        w.vcenter_model.modelReset.connect(lambda: resets.append(1))
        w.nova_model.modelReset.connect(lambda: resets.append(1))
        h.estate.advance(5)
        h.wait_until(lambda: vms_on_failed_host() == 0)
        assert before > 0
        assert "restarted virtual machine" in w.details.toPlainText()
        assert resets == []
        # every change was staged in the monitor's workers; the GUI thread diffed only the first selection
        assert (w.nova_model.diffed_here, w.vcenter_model.diffed_here, w.instance_model.diffed_here) == (0, 0, 1)


def test_unreachable_endpoint_is_marked_stale_never_healthy(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        h.estate.broken_endpoints.add("vc-west")
        p = h.refresh()
        status = p.view.estate.endpoint("vc-west")
        assert status is not None and not status.ok and "connection refused" in (status.error or "")
        assert "STALE vc-west" in w.endpoint_bar.text()
        row = w.vcenter_model.index_of(EndpointRef("vc-west"))
        assert row.data(SEVERITY_ROLE) >= int(Severity.STALE)
        assert "STALE" in row.data()
        host_rows = [
            k
            for k in w.vcenter_model.keys()
            if isinstance(k, HostRef) and k.vcenter == "vc-west" and k.moref.startswith("host-")
        ]
        assert host_rows and all(
            w.vcenter_model.index_of(k).data(SEVERITY_ROLE) >= int(Severity.STALE) for k in host_rows
        )
        assert "stale data from: vc-west" in w.alert.text()
        h.estate.broken_endpoints.clear()
        p = h.refresh()
        assert "STALE" not in w.endpoint_bar.text()
        assert w.vcenter_model.index_of(EndpointRef("vc-west")).data(SEVERITY_ROLE) == int(Severity.OK)


def _count_fetches(h: WindowHarness, hold: str | None = None) -> tuple[list[str], threading.Event]:
    """Count every backend's full reads; ``hold``'s reads wait until the event is set."""
    fetches: list[str] = []
    release = threading.Event()
    for backend in [*h.endpoints.openstack, *h.endpoints.vcenters]:
        original = backend.fetch

        def counted(name: str = backend.name, call: object = original) -> object:
            fetches.append(name)
            if name == hold:
                release.wait(30)
            return call()  # type: ignore[operator]

        backend.fetch = counted  # type: ignore[method-assign]
    return fetches, release


def test_a_second_refresh_while_busy_reads_nothing_twice(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        fetches, _release = _count_fetches(h)
        texts: list[str] = []
        h.controller.busy_changed.connect(lambda _busy: texts.append(w.refresh_action.text()))
        w.refresh_action.trigger()
        w.refresh_action.trigger()  # a second press while busy starts no second read of anything
        h.wait_until(lambda: not h.controller.busy)
        h.run(asyncio.sleep(0.05))
        assert texts == ["Refreshing…", "Refresh now"]
        assert sorted(fetches) == sorted(b.name for b in [*h.endpoints.openstack, *h.endpoints.vcenters])
        assert len(h.presentations) >= 2


def test_with_one_endpoint_hung_refresh_still_reads_the_others(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        fetches, release = _count_fetches(h, hold="vc-west")
        try:
            w.refresh_action.trigger()
            h.wait_until(lambda: fetches.count("demo-cloud") == 1 and "vc-west" in fetches)
            h.wait_until(lambda: h.controller.monitor.refresher.reading("demo-cloud") is False)
            assert h.controller.busy and w.refresh_action.isEnabled()
            w.refresh_action.trigger()
            h.wait_until(lambda: fetches.count("demo-cloud") == 2)
            assert fetches.count("vc-west") == 1  # the hung read is not started again
        finally:
            release.set()
        h.wait_until(lambda: not h.controller.busy)


def test_a_broken_change_feed_marks_its_vcenter_stale_without_a_refresh(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        presentations_before = len(h.presentations)
        h.estate.broken_endpoints.add("vc-east")
        h.estate.invalidate()  # the feed notices a change and fails to read it
        h.wait_until(lambda: "STALE vc-east" in w.endpoint_bar.text(), timeout=10)
        assert not h.controller.busy
        assert len(h.presentations) > presentations_before
        assert "STALE" in w.vcenter_model.index_of(EndpointRef("vc-east")).data()
        assert "STALE" not in (w.vcenter_model.index_of(EndpointRef("vc-west")).data() or "")


def test_periodic_refresh_rereads_nova_but_leaves_live_vcenter_feeds_alone(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "healthy") as h:
        fetches: dict[str, int] = {}
        for backend in [*h.endpoints.openstack, *h.endpoints.vcenters]:
            original = backend.fetch

            def counted(name: str = backend.name, call: object = original) -> object:
                fetches[name] = fetches.get(name, 0) + 1
                return call()  # type: ignore[operator]

            backend.fetch = counted  # type: ignore[method-assign]
        h.run(asyncio.sleep(1.5))  # the feeds go live
        h.controller.set_interval(0.2)
        h.controller.set_auto_refresh(True)
        h.wait_until(lambda: fetches.get("demo-cloud", 0) >= 3, timeout=10)
        assert all(fetches.get(vc.name, 0) == 0 for vc in h.endpoints.vcenters), fetches
        h.estate.broken_endpoints.add("vc-east")
        h.estate.invalidate()  # the vc-east feed fails, so the timer reads it in full again
        h.wait_until(lambda: fetches.get("vc-east", 0) >= 2, timeout=10)
        assert fetches.get("vc-west", 0) <= 1
        h.controller.set_auto_refresh(False)


def test_a_view_that_cannot_be_built_is_shown_as_a_fault_and_the_window_goes_on(
    qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybridview.ui import bridge

    with window_on(qloop, "healthy") as h:
        w = h.window
        real_present = bridge.present

        def broken(_view: object) -> object:
            raise KeyError("row bug")

        monkeypatch.setattr(bridge, "present", broken)
        h.controller.request_refresh()
        h.wait_until(lambda: "could not display the latest data: KeyError" in w.alert.text(), timeout=10)
        assert w.alert.property("level") == "critical"
        assert "out of date" in w.alert.text()
        monkeypatch.setattr(bridge, "present", real_present)
        h.refresh()
        h.wait_until(lambda: "could not display" not in w.alert.text(), timeout=10)
        assert w.alert.property("level") == "ok"


def test_full_gc_passes_wait_for_the_planned_sweep_while_the_window_lives(qloop: asyncio.AbstractEventLoop) -> None:
    before = gc.get_threshold()
    with window_on(qloop, "healthy"):
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_threshold()[2] >= 1_000_000  # no automatic full pass mid-refresh
    assert gc.get_threshold() == before
