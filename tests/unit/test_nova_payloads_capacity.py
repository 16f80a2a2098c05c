"""Placement and os-aggregates JSON -> core capacity, and the reader that keeps providers between reads.

The answers are what the real Nova peer's Placement and API returned (tests/peers/nova/captured,
refreshed by its smoke test with NOVA_PEER_CAPTURE=1); a missing file fails, nothing is skipped.
The reader runs over a fake Placement that serves real ``requests.Response`` objects.
"""

from __future__ import annotations

import copy
import json
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from hybridview.backends.nova import capacity
from hybridview.backends.nova import capacity_payloads as cp
from hybridview.backends.nova import payloads
from hybridview.core.model import ComputeNode, HostAggregate, OpenStackSnapshot, ResourceUse

CAPTURED = Path(__file__).resolve().parents[1] / "peers" / "nova" / "captured"


def captured(name: str) -> Any:
    path = CAPTURED / f"{name}.json"
    assert path.is_file(), (
        f"{path} is missing: refresh it with NOVA_PEER_CAPTURE=1 (tests/peers/nova/test_peer_smoke.py)"
    )
    return json.loads(path.read_text())


# --- the mappers on the peer's answers ----------------------------------------------------


def test_captured_providers_are_roots_named_after_the_computes() -> None:
    records = [
        cp.resource_provider(r) for r in payloads.items(captured("placement_resource_providers"), "resource_providers")
    ]
    assert sorted(r.name for r in records)[:3] == ["domain-c7.8b2e4f1a-3c5d-4e6f-9a0b-1c2d3e4f5a6b", "host1", "host2"]
    assert len(records) == 4 and all(r.is_root and isinstance(r.generation, int) for r in records)


def test_captured_inventories_and_usages_make_one_provider() -> None:
    record = cp.ProviderRecord("u1", "host2", 3, "u1")
    inventory, usage = cp.inventories(captured("placement_inventories")), cp.usages(captured("placement_usages"))
    assert (inventory.generation, usage.generation) == (3, 3)
    provider = cp.provider("c1", record, inventory, usage)
    assert provider.resources == (
        ResourceUse("DISK_GB", 1028, 0, 1.0, 1),
        ResourceUse("MEMORY_MB", 8192, 512, 1.0, 512),
        ResourceUse("VCPU", 10, 0, 4.0, 1),
    )
    vcpu = provider.use("VCPU")
    assert vcpu is not None and (vcpu.capacity, vcpu.free) == (40.0, 39.0)


def test_captured_aggregate_with_its_zone_and_hosts() -> None:
    (raw,) = payloads.items(captured("aggregates"), "aggregates")
    assert cp.aggregate("c1", raw) == HostAggregate("c1", "1", "capture-aggregate", "az-capture", ("host3",))


def test_an_aggregate_without_a_zone_or_hosts() -> None:
    assert cp.aggregate("c1", {"id": 7, "name": "ssd", "availability_zone": None, "hosts": None}) == HostAggregate(
        "c1", "7", "ssd", None, ()
    )


def test_a_usage_class_without_inventory_is_left_out_and_an_inventory_without_usage_is_unused() -> None:
    inventory = cp.Counted(1, {"VCPU": cp.Inventory(8, 0, 2.0)})
    usage = cp.Counted(1, {"VCPU": 3, "CUSTOM_GPU": 1})
    assert cp.provider("c", cp.ProviderRecord("u", "n", 1, "u"), inventory, usage).resources == (
        ResourceUse("VCPU", 8, 0, 2.0, 3),
    )
    assert cp.provider("c", cp.ProviderRecord("u", "n", 1, "u"), inventory, cp.Counted(1, {})).resources == (
        ResourceUse("VCPU", 8, 0, 2.0, 0),
    )


INVENTORY = {"total": 10, "reserved": 0, "allocation_ratio": 4.0, "min_unit": 1, "max_unit": 10, "step_size": 1}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"total": None}, "inventory 'VCPU' has no 'total'"),
        ({"total": "10"}, "inventory 'VCPU' 'total' is not a count"),
        ({"total": True}, "inventory 'VCPU' 'total' is not a count"),
        ({"total": -1}, "inventory 'VCPU' 'total' is not a count"),
        ({"reserved": 11}, "inventory 'VCPU' 'reserved' is not between 0 and its total"),
        ({"reserved": 1.5}, "inventory 'VCPU' 'reserved' is not an integer"),
        ({"allocation_ratio": 0}, "inventory 'VCPU' 'allocation_ratio' is not a positive number"),
        ({"allocation_ratio": float("nan")}, "inventory 'VCPU' 'allocation_ratio' is not a positive number"),
        ({"allocation_ratio": True}, "inventory 'VCPU' 'allocation_ratio' is not a positive number"),
        ({"allocation_ratio": "4.0"}, "inventory 'VCPU' 'allocation_ratio' is not a positive number"),
    ],
)
def test_a_malformed_inventory_names_its_class_and_field(change: dict[str, Any], error: str) -> None:
    body = {"resource_provider_generation": 1, "inventories": {"VCPU": {**INVENTORY, **change}}}
    with pytest.raises(payloads.MalformedPayload, match=f"^{error}$"):
        cp.inventories(body)


def aggregate_of(raw: Any) -> HostAggregate:
    return cp.aggregate("c", raw)


@pytest.mark.parametrize(
    ("mapper", "body", "error"),
    [
        (cp.inventories, {"inventories": []}, "inventories response has no 'inventories' object"),
        (cp.inventories, [], "inventories response is not an object"),
        (cp.inventories, {"inventories": {"VCPU": 4}}, "inventory 'VCPU' is not an object"),
        (cp.usages, {"usages": {"VCPU": "1"}}, "usages 'VCPU' is not a count"),
        (cp.usages, {"usages": {"VCPU": None}}, "usages has no 'VCPU'"),
        (
            cp.usages,
            {"usages": {}, "resource_provider_generation": "7"},
            "usages response 'resource_provider_generation' is not an integer",
        ),
        (cp.resource_provider, {"name": "host1"}, "resource provider has no 'uuid'"),
        (
            cp.resource_provider,
            {"uuid": "u", "name": "h", "generation": "2"},
            "resource provider 'generation' is not an integer",
        ),
        (aggregate_of, {"id": 1, "hosts": "host1"}, "aggregate 'hosts' is not a list of host names"),
        (aggregate_of, {"id": 1, "hosts": [1]}, "aggregate 'hosts' is not a list of host names"),
        (aggregate_of, {"name": "a"}, "aggregate has no 'id'"),
    ],
)
def test_malformed_capacity_records_say_which_field(mapper: Callable[[Any], Any], body: Any, error: str) -> None:
    with pytest.raises(payloads.MalformedPayload, match=f"^{error}$"):
        mapper(body)


def test_a_provider_is_named_by_its_name_then_uuid_then_position() -> None:
    assert cp.provider_name({"name": "host1", "uuid": "u"}, 3) == "host1"
    assert cp.provider_name({"name": 5, "uuid": "u"}, 3) == "u"
    assert cp.provider_name("junk", 3) == "record 3"


# --- the reader, over a fake Placement --------------------------------------------------------


def response(status: int, body: Any, *, request_id: str | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}.get(status, "")
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    page = isinstance(body, bytes) and body.startswith(b"<")
    answer.headers = CaseInsensitiveDict({"Content-Type": "text/html" if page else "application/json"})
    if request_id:
        answer.headers["x-openstack-request-id"] = request_id
    answer.url = "http://placement.invalid/"
    return answer


class FakeService:
    """Answers GETs from ``answers`` (path -> body, or a Response), and counts the paths asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def get(self, path: str, *, microversion: str, raise_exc: bool, timeout: float) -> requests.Response:
        assert microversion and not raise_exc and timeout > 0
        self.asked.append(path)
        if path not in self.answers:
            return response(404, {"errors": [{"status": 404, "title": "Not Found", "detail": f"no {path}"}]})
        found = self.answers[path]
        return found if isinstance(found, requests.Response) else response(200, copy.deepcopy(found))


class FakeSession:
    cloud = "c1"

    def __init__(self, placement: dict[str, Any], aggregates: Any) -> None:
        self.placement = FakeService(placement)
        self.compute = FakeService({"/os-aggregates": aggregates})
        self.conn = types.SimpleNamespace(placement=self.placement, compute=self.compute)

    def microversion(self, collection: str) -> str:
        assert collection == "aggregates"
        return "2.41"


def node(name: str) -> ComputeNode:
    return ComputeNode("c1", name, name, "QEMU", name, "up", "enabled", None, False)


def snapshot(*names: str) -> OpenStackSnapshot:
    return OpenStackSnapshot("c1", datetime.now(UTC), tuple(node(n) for n in names), (), (), ())


def placement(generations: dict[str, int], used: dict[str, int] | None = None) -> dict[str, Any]:
    """A Placement with one root provider per name, its VCPU inventory and usage."""
    answers: dict[str, Any] = {
        "/resource_providers": {
            "resource_providers": [
                {"uuid": f"u-{n}", "name": n, "generation": g, "root_provider_uuid": f"u-{n}"}
                for n, g in generations.items()
            ]
        }
    }
    for n, g in generations.items():
        answers[f"/resource_providers/u-{n}/inventories"] = {
            "resource_provider_generation": g,
            "inventories": {"VCPU": {**INVENTORY, "total": 8}},
        }
        answers[f"/resource_providers/u-{n}/usages"] = {
            "resource_provider_generation": g,
            "usages": {"VCPU": (used or {}).get(n, 0)},
        }
    return answers


AGGREGATES = {"aggregates": [{"id": 1, "name": "a1", "availability_zone": "az1", "hosts": ["h1"]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def vcpu_used(snap: OpenStackSnapshot) -> dict[str, int]:
    return {p.name: use.used for p in snap.providers if (use := p.use("VCPU")) is not None}


def test_first_read_asks_every_provider_then_only_those_whose_generation_moved() -> None:
    session = FakeSession(placement({"h1": 1, "h2": 1}), AGGREGATES)
    reader = capacity.CapacityReader(clock=Clock())
    snap, warnings = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert (vcpu_used(snap), snap.aggregates, snap.capacity_error, warnings) == (
        {"h1": 0, "h2": 0},
        (HostAggregate("c1", "1", "a1", "az1", ("h1",)),),
        None,
        (),
    )
    assert len(session.placement.asked) == 5

    session.placement.asked.clear()
    session.placement.answers.update(placement({"h1": 1, "h2": 2}, used={"h2": 3}))
    snap, _ = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert vcpu_used(snap) == {"h1": 0, "h2": 3}
    assert sorted(session.placement.asked) == [
        "/resource_providers",
        "/resource_providers/u-h2/inventories",
        "/resource_providers/u-h2/usages",
    ]


def test_usages_are_asked_again_once_old_oldest_first_and_a_few_per_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "MAX_AGED_READS", 1)
    clock = Clock()
    session = FakeSession(placement({"h1": 1, "h2": 1}), AGGREGATES)
    reader = capacity.CapacityReader(clock=clock)
    reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    # a DELETE /allocations/{consumer}: the usage changes, the generation does not
    session.placement.answers.update(placement({"h1": 1, "h2": 1}, used={"h1": 2, "h2": 2}))
    clock.now += capacity.USAGE_MAX_AGE_SECONDS - 1
    session.placement.asked.clear()
    snap, _ = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert (session.placement.asked, vcpu_used(snap)) == (["/resource_providers"], {"h1": 0, "h2": 0})
    clock.now += 1
    snap, _ = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert vcpu_used(snap) == {"h1": 2, "h2": 0}  # one aged usage per read, and no inventories
    assert session.placement.asked[-1] == "/resource_providers/u-h1/usages"
    snap, _ = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert vcpu_used(snap) == {"h1": 2, "h2": 2}


def test_only_root_providers_of_known_nodes_count_and_a_provider_gone_meanwhile_is_dropped() -> None:
    answers = placement({"h1": 1, "h2": 1, "shared-disk": 1})
    answers["/resource_providers"]["resource_providers"].append(
        {"uuid": "child", "name": "h1", "generation": 1, "root_provider_uuid": "u-h1"}
    )
    del answers["/resource_providers/u-h2/usages"]  # deleted between the list and its read: 404
    session = FakeSession(answers, AGGREGATES)
    snap, warnings = capacity.CapacityReader().read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert [p.uuid for p in snap.providers] == ["u-h1"]
    assert (snap.capacity_error, warnings) == (None, ())
    assert not any("shared-disk" in path or "child" in path for path in session.placement.asked)


def test_a_malformed_provider_is_skipped_and_named_and_read_again_next_time() -> None:
    answers = placement({"h1": 1, "h2": 1})
    answers["/resource_providers/u-h2/inventories"]["inventories"]["VCPU"]["total"] = "eight"
    session = FakeSession(answers, AGGREGATES)
    reader = capacity.CapacityReader()
    snap, warnings = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert [p.name for p in snap.providers] == ["h1"]
    assert snap.capacity_error is None
    assert warnings == (
        "skipped 1 malformed resource provider record(s) in Placement: inventory 'VCPU' 'total' is not a count"
        " (h2); that compute node's capacity is not counted",
    )
    session.placement.answers.update(placement({"h1": 1, "h2": 1}))
    session.placement.asked.clear()
    snap, warnings = reader.read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert ([p.name for p in snap.providers], warnings) == (["h1", "h2"], ())
    assert "/resource_providers/u-h2/inventories" in session.placement.asked


def test_a_failed_placement_leaves_no_providers_says_why_and_keeps_the_aggregates() -> None:
    answers = placement({"h1": 1})
    answers["/resource_providers"] = response(503, b"<html><body>No server is available</body></html>")
    session = FakeSession(answers, AGGREGATES)
    snap, warnings = capacity.CapacityReader().read(session, snapshot("h1"))  # type: ignore[arg-type]
    assert (snap.providers, len(snap.aggregates), warnings) == ((), 1, ())
    assert snap.capacity_error == "Placement not read: HTTP 503: No server is available"  # the page's text


def test_a_refused_aggregates_read_names_the_role_and_keeps_the_providers() -> None:
    refusal = {"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:os-aggregates:index"}}
    session = FakeSession(placement({"h1": 1}), response(403, refusal, request_id="req-1"))
    snap, _ = capacity.CapacityReader().read(session, snapshot("h1"))  # type: ignore[arg-type]
    assert [p.name for p in snap.providers] == ["h1"] and snap.aggregates == ()
    assert snap.capacity_error == (
        "host aggregates not read: HTTP 403: Policy doesn't allow os_compute_api:os-aggregates:index"
        " (request id req-1) — reading host aggregates needs the admin role (the default policy)"
    )


@pytest.mark.parametrize(
    ("path", "answer", "error"),
    [
        (
            "/resource_providers",
            response(200, b"<html>"),
            "Placement not read: malformed answer: /resource_providers did not return JSON",
        ),
        (
            "/resource_providers",
            {"providers": []},
            "Placement not read: malformed answer: response has no 'resource_providers' list",
        ),
        (
            "/resource_providers/u-h1/usages",
            response(503, {"errors": [{"detail": "db down"}]}),
            "Placement not read: HTTP 503: db down",
        ),
    ],
)
def test_a_placement_answer_of_the_wrong_shape_or_status_fails_only_capacity(
    path: str, answer: Any, error: str
) -> None:
    answers = placement({"h1": 1, "h2": 1})
    answers[path] = answer
    session = FakeSession(answers, AGGREGATES)
    snap, _ = capacity.CapacityReader().read(session, snapshot("h1", "h2"))  # type: ignore[arg-type]
    assert (snap.providers, snap.capacity_error, len(snap.nodes)) == ((), error, 2)
