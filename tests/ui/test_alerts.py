"""Alerts on the demo: a failure notifies once, is acknowledged and silenced from the Problems tab (marks in
its row, kept across a restart), re-raised when it gets worse; a problem cleared within the hold never alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from PySide6.QtCore import Qt

from hybridview.core.alerting import EventKind, Policy
from hybridview.core.health import Severity
from hybridview.core.identity import HostRef
from hybridview.core.problems import ProblemKind
from hybridview.ui import tray
from hybridview.ui.alerts_view import key_text
from hybridview.ui.problems_view import ProblemsView
from hybridview.ui.tray import Notification
from hybridview.views.problems_rows import PROBLEM_COLUMNS
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui
WHAT = PROBLEM_COLUMNS.index("What")
QUICK = Policy(hold_seconds=0, hold_refreshes=1)


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


def test_a_failure_notifies_once_is_acknowledged_silenced_and_re_raised_when_it_worsens(
    qloop: asyncio.AbstractEventLoop, sent: list[Notification], alerts_store: Path
) -> None:
    endpoints = fast_demo("healthy")
    host = endpoints.demo.layout.hosts[0] if endpoints.demo else None
    assert host is not None
    pid = (ProblemKind.ESXI_HOST, HostRef(host.vcenter, host.moref), "")

    def mine() -> list[tuple[str, Severity | None]]:
        return [(n.kind, n.severity) for n in sent if n.key == key_text(pid)]

    with window_over(qloop, endpoints) as h:
        problems = h.window.problems
        alerts = problems.alerts
        alerts.machine.policy = QUICK
        h.estate.set_host_state(host.name, "disconnected")
        _refresh(h)
        assert mine() == [("raised", Severity.WARNING)]
        assert "WARNING" in alerts.tray.tooltip() and host.name in alerts.tray.tooltip()
        _refresh(h)
        assert mine() == [("raised", Severity.WARNING)], "the same state never alerts twice"

        _select(h, pid)
        problems.ack_button.click()
        assert alerts.dialog is not None and "Acknowledge" in alerts.dialog.windowTitle()
        alerts.dialog.comment.setText("reconnecting it")
        alerts.dialog.accept()
        what = shown(problems, pid)
        assert "✓ ACK by" in what and "reconnecting it" in what
        assert host.name not in alerts.tray.tooltip(), "an acknowledged problem leaves the tray"
        _refresh(h)
        assert len(mine()) == 1

        h.estate.set_host_state(host.name, "notResponding")
        _refresh(h)
        assert mine() == [("raised", Severity.WARNING), ("escalated", Severity.CRITICAL)]
        assert "ACK" not in shown(problems, pid), "the acknowledgement was for the WARNING"
        assert "CRITICAL" in alerts.tray.tooltip()

        _select(h, pid)
        problems.silence_button.click()
        assert alerts.dialog is not None and "Silence" in alerts.dialog.windowTitle()
        alerts.dialog.accept()
        assert "⊘ SILENCED" in shown(problems, pid)
        h.estate.set_host_state(host.name, "connected")
        _refresh(h)
        assert len(mine()) == 2, "a silenced item never notifies"
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
    endpoints = fast_demo("healthy")
    assert endpoints.demo is not None
    host = endpoints.demo.layout.hosts[1]
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
    endpoints = fast_demo("healthy")
    assert endpoints.demo is not None
    host = endpoints.demo.layout.hosts[2]
    pid = (ProblemKind.ESXI_HOST, HostRef(host.vcenter, host.moref), "")
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
