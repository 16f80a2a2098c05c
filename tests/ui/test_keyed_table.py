"""The keyed flat table: any sequence of row lists is reached by splicing, never by a reset."""

from __future__ import annotations

import random

import pytest
from pytestqt.modeltest import ModelTester

from hybridview.ui.keyed_table import KEY_ROLE, KeyedRow, KeyedTableModel

pytestmark = pytest.mark.ui


def _shown(model: KeyedTableModel) -> list[tuple[object, str]]:
    return [(model.index(r, 0).data(KEY_ROLE), model.index(r, 1).data()) for r in range(model.rowCount())]


def test_random_sequences_keep_the_table_consistent(qtmodeltester: ModelTester) -> None:
    model = KeyedTableModel(("Key", "Value"))
    qtmodeltester.check(model)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    rng = random.Random(3)
    for _ in range(300):
        keys = rng.sample(range(12), rng.randint(0, 12))
        rows = [KeyedRow(k, (str(k), f"v{rng.randint(0, 2)}")) for k in keys]
        model.apply(rows)
        assert _shown(model) == [(r.key, r.cells[1]) for r in rows]
        assert model.keys() == keys
    assert resets == []


def test_update_changes_one_row_in_place() -> None:
    model = KeyedTableModel(("Key", "Value"))
    model.apply([KeyedRow("a", ("a", "1")), KeyedRow("b", ("b", "1"))])
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    model.update(KeyedRow("b", ("b", "2"), level="failed"))
    assert changed == [1] and model.cell("b", 1) == "2"
    model.update(KeyedRow("b", ("b", "2"), level="failed"))  # the same again: no signal
    assert changed == [1]
