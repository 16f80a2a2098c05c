"""Property-based tests of the capacity mappers (Placement providers, inventories, usages; os-aggregates)
and of the reader that skips a malformed provider.

Records start from what the real Nova peer returned (tests/peers/nova/captured) and are mutated,
or are arbitrary JSON. Profiles: tests/conftest.py.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hybridview.backends.nova import capacity
from hybridview.backends.nova import capacity_payloads as cp
from hybridview.backends.nova import payloads
from hybridview.backends.records import NAMED_PER_WARNING
from tests.unit.fuzz_strategies import JSON, assert_well_typed, mutated
from tests.unit.test_nova_payloads_capacity import AGGREGATES, FakeSession, captured, placement, snapshot

PROVIDERS = payloads.items(captured("placement_resource_providers"), "resource_providers")
INVENTORIES = captured("placement_inventories")
USAGES = captured("placement_usages")
AGGREGATE_RECORDS = payloads.items(captured("aggregates"), "aggregates")
RECORD = cp.ProviderRecord("u", "host1", 1, "u")


def _inventory_records() -> list[dict[str, Any]]:
    """Each inventory class of the seed as a one-class body, so mutations reach its fields."""
    return [
        {"resource_provider_generation": 1, "inventories": {rc: inv}} for rc, inv in INVENTORIES["inventories"].items()
    ]


INVENTORY_KEYS = ("total", "reserved", "allocation_ratio", "inventories", "resource_provider_generation")
INVENTORY_BODIES = st.one_of(mutated(_inventory_records(), INVENTORY_KEYS), JSON)
USAGE_BODIES = st.one_of(mutated([USAGES], ("usages", "resource_provider_generation", "VCPU", "MEMORY_MB")), JSON)


def _outcome(mapper: Any, raw: Any) -> Any:
    try:
        return mapper(raw)
    except payloads.MalformedPayload:
        return None


@given(raw=st.one_of(mutated(PROVIDERS, ("uuid", "name", "generation", "root_provider_uuid")), JSON))
def test_a_provider_record_maps_to_its_types_or_is_malformed(raw: Any) -> None:
    record = _outcome(cp.resource_provider, raw)
    if record is not None:
        assert isinstance(record.uuid, str) and isinstance(record.name, str)
        assert record.generation is None or type(record.generation) is int


@given(inventory=INVENTORY_BODIES, usage=USAGE_BODIES)
def test_inventories_and_usages_make_a_well_typed_provider_or_are_malformed(inventory: Any, usage: Any) -> None:
    counted = (_outcome(cp.inventories, inventory), _outcome(cp.usages, usage))
    if None in counted:
        return
    provider = cp.provider("c1", RECORD, *counted)
    assert_well_typed(provider)
    for use in provider.resources:
        assert 0 <= use.reserved <= use.total and use.allocation_ratio > 0 and use.used >= 0


@given(raw=st.one_of(mutated(AGGREGATE_RECORDS, ("id", "name", "availability_zone", "hosts")), JSON))
def test_an_aggregate_maps_well_typed_or_is_malformed(raw: Any) -> None:
    aggregate = _outcome(lambda r: cp.aggregate("c1", r), raw)
    if aggregate is not None:
        assert_well_typed(aggregate)


@given(bodies=st.lists(INVENTORY_BODIES, min_size=1, max_size=4))
def test_the_reader_keeps_the_good_providers_and_names_each_bad_one(bodies: list[Any]) -> None:
    names = [f"h{i}" for i in range(len(bodies))]
    answers = placement(dict.fromkeys(names, 1))
    for name, body in zip(names, bodies, strict=True):
        answers[f"/resource_providers/u-{name}/inventories"] = body
    good = {n for n, body in zip(names, bodies, strict=True) if _outcome(cp.inventories, body) is not None}
    session = FakeSession(answers, AGGREGATES)
    snap, warnings = capacity.CapacityReader().read(session, snapshot(*names))  # type: ignore[arg-type]
    assert {p.name for p in snap.providers} == good
    assert snap.capacity_error is None and len(snap.aggregates) == 1
    skipped = set(names) - good
    said = [SKIPPED.fullmatch(w) for w in warnings]
    assert all(said), warnings
    assert sum(int(m["count"]) for m in said if m) == len(skipped)
    named = {n for m in said if m for n in re.sub(r" and \d+ more$", "", m["names"]).split(", ")}
    assert named <= skipped and len(named) == sum(min(int(m["count"]), NAMED_PER_WARNING) for m in said if m)


SKIPPED = re.compile(
    r"skipped (?P<count>\d+) malformed resource provider record\(s\) in Placement: .+ \((?P<names>[^()]+)\);"
    r" that compute node's capacity is not counted"
)
