"""DiffTreeModel follows new row trees incrementally and stays a valid Qt model."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QTimer
from PySide6.QtGui import QIcon
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, HostRef, Ref, ref_text
from hybridview.views.rows import Row
from hybridview.ui.kept_rows import KeptRows
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


def _dump(model: DiffTreeModel, parent: QModelIndex | None = None) -> list[object]:
    """Every cell of the model, depth first: its text, key, severity and tooltip, and its children's."""
    parent = parent or QModelIndex()
    cells: list[object] = []
    for row in range(model.rowCount(parent)):
        for column in range(model.columnCount(parent)):
            index = model.index(row, column, parent)
            cells.append((row, column, index.data(), index.data(KEY_ROLE), index.data(SEVERITY_ROLE), index.data(3)))
        cells.append(_dump(model, model.index(row, 0, parent)))
    return cells


def _walk(rows: Sequence[Row]) -> Iterator[Row]:
    for row in rows:
        yield row
        yield from _walk(row.children)


def _whole_rows(model: DiffTreeModel, target: Sequence[Row], before: set[Ref], parent: QModelIndex) -> bool:
    """Below ``parent``: every row shown is a target row with its target children in order, all of them
    for a row that was not shown before (an inserted row comes whole), and so on down."""
    rows = {row.key: row for row in _walk(target)}
    for position in range(model.rowCount(parent)):
        index = model.index(position, 0, parent)
        row = rows[index.data(KEY_ROLE)]
        shown = [model.index(r, 0, index).data(KEY_ROLE) for r in range(model.rowCount(index))]
        wanted = iter(child.key for child in row.children)
        if not all(key in wanted for key in shown):  # a subsequence: target order
            return False
        if row.key not in before and len(shown) != len(row.children):
            return False
        if not _whole_rows(model, target, before, index):
            return False
    return True


def _big(hosts: int, state: str = "connected") -> list[Row]:
    return _tree(*((f"c{c}", [_host(f"h{c}-{h}", state) for h in range(hosts)]) for c in range(3)))


def test_a_big_splice_spread_over_turns_ends_as_one_applied_at_once(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    at_once, chunked = _model(), DiffTreeModel(("name", "state"), lambda _name: QIcon(), rows_per_turn=50)
    qtmodeltester.check(chunked)  # checks the model at every signal of every turn
    few = _tree(("c0", [_host("h0-7")]))
    full = _big(300)
    for model in (at_once, chunked):
        model.apply(few)
    turns_seen: list[int] = []
    whole: list[bool] = []
    before = {row.key for row in _walk(few)}

    def tick() -> None:  # the event loop between two turns of the splice
        turns_seen.append(chunked.turns)
        whole.append(_whole_rows(chunked, full, before, QModelIndex()))

    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(tick)
    timer.start()
    at_once.apply(full)
    chunked.apply(full)  # 300 hosts back in c0, then c1 and c2 (301 rows each, one row a turn)
    assert chunked.splicing and chunked.rows == tuple(full)
    with qtbot.waitSignal(chunked.settled, timeout=10_000):
        pass
    timer.stop()
    assert not chunked.splicing
    assert _dump(chunked) == _dump(at_once)
    assert chunked.turns >= 300 // 50
    assert len(set(turns_seen)) >= chunked.turns  # the loop ran after every turn
    assert whole and all(whole)  # c0's hosts come back in turns; c1 and c2 each come whole


def test_a_diff_applied_mid_splice_queues_behind_it(qtbot: QtBot) -> None:
    at_once, chunked = _model(), DiffTreeModel(("name", "state"), lambda _name: QIcon(), rows_per_turn=40)
    few = _tree(("c0", [_host("h0-3")]))
    full = _big(200)
    later = _tree(("c2", [_host(f"h2-{h}", "notResponding", Severity.CRITICAL) for h in range(0, 200, 3)]))
    for model in (at_once, chunked):
        model.apply(few)
        model.apply(full)
    assert chunked.splicing
    staged = chunked.factory.stage(chunked.rows, later)  # staged from the rows the model is heading to
    chunked.apply(staged.rows, staged)
    at_once.apply(later)
    assert chunked.splicing and chunked.diffed_here == 2  # the two applies before: no rows were given staged
    with qtbot.waitSignal(chunked.settled, timeout=10_000):
        pass
    assert _dump(chunked) == _dump(at_once)


def test_a_row_asked_for_mid_splice_is_there() -> None:
    model = DiffTreeModel(("name", "state"), lambda _name: QIcon(), rows_per_turn=10)
    model.apply(_tree(("c0", [_host("h0-0")])))
    full = _big(100)
    model.apply(full)
    last = full[-1].children[-1]
    assert model.splicing
    assert model.row_for(last.key) is last  # as it will be shown, without splicing anything
    assert model.splicing
    index = model.index_of(last.key)  # a reader that needs the row has the rest spliced in now
    assert index.isValid() and index.data(KEY_ROLE) == last.key
    assert not model.splicing


def test_rows_taken_out_come_back_as_the_same_items_when_they_show_the_same() -> None:
    model, fresh = _model(), _model()
    model.apply(_big(20))
    kept_item = model.itemFromIndex(model.index_of(href("h1-5")))
    changed_item = model.itemFromIndex(model.index_of(href("h1-6")))
    model.apply(_tree(("c0", [_host("h0-0")])))  # a filter: c1 and c2 taken out whole, kept
    assert len(model.factory.kept) == 2 * 21 + 19
    back = _big(20)  # new rows, as a refresh makes them; one host of c1 changed meanwhile
    c1 = back[1]
    hosts = list(c1.children)
    hosts[6] = _host("h1-6", "notResponding", Severity.CRITICAL)
    back[1] = Row(c1.key, c1.cells, children=tuple(hosts))
    model.apply(back)
    fresh.apply(back)
    assert _dump(model) == _dump(fresh)
    assert model.itemFromIndex(model.index_of(href("h0-5"))) is not None
    assert model.itemFromIndex(model.index_of(href("h1-6"))) is not changed_item  # it shows otherwise now
    assert model.itemFromIndex(model.index_of(href("h1-5"))) is not kept_item  # c1 as a whole is built anew
    c2_host = model.itemFromIndex(model.index_of(href("h2-5")))
    model.apply(_tree(("c0", [_host("h0-0")])))
    model.apply(_big(20))
    assert model.itemFromIndex(model.index_of(href("h2-5"))) is c2_host  # the same shape: its items came back
    assert model.row_for(href("h2-5")) == _host("h2-5")
    fresh.apply(_big(20))
    assert _dump(model) == _dump(fresh)


def test_kept_rows_are_bounded_oldest_first() -> None:
    model = DiffTreeModel(("name", "state"), lambda _name: QIcon())
    model.factory.kept = KeptRows(limit=10)
    model.apply(_tree(*((f"c{c}", [_host(f"h{c}-{h}") for h in range(3)]) for c in range(3))))
    model.apply(())  # three clusters of four rows taken out: the oldest goes
    assert len(model.factory.kept) == 8
    model.apply(_tree(*((f"c{c}", [_host(f"h{c}-{h}") for h in range(3)]) for c in range(3))))
    assert len(model.factory.kept) == 0  # c1 and c2 came back; c0 was built again
