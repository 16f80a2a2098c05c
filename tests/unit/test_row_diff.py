"""The row differences a Qt model applies: replayed on plain lists, they give exactly the new rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hybridview.core.health import Severity
from hybridview.core.identity import ClusterRef, HostRef, Ref
from hybridview.views.row_diff import Changed, Inserted, Removed, RowChange, diff_rows, unique_siblings
from hybridview.views.rows import Row


@dataclass
class _Shown:
    """What a model would show: rows by parent key, replayed from changes."""

    row: Row | None
    children: list[_Shown] = field(default_factory=list)


def _build(row: Row) -> _Shown:
    return _Shown(row, [_build(child) for child in unique_siblings(row.children)])


def _find(node: _Shown, key: Ref | None) -> _Shown:
    if key is None or (node.row is not None and node.row.key == key):
        return node
    for child in node.children:
        if (found := _find_or_none(child, key)) is not None:
            return found
    raise AssertionError(f"parent {key} is not shown")


def _find_or_none(node: _Shown, key: Ref) -> _Shown | None:
    if node.row is not None and node.row.key == key:
        return node
    return next((f for c in node.children if (f := _find_or_none(c, key)) is not None), None)


def _replay(old: list[Row], changes: list[RowChange]) -> _Shown:
    root = _Shown(None, [_build(r) for r in unique_siblings(old)])
    for change in changes:
        parent = _find(root, change.parent)
        if isinstance(change, Removed):
            assert 0 <= change.first and change.first + change.count <= len(parent.children)
            del parent.children[change.first : change.first + change.count]
        elif isinstance(change, Inserted):
            assert 0 <= change.position <= len(parent.children)
            parent.children[change.position : change.position] = [_build(r) for r in change.rows]
        else:
            assert isinstance(change, Changed)
            shown = parent.children[change.position]
            assert shown.row is not None and shown.row.key == change.row.key
            shown.row = change.row
    return root


def _as_rows(node: _Shown) -> list[tuple[Row, object]]:
    return [(c.row, _as_rows(c)) for c in node.children if c.row is not None]


def _expected(rows: list[Row]) -> list[tuple[Row, object]]:
    return [(r, _expected(list(r.children))) for r in unique_siblings(rows)]


def _same(shown: list[tuple[Row, object]], wanted: list[tuple[Row, object]]) -> bool:
    if len(shown) != len(wanted):
        return False
    return all(
        a.key == b.key and a.same_content(b) and _same(ca, cb)  # type: ignore[arg-type]
        for (a, ca), (b, cb) in zip(shown, wanted, strict=True)
    )


def _host(moref: str, state: str = "connected") -> Row:
    return Row(HostRef("vc1", moref), (moref, state), Severity.CRITICAL if state != "connected" else Severity.OK)


def _cluster(moref: str, *hosts: Row) -> Row:
    return Row(ClusterRef("vc1", moref), (moref,), children=hosts)


def test_unchanged_rows_need_no_change() -> None:
    rows = [_cluster("c1", _host("a"), _host("b"))]
    assert diff_rows(rows, rows) == []


def test_first_load_is_one_insert_per_run_of_siblings() -> None:
    rows = [_cluster("c1", _host("a")), _cluster("c2"), _cluster("c3")]
    assert diff_rows([], rows) == [Inserted(None, 0, tuple(rows))]


def test_a_changed_host_is_one_change_at_its_place() -> None:
    old = [_cluster("c1", _host("a"), _host("b"), _host("c"))]
    new = [_cluster("c1", _host("a"), _host("c", "notResponding"))]
    assert diff_rows(old, new) == [
        Removed(ClusterRef("vc1", "c1"), 1, 1),
        Changed(ClusterRef("vc1", "c1"), 1, _host("c", "notResponding")),
    ]


def test_random_forests_replay_to_the_new_rows() -> None:
    rng = random.Random(7)

    def forest() -> list[Row]:
        clusters = []
        for c in rng.sample(range(6), rng.randint(0, 6)):
            hosts = [
                _host(f"h{rng.randint(0, 8)}", rng.choice(["connected", "notResponding"]))
                for _ in range(rng.randint(0, 7))
            ]
            clusters.append(_cluster(f"c{c}", *hosts))  # duplicate host keys among siblings on purpose
        return clusters

    old = forest()
    for _ in range(300):
        new = forest()
        shown = _replay(old, diff_rows(old, new))
        assert _same(_as_rows(shown), _expected(new))
        old = new
