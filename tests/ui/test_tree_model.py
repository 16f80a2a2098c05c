"""DiffTreeModel follows new row trees incrementally and stays a valid Qt model."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QPersistentModelIndex
from PySide6.QtGui import QIcon
from pytestqt.modeltest import ModelTester

from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, HostRef, ref_text
from hybridview.views.rows import Row
from hybridview.ui.tree_model import KEY_ROLE, SEVERITY_ROLE, DiffTreeModel

pytestmark = pytest.mark.ui


def _model() -> DiffTreeModel:
    return DiffTreeModel(("name", "state"), lambda _name: QIcon())


def href(moref: str) -> HostRef:
    return HostRef("vc1", moref)


def cref(moref: str) -> ClusterRef:
    return ClusterRef("vc1", moref)


def _host(moref: str, state: str = "connected", severity: Severity = Severity.OK) -> Row:
    return Row(href(moref), (moref, state), severity)


def _tree(*clusters: tuple[str, list[Row]]) -> list[Row]:
    return [Row(cref(moref), (moref, ""), children=tuple(hosts)) for moref, hosts in clusters]


class _Signals:
    def __init__(self, model: DiffTreeModel) -> None:
        self.resets = 0
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self.changed: list[int] = []
        model.modelReset.connect(self._reset)
        model.rowsInserted.connect(lambda _p, first, last: self.inserted.append((first, last)))
        model.rowsRemoved.connect(lambda _p, first, last: self.removed.append((first, last)))
        model.dataChanged.connect(lambda top, _bottom, _roles: self.changed.append(top.row()))

    def _reset(self) -> None:
        self.resets += 1


def test_model_passes_qt_model_tester(qtmodeltester: ModelTester) -> None:
    model = _model()
    model.apply(_tree(("c1", [_host("h1"), _host("h2")]), ("c2", [_host("h3")])))
    qtmodeltester.check(model)


def test_updates_are_incremental_never_reset(qtmodeltester: ModelTester) -> None:
    model = _model()
    model.apply(_tree(("c1", [_host("h1"), _host("h2"), _host("h3")])))
    qtmodeltester.check(model, force_py=True)
    signals = _Signals(model)
    kept = QPersistentModelIndex(model.index_of(href("h3")))

    model.apply(_tree(("c1", [_host("h1"), _host("h3", "notResponding", Severity.CRITICAL)])))

    assert signals.resets == 0
    assert signals.removed == [(1, 1)]
    assert signals.changed == [1]
    assert kept.isValid() and kept.row() == 1
    assert kept.data() == "h3"
    assert model.index(1, 1, model.index_of(cref("c1"))).data() == "notResponding"
    assert model.index_of(href("h3")).data(SEVERITY_ROLE) == int(Severity.CRITICAL)


def test_unchanged_rows_emit_nothing() -> None:
    model = _model()
    rows = _tree(("c1", [_host("h1"), _host("h2")]))
    model.apply(rows)
    signals = _Signals(model)
    model.apply(rows)
    assert (signals.resets, signals.inserted, signals.removed, signals.changed) == (0, [], [], [])


def test_insert_in_the_middle_and_move(qtmodeltester: ModelTester) -> None:
    model = _model()
    qtmodeltester.check(model, force_py=True)
    model.apply(_tree(("c1", [_host("a"), _host("c")])))
    model.apply(_tree(("c1", [_host("a"), _host("b"), _host("c")])))
    model.apply(_tree(("c1", [_host("c"), _host("a")]), ("c2", [_host("b")])))
    top = model.index_of(cref("c1"))
    assert [model.index(r, 0, top).data(KEY_ROLE) for r in range(model.rowCount(top))] == [href("c"), href("a")]
    assert model.index_of(href("b")).parent().data(KEY_ROLE) == cref("c2")
    assert sorted(model.keys(), key=ref_text) == [cref("c1"), cref("c2"), href("a"), href("b"), href("c")]


def test_random_sequences_keep_the_model_consistent(qtmodeltester: ModelTester) -> None:
    rng = random.Random(42)
    model = _model()
    qtmodeltester.check(model, force_py=True)
    for _ in range(40):
        clusters = []
        for c in rng.sample(range(5), rng.randint(0, 5)):
            hosts = [
                _host(f"h{c}-{h}", rng.choice(["connected", "notResponding"]))
                for h in rng.sample(range(6), rng.randint(0, 6))
            ]
            clusters.append((f"c{c}", hosts))
        model.apply(_tree(*clusters))
        shown = [(model.index(r, 0).data(KEY_ROLE), model.rowCount(model.index(r, 0))) for r in range(model.rowCount())]
        assert shown == [(cref(moref), len(hosts)) for moref, hosts in clusters]


def test_duplicate_sibling_keys_leave_no_ghost_rows(qtmodeltester: ModelTester) -> None:
    model = _model()
    qtmodeltester.check(model, force_py=True)
    model.apply(_tree(("c1", [_host("x"), _host("x"), _host("y")])))
    model.apply(_tree(("c1", [_host("y"), _host("x")])))
    top = model.index_of(cref("c1"))
    assert [model.index(r, 0, top).data(KEY_ROLE) for r in range(model.rowCount(top))] == [href("y"), href("x")]


def test_key_role_hands_back_the_identity_object_itself() -> None:
    model = _model()
    rows = _tree(("c1", [_host("h1")]))
    model.apply(rows)
    cluster = model.index_of(cref("c1"))
    assert cluster.data(KEY_ROLE) is rows[0].key
    assert QPersistentModelIndex(model.index(0, 0, cluster)).data(KEY_ROLE) is rows[0].children[0].key
    assert model.index_of(HostRef("vc1", "c1")).isValid() is False  # same text parts, another kind
    assert model.row_for(href("h1")) is rows[0].children[0]
