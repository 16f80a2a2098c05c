"""Nova moves: live and cold migration, the resize decision after a cold one, abort and force-complete, progress.

As in ``actions``: one raw request per write at the session's write microversion, its body built here by
a pure function from what that microversion documents (``doc/api_samples/os-migrate-server``,
``server-migrations``); ``force`` is never sent, so the scheduler always checks a chosen host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from hybridview.backends.base import BackendError, MigrationProgress, WriteReceipt
from hybridview.backends.nova import payloads
from hybridview.backends.nova.actions import (
    WriteNotPossible,
    at_least,
    built,
    checked,
    json_object,
    newest_migration,
    read_server,
    receipt,
    server_action,
)
from hybridview.backends.nova.session import WRITES, ComputeSession

BLOCK_MIGRATION_AUTO_SINCE = "2.25"  # and disk_over_commit is gone
MIGRATE_TO_HOST_SINCE = "2.56"  # below, Nova ignores a host in the migrate body
FORCE_COMPLETE_SINCE = "2.22"
SERVER_MIGRATIONS_SINCE = "2.23"  # GET /servers/{id}/migrations[/{mid}]
ABORT_SINCE = "2.24"
MOVE_TYPES = frozenset({"live-migration", "migration", "resize", "unknown"})  # before 2.23 a record has no type


# -- bodies (pure) --------------------------------------------------------------------------


def live_migrate_body(microversion: str, target_host: str | None, block_migration: str | bool) -> dict[str, Any]:
    """``os-migrateLive``: ``host`` null lets the scheduler choose.

    From 2.25 ``block_migration`` may be "auto" and ``disk_over_commit`` is gone; before, both are booleans
    and "auto" is sent as False (shared storage, Nova checks it). ``force`` (2.30–2.67) is never sent.
    """
    if not (isinstance(block_migration, bool) or block_migration == "auto"):
        raise WriteNotPossible(f"block_migration is True, False or 'auto', not {block_migration!r}; nothing was sent")
    if at_least(microversion, BLOCK_MIGRATION_AUTO_SINCE):
        return {"os-migrateLive": {"host": target_host, "block_migration": block_migration}}
    legacy = {"host": target_host, "block_migration": block_migration is True, "disk_over_commit": False}
    return {"os-migrateLive": legacy}


def migrate_body(microversion: str, target_host: str | None) -> dict[str, Any]:
    """``migrate``: null for the scheduler; a chosen host from 2.56 (below, Nova would ignore it silently)."""
    if target_host is None:
        return {"migrate": None}
    if not at_least(microversion, MIGRATE_TO_HOST_SINCE):
        raise WriteNotPossible(
            f"cold migration to a chosen host needs compute microversion {MIGRATE_TO_HOST_SINCE} or later;"
            f" writes to this cloud go at {microversion}"
        )
    return {"migrate": {"host": target_host}}


def _needs(microversion: str, since: str, what: str) -> None:
    if not at_least(microversion, since):
        raise WriteNotPossible(
            f"{what} needs compute microversion {since} or later; writes to this cloud go at {microversion}"
        )


# -- calls ------------------------------------------------------------------------------------


def live_migrate(
    session: ComputeSession, instance_id: str, *, target_host: str | None, block_migration: str | bool
) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    body = built(session, lambda: live_migrate_body(microversion, target_host, block_migration))
    return server_action(session, instance_id, body, microversion)


def migrate(session: ComputeSession, instance_id: str, *, target_host: str | None) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    body = built(session, lambda: migrate_body(microversion, target_host))
    return server_action(session, instance_id, body, microversion)


def confirm_resize(session: ComputeSession, instance_id: str) -> WriteReceipt:
    return server_action(session, instance_id, {"confirmResize": None}, session.microversion(WRITES))


def revert_resize(session: ComputeSession, instance_id: str) -> WriteReceipt:
    return server_action(session, instance_id, {"revertResize": None}, session.microversion(WRITES))


def abort_live_migration(session: ComputeSession, instance_id: str, migration_id: str) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    built(session, lambda: _needs(microversion, ABORT_SINCE, "aborting a live migration"))
    path = _server_migration_path(session, instance_id, migration_id, microversion)
    return receipt(session, session.conn.compute.delete(path, microversion=microversion, raise_exc=False))


def force_complete_live_migration(session: ComputeSession, instance_id: str, migration_id: str) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    built(session, lambda: _needs(microversion, FORCE_COMPLETE_SINCE, "forcing a live migration to complete"))
    path = f"{_server_migration_path(session, instance_id, migration_id, microversion)}/action"
    body = {"force_complete": None}
    return receipt(session, session.conn.compute.post(path, json=body, microversion=microversion, raise_exc=False))


def migration_progress(session: ComputeSession, instance_id: str, since: datetime | None = None) -> MigrationProgress:
    """The server now, its newest move record since ``since``, and a running live migration's byte counters."""
    server, raw = read_server(session, instance_id)
    newest = newest_migration(session, instance_id, since, MOVE_TYPES, None)
    progress = MigrationProgress(
        instance_id=server.id,
        status=server.status,
        vm_state=server.vm_state,
        task_state=server.task_state,
        host=server.host,
        fault=payloads.server_fault(raw),
    )
    if newest is None:
        return progress
    move, move_raw = newest
    counters = _live_counters(session, instance_id, move_raw) if move.in_progress else None
    return MigrationProgress(
        instance_id=progress.instance_id,
        status=progress.status,
        vm_state=progress.vm_state,
        task_state=progress.task_state,
        host=progress.host,
        fault=progress.fault,
        migration_id=move.id,
        migration_type=None if move.migration_type == "unknown" else move.migration_type,
        migration_status=move.status,
        source_host=move.source_compute,
        dest_host=move.dest_compute,
        memory_total_bytes=counters.memory_total if counters else None,
        memory_processed_bytes=counters.memory_processed if counters else None,
        memory_remaining_bytes=counters.memory_remaining if counters else None,
        disk_total_bytes=counters.disk_total if counters else None,
        disk_processed_bytes=counters.disk_processed if counters else None,
        disk_remaining_bytes=counters.disk_remaining if counters else None,
    )


NOT_FOUND = 404


def _live_counters(
    session: ComputeSession, instance_id: str, move_raw: payloads.Payload
) -> payloads.LiveMigrationCounters | None:
    """``GET /servers/{id}/migrations/{mid}``: None when it is no live migration, or finished meanwhile (404)."""
    ident = move_raw.get("id")
    if not isinstance(ident, int) or move_raw.get("migration_type") not in ("live-migration", None):
        return None
    if not session.at_least("migrations", SERVER_MIGRATIONS_SINCE):
        return None
    path = f"/servers/{quote(instance_id, safe='')}/migrations/{ident}"
    response = session.conn.compute.get(path, microversion=session.microversion("migrations"), raise_exc=False)
    if response.status_code == NOT_FOUND:
        return None
    record = json_object(checked(session, response), path).get("migration")
    return payloads.live_migration_counters(record)


def _server_migration_path(session: ComputeSession, instance_id: str, migration_id: str, microversion: str) -> str:
    """``/servers/{id}/migrations/{mid}`` with Nova's integer id; a uuid (os-migrations from 2.59) is looked up
    among the server's running live migrations."""
    base = f"/servers/{quote(instance_id, safe='')}/migrations"
    if migration_id.isdigit():
        return f"{base}/{migration_id}"
    response = session.conn.compute.get(base, microversion=microversion, raise_exc=False)
    running = payloads.items(json_object(checked(session, response), base), "migrations")
    ident = next((m.get("id") for m in running if isinstance(m, Mapping) and m.get("uuid") == migration_id), None)
    if ident is None:
        raise BackendError(session.cloud, f"server {instance_id} has no running live migration {migration_id}")
    return f"{base}/{quote(str(ident), safe='')}"
