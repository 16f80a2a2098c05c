"""The evacuation and VM-restart dialogs on the demo estate: the fencing gate, one submission, live progress."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.actions.audit import AuditLog
from hybridview.actions.operation import ItemState
from hybridview.core.actions import Verb
from hybridview.core.evacuation import compute_service
from hybridview.ui.action_dialog import ActionDialog
from hybridview.ui.evacuation_dialog import EvacuationDialog
from hybridview.ui.restart_dialog import RestartDialog
from hybridview.views.recovery_rows import EVACUATION_COLUMNS
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui
PROGRESS, REQUEST = -2, -1  # the last two columns of every item table


def _open_evacuation(h: WindowHarness) -> EvacuationDialog:
    h.window.recovery.evacuate_host_button.click()
    dialog = next(d for d in h.window.recovery.writes.dialogs.values() if isinstance(d, EvacuationDialog))
    h.wait_until(lambda: dialog.plan is not None)
    return dialog


def _cell(dialog: ActionDialog, row: int, column: int) -> str:
    model = dialog.items
    return str(model.index(row, column % model.columnCount()).data() or "")


def _evacuations_sent(audit_log: Path) -> Counter[str]:
    return Counter(e.target for e in AuditLog(audit_log).entries() if e.verb == Verb.EVACUATE.value)


def test_evacuate_needs_the_fencing_acknowledgement(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        dialog = _open_evacuation(h)
        plan = dialog.plan
        assert plan is not None and plan.refused is None and plan.needs_fencing
        assert dialog.force_down.isChecked()  # the service is down, not yet forced down
        assert plan.steps[0].key.verb is Verb.FORCE_DOWN
        assert dialog.items.rowCount() == len(plan.steps)
        assert dialog.fence.isVisible() and f"I have fenced {dialog.host}" in dialog.fence.text()
        assert "twice" in dialog.notes.text()  # the fencing consequence, spelled out
        assert dialog.target.count() > 1 and dialog.target.currentData() is None  # the scheduler, or a host
        assert not dialog.start_after.isVisibleTo(dialog) or dialog.context is not None
        assert not dialog.submit.isEnabled()
        dialog.fence.setChecked(True)
        assert dialog.submit.isEnabled()
        dialog.fence.setChecked(False)
        assert not dialog.submit.isEnabled()
        dialog.submit.click()  # a disabled button sends nothing
        assert h.window.desk.runner.operations == []
        # the operator's choices plan again: without forcing down there is no force-down step
        dialog.force_down.setChecked(False)
        h.wait_until(lambda: dialog.plan is not plan and dialog.plan is not None)
        assert dialog.plan is not None and all(s.key.verb is Verb.EVACUATE for s in dialog.plan.steps)
        assert dialog.items.rowCount() == len(dialog.plan.steps)
        qtmodeltester.check(dialog.items)
        dialog.close()


def test_a_double_click_and_a_second_dialog_send_each_instance_once(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, audit_log: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        dialog = _open_evacuation(h)
        dialog.fence.setChecked(True)
        dialog.concurrency.setValue(1)
        qtbot.mouseDClick(dialog.submit, Qt.MouseButton.LeftButton)
        dialog.submit.click()
        assert len(w.desk.runner.operations) == 1
        assert not dialog.submit.isEnabled()
        operation = dialog.operation
        assert operation is not None
        # a second dialog for the same host, planned from the same estate, sends nothing
        second = EvacuationDialog(w.desk, h.controller, dialog.endpoint, dialog.host, parent=w)
        h.wait_until(lambda: second.plan is not None)
        second.fence.setChecked(True)
        second.submit.click()
        assert "already running" in second.message.text() and second.message.isVisibleTo(second)
        assert len(w.desk.runner.operations) == 1 and second.operation is None
        h.run(operation.finished.wait())
        assert not dialog.submit.isEnabled()  # sent once: never again from this dialog
        sent = _evacuations_sent(audit_log)
        evacuations = [s for s in operation.plan.sendable if s.key.verb is Verb.EVACUATE]
        assert sorted(sent) == sorted(s.key.target for s in evacuations)
        assert set(sent.values()) == {1}
        second.close()
        second.deleteLater()


def test_progress_shows_per_instance_until_done_and_a_nova_failure_with_its_request_id(
    qloop: asyncio.AbstractEventLoop, audit_log: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down", evacuation_seconds=0.8)) as h:
        dialog = _open_evacuation(h)
        dialog.fence.setChecked(True)
        dialog.concurrency.setValue(20)
        seen: dict[int, set[str]] = {}
        dialog.items.dataChanged.connect(
            lambda top, _bottom, _roles: seen.setdefault(top.row(), set()).add(_cell(dialog, top.row(), PROGRESS))
        )
        dialog.submit.click()
        operation = dialog.operation
        assert operation is not None
        h.wait_until(lambda: any(_cell(dialog, r, PROGRESS).startswith("in progress") for r in range(len(seen) or 1)))
        h.run(operation.finished.wait())
        states = {i.step.key: i.state for i in operation.items}
        failed = [k for k, s in states.items() if s is ItemState.FAILED]
        assert len(failed) == 1, operation.summary()  # the demo's seeded failure
        assert all(s is ItemState.DONE for k, s in states.items() if k not in failed)
        for row, item in enumerate(operation.items):
            assert dialog.items.keys()[row] == item.step.key
            texts = seen.get(row, set())
            if item.step.key.verb is Verb.EVACUATE:
                assert any(t.startswith("in progress") for t in texts), texts  # it was followed live
        row = dialog.items.row_of(failed[0])
        item = operation.items[row]
        assert item.request_id and item.request_id.startswith("req-")
        assert _cell(dialog, row, REQUEST) == item.request_id
        assert _cell(dialog, row, PROGRESS) == f"failed: {item.message}"
        assert "libvirt" in item.message or "VolumeDeviceNotFound" in item.message
        assert "failed" in dialog.summary.text()
        # retry sends the failed item again, and only it
        assert dialog.retry.isEnabled() and not dialog.stop.isEnabled()
        dialog.retry.click()
        again = dialog.operation
        assert again is not None and again is not operation
        assert [i.step.key for i in again.items] == failed
        h.run(again.finished.wait())
        assert _evacuations_sent(audit_log)[failed[0].target] == 2


def test_closing_the_dialog_leaves_the_operation_running_and_the_recovery_view_shows_it(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down", evacuation_seconds=1.0)) as h:
        w = h.window
        dialog = _open_evacuation(h)
        dialog.fence.setChecked(True)
        dialog.submit.click()
        operation = dialog.operation
        assert operation is not None
        dialog.close()
        assert not operation.done and not operation.stopping
        model, progress = w.recovery.evacuation_model, EVACUATION_COLUMNS.index("Progress")
        h.wait_until(
            lambda: any(str(model.index(r, progress).data()).startswith("in progress") for r in range(model.rowCount()))
        )
        assert w.recovery.writes.dialogs, "a running dialog is kept while it runs"
        h.run(operation.finished.wait())
        h.wait_until(lambda: not w.recovery.writes.dialogs)  # and let go once it is over
        assert sum(i.state is ItemState.DONE for i in operation.items) == len(operation.items) - 1


def test_a_host_whose_service_is_up_is_refused_with_no_way_to_send(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w, view = h.window, h.presentations[-1].view
        snap = view.estate.openstack[0]
        up = next(n.host for n in snap.nodes if not n.is_vmware and compute_service(snap, n.host).state == "up")
        dialog = w.recovery.writes.open_evacuation(snap.cloud, up)
        h.wait_until(lambda: dialog.plan is not None)
        assert dialog.plan is not None and dialog.plan.refused
        assert dialog.refusal.isVisibleTo(dialog) and "is up" in dialog.refusal.text()
        assert dialog.submit.isHidden() and not dialog.submit.isEnabled()
        assert not dialog.fence.isVisibleTo(dialog)
        assert dialog.items.rowCount() == 0
        dialog.close()


def test_stop_sends_nothing_more(qloop: asyncio.AbstractEventLoop, audit_log: Path) -> None:
    with window_over(qloop, fast_demo("kvm-host-down", evacuation_seconds=1.0)) as h:
        dialog = _open_evacuation(h)
        dialog.fence.setChecked(True)
        dialog.concurrency.setValue(1)
        dialog.submit.click()
        operation = dialog.operation
        assert operation is not None and dialog.stop.isEnabled()
        h.wait_until(lambda: any(i.state is ItemState.TRACKING for i in operation.items))
        dialog.stop.click()
        h.run(operation.finished.wait())
        stopped = [i for i in operation.items if i.state is ItemState.STOPPED]
        assert stopped and all(
            _cell(dialog, dialog.items.row_of(i.step.key), PROGRESS).startswith("stopped") for i in stopped
        )
        assert sum(_evacuations_sent(audit_log).values()) == len(operation.items) - len(stopped) - 1  # - force-down


def test_restart_dialog_restarts_the_vms_ha_left_behind(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        w = h.window
        before = w.recovery.left_behind_model.rowCount()
        w.recovery.restart_button.click()
        dialog = next(d for d in w.recovery.writes.dialogs.values() if isinstance(d, RestartDialog))
        h.wait_until(lambda: dialog.plan is not None)
        plan = dialog.plan
        assert plan is not None and plan.refused is None and len(plan.sendable) == before
        assert dialog.target.count() > 1
        assert not dialog.submit.isEnabled()
        dialog.fence.setChecked(True)
        dialog.submit.click()
        operation = dialog.operation
        assert operation is not None
        h.run(operation.finished.wait())
        assert operation.ok, operation.summary()
        assert all(_cell(dialog, r, PROGRESS).startswith("done: poweredOn on") for r in range(dialog.items.rowCount()))
        qtmodeltester.check(dialog.items)
        h.refresh()
        h.wait_until(lambda: w.recovery.left_behind_model.rowCount() == 0)
        dialog.close()
