"""Export on the demo through the window's actions: the CSVs hold what the tables show; copy the details."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from hybridview.views.export import safe_cell
from hybridview.views.problems_rows import PROBLEM_COLUMNS, SINCE_COLUMN
from hybridview.views.presentation import NOVA_COLUMNS
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui


def _shown(model: QAbstractItemModel, parent: QModelIndex | None = None) -> Iterator[list[str]]:
    """Every row the model holds, depth first, as its cells' display texts."""
    parent = parent if parent is not None else QModelIndex()
    for r in range(model.rowCount(parent)):
        yield [str(model.index(r, c, parent).data() or "") for c in range(model.columnCount(parent))]
        yield from _shown(model, model.index(r, 0, parent))


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _export(h: WindowHarness, monkeypatch: pytest.MonkeyPatch, name: str, path: Path) -> list[list[str]]:
    asked: list[str] = []

    def save_as(*args: object, **kwargs: object) -> tuple[str, str]:
        asked.append(str(args[1]))
        return str(path), "CSV files (*.csv)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)  # the one mock: the file dialog
    export = h.window.export
    export.actions[name].trigger()
    assert asked and "CSV" in asked[0]
    task = export.task
    assert task is not None
    h.run(asyncio.shield(task))
    assert export.last_message.startswith("✔ Exported"), export.last_message
    return _read(path)


def test_problems_and_the_nova_tree_export_what_the_tables_show(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        h.wait_until(lambda: w.problems.table is not None and w.problems.builds >= len(h.presentations))
        lines = _export(h, monkeypatch, "problems", tmp_path / "problems.csv")
        assert lines[0] == [*PROBLEM_COLUMNS, "Since (UTC)", "Id"]
        table = list(_shown(w.problems.model))
        assert len(lines) == 1 + len(table) and table
        for line, shown in zip(lines[1:], table, strict=True):
            assert line[:SINCE_COLUMN] + line[SINCE_COLUMN + 1 : len(PROBLEM_COLUMNS)] == [
                safe_cell(c) for c in shown[:SINCE_COLUMN] + shown[SINCE_COLUMN + 1 :]
            ]
        assert lines[1][0] == "✖ CRITICAL" and lines[1][1] == "Nova", "the failed KVM host first, in words"

        nova = _export(h, monkeypatch, "nova", tmp_path / "nova.csv")
        assert nova[0] == ["State", *NOVA_COLUMNS, "Depth", "Parent", "Id"]
        tree = list(_shown(w.nova_model))
        assert [line[1 : 1 + len(NOVA_COLUMNS)] for line in nova[1:]] == [[safe_cell(c) for c in t] for t in tree]
        assert "CRITICAL" in {line[0] for line in nova[1:]}

        w.filter_bar.problems.setChecked(True)  # "problems only": the export follows what is shown
        h.wait_until(lambda: len(list(_shown(w.nova_model))) < len(tree))
        h.wait_until(lambda: not w._steps)
        filtered = _export(h, monkeypatch, "nova", tmp_path / "nova-problems.csv")
        assert 1 < len(filtered) < len(nova)
        assert [line[1] for line in filtered[1:]] == [t[0] for t in _shown(w.nova_model)]
        assert {line[0] for line in filtered[1:]} <= {"CRITICAL", "WARNING", "STALE"}


def test_current_view_and_copy_details(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        w = h.window
        assert w.export.current() == "problems", "the Problems tab is shown first"
        w.tabs.setCurrentIndex(w.tabs.indexOf(w.timeline))
        assert w.export.current() == "timeline"
        h.wait_until(lambda: w.selected_key is not None and bool(w.details.toPlainText().strip()))
        QApplication.clipboard().clear()
        qtbot.keyClick(w, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        text = QApplication.clipboard().text()
        assert text == w.details.toPlainText() and text.strip()
        assert "<" not in text.splitlines()[0], "plain text, not the HTML"

        h.wait_until(lambda: w.timeline.builds > 0)
        lines = _export(h, monkeypatch, "timeline", tmp_path / "timeline.csv")
        assert len(lines) == 1 + w.timeline.model.rowCount()
        assert "failure" in {line[1] for line in lines[1:]}
