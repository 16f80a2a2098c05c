"""The Timeline tab records through the same recorder as ``watch`` and ``status``: a history that cannot be
written still gives the timeline, with the reason to show above it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hybridview.service.history import History
from hybridview.service.recording import HistoryRecorder
from hybridview.ui.timeline_view import Filters, build
from tests.unit.factories import T0
from tests.unit.test_history_recording import FULL_DISK, kvm1_view

pytestmark = pytest.mark.ui


def test_the_build_records_and_reads_back_through_the_recorder(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    recorder = HistoryRecorder(History(path), lambda _text: None)
    build(kvm1_view(), recorder, [], Filters(), record=True)
    built = build(kvm1_view("down", at=T0 + timedelta(minutes=5)), recorder, [], Filters(), record=True)
    assert [(e.source, e.kind) for e in built.events] == [("history", "compute service down")]
    assert built.unsaved is None
    assert [c.state for c in History(path).changes()] == ["down"]


def test_an_unwritable_history_still_builds_and_says_why() -> None:
    warnings: list[str] = []
    recorder = HistoryRecorder(History(FULL_DISK), warnings.append)
    build(kvm1_view(), recorder, [], Filters(), record=True)
    built = build(kvm1_view("down", at=T0 + timedelta(minutes=5)), recorder, [], Filters(), record=True)
    assert [(e.source, e.kind) for e in built.events] == [("history", "compute service down")]  # from memory
    assert built.unsaved is not None and str(FULL_DISK) in built.unsaved
    assert len(warnings) == 1
