"""The Timeline tab on the demo: the failures in time order (newest first), the filters, the trees on demand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.core.identity import HostRef
from hybridview.core.timeline import Layer, nova_time
from hybridview.service.history import HISTORY_ENV
from hybridview.ui.timeline_view import TimelineView
from hybridview.views.timeline_rows import TIMELINE_COLUMNS
from tests.ui.harness import WindowHarness, fast_demo, window_over

KIND = TIMELINE_COLUMNS.index("Kind")
STATE = TIMELINE_COLUMNS.index("State")
OBJECT = TIMELINE_COLUMNS.index("Object")


@pytest.fixture(autouse=True)
def history_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.jsonl"
    monkeypatch.setenv(HISTORY_ENV, str(path))
    return path


def _open(h: WindowHarness) -> TimelineView:
    view = h.window.timeline
    h.window.tabs.setCurrentWidget(view)
    h.wait_until(lambda: view.builds >= 1 and bool(view.model.rows))
    return view


def _rebuilt(h: WindowHarness, view: TimelineView, change: object) -> None:
    before = view.builds
    assert callable(change)
    change()
    h.wait_until(lambda: view.builds > before)


def _kinds(view: TimelineView) -> list[str]:
    return [r.cells[KIND] for r in view.model.rows]


def test_esxi_host_down_in_time_order_with_filters(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        h.estate.advance(3)  # vSphere HA restarts the VMs of the failed HA host
        h.refresh()
        view = _open(h)
        h.wait_until(lambda: "VmRestartedOnAlternateHostEvent" in _kinds(view))
        ModelTester(None).check(view.model)  # type: ignore[no-untyped-call]
        assert h.window.tabs.tabText(h.window.tabs.indexOf(view)) == "Timeline"
        times = [e.time for e in view.built.events]
        assert times == sorted(times)  # built oldest first, shown newest first
        assert [r.key for r in view.model.rows] == [r.key for r in view.built.rows]
        assert view.built.rows[0].cells[0] >= view.built.rows[-1].cells[0]
        failed = [h.estate.state.host(f.ref.vcenter, f.ref.moref) for f in h.presentations[-1].view.health.failed_hosts]
        names = {host.name for host in failed if host is not None}
        down = [r for r in view.model.rows if r.cells[KIND] in ("HostNotRespondingEvent", "ESXi host notResponding")]
        assert {r.cells[OBJECT] for r in down} == names and len(down) == 4
        assert all(r.cells[STATE] == "failure" for r in down)  # a word beside the icon, not colour alone
        index = view.model.index_of(down[0].key, STATE)
        assert not view.model.itemFromIndex(index).icon().isNull()
        first_history = view.built.events[0]
        assert first_history.time == min(times)
        # filters: one failed host, then its cluster, then the vCenter layer only
        host = sorted(names)[0]
        _rebuilt(h, view, lambda: view.host.setText(host.upper()))
        assert view.built.events and all(host in e.hosts for e in view.built.events)
        assert "of" in view.title.text()
        _rebuilt(h, view, lambda: view.host.setText(""))
        _rebuilt(h, view, lambda: view.instance.setText("no-such-instance"))
        assert view.model.rows == ()
        _rebuilt(h, view, lambda: view.instance.setText(""))
        nova = view.layer.findData(Layer.NOVA.value)
        _rebuilt(h, view, lambda: view.layer.setCurrentIndex(nova))
        assert all(e.layer is Layer.NOVA for e in view.built.events)
        _rebuilt(h, view, lambda: view.layer.setCurrentIndex(0))
        restarted = next(e for e in view.built.events if e.kind == "VmRestartedOnAlternateHostEvent")
        cluster = sorted(restarted.clusters)[0]
        _rebuilt(h, view, lambda: view.cluster.setText(cluster))
        assert view.built.events and all(cluster in e.clusters for e in view.built.events)
        # a double-clicked event shows its host in the trees
        row = next(r for r in view.model.rows if r.cells[KIND] == "HostNotRespondingEvent")
        with qtbot.waitSignal(view.object_activated) as activated:
            view.view.doubleClicked.emit(view.model.index_of(row.key, 0))
        assert isinstance(activated.args[0], HostRef)
        assert h.window.tabs.currentWidget().isAncestorOf(h.window.vcenter_view)
        assert h.window.selected_key == activated.args[0]


def test_kvm_host_down_shows_the_compute_at_its_last_heartbeat(
    qloop: asyncio.AbstractEventLoop, history_file: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        view = _open(h)
        down = [e for e in view.built.events if e.kind == "compute service down"]
        service = next(
            s for snap in h.presentations[-1].view.estate.openstack for s in snap.services if s.state == "down"
        )
        assert [(e.object.label, e.source) for e in down] == [(service.host, "history")]
        assert down[0].time == nova_time(service.updated_at)
        assert "last heartbeat" in down[0].text
        row = next(r for r in view.model.rows if r.cells[KIND] == "compute service down")
        assert row.cells[STATE] == "failure"
        assert "in memory only" in view.title.text()
        assert not history_file.exists()  # the demo writes no history
