"""Property-based tests of the Nova payload mappers and of the read that skips malformed records.

Records start from real shapes (every Nova API sample in tests/data and what the Nova peer
returned) and are mutated, or are arbitrary JSON. Profiles: tests/conftest.py ("ci" by
default; HYBRIDVIEW_FUZZ_PROFILE=slow for 10,000 cases per property).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridview.backends.nova import payloads as p
from hybridview.backends.nova import reads
from hybridview.core.model import ComputeService, OpenStackSnapshot
from tests.unit.fuzz_strategies import (
    ENDPOINTS,
    JSON,
    NOT_TEXT_OR_ID,
    FakeComputeSession,
    assert_well_typed,
    mutated,
    parse_skip,
    with_each_type,
)

DATA = Path(__file__).resolve().parents[1]
SAMPLE_FILES = sorted((DATA / "data" / "nova-api-samples").rglob("*.json")) + sorted(
    (DATA / "peers" / "nova" / "captured").glob("*.json")
)
KEYS = ("services", "hypervisors", "servers", "migrations")


def _seeds(key: str) -> list[dict[str, Any]]:
    bodies = [json.loads(f.read_text(encoding="utf-8")) for f in SAMPLE_FILES]
    rows = [r for body in bodies if isinstance(body, dict) for r in body.get(key) or () if isinstance(r, dict)]
    assert rows, f"no {key} records in the Nova samples: is tests/data/nova-api-samples missing?"
    return rows


SEEDS = {key: _seeds(key) for key in KEYS}
SERVICES = [p.service("c1", raw) for raw in SEEDS["services"]]
# The fields each mapper reads (nested ones too), so that mutations hit them often.
READ_KEYS = {
    "services": ("binary", "host", "id", "zone", "state", "status", "disabled_reason", "forced_down", "updated_at"),
    "hypervisors": (
        *("hypervisor_hostname", "id", "service", "hypervisor_type", "state", "status", "host_ip"),
        *("host", "disabled_reason"),  # in "service"
        *("vcpus", "vcpus_used", "memory_mb", "memory_mb_used"),  # capacity, below 2.88
    ),
    "servers": (
        *("id", "name", "tenant_id", "project_id", "status", "flavor", "image", "OS-EXT-AZ:availability_zone"),
        *("OS-EXT-STS:vm_state", "OS-EXT-STS:task_state", "OS-EXT-STS:power_state"),
        *("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname"),
        *("original_name", "vcpus", "ram"),  # in "flavor"
    ),
    "migrations": (
        *("uuid", "id", "instance_uuid", "migration_type", "status", "created_at", "updated_at"),
        *("source_compute", "dest_compute", "source_node", "dest_node"),
    ),
}
REQUIRED = {"services": ("binary", "host"), "hypervisors": ("hypervisor_hostname",), "servers": ("status",)}
REQUIRED["migrations"] = ("instance_uuid", "status")
KIND = {"services": "service", "hypervisors": "hypervisor", "servers": "server", "migrations": "migration"}
NAME_KEY = {"services": "id", "hypervisors": "id", "servers": "id", "migrations": "uuid"}


def _mapper(key: str, services: list[ComputeService] = SERVICES) -> Callable[[Any], Any]:
    return {
        "services": lambda raw: p.service("c1", raw),
        "hypervisors": lambda raw: p.compute_node("c1", raw, services),
        "servers": lambda raw: p.instance("c1", raw),
        "migrations": lambda raw: p.migration("c1", raw),
    }[key]


def _mapped(snapshot: OpenStackSnapshot, key: str) -> tuple[Any, ...]:
    return {
        "services": snapshot.services,
        "hypervisors": snapshot.nodes,
        "servers": snapshot.instances,
        "migrations": snapshot.migrations,
    }[key]


RECORDS = {key: st.one_of(mutated(SEEDS[key], READ_KEYS[key]), JSON) for key in KEYS}


def _malformed(key: str, raw: Any) -> bool:
    try:
        _mapper(key)(raw)
    except p.MalformedPayload:
        return True
    return False


# Records the mapper rejects, 1-3 of them; and what the seeds map to (the good records of a read).
MALFORMED = {
    key: st.lists(RECORDS[key].filter(functools.partial(_malformed, key)), min_size=1, max_size=3) for key in KEYS
}
EXPECTED = {key: tuple(_mapper(key)(raw) for raw in SEEDS[key]) for key in KEYS}


# --- each mapper on its own ---------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@given(data=st.data())
def test_a_mapper_returns_a_well_typed_record_or_raises_malformed_payload(key: str, data: st.DataObject) -> None:
    raw = data.draw(RECORDS[key], label="record")
    try:
        record = _mapper(key)(raw)
    except p.MalformedPayload as exc:
        cause = str(exc)
    else:
        assert_well_typed(record)
        return
    assert cause.startswith(KIND[key]), cause  # the cause names the record type and the field


UNREAD_FIELDS = {
    key: st.dictionaries(
        st.text(max_size=10).filter(lambda k, key=key: k not in READ_KEYS[key]), JSON, min_size=1, max_size=4
    )
    for key in KEYS
}


@pytest.mark.parametrize("key", KEYS)
def test_each_field_read_holding_each_json_type_maps_well_typed_or_raises_malformed_payload(key: str) -> None:
    """The exhaustive grid beside the random search: every seed, every field read, one value of each type."""
    outcomes = {"mapped": 0, "malformed": 0}
    for seed in SEEDS[key]:
        for raw in with_each_type(seed, READ_KEYS[key]):
            try:
                record = _mapper(key)(raw)
            except p.MalformedPayload:
                outcomes["malformed"] += 1
                continue
            assert_well_typed(record)
            outcomes["mapped"] += 1
    assert outcomes["mapped"] and outcomes["malformed"], outcomes


@given(data=st.data())
def test_fields_no_mapper_reads_change_nothing(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(KEYS), label="collection")
    seed = SEEDS[key][data.draw(st.integers(0, len(SEEDS[key]) - 1), label="seed")]
    extra = data.draw(UNREAD_FIELDS[key], label="extra fields")
    assert _mapper(key)({**extra, **seed}) == _mapper(key)(seed)


LINK = st.fixed_dictionaries(
    {"rel": st.just("next") | JSON},
    optional={"href": st.sampled_from(["http://[::1/x?marker=a", "http://x/?marker=a&limit=2"]) | st.text() | JSON},
)
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"servers": st.lists(JSON, max_size=3) | JSON}, optional={"servers_links": st.lists(LINK | JSON) | JSON}
    ),
)


@given(body=BODY)
def test_a_response_gives_its_records_and_next_page_or_raises_malformed_payload(body: Any) -> None:
    try:
        records = p.items(body, "servers")
        params = p.next_page_params(body, "servers")
    except p.MalformedPayload:
        return
    assert isinstance(records, list)
    assert params is None or all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


# --- the read: good records kept, bad ones skipped and named ------------------------------


NOT_AN_OBJECT = JSON.filter(lambda v: not isinstance(v, dict))
NOT_AN_ID = NOT_TEXT_OR_ID | st.just("") | st.integers(max_value=-1)


@st.composite
def _bad_record(draw: st.DrawFn, key: str, token: str) -> tuple[Any, str | None]:
    """A record the mapper must reject, and its name in the warning (None: its position)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(NOT_AN_OBJECT), None
    raw = copy.deepcopy(SEEDS[key][draw(st.integers(0, len(SEEDS[key]) - 1))])
    broken = REQUIRED[key][draw(st.integers(0, len(REQUIRED[key]) - 1))]
    if draw(st.booleans()):
        raw.pop(broken, None)
    else:
        raw[broken] = draw(NOT_TEXT_OR_ID)
    if draw(st.booleans()):
        raw[NAME_KEY[key]] = token
        return raw, f"id {token}"
    for id_key in ("id", "uuid"):  # no usable id: named by position
        if draw(st.booleans()):
            raw.pop(id_key, None)
        else:
            raw[id_key] = draw(NOT_AN_ID)
    return raw, None


def _read(data: st.DataObject, endpoint: reads.Endpoint, rows: list[Any]) -> Any:
    """A read where ``endpoint`` answers ``rows`` and the others their seeds, over pages of 1-4 records."""
    page_size = data.draw(st.integers(1, 4), label="page size")
    records = {e.path: rows if e is endpoint else SEEDS[e.key] for e in ENDPOINTS}
    return reads.read_snapshot(FakeComputeSession(records, page_size=page_size), page_size)


def _assert_every_good_record_kept(read: Any) -> None:
    """The good records of every collection are the seeds, in their order, whatever was inserted among them."""
    for endpoint in ENDPOINTS:
        assert _mapped(read.value, endpoint.key) == EXPECTED[endpoint.key]


@given(data=st.data())
def test_a_read_keeps_every_good_record_and_names_each_malformed_one(data: st.DataObject) -> None:
    endpoint = data.draw(st.sampled_from(ENDPOINTS), label="collection")
    rows: list[tuple[Any, bool, str | None]] = [(raw, False, None) for raw in SEEDS[endpoint.key]]
    for i in range(data.draw(st.integers(1, 3), label="malformed records")):
        raw, name = data.draw(_bad_record(endpoint.key, f"bad-{i}"), label=f"malformed record {i}")
        rows.insert(data.draw(st.integers(0, len(rows))), (raw, True, name))
    expected = sorted(name or f"record {pos}" for pos, (_raw, bad, name) in enumerate(rows, start=1) if bad)

    read = _read(data, endpoint, [raw for raw, _bad, _name in rows])

    _assert_every_good_record_kept(read)
    skips = [parse_skip(w) for w in read.warnings]
    assert {(s.kind, s.source) for s in skips} == {(endpoint.kind, endpoint.path)}
    assert sum(s.count for s in skips) == len(expected)
    assert sorted(name for s in skips for name in s.names) == expected
    assert all("malformed" in w for w in read.warnings)


@given(data=st.data())
def test_a_read_skips_exactly_the_records_its_mapper_rejects(data: st.DataObject) -> None:
    endpoint = data.draw(st.sampled_from(ENDPOINTS), label="collection")
    bad = data.draw(MALFORMED[endpoint.key], label="malformed records")
    rows = list(SEEDS[endpoint.key])
    for raw in bad:
        rows.insert(data.draw(st.integers(0, len(rows))), raw)

    read = _read(data, endpoint, rows)

    _assert_every_good_record_kept(read)
    skips = [parse_skip(w) for w in read.warnings]
    assert sum(s.count for s in skips) == len(bad)
    assert not [s.cause for s in skips if s.cause.startswith("unexpected")]
