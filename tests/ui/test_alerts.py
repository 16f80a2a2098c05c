"""Alerts on the demo: a failure notifies once, is acknowledged and silenced from the Problems tab (marks in
its row, kept across a restart), re-raised when it gets worse; a problem cleared within the hold never alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from PySide6.QtCore import QPoint, Qt

from hybridview.core.alerting import EventKind, Policy
from hybridview.core.health import Severity
from hybridview.core.identity import HostRef
from hybridview.core.problems import ProblemId, ProblemKind
from hybridview.ui import alerts_view, tray
from hybridview.ui.alerts_view import key_text
from hybridview.ui.problems_view import ProblemsView
from hybridview.ui.tray import Notification
from hybridview.service.wiring import Endpoints
from hybridview.sim.layout import SimHost
from hybridview.views.problems_rows import PROBLEM_COLUMNS
from tests.peers.vcsim.fixture import VcsimPeer
from tests.ui.harness import WindowHarness, fast_demo, window_over
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.ui
WHAT, ITEM = PROBLEM_COLUMNS.index("What"), PROBLEM_COLUMNS.index("Item")
QUICK = Policy(hold_seconds=0, hold_refreshes=1)
RAISED, ESCALATED = ("raised", Severity.WARNING), ("escalated", Severity.CRITICAL)  # as _notified lists them


def shown(problems: ProblemsView, pid: object) -> str:
    """The row's "What" cell (its short marks) and its tooltip (the marks in full)."""
    index = problems.model.index_of(pid, WHAT)
    return f"{index.data()}\n{index.data(Qt.ItemDataRole.ToolTipRole)}"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Notification]:
    captured: list[Notification] = []
    monkeypatch.setattr(tray, "NOTIFY_HOOKS", [captured.append])
    return captured


def _refresh(h: WindowHarness) -> None:
    h.refresh()
    problems = h.window.problems
    h.wait_until(lambda: problems.builds >= len(h.presentations) and problems._task is None)


def _select(h: WindowHarness, key: object) -> None:
    problems = h.window.problems
    problems.view.setCurrentIndex(problems.model.index_of(key))


def _host_problem(vcenter: str, moref: str) -> ProblemId:
    return (ProblemKind.ESXI_HOST, HostRef(vcenter, moref), "")


def _demo_host(index: int) -> tuple[Endpoints, SimHost, ProblemId]:
    """The healthy demo, its ``index``-th ESXi host, and the id of that host's problem."""
    endpoints = fast_demo("healthy")
    assert endpoints.demo is not None
    host = endpoints.demo.layout.hosts[index]
    return endpoints, host, _host_problem(host.vcenter, host.moref)


def _notified(sent: list[Notification], pid: ProblemId) -> list[tuple[str, Severity | None]]:
    return [(n.kind, n.severity) for n in sent if n.key == key_text(pid)]


@contextmanager
def _disconnected(qloop: asyncio.AbstractEventLoop, endpoints: Endpoints, host: SimHost) -> Iterator[WindowHarness]:
    """The window over ``endpoints``, alerting at once, refreshed after ``host`` was disconnected."""
    with window_over(qloop, endpoints) as h:
        h.window.problems.alerts.machine.policy = QUICK
        h.estate.set_host_state(host.name, "disconnected")
        _refresh(h)
        yield h


def test_a_failure_notifies_once_is_acknowledged_silenced_and_re_raised_when_it_worsens(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification], alerts_store: Path
) -> None:
    endpoints, host, pid = _demo_host(0)
    with _disconnected(qloop, endpoints, host) as h:
        problems = h.window.problems
        alerts = problems.alerts
        assert _notified(sent, pid) == [RAISED]
        assert "WARNING" in alerts.tray.tooltip() and host.name in alerts.tray.tooltip()
        _refresh(h)
        assert _notified(sent, pid) == [RAISED], "the same state never alerts twice"

        _select(h, pid)
        problems.ack_button.click()
        assert alerts.dialog is not None and "Acknowledge" in alerts.dialog.windowTitle()
        alerts.dialog.comment.setText("reconnecting it")
        alerts.dialog.accept()
        what = shown(problems, pid)
        assert "✓ ACK by" in what and "reconnecting it" in what
        assert host.name not in alerts.tray.tooltip(), "an acknowledged problem leaves the tray"
        _refresh(h)
        assert len(_notified(sent, pid)) == 1

        h.estate.set_host_state(host.name, "notResponding")
        _refresh(h)
        assert _notified(sent, pid) == [RAISED, ESCALATED]
        assert "ACK" not in shown(problems, pid), "the acknowledgement was for the WARNING"
        assert "CRITICAL" in alerts.tray.tooltip()

        _select(h, pid)
        problems.silence_button.click()
        assert alerts.dialog is not None and "Silence" in alerts.dialog.windowTitle()
        alerts.dialog.accept()
        assert "⊘ SILENCED" in shown(problems, pid)
        h.estate.set_host_state(host.name, "connected")
        _refresh(h)
        assert len(_notified(sent, pid)) == 2, "a silenced item never notifies"
        cleared = [e for e in alerts.history if e.key == key_text(pid) and e.kind is EventKind.CLEARED]
        assert len(cleared) == 1 and cleared[0].silenced

        dialog = alerts.show_history(problems)
        assert dialog.model.rowCount() == len(alerts.history)
        kinds = {dialog.model.index(r, 1).data() for r in range(dialog.model.rowCount())}
        assert {"raised", "acked", "escalated", "silenced", "cleared"} <= kinds
        h.run(alerts.flush())
    assert alerts_store.exists()

    with window_over(qloop, fast_demo("healthy")) as again:
        kept = again.window.problems.alerts
        assert kept.machine.silence_of(pid[1].text()) is not None, "the silence is kept across a restart"
        assert [e.kind for e in kept.history if e.key == key_text(pid)][:2] == [EventKind.RAISED, EventKind.ACKED]


def test_a_problem_that_clears_within_the_hold_never_alerts(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification]
) -> None:
    endpoints, host, _pid = _demo_host(1)
    with window_over(qloop, endpoints) as h:
        alerts = h.window.problems.alerts
        alerts.machine.policy = Policy(hold_seconds=0, hold_refreshes=2)
        h.estate.set_host_state(host.name, "notResponding")
        _refresh(h)
        assert any(host.name in r.cells[PROBLEM_COLUMNS.index("Item")] for r in h.window.problems.rows.values())
        h.estate.set_host_state(host.name, "connected")
        _refresh(h)
        _refresh(h)
        assert not [n for n in sent if host.moref in n.key], "cleared within two refreshes: never alerted"
        assert not [e for e in alerts.history if host.moref in e.key]
        h.estate.set_host_state(host.name, "notResponding")
        _refresh(h)
        _refresh(h)
        assert [n.kind for n in sent if host.moref in n.key] == ["raised"], "held two refreshes: alerted once"


def test_a_flapping_host_alerts_once_as_flapping_and_its_row_says_so(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification]
) -> None:
    endpoints, host, pid = _demo_host(2)
    with window_over(qloop, endpoints) as h:
        alerts = h.window.problems.alerts
        alerts.machine.policy = Policy(hold_seconds=0, hold_refreshes=1, flap_changes=2, flap_window_seconds=3600)
        for n in range(4):
            h.estate.set_host_state(host.name, "notResponding")
            _refresh(h)
            if n < 3:
                h.estate.set_host_state(host.name, "connected")
                _refresh(h)
        kinds = [n.kind for n in sent if n.key == key_text(pid)]
        assert kinds == ["raised", "cleared", "flapping"], "once as flapping, not on each change"
        assert "⇅ FLAPPING" in shown(h.window.problems, pid)


def test_an_acknowledgement_and_a_silence_are_lifted_by_hand_and_the_problem_alerts_again(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification], alerts_store: Path
) -> None:
    endpoints, host, pid = _demo_host(3)
    with _disconnected(qloop, endpoints, host) as h:
        problems = h.window.problems
        alerts = problems.alerts
        _select(h, pid)
        assert not problems.unack_button.isEnabled() and not problems.lift_button.isEnabled()
        problems.ack_button.click()
        assert alerts.dialog is not None
        alerts.dialog.accept()
        assert problems.unack_button.isEnabled() and host.name not in alerts.tray.tooltip()

        problems.unack_button.click()
        assert "ACK" not in shown(problems, pid) and not problems.unack_button.isEnabled()
        assert host.name in alerts.tray.tooltip(), "lifted: it needs attention again at once"
        lifted = [e for e in alerts.history if e.kind is EventKind.REMOVED]
        assert [(e.key, e.who) for e in lifted] == [(key_text(pid), alerts_view.os_user())]
        assert lifted[0].at == alerts.history[-1].at and "acknowledged by" in lifted[0].comment
        assert _notified(sent, pid) == [RAISED], "lifting notifies nothing by itself"

        problems.silence_button.click()
        assert alerts.dialog is not None
        alerts.dialog.accept()
        assert problems.lift_button.isEnabled() and "⊘ SILENCED" in shown(problems, pid)
        problems.lift_button.click()
        assert "SILENCED" not in shown(problems, pid) and not problems.lift_button.isEnabled()
        h.estate.set_host_state(host.name, "notResponding")
        _refresh(h)
        assert _notified(sent, pid) == [RAISED, ESCALATED], "it alerts as usual"

        dialog = alerts.show_history(problems)
        cells = [[dialog.model.index(r, c).data() for c in range(5)] for r in range(dialog.model.rowCount())]
        removed = [c for c in cells if c[1] == "removed"]
        assert len(removed) == 2 and all(c[4] == alerts_view.os_user() for c in removed)
        assert any(c[3] == f"silence of {problems.rows[pid].cells[ITEM]}" for c in removed)
        h.run(alerts.flush())

    with window_over(qloop, fast_demo("healthy")) as again:
        kept = again.window.problems.alerts
        assert kept.machine.ack_of(key_text(pid)) is None and kept.machine.silence_of(pid[1].text()) is None
        assert [e.kind for e in kept.history if e.kind is EventKind.REMOVED] == [EventKind.REMOVED] * 2


@pytest.mark.vcsim_peer
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")  # the menu, offscreen
def test_on_a_real_vcenter_a_host_s_ack_and_silence_are_lifted_from_the_problems_tab_and_stay_lifted(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification]
) -> None:
    with VcsimPeer(clusters=1, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:

        def endpoints() -> Endpoints:
            return Endpoints(openstack=[], vcenters=[vcsim_backend(peer)], refresh_seconds=3600)

        host = peer.list_hosts()[1]
        pid = _host_problem("vcsim", host["moref"])
        peer.set_host_state(host["name"], "notResponding")
        with window_over(qloop, endpoints()) as h:
            problems, alerts = h.window.problems, h.window.problems.alerts
            alerts.machine.policy = QUICK
            _refresh(h)
            assert pid in problems.rows, list(problems.rows)
            assert [n.kind for n in sent if n.key == key_text(pid)] == ["raised"]
            _select(h, pid)
            alerts.acknowledge(problems.rows[pid], "ana", "replacing the PSU", timedelta(hours=8))
            alerts.silence(problems.rows[pid], "ana", "", timedelta(hours=1))
            assert problems.unack_button.isEnabled() and problems.lift_button.isEnabled()
            problems.unack_button.click()
            problems.view.customContextMenuRequested.emit(QPoint(5, 5))  # the row's menu: Lift silence
            assert problems.menu is not None
            lift = next(a for a in problems.menu.actions() if a.text() == "Lift silence")
            assert lift.isEnabled()
            lift.trigger()
            assert not alerts.acknowledged(problems.rows[pid]) and not alerts.silenced(problems.rows[pid])
            assert host["name"] in alerts.tray.tooltip(), "the host needs attention again"
            h.run(alerts.flush())
        with window_over(qloop, endpoints()) as again:
            kept = again.window.problems.alerts
            assert kept.machine.acks == {} and kept.machine.silences == {}, "lifted before the restart"
            removed = [e for e in kept.history if e.kind is EventKind.REMOVED]
            assert [e.who for e in removed] == [alerts_view.os_user()] * 2
            assert "acknowledged by ana" in removed[0].comment and removed[1].key == pid[1].text()
