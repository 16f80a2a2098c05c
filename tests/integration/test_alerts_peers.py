"""Alerts over the real peers: a stopped nova-compute and an ESXi host that stops answering each notify once;
acknowledged and silenced from the Problems tab; the ESXi host re-raised when it gets worse (disconnected, a
WARNING, then not responding, CRITICAL), and its recovery, while silenced, kept in the history, never notified."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from hybridview.backends.nova import NovaBackend
from PySide6.QtCore import Qt

from hybridview.core.alerting import EventKind, Policy
from hybridview.core.health import Severity
from hybridview.core.identity import HostRef, NodeRef
from hybridview.core.problems import ProblemId, ProblemKind
from hybridview.service.wiring import Endpoints
from hybridview.ui import tray
from hybridview.ui.alerts_view import key_text
from hybridview.ui.problems_view import ProblemsView
from hybridview.ui.app import build_window
from hybridview.ui.tray import Notification
from hybridview.views.problems_rows import PROBLEM_COLUMNS
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.ui.conftest import alerts_store, audit_log, qloop
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = [
    pytest.mark.ui,
    pytest.mark.nova_peer,
    pytest.mark.vcsim_peer,
    pytest.mark.usefixtures("audit_log", "alerts_store"),
]
__all__ = ["alerts_store", "audit_log", "qloop"]  # the window's fixtures
WHAT = PROBLEM_COLUMNS.index("What")


def shown(problems: ProblemsView, pid: object) -> str:
    """The row's "What" cell (its short marks) and its tooltip (the marks in full)."""
    index = problems.model.index_of(pid, WHAT)
    return f"{index.data()}\n{index.data(Qt.ItemDataRole.ToolTipRole)}"


def test_host_failures_on_both_peers_notify_once_are_acked_silenced_and_re_raised_when_worse(
    qloop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Notification] = []
    monkeypatch.setattr(tray, "NOTIFY_HOOKS", [sent.append])
    tmp = tmp_path_factory.mktemp("alerts")
    with VcsimPeer(clusters=1, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
        with NovaPeer(computes=["kvm1", "kvm2"]) as nova:
            clouds = nova.write_clouds_yaml(tmp / "clouds.yaml")
            endpoints = Endpoints(
                openstack=[NovaBackend("nova-peer", config_files=[str(clouds)])],
                vcenters=[vcsim_backend(vcsim)],
                refresh_seconds=3600,
            )
            window, controller = build_window(endpoints)
            problems = window.problems
            alerts = problems.alerts
            alerts.machine.policy = Policy(hold_seconds=0, hold_refreshes=1)
            window.resize(1600, 1000)
            window.show()
            controller.start()

            def until(condition: Callable[[], bool], seconds: float) -> bool:
                async def wait() -> None:
                    deadline = time.monotonic() + seconds
                    while not condition() and time.monotonic() < deadline:
                        await asyncio.sleep(0.02)

                qloop.run_until_complete(wait())
                return condition()

            def of(pid: ProblemId) -> list[tuple[str, Severity | None]]:
                return [(n.kind, n.severity) for n in sent if n.key == key_text(pid)]

            def act(pid: ProblemId, silence: bool, comment: str) -> None:
                problems.view.setCurrentIndex(problems.model.index_of(pid))
                (problems.silence_button if silence else problems.ack_button).click()
                assert alerts.dialog is not None
                alerts.dialog.comment.setText(comment)
                alerts.dialog.accept()

            try:
                assert until(
                    lambda: controller.latest is not None and controller.latest.view.estate.every_endpoint_answered, 60
                )
                qloop.run_until_complete(asyncio.sleep(1.5))  # the vCenter feed's initial state

                # Nova: a stopped compute, raised once, acknowledged, silenced, its recovery silent
                kvm: ProblemId = (ProblemKind.NODE, NodeRef("nova-peer", "kvm1"), "")
                nova.stop_compute("kvm1")
                controller.request_refresh()
                assert until(lambda: of(kvm) == [("raised", Severity.CRITICAL)], 60), sent
                controller.request_refresh()
                assert not until(lambda: len(of(kvm)) > 1, 3), "the same state never alerts twice"
                act(kvm, silence=False, comment="fencing kvm1")
                assert "✓ ACK by" in shown(problems, kvm)
                act(kvm, silence=True, comment="")
                assert "⊘ SILENCED" in shown(problems, kvm)
                nova.start_compute("kvm1")
                controller.request_refresh()
                assert until(
                    lambda: any(e.key == key_text(kvm) and e.kind is EventKind.CLEARED for e in alerts.history), 60
                )
                assert of(kvm) == [("raised", Severity.CRITICAL)], "its recovery was silenced"

                # vSphere: disconnected (WARNING) then not responding (CRITICAL), through the change feed
                host = vcsim.list_hosts()[0]
                esxi: ProblemId = (ProblemKind.ESXI_HOST, HostRef("vcsim", host["moref"]), "")
                vcsim.set_host_state(host["name"], "disconnected")
                assert until(lambda: of(esxi) == [("raised", Severity.WARNING)], 10), sent
                act(esxi, silence=False, comment="reconnecting")
                assert "reconnecting" in shown(problems, esxi)
                assert host["name"] not in alerts.tray.tooltip()
                vcsim.set_host_state(host["name"], "notResponding")
                worse = [("raised", Severity.WARNING), ("escalated", Severity.CRITICAL)]
                assert until(lambda: of(esxi) == worse, 10), sent
                assert "CRITICAL" in alerts.tray.tooltip()
                act(esxi, silence=True, comment="vendor on site")
                vcsim.set_host_state(host["name"], "connected")
                assert until(
                    lambda: any(e.key == key_text(esxi) and e.kind is EventKind.CLEARED for e in alerts.history), 10
                )
                assert of(esxi) == worse, "a silenced item never notifies"
                kinds = [e.kind for e in alerts.history if e.key in (key_text(esxi), esxi[1].text())]
                assert kinds == [
                    EventKind.RAISED,
                    EventKind.ACKED,
                    EventKind.ESCALATED,
                    EventKind.SILENCED,
                    EventKind.CLEARED,
                ]
                qloop.run_until_complete(alerts.flush())
            finally:
                qloop.run_until_complete(controller.aclose())
                window.close()
