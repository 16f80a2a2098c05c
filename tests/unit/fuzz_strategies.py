"""Shared pieces of the property-based tests (test_fuzz_*.py); this module holds no tests itself.

Arbitrary JSON, mutations of real records (drop a key, set a key to any JSON value, the
same one level down), a check that a core object holds only the types it declares, the
parsing of a skip warning, and a compute API fake that pages what it is given.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from hybridview.backends.nova import reads
from hybridview.backends.nova.session import MAX_MICROVERSION

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
# Anything json.loads can return (NaN and Infinity included: Python's json accepts them).
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# One value of each JSON type (and a nested one), for the type grid tests.
ONE_OF_EACH_TYPE: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**64,
    1.5,
    float("nan"),
    "",
    "x",
    [],
    ["x"],
    {},
    {"id": "x"},
)
# A value that no text or id field accepts.
NOT_TEXT_OR_ID: st.SearchStrategy[Any] = (
    st.booleans()
    | st.floats()
    | st.lists(SCALARS, max_size=2)
    | st.dictionaries(st.text(max_size=4), SCALARS, max_size=2)
)


_ANY_KEY = st.text(max_size=8)


@st.composite
def mutated(
    draw: st.DrawFn,
    seeds: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    values: st.SearchStrategy[Any] = JSON,
) -> dict[str, Any]:
    """A copy of one seed with 0-4 mutations; ``keys`` are the ones the mapper reads, hit more often.

    A mutation drops a key or sets one to a drawn value, in the record itself or one level
    down (a nested object, or an object in a nested list).
    """
    record = copy.deepcopy(dict(seeds[draw(st.integers(0, len(seeds) - 1))]))
    for _ in range(draw(st.integers(0, 4))):
        nested = [v for v in record.values() if isinstance(v, dict)]
        nested += [item for v in record.values() if isinstance(v, list) for item in v if isinstance(item, dict)]
        target = nested[draw(st.integers(0, len(nested) - 1))] if nested and draw(st.booleans()) else record
        if draw(st.booleans()):  # half the time a key the mapper reads
            key = keys[draw(st.integers(0, len(keys) - 1))]
        else:  # else one the record has, or one past the end: any key at all
            present = list(target)
            pick = draw(st.integers(0, len(present)))
            key = present[pick] if pick < len(present) else draw(_ANY_KEY)
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(values)
    return record


def with_each_type(record: Mapping[str, Any], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Copies of ``record`` with one of ``keys`` set to one value of each JSON type, at the top or one level down."""
    holders = [
        k for k, v in record.items() if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict))
    ]
    copies = []
    for key, value in itertools.product(keys, ONE_OF_EACH_TYPE):
        copies.append({**record, key: value})
        for holder in holders:  # shallow copies: only the changed object is new
            inner = record[holder]
            if isinstance(inner, list):
                copies.append({**record, holder: [{**inner[0], key: value}, *inner[1:]]})
            else:
                copies.append({**record, holder: {**inner, key: value}})
    return copies


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type (unions, ``X | None``, ``tuple[X, ...]``; a bool is no int)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is tuple:
        (element, _ellipsis) = typing.get_args(hint)
        return isinstance(value, tuple) and all(conforms(v, element) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def assert_well_typed(obj: Any) -> None:
    """Every field of a core dataclass holds the type it declares (nested core objects checked too)."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        assert conforms(value, hints[f.name]), f"{type(obj).__name__}.{f.name} = {value!r}"
        for item in value if isinstance(value, tuple) else ():
            if dataclasses.is_dataclass(item):
                assert_well_typed(item)


WARNING = re.compile(
    r"skipped (?P<count>\d+) malformed (?P<kind>\S+) record\(s\)(?: in (?P<source>\S+))?: "
    r"(?P<cause>.+) \((?P<names>[^()]*)\); (?P<loss>.+)"
)


@dataclass(frozen=True)
class Skip:
    count: int
    kind: str
    source: str | None
    cause: str
    names: tuple[str, ...]


def parse_skip(warning: str) -> Skip:
    """One skip warning, taken apart; fails on any other text."""
    match = WARNING.fullmatch(warning)
    assert match, f"not a skip warning: {warning!r}"
    names = tuple(re.sub(r" and \d+ more$", "", match["names"]).split(", "))
    return Skip(int(match["count"]), match["kind"], match["source"], match["cause"], names)


# --- a compute API that serves given records, paged like Nova ------------------------------

ENDPOINTS = (reads.SERVICES, reads.HYPERVISORS, reads.SERVERS, reads.MIGRATIONS)


@dataclass
class _Response:
    body: Any
    status_code: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    def json(self) -> Any:
        if isinstance(self.body, ValueError):  # what requests raises for a body that is not JSON
            raise self.body
        return self.body


class _Placement:
    """A Placement with no resource provider (the capacity read of backends/nova/capacity.py)."""

    def get(self, path: str, *, microversion: str, raise_exc: bool, timeout: float) -> _Response:
        assert path == "/resource_providers" and microversion and not raise_exc
        return _Response({"resource_providers": []})


@dataclass
class _Compute:
    records: Mapping[str, Sequence[Any]]  # path -> every record of that collection
    page_size: int
    second_pages: Mapping[str, Any]  # path -> the body its second page answers instead

    def get(
        self, path: str, *, microversion: str, raise_exc: bool, params: dict[str, str] | None = None, timeout: float = 0
    ) -> _Response:
        assert microversion and not raise_exc
        if path == "/os-aggregates":  # the capacity read (backends/nova/capacity.py): none here
            return _Response({"aggregates": []})
        params = params or {}
        key = next(e.key for e in ENDPOINTS if e.path == path)
        start = int(params.get("marker", "p0").removeprefix("p"))
        if start and path in self.second_pages:
            return _Response(self.second_pages[path])
        rows = list(self.records.get(path, ()))
        end = start + self.page_size
        body: dict[str, Any] = {key: rows[start:end]}
        if end < len(rows):
            body[f"{key}_links"] = [{"rel": "next", "href": f"http://nova.invalid{path}?limit=1&marker=p{end}"}]
        return _Response(body)


class FakeComputeSession:
    """What ``reads.read_snapshot`` uses of a ComputeSession, without a network: path -> records."""

    cloud = "c1"

    def __init__(
        self,
        records: Mapping[str, Sequence[Any]],
        *,
        page_size: int = 1000,
        second_pages: Mapping[str, Any] | None = None,
    ) -> None:
        compute = _Compute(records, page_size, second_pages or {})
        self.conn = types.SimpleNamespace(compute=compute, placement=_Placement())

    def microversion(self, collection: str) -> str:
        return MAX_MICROVERSION[collection]

    def at_least(self, collection: str, version: str) -> bool:
        def as_tuple(v: str) -> tuple[int, ...]:
            return tuple(int(p) for p in v.split("."))

        return as_tuple(self.microversion(collection)) >= as_tuple(version)

    def close(self) -> None:
        pass
