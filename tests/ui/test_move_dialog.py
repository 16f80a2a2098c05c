"""The Move… and Drain host… dialogs on the demo: every option with its reason, one submission, the preview."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.actions.audit import AuditLog
from hybridview.actions.operation import ItemState, Operation
from hybridview.core.actions import Verb
from hybridview.core.identity import HostRef, NodeRef
from hybridview.core.migration_options import MoveKind, MoveOptions, instance_move_options, vm_move_options
from hybridview.core.model import Instance
from hybridview.ui.action_dialog import ActionDialog
from hybridview.ui.drain_dialog import DrainDialog
from hybridview.ui.move_dialog import SCHEDULER, MoveDialog
from hybridview.views.activity_rows import ACTIVITY_COLUMNS, item_key
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui


def _instances(h: WindowHarness, *, vmware: bool) -> list[Instance]:
    view = h.presentations[-1].view
    nodes = {n.ref: n for s in view.estate.openstack for n in s.nodes}
    return [
        i
        for s in view.estate.openstack
        for i in s.instances
        if i.node_ref in nodes and nodes[i.node_ref].is_vmware is vmware and nodes[i.node_ref].state == "up"
    ]


def _open_move(h: WindowHarness, instance: Instance) -> MoveDialog:
    """Select the instance in the window and trigger Move… (as the operator does)."""
    w = h.window
    assert instance.node_ref is not None
    w.select_key(instance.node_ref)
    h.wait_until(lambda: w.instance_model.index_of(instance.ref).isValid())
    w.instance_view.setCurrentIndex(w.instance_model.index_of(instance.ref))
    assert w.moves.move_action.isEnabled() and w.moves.move_action.isVisible()
    w.moves.move_action.trigger()
    dialog = w.recovery.writes.dialogs[("move", instance.cloud, instance.id, ())]
    assert isinstance(dialog, MoveDialog)
    h.wait_until(lambda: dialog.plan is not None)
    return dialog


def _sent(operations: list[Operation]) -> list[Operation]:
    return [op for op in operations if not op.found]


def _assert_lists_every_option(dialog: MoveDialog, options: MoveOptions) -> None:
    assert list(dialog.radios) == [o.kind for o in options.options]
    for option in options.options:
        radio, reason = dialog.radios[option.kind], dialog.reasons[option.kind]
        assert radio.isEnabled() is option.available, option
        assert option.reason in reason.text()
        assert reason.text().startswith("✔" if option.available else "✖ not now")


def test_the_move_dialog_lists_every_option_and_the_reason_of_each_unavailable_one(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("healthy")) as h:
        for vmware in (False, True):
            instance = _instances(h, vmware=vmware)[0]
            dialog = _open_move(h, instance)
            options = instance_move_options(h.presentations[-1].view, instance)
            _assert_lists_every_option(dialog, options)
            evacuate = options.option(MoveKind.EVACUATE)
            assert evacuate is not None and not evacuate.available  # a healthy host: never
            assert not dialog.radios[MoveKind.EVACUATE].isEnabled()
            chosen = dialog.chosen_kind()
            assert chosen is not None and dialog.radios[chosen].isChecked()
            storage = options.option(MoveKind.STORAGE_VMOTION)
            if vmware:  # a vmwareapi instance: its VM's vSphere moves too, Storage vMotion to a datastore
                assert storage is not None and storage.available and storage.targets
                dialog.radios[MoveKind.STORAGE_VMOTION].setChecked(True)
                h.wait_until(lambda d=dialog: not d._planning and d.plan is not None)
                assert dialog.options.labelForField(dialog.target).text() == "Datastore:"
                shown = {dialog.target.itemData(i) for i in range(dialog.target.count())}
                assert shown == {t.ident for t in storage.targets}
                plan = dialog.plan
                assert plan is not None and plan.steps[0].key.verb is Verb.RELOCATE_VM
                assert plan.steps[0].parameters["datastore_moref"] == dialog.target.currentData()
            qtmodeltester.check(dialog.items)
            dialog.close()


def test_live_migration_targets_show_capacity_and_the_unusable_ones_cannot_be_chosen(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo("healthy")) as h:
        instance = _instances(h, vmware=False)[0]
        dialog = _open_move(h, instance)
        option = instance_move_options(h.presentations[-1].view, instance).option(MoveKind.LIVE_MIGRATE)
        assert option is not None and option.available and option.scheduler
        dialog.radios[MoveKind.LIVE_MIGRATE].setChecked(True)
        h.wait_until(lambda: dialog.plan is not None and not dialog._planning)
        assert dialog.options.isRowVisible(dialog.target) and not dialog.options.isRowVisible(dialog.confirm)
        assert dialog.target.itemText(0) == SCHEDULER and dialog.target.currentData() is None
        model = dialog.target.model()
        for target in option.targets:
            row = dialog.target.findData(target.ident)
            assert row > 0 and target.name in dialog.target.itemText(row)
            assert model.index(row, 0).flags() & Qt.ItemFlag.ItemIsEnabled == (
                Qt.ItemFlag.ItemIsEnabled if target.usable else Qt.ItemFlag.NoItemFlags
            )
            if target.free:
                assert target.free in dialog.target.itemText(row)
            if not target.usable:
                assert target.reason and target.reason in dialog.target.itemText(row)
        plan = dialog.plan
        assert plan is not None and plan.refused is None
        assert [s.key.verb for s in plan.steps] == [Verb.LIVE_MIGRATE]
        # cold migration shows the confirm box, and plans again with it
        cold = instance_move_options(h.presentations[-1].view, instance).option(MoveKind.COLD_MIGRATE)
        if cold is not None and cold.available:
            dialog.radios[MoveKind.COLD_MIGRATE].setChecked(True)
            assert dialog.options.isRowVisible(dialog.confirm)
            dialog.confirm.setChecked(True)
            h.wait_until(lambda: dialog.plan is not plan and not dialog._planning)
            assert dialog.plan is not None and dialog.plan.steps[0].key.verb is Verb.COLD_MIGRATE
            assert dialog.plan.steps[0].parameters["confirm"] is True
        dialog.close()


def test_a_move_is_sent_once_and_the_activity_tab_shows_its_progress_and_result(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, audit_log: Path
) -> None:
    with window_over(qloop, fast_demo("healthy", live_migration_seconds=3.0)) as h:  # long enough to see it run
        w = h.window
        instance = _instances(h, vmware=False)[0]
        dialog = _open_move(h, instance)
        dialog.radios[MoveKind.LIVE_MIGRATE].setChecked(True)
        h.wait_until(lambda: dialog.plan is not None and not dialog._planning and dialog.submit.isEnabled())
        activity, progress = w.activity, ACTIVITY_COLUMNS.index("Progress")
        seen: list[str] = []
        activity.model.dataChanged.connect(
            lambda top, _b, _r: seen.append(str(activity.model.index(top.row(), progress).data() or ""))
        )
        qtbot.mouseDClick(dialog.submit, Qt.MouseButton.LeftButton)
        dialog.submit.click()
        assert not dialog.submit.isEnabled()
        sent = _sent(w.desk.runner.operations)
        assert len(sent) == 1 and dialog.operation is sent[0]
        operation = sent[0]
        details: list[dict[str, object]] = []
        operation.listen(lambda _op, item: details.append(dict(item.detail or {})))
        key = item_key(operation.number, operation.items[0].step.key)
        h.wait_until(lambda: activity.model.row_of(key) >= 0)
        h.run(operation.finished.wait())
        assert operation.ok, operation.summary()
        h.wait_until(lambda: activity.model.cell(key, ACTIVITY_COLUMNS.index("State")) == "✔ done")
        assert any("percent" in d for d in details), details  # the demo reports the bytes copied
        assert any("%" in text and "memory" in text for text in seen), seen  # and the tab showed them live
        entries = [e for e in AuditLog(audit_log).entries() if e.verb == Verb.LIVE_MIGRATE.value]
        assert [e.target for e in entries] == [instance.id]
        assert not dialog.submit.isEnabled()  # never again from this dialog
        dialog.close()


def test_a_vm_on_a_host_that_does_not_respond_cannot_move_and_nothing_is_sent(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        w, view = h.window, h.presentations[-1].view
        vc = view.estate.vcenters[0]
        dead = next(host for host in vc.hosts if not host.responding)
        correlated = view.health.correlation.instance_by_vm
        vm = next(v for v in vc.vms if v.host_moref == dead.moref and correlated.get(v.ref) is None)  # vSphere only
        dialog = w.moves.open_move(vm.ref, vm.name)
        h.wait_until(lambda: dialog.plan is not None)
        assert isinstance(dialog, MoveDialog)
        _assert_lists_every_option(dialog, vm_move_options(view, vm))
        vmotion = dialog.radios.get(MoveKind.VMOTION)
        assert vmotion is not None and not vmotion.isEnabled()
        plan = dialog.plan
        assert plan is not None and plan.refused  # nothing possible now: the plan says so, with the reasons
        assert dialog.refusal.isVisibleTo(dialog) and dialog.submit.isHidden()
        dialog.submit.click()
        assert _sent(w.desk.runner.operations) == []
        dialog.close()


def test_the_drain_preview_lists_every_instance_with_where_it_goes_or_why_not(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo("healthy")) as h:
        w, view = h.window, h.presentations[-1].view
        snap = view.estate.openstack[0]
        node = next(n for n in snap.nodes if not n.is_vmware and any(i.host == n.host for i in snap.instances))
        w.select_key(node.ref)
        assert w.selected_key == node.ref and w.moves.drain_action.isEnabled()
        w.moves.drain_action.trigger()
        dialog = w.recovery.writes.dialogs[("drain", snap.cloud, node.host, ())]
        assert isinstance(dialog, DrainDialog)
        h.wait_until(lambda: dialog.plan is not None)
        plan = dialog.plan
        assert plan is not None and plan.refused is None
        on_host = {i.id for i in snap.instances if i.host == node.host}
        moved = {s.key.target for s in plan.steps if s.key.verb in (Verb.LIVE_MIGRATE, Verb.COLD_MIGRATE)}
        assert moved == on_host  # every instance, none skipped silently (blocked ones are listed too)
        assert dialog.items.rowCount() == len(plan.steps)
        for row, step in enumerate(plan.steps):
            goes_or_why = str(dialog.items.index(row, 2).data() or "") + str(dialog.items.index(row, 3).data() or "")
            if step.key.verb in (Verb.LIVE_MIGRATE, Verb.COLD_MIGRATE):
                assert goes_or_why, step  # where it goes, or why it cannot move
        assert dialog.options.isRowVisible(dialog.reason) and not dialog.options.isRowVisible(dialog.timeout)
        dialog.reason.setText("kernel upgrade")
        h.wait_until(lambda: dialog.plan is not plan and not dialog._planning)
        assert dialog.plan is not None and dialog.plan.steps[0].parameters.get("reason") == "kernel upgrade"
        drained = dialog.plan
        dialog.undo.setChecked(True)
        h.wait_until(lambda: dialog.plan is not drained and not dialog._planning)
        undo = dialog.plan
        assert undo is not None and dialog.submit.text() == "Re-enable"
        assert all(s.key.verb is Verb.ENABLE_SERVICE for s in undo.steps)  # nothing moves back by itself
        assert undo.steps or undo.refused or "nothing to undo" in dialog.notes.text()  # the plan says why
        assert not dialog.submit.isEnabled() or undo.sendable
        qtmodeltester.check(dialog.items)
        dialog.close()


def test_draining_an_esxi_host_lists_its_vms_and_a_proxy_node_offers_the_per_host_drain(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo("healthy")) as h:
        w, view = h.window, h.presentations[-1].view
        vc = view.estate.vcenters[0]
        host = next(x for x in vc.hosts if x.cluster_moref and any(v.host_moref == x.moref for v in vc.vms))
        w.select_key(HostRef(vc.vcenter, host.moref))
        w.moves.drain_action.trigger()
        dialog = w.recovery.writes.dialogs[("drain", vc.vcenter, host.moref, ())]
        h.wait_until(lambda: dialog.plan is not None)
        assert isinstance(dialog, DrainDialog) and dialog.plan is not None
        assert dialog.options.isRowVisible(dialog.timeout) and dialog.options.isRowVisible(dialog.move_powered_off)
        assert dialog.plan.steps[-1].key.verb is Verb.ENTER_MAINTENANCE
        dialog.close()
        snap = next(s for s in view.estate.openstack if any(n.is_vmware for n in s.nodes))
        proxy = next(n for n in snap.nodes if n.is_vmware)
        w.select_key(NodeRef(snap.cloud, proxy.hypervisor_hostname))
        w.moves.drain_action.trigger()
        refused = w.recovery.writes.dialogs[("drain", snap.cloud, proxy.host, ())]
        h.wait_until(lambda: refused.plan is not None)
        assert isinstance(refused, DrainDialog) and refused.plan is not None and refused.plan.refused
        assert refused.refusal.isVisibleTo(refused) and "cluster" in refused.refusal.text()
        assert refused.submit.isHidden()
        assert refused.options.isRowVisible(refused.offer) and refused.per_host.count() > 0
        refused.per_host_button.click()
        esxi = refused.per_host.currentData()
        assert isinstance(w.recovery.writes.dialogs[("drain", esxi.vcenter, esxi.moref, ())], ActionDialog)
        assert _sent(w.desk.runner.operations) == []
        for d in list(w.recovery.writes.dialogs.values()):
            d.close()


def test_read_only_mode_hides_move_and_drain(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("healthy", read_only=True)) as h:
        w = h.window
        assert not w.moves.move_action.isVisible() and not w.moves.drain_action.isVisible()
        assert all(b.isHidden() for b in w.activity.buttons.values())
        assert not w.activity.dismiss_button.isHidden()
        assert all(item.state is not ItemState.SENDING for op in w.desk.runner.operations for item in op.items)
