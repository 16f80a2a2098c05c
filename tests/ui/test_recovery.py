"""The Recovery tab on the demo estate: what waits after failures, kept incrementally, and read-only mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QMessageBox
from pytestqt.modeltest import ModelTester

from hybridview.actions.audit import AuditLog
from hybridview.core.identity import InstanceRef, VmRef
from hybridview.core.recovery import recovery
from hybridview.sim import SimSize
from hybridview.ui.loop_probe import LoopLatencyProbe
from hybridview.views.recovery_rows import EVACUATION_COLUMNS, LEFT_BEHIND_COLUMNS
from tests.ui.harness import fast_demo, window_on, window_over

pytestmark = pytest.mark.ui
WRITE_WORDS = ("Evacuate", "Restart", "Clear forced-down", "Retry", "Force")


def _column(name: str, columns: tuple[str, ...]) -> int:
    return columns.index(name)


def test_pending_evacuations_of_a_dead_kvm_host_are_listed(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w, view = h.window, h.presentations[-1].view
        pending = recovery(view).evacuations
        assert pending, "the scenario leaves instances on a dead host"
        model = w.recovery.evacuation_model
        assert set(model.keys()) == {InstanceRef(p.cloud, p.instance_id) for p in pending}
        sample = pending[0]
        index = model.index_of(InstanceRef(sample.cloud, sample.instance_id))
        cells = [model.index(index.row(), c).data() for c in range(model.columnCount())]
        assert cells[_column("Source host", EVACUATION_COLUMNS)] == sample.source_host
        assert cells[_column("Storage", EVACUATION_COLUMNS)] == sample.storage.value
        assert cells[_column("Evacuable / blocked reason", EVACUATION_COLUMNS)].startswith(("yes", "no: "))
        assert w.tabs.tabText(w.tabs.indexOf(w.recovery)) == f"Recovery ({len(pending)})"
        assert w.recovery.evacuate_host_button.isEnabled()
        assert not w.recovery.evacuate_selected_button.isEnabled()  # nothing selected yet
        assert w.recovery.left_behind_model.rowCount() == 0
        for m in w.recovery.models:
            qtmodeltester.check(m)


def test_vms_vsphere_ha_left_behind_are_listed(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        w, view = h.window, h.presentations[-1].view
        stranded = recovery(view).left_behind
        assert stranded, "the scenario fails a host of a cluster without vSphere HA"
        model = w.recovery.left_behind_model
        assert set(model.keys()) == {VmRef(i.vcenter, i.vm_moref) for i in stranded}
        index = model.index_of(VmRef(stranded[0].vcenter, stranded[0].vm_moref))
        why = model.index(index.row(), _column("Why", LEFT_BEHIND_COLUMNS)).data()
        assert "vSphere HA is off" in why
        assert model.index(index.row(), _column("Failed host", LEFT_BEHIND_COLUMNS)).data() == stranded[0].host.name
        assert w.recovery.restart_button.isEnabled()


def test_rows_follow_an_evacuation_by_key_without_a_reset(
    qloop: asyncio.AbstractEventLoop, audit_log: Path, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        model = w.recovery.evacuation_model
        resets: list[int] = []
        model.modelReset.connect(lambda: resets.append(1))
        qtmodeltester.check(model)
        before = model.rowCount()
        w.recovery.evacuate_host_button.click()
        dialog = next(iter(w.recovery.writes.dialogs.values()))
        h.wait_until(lambda: dialog.plan is not None)
        dialog.fence.setChecked(True)
        dialog.concurrency.setValue(20)
        dialog.submit.click()
        assert dialog.operation is not None
        progress_column = _column("Progress", EVACUATION_COLUMNS)
        h.wait_until(lambda: any(model.index(r, progress_column).data() for r in range(model.rowCount())))
        h.run(dialog.operation.finished.wait())
        h.refresh()
        h.wait_until(lambda: model.rowCount() < before)
        # only the seeded failure is still on the dead host, its row saying why
        failed = [i for i in dialog.operation.items if i.state.value == "failed"]
        assert model.rowCount() == len(failed) == 1
        assert model.index(0, progress_column).data().startswith("failed: ")
        assert resets == []
        # the Audit tab was read again once the operation finished
        entries = AuditLog(audit_log).entries()
        h.wait_until(lambda: w.audit.model.rowCount() == len(entries))
        newest = max(entries, key=lambda e: e.sent_at)
        assert w.audit.model.keys()[0] == newest.id


def test_read_only_mode_hides_every_write_control(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("kvm-host-down", read_only=True)) as h:
        w = h.window
        w.tabs.setCurrentWidget(w.recovery)
        h.wait_until(lambda: w.recovery.evacuation_model.rowCount() > 0)
        assert h.controller.endpoints.read_only and w.desk.read_only
        assert all(b.isHidden() for b in w.recovery.write_buttons)
        visible = [
            b.text()
            for b in w.findChildren(QAbstractButton)
            if b.isVisibleTo(w) and any(word in b.text() for word in WRITE_WORDS)
        ]
        assert visible == []
        actions = [a.text() for a in w.findChildren(type(w.refresh_action)) if any(x in a.text() for x in WRITE_WORDS)]
        assert actions == []
        assert "Read-only mode" in w.recovery.message.text()


def test_a_host_back_is_cleared_and_enabled_through_a_confirmation(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("evacuation-in-progress")) as h:
        w, estate = h.window, h.estate
        with estate.state.lock:  # the fenced host is repaired: its nova-compute reports again
            node = next(n for nodes in estate.state.nodes.values() for n in nodes if n.forced_down)
            node.alive = True
            node.status = "disabled"
            node.disabled_reason = "repaired, to be checked"
            for migration in estate.state.migrations[node.cloud]:  # its nova-compute cleaned up on restart
                if migration.source_compute == node.service_host and migration.status == "done":
                    migration.status = "completed"
        estate.invalidate()
        h.refresh()
        model = w.recovery.returning_model
        h.wait_until(lambda: model.rowCount() == 1)
        assert w.recovery.clear_button.isEnabled()
        w.recovery.clear_button.click()
        box = w.recovery.writes.confirmation
        assert isinstance(box, QMessageBox) and node.service_host in box.text()
        assert w.desk.runner.operations == []  # nothing is sent before the confirmation
        accept = next(b for b in box.buttons() if b.text().startswith("Clear forced-down"))
        accept.click()
        assert len(w.desk.runner.operations) == 1
        operation = w.desk.runner.operations[0]
        h.run(operation.finished.wait())
        assert operation.ok, [(i.step.key, i.state, i.message) for i in operation.items]
        assert [i.step.key.verb.value for i in operation.items] == ["unset-force-down", "enable-service"]
        h.refresh()
        h.wait_until(lambda: model.rowCount() == 0)
        assert not node.forced_down and node.status == "enabled"


@pytest.mark.slow
def test_the_large_estate_stages_recovery_in_workers_without_stalling(qloop: asyncio.AbstractEventLoop) -> None:
    with window_on(qloop, "kvm-host-down", SimSize.large()) as h:
        w = h.window
        probe = LoopLatencyProbe(10)
        probe.start()
        try:
            h.refresh()
            h.refresh()
        finally:
            probe.stop()
        pending = recovery(h.presentations[-1].view).evacuations
        assert pending and w.recovery.evacuation_model.rowCount() == len(pending)
        assert all(m.diffed_here == 0 for m in w.recovery.models)  # every change was staged in a worker
        assert probe.worst_ms < 250, f"the GUI thread stalled {probe.worst_ms:.0f} ms"
