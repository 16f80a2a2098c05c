"""Nova moves without a network: the bodies per microversion, against Nova's schemas
(``nova/api/openstack/compute/schemas/migrate_server.py``), the wire requests, and the progress read.

The calls go through a real openstacksdk Connection with a table-driven transport
(``test_nova_write_bodies``), so the request is what openstacksdk really sends.
"""

from __future__ import annotations

from typing import Any

import pytest

from hybridview.backends.base import BackendError
from hybridview.backends.nova import payloads as p
from hybridview.backends.nova.actions import WriteNotPossible
from hybridview.backends.nova.moves import live_migrate_body, migrate_body
from tests.unit.test_nova_write_bodies import SERVER_ID, Sent, _json, _mv, _routes, connect

__all__ = ["connect"]
MIB = 1024 * 1024
ACTION = f"/servers/{SERVER_ID}/action"


def _nova_live_schema(minor: int) -> tuple[set[str], set[str], set[object]]:
    """(allowed keys, required keys, allowed block_migration values) of ``os-migrateLive`` at 2.``minor``."""
    if minor < 25:
        keys = {"block_migration", "disk_over_commit", "host"}
        return keys, keys, {True, False}
    allowed = {"block_migration", "host"} | ({"force"} if 30 <= minor <= 67 else set())
    return allowed, {"block_migration", "host"}, {True, False, "auto"}


@pytest.mark.parametrize("minor", [1, 22, 24, 25, 29, 30, 56, 67, 68, 100])
@pytest.mark.parametrize("target_host", [None, "host3"])
@pytest.mark.parametrize("block_migration", ["auto", True, False])
def test_a_live_migrate_body_is_valid_for_nova_at_its_microversion(
    minor: int, target_host: str | None, block_migration: str | bool
) -> None:
    body = live_migrate_body(_mv(minor), target_host, block_migration)
    assert list(body) == ["os-migrateLive"]
    live = body["os-migrateLive"]
    allowed, required, values = _nova_live_schema(minor)
    assert required <= set(live) <= allowed
    assert "force" not in live  # the scheduler always checks the host
    assert live["host"] == target_host and live["block_migration"] in values
    if minor < 25:
        assert live["block_migration"] is (block_migration is True) and live["disk_over_commit"] is False
    else:
        assert live["block_migration"] == block_migration


def test_block_migration_must_be_a_boolean_or_auto() -> None:
    with pytest.raises(WriteNotPossible, match="block_migration is True, False or 'auto'"):
        live_migrate_body("2.100", None, "yes")


@pytest.mark.parametrize("minor", [1, 55, 56, 100])
def test_a_cold_migration_for_the_scheduler_is_migrate_null(minor: int) -> None:
    assert migrate_body(_mv(minor), None) == {"migrate": None}


@pytest.mark.parametrize("minor", [56, 100])
def test_a_cold_migration_to_a_chosen_host_names_it_from_2_56(minor: int) -> None:
    assert migrate_body(_mv(minor), "host1") == {"migrate": {"host": "host1"}}


@pytest.mark.parametrize("minor", [1, 55])
def test_a_cold_migration_to_a_chosen_host_is_refused_below_2_56(minor: int) -> None:
    with pytest.raises(
        WriteNotPossible, match=rf"^cold migration to a chosen host needs .* 2\.56 .* go at 2\.{minor}$"
    ):
        migrate_body(_mv(minor), "host1")


# -- the calls on the wire ---------------------------------------------------------------------


def _last_write(sent: list[Sent]) -> Sent:
    return [s for s in sent if s.method != "GET"][-1]


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (lambda b: b.live_migrate(SERVER_ID, target_host=None, block_migration="auto"),
         {"os-migrateLive": {"host": None, "block_migration": "auto"}}),
        (lambda b: b.migrate(SERVER_ID, target_host="host2"), {"migrate": {"host": "host2"}}),
        (lambda b: b.confirm_resize(SERVER_ID), {"confirmResize": None}),
        (lambda b: b.revert_resize(SERVER_ID), {"revertResize": None}),
    ],
)  # fmt: skip
def test_a_server_action_goes_at_the_write_microversion(connect: Any, call: Any, body: dict[str, Any]) -> None:
    backend, transport = connect(_routes("2.104", {}))
    assert call(backend).request_id is not None
    sent = _last_write(transport.sent)
    assert (sent.method, sent.path, sent.body, sent.microversion) == ("POST", f"/v2.1{ACTION}", body, "compute 2.100")


def test_abort_and_force_complete_address_the_migration_by_its_number(connect: Any) -> None:
    backend, transport = connect(_routes("2.104", {}))
    backend.abort_live_migration(SERVER_ID, "7")
    assert (_last_write(transport.sent).method, _last_write(transport.sent).path) == (
        "DELETE",
        f"/v2.1/servers/{SERVER_ID}/migrations/7",
    )
    backend.force_complete_live_migration(SERVER_ID, "7")
    sent = _last_write(transport.sent)
    assert (sent.path, sent.body) == (f"/v2.1/servers/{SERVER_ID}/migrations/7/action", {"force_complete": None})
    assert not [s for s in transport.sent if s.method == "GET" and "/migrations" in s.path]


def test_a_migration_uuid_is_looked_up_among_the_running_ones(connect: Any) -> None:
    running = {"migrations": [{"id": 3, "uuid": "other"}, {"id": 9, "uuid": "12341d4b-346a"}]}
    backend, transport = connect(_routes("2.104", {("GET", f"/servers/{SERVER_ID}/migrations"): _json(200, running)}))
    backend.abort_live_migration(SERVER_ID, "12341d4b-346a")
    assert _last_write(transport.sent).path == f"/v2.1/servers/{SERVER_ID}/migrations/9"
    with pytest.raises(BackendError, match=f"^server {SERVER_ID} has no running live migration gone$") as caught:
        backend.force_complete_live_migration(SERVER_ID, "gone")
    assert caught.value.status_code is None
    assert _last_write(transport.sent).method == "DELETE"  # the force-complete was never sent


@pytest.mark.parametrize(
    ("cap", "what"), [("2.23", "aborting a live migration"), ("2.21", "forcing a live migration to complete")]
)
def test_abort_and_force_complete_are_refused_before_their_microversion(connect: Any, cap: str, what: str) -> None:
    backend, transport = connect(_routes("2.104", {}), write_microversion_cap=cap)
    call = backend.abort_live_migration if what.startswith("aborting") else backend.force_complete_live_migration
    with pytest.raises(BackendError, match=rf"^{what} needs compute microversion 2\.2[24] or later; .* go at {cap}$"):
        call(SERVER_ID, "7")
    assert not [s for s in transport.sent if s.method != "GET"]


def test_novas_refusal_of_a_move_keeps_its_message_and_request_id(connect: Any) -> None:
    refusal = _json(400, {"badRequest": {"code": 400, "message": "Compute host nohost could not be found."}})
    backend, _ = connect(_routes("2.104", {("POST", ACTION): refusal}))
    with pytest.raises(BackendError) as caught:
        backend.live_migrate(SERVER_ID, target_host="nohost", block_migration="auto")
    assert str(caught.value) == (
        "HTTP 400: Compute host nohost could not be found. (request id req-0b6e8f0e-2a51-4c1e-9f57-1d0cb7a3c1aa)"
    )


# -- progress ------------------------------------------------------------------------------------

MIGRATING = {"id": SERVER_ID, "status": "MIGRATING", "OS-EXT-STS:task_state": "migrating", "OS-EXT-SRV-ATTR:host": "h1"}


def _record(ident: int, kind: str, status: str, created: str) -> dict[str, Any]:
    return {
        "id": ident,
        "uuid": f"uuid-{ident}",
        "instance_uuid": SERVER_ID,
        "migration_type": kind,
        "status": status,
        "source_compute": "h1",
        "dest_compute": "h2",
        "created_at": created,
        "updated_at": created,
    }


def _counters(processed: int | None) -> dict[str, Any]:
    total = 512 * MIB
    return {
        "id": 5,
        "memory_total_bytes": total,
        "memory_processed_bytes": processed,
        "memory_remaining_bytes": None if processed is None else total - processed,
        "disk_total_bytes": None,
        "disk_processed_bytes": None,
        "disk_remaining_bytes": None,
    }


def test_a_running_live_migration_comes_with_its_byte_counters(connect: Any) -> None:
    records = [
        _record(4, "evacuation", "done", "2026-01-01T09:00:00"),
        _record(5, "live-migration", "running", "2026-01-01T10:00:00"),
        _record(3, "migration", "confirmed", "2026-01-01T08:00:00"),
    ]
    answers = {
        ("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": MIGRATING}),
        ("GET", "/os-migrations"): _json(200, {"migrations": records}),
        ("GET", f"/servers/{SERVER_ID}/migrations/5"): _json(200, {"migration": _counters(100 * MIB)}),
    }
    backend, transport = connect(_routes("2.104", answers))
    progress = backend.migration_progress(SERVER_ID)
    assert (progress.status, progress.task_state, progress.host) == ("MIGRATING", "migrating", "h1")
    assert (progress.migration_id, progress.migration_type, progress.migration_status) == (
        "uuid-5",
        "live-migration",
        "running",
    )
    assert (progress.source_host, progress.dest_host) == ("h1", "h2")
    assert (progress.memory_total_bytes, progress.memory_processed_bytes, progress.memory_remaining_bytes) == (
        512 * MIB,
        100 * MIB,
        412 * MIB,
    )
    assert progress.disk_total_bytes is None
    listed = next(s for s in transport.sent if s.path.endswith("/os-migrations"))
    assert listed.query == {"instance_uuid": SERVER_ID}  # every type: live-migration, migration and resize


def test_a_live_migration_that_finished_meanwhile_is_no_error(connect: Any) -> None:
    gone = _json(404, {"itemNotFound": {"code": 404, "message": "migration 5 not found"}})
    answers = {
        ("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": MIGRATING}),
        ("GET", "/os-migrations"): _json(200, {"migrations": [_record(5, "live-migration", "running", "2026")]}),
        ("GET", f"/servers/{SERVER_ID}/migrations/5"): gone,
    }
    backend, _ = connect(_routes("2.104", answers))
    progress = backend.migration_progress(SERVER_ID)
    assert (progress.migration_status, progress.memory_total_bytes) == ("running", None)


def test_a_cold_migration_is_read_without_counters(connect: Any) -> None:
    resized = {**MIGRATING, "status": "VERIFY_RESIZE", "OS-EXT-STS:task_state": None, "OS-EXT-SRV-ATTR:host": "h2"}
    answers = {
        ("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": resized}),
        ("GET", "/os-migrations"): _json(200, {"migrations": [_record(6, "migration", "finished", "2026")]}),
    }
    backend, transport = connect(_routes("2.104", answers))
    progress = backend.migration_progress(SERVER_ID)
    assert (progress.status, progress.migration_type, progress.migration_status) == (
        "VERIFY_RESIZE",
        "migration",
        "finished",
    )
    assert not [s for s in transport.sent if "/migrations/" in s.path]


def test_a_server_without_moves_has_no_migration(connect: Any) -> None:
    answers = {("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": {**MIGRATING, "status": "ACTIVE"}})}
    backend, _ = connect(_routes("2.104", answers))
    progress = backend.migration_progress(SERVER_ID)
    assert (progress.status, progress.migration_id, progress.migration_type) == ("ACTIVE", None, None)


@pytest.mark.parametrize("key", ["memory_total_bytes", "disk_remaining_bytes"])
def test_a_counter_of_the_wrong_type_makes_the_record_malformed(key: str) -> None:
    with pytest.raises(p.MalformedPayload, match=rf"^server migration '{key}' is not an integer$"):
        p.live_migration_counters({**_counters(1), key: "12"})
