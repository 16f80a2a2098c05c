"""The Activity tab on the demo: moves found running (as after a restart), live progress, controls, dismissing."""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.modeltest import ModelTester

from hybridview.core.actions import Verb
from hybridview.core.activity import running_moves
from hybridview.ui.activity_view import STATE_COLUMN, ActivityView
from hybridview.ui.keyed_table import ICON_ROLE
from hybridview.ui.move_actions import ControlDialog
from hybridview.views.activity_rows import ACTIVITY_COLUMNS, ActivityRow, Control, item_key, progress_text
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui
SCENARIO = "live-migration-in-progress"
PROGRESS = ACTIVITY_COLUMNS.index("Progress")


def test_progress_text_reads_nova_byte_counters_and_vcenter_percent() -> None:
    gib = 1024**3
    memory = {"memory_total_bytes": 2 * gib, "memory_processed_bytes": int(1.26 * gib)}
    assert progress_text(memory) == "██████░░░░ 63% · 1.3 GiB of 2.0 GiB memory"
    remaining = {"memory_total_bytes": 2 * gib, "memory_remaining_bytes": gib, "disk_total_bytes": 10 * gib,
                 "disk_processed_bytes": 5 * gib}  # fmt: skip
    assert progress_text(remaining) == "█████░░░░░ 50% · 1.0 GiB of 2.0 GiB memory · 5.0 GiB of 10.0 GiB disk"
    assert progress_text({"percent": 40, "task_key": "task-1"}) == "████░░░░░░ 40%"
    assert progress_text({"migration_id": "7"}) == "" and progress_text(None) == ""


def _row_for(activity: ActivityView, endpoint: str, target: str) -> ActivityRow | None:
    return next((r for r in activity.rows.values() if r.matches == (endpoint, target)), None)


def _wait_found(h: WindowHarness) -> None:
    activity = h.window.activity
    moves = running_moves(h.presentations[-1].view)
    assert moves, f"the {SCENARIO} scenario has moves running"
    h.wait_until(lambda: all(_row_for(activity, m.endpoint, m.target) is not None for m in moves))


def test_moves_running_in_the_estate_are_found_and_shown_with_their_state(
    qloop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    with window_over(qloop, fast_demo(SCENARIO)) as h:
        w = h.window
        resets: list[int] = []
        w.activity.model.modelReset.connect(lambda: resets.append(1))
        _wait_found(h)
        moves = running_moves(h.presentations[-1].view)
        kinds = {m.kind for m in moves}
        assert "live-migration" in kinds
        for move in moves:
            row = _row_for(w.activity, move.endpoint, move.target)
            assert row is not None
            position = w.activity.model.row_of(row.key)
            state = w.activity.model.index(position, STATE_COLUMN)
            assert str(state.data()).split(" ", 1)[0] in "⟳⚠✔✖?…■⊘" and len(str(state.data())) > 2  # glyph + words
            assert state.data(ICON_ROLE) == row.icon  # and an icon, never colour alone
            assert row.cells[0] and row.cells[1]
        live = next(m for m in moves if m.kind == "live-migration")
        h.wait_until(lambda: "%" in str(_cell(w.activity, live.endpoint, live.target, PROGRESS)))
        assert w.tabs.tabText(w.tabs.indexOf(w.activity)).startswith("Activity (")
        h.refresh()
        _wait_found(h)  # a refresh keeps them, spliced by key
        assert resets == []
        qtmodeltester.check(w.activity.model)


def _cell(activity: ActivityView, endpoint: str, target: str, column: int) -> object:
    row = _row_for(activity, endpoint, target)
    return activity.model.cell(row.key, column) if row is not None else None


def test_a_found_live_migration_is_aborted_through_a_confirmation_and_sent_once(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo(SCENARIO)) as h:
        w = h.window
        _wait_found(h)
        live = next(m for m in running_moves(h.presentations[-1].view) if m.kind == "live-migration" and m.migration_id)

        def abortable() -> bool:
            row = _row_for(w.activity, live.endpoint, live.target)
            return row is not None and Control.ABORT in row.controls

        h.wait_until(abortable)
        row = _row_for(w.activity, live.endpoint, live.target)
        assert row is not None
        w.activity.view.setCurrentIndex(w.activity.model.index_of(row.key))
        abort = w.activity.buttons[Control.ABORT]
        assert abort.isEnabled() and w.activity.buttons[Control.FORCE_COMPLETE].isEnabled()
        assert not w.activity.buttons[Control.CONFIRM].isEnabled()
        sent_before = [op for op in w.desk.runner.operations if not op.found]
        abort.click()
        dialog = w.recovery.writes.dialogs[(f"control {Control.ABORT.value}", live.endpoint, live.target, ())]
        assert isinstance(dialog, ControlDialog)
        h.wait_until(lambda: dialog.plan is not None)
        assert dialog.plan is not None
        assert dialog.plan.refused is None, dialog.plan.refused
        assert [s.key.verb for s in dialog.plan.steps] == [Verb.ABORT_LIVE_MIGRATION]
        assert [op for op in w.desk.runner.operations if not op.found] == sent_before  # nothing before Send
        dialog.submit.click()
        dialog.submit.click()
        sent = [op for op in w.desk.runner.operations if not op.found]
        assert len(sent) == len(sent_before) + 1
        h.run(sent[-1].finished.wait())
        assert sent[-1].ok, sent[-1].summary()
        dialog.close()


def test_a_migration_waiting_at_verify_resize_is_confirmed_and_stays_until_dismissed(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo(SCENARIO)) as h:
        w = h.window
        _wait_found(h)
        waiting = next(m for m in running_moves(h.presentations[-1].view) if m.kind == "verify-resize")
        row = _row_for(w.activity, waiting.endpoint, waiting.target)
        assert row is not None and row.controls == {Control.CONFIRM, Control.REVERT}
        assert row.cells[STATE_COLUMN] == "⚠ waiting: confirm or revert"
        w.activity.view.setCurrentIndex(w.activity.model.index_of(row.key))
        assert not w.activity.buttons[Control.ABORT].isEnabled()
        w.activity.buttons[Control.CONFIRM].click()
        dialog = w.recovery.writes.dialogs[(f"control {Control.CONFIRM.value}", waiting.endpoint, waiting.target, ())]
        h.wait_until(lambda: dialog.plan is not None and dialog.submit.isEnabled())
        assert dialog.plan is not None and [s.key.verb for s in dialog.plan.steps] == [Verb.CONFIRM_RESIZE]
        dialog.submit.click()
        operation = dialog.operation
        assert operation is not None
        h.run(operation.finished.wait())
        assert operation.ok, operation.summary()
        mine = item_key(operation.number, operation.items[0].step.key)
        h.wait_until(lambda: w.activity.model.cell(mine, STATE_COLUMN) == "✔ done")
        h.refresh()  # the estate no longer shows it waiting; this window's finished item stays
        h.wait_until(lambda: _row_for(w.activity, waiting.endpoint, waiting.target) is not None and all(
            r.key[0] == "operation" for r in w.activity.rows.values() if r.matches == (waiting.endpoint, waiting.target)
        ))  # fmt: skip
        assert w.activity.dismiss_button.isEnabled()
        w.activity.dismiss_button.click()
        assert w.activity.model.row_of(mine) < 0
        running = [op for op in w.desk.runner.operations if op.found and not op.done]
        assert running, "the live migration found running is still followed"
        assert any(k[:2] == ("operation", running[0].number) for k in w.activity.model.keys())  # not dismissed
        dialog.close()
