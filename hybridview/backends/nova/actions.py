"""Nova writes: force a compute down or up, enable or disable it, evacuate and start servers, follow one.

Every write is one raw request at the session's write microversion (``session.WRITES``), its body
built here by a pure function, so it is exactly what that microversion documents; openstacksdk's
proxy helpers would choose bodies of their own. A non-2xx answer raises BackendError with Nova's
own message, its HTTP status and request id; a failure on the wire leaves as an exception for
``errors.translate_errors``, as on the read path. keystoneauth retries a 401 once after a new login.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from hybridview.backends.base import BackendError, ServerProgress, WriteReceipt
from hybridview.backends.nova import payloads
from hybridview.backends.nova.errors import first_line
from hybridview.backends.nova.session import WRITES, ComputeSession, version_tuple
from hybridview.core.model import Instance, Migration

T = TypeVar("T")

COMPUTE_BINARY = "nova-compute"
FORCE_DOWN_SINCE = "2.11"  # PUT /os-services/force-down
SERVICE_BY_ID_SINCE = "2.53"  # PUT /os-services/{id}; the old action paths are gone
SHARED_STORAGE_GONE = "2.14"  # evacuate: onSharedStorage required before, refused from here
MIGRATIONS_CHANGES_SINCE = "2.59"
REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")


class WriteNotPossible(ValueError):
    """The write cannot be said at this microversion; nothing was sent."""


# -- bodies (pure) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceUpdate:
    """One ``PUT`` on os-services: by the service's id from 2.53, else an action path naming host and binary."""

    body: dict[str, Any]
    action: str | None = None  # "force-down", "enable", "disable", "disable-log-reason"; None: by id

    def path(self, service_id: str | None) -> str:
        if self.action is not None:
            return f"/os-services/{self.action}"
        assert service_id is not None, "an update by id needs the service id"
        return f"/os-services/{quote(service_id, safe='')}"


def forced_down_update(microversion: str, host: str, forced_down: bool) -> ServiceUpdate:
    """By id from 2.53; ``force-down`` from 2.11; before 2.11 Nova has no such call."""
    if at_least(microversion, SERVICE_BY_ID_SINCE):
        return ServiceUpdate({"forced_down": forced_down})
    if not at_least(microversion, FORCE_DOWN_SINCE):
        raise WriteNotPossible(
            f"forcing a compute service down needs compute microversion {FORCE_DOWN_SINCE} or later;"
            f" writes to this cloud go at {microversion}"
        )
    return ServiceUpdate({"host": host, "binary": COMPUTE_BINARY, "forced_down": forced_down}, "force-down")


def enabled_update(microversion: str, host: str, enabled: bool, reason: str | None) -> ServiceUpdate:
    """Enable, or disable with an optional reason (a reason with "enabled" is refused by Nova, never sent)."""
    reason = reason if reason and not enabled else None
    if at_least(microversion, SERVICE_BY_ID_SINCE):
        body: dict[str, Any] = {"status": "enabled" if enabled else "disabled"}
        if reason is not None:
            body["disabled_reason"] = reason
        return ServiceUpdate(body)
    named = {"host": host, "binary": COMPUTE_BINARY}
    if enabled:
        return ServiceUpdate(named, "enable")
    if reason is None:
        return ServiceUpdate(named, "disable")
    return ServiceUpdate({**named, "disabled_reason": reason}, "disable-log-reason")


def evacuate_body(microversion: str, target_host: str | None, on_shared_storage: bool | None) -> dict[str, Any]:
    """The ``evacuate`` object for ``microversion``.

    Up to 2.13 ``onSharedStorage`` is required; after, Nova finds out itself and refuses the key, so a
    caller's answer is dropped. ``force`` (2.29–2.67) is never sent: it skips the scheduler's checks.
    """
    body: dict[str, Any] = {}
    if target_host is not None:
        body["host"] = target_host
    if not at_least(microversion, SHARED_STORAGE_GONE):
        if on_shared_storage is None:
            raise WriteNotPossible(
                f"evacuating at compute microversion {microversion} needs to know whether the server's"
                " disks are on shared storage (onSharedStorage); nothing was sent"
            )
        body["onSharedStorage"] = on_shared_storage
    return body


def nova_error_message(body: Any) -> str | None:
    """Nova's own words in an error body, or None.

    Nova: ``{"badRequest": {"code": 400, "message": ...}}``; keystonemiddleware: ``{"error": {"message":
    ...}}``; API-SIG services in front: ``{"errors": [{"detail": ...}]}``.
    """
    if not isinstance(body, Mapping):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        text = errors[0].get("detail") or errors[0].get("title")
        return first_line(text) if isinstance(text, str) and text.strip() else None
    for fault in body.values():
        if isinstance(fault, Mapping) and isinstance(fault.get("message"), str) and fault["message"].strip():
            return first_line(fault["message"])
    return None


def at_least(microversion: str, version: str) -> bool:
    return version_tuple(microversion) >= version_tuple(version)


# -- calls ------------------------------------------------------------------------------------


def set_forced_down(session: ComputeSession, host: str, forced_down: bool) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    update = built(session, lambda: forced_down_update(microversion, host, forced_down))
    return _update_service(session, host, update, microversion)


def set_service_enabled(session: ComputeSession, host: str, enabled: bool, reason: str | None) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    update = enabled_update(microversion, host, enabled, reason)
    return _update_service(session, host, update, microversion)


def evacuate(
    session: ComputeSession, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None
) -> WriteReceipt:
    microversion = session.microversion(WRITES)
    body = built(session, lambda: evacuate_body(microversion, target_host, on_shared_storage))
    return server_action(session, instance_id, {"evacuate": body}, microversion)


def start_server(session: ComputeSession, instance_id: str) -> WriteReceipt:
    return server_action(session, instance_id, {"os-start": None}, session.microversion(WRITES))


def server_progress(session: ComputeSession, instance_id: str, since: datetime | None = None) -> ServerProgress:
    """The server now (read at the servers microversion), and its newest evacuation since ``since``."""
    server, raw = read_server(session, instance_id)
    newest = newest_migration(session, instance_id, since, EVACUATION_TYPES, "evacuation")
    evacuation = newest[0] if newest else None
    return ServerProgress(
        instance_id=server.id,
        status=server.status,
        vm_state=server.vm_state,
        task_state=server.task_state,
        host=server.host,
        fault=payloads.server_fault(raw),
        evacuation_id=evacuation.id if evacuation else None,
        evacuation_status=evacuation.status if evacuation else None,
        evacuation_dest=evacuation.dest_compute if evacuation else None,
    )


EVACUATION_TYPES = frozenset({"evacuation", "unknown"})  # before 2.23 a record has no type


def read_server(session: ComputeSession, instance_id: str) -> tuple[Instance, payloads.Payload]:
    """``GET /servers/{id}`` at the servers microversion: the server mapped, and its raw record."""
    path = f"/servers/{quote(instance_id, safe='')}"
    response = session.conn.compute.get(path, microversion=session.microversion("servers"), raise_exc=False)
    raw = json_object(checked(session, response), path).get("server")
    if not isinstance(raw, Mapping):
        raise payloads.MalformedPayload(f"{path} has no 'server' object")
    return payloads.instance(session.cloud, raw), raw


def newest_migration(
    session: ComputeSession, instance_id: str, since: datetime | None, types: frozenset[str], type_filter: str | None
) -> tuple[Migration, payloads.Payload] | None:
    """The instance's newest os-migrations record of one of ``types`` changed since ``since``, mapped and raw.

    ``type_filter`` is sent as Nova's ``migration_type`` filter (one type only); None lists every type.
    """
    params = {"instance_uuid": instance_id}
    if type_filter is not None:
        params["migration_type"] = type_filter
    since_utc = None if since is None else utc(since)
    filtered_by_nova = False
    if since_utc is not None and session.at_least("migrations", MIGRATIONS_CHANGES_SINCE):
        params["changes-since"] = since_utc.strftime("%Y-%m-%dT%H:%M:%SZ")  # Nova: updated_at >= it
        filtered_by_nova = True
    path = "/os-migrations"
    microversion = session.microversion("migrations")
    response = session.conn.compute.get(path, params=params, microversion=microversion, raise_exc=False)
    records = [
        (payloads.migration(session.cloud, raw), raw)
        for raw in payloads.items(json_object(checked(session, response), path), "migrations")
    ]
    found = [
        (m, raw)
        for m, raw in records
        if m.instance_id == instance_id
        and m.migration_type in types
        and (since_utc is None or filtered_by_nova or changed_since(m, since_utc))
    ]
    return max(found, key=lambda pair: pair[0].created_at or "", default=None)


def changed_since(migration: Migration, since: datetime) -> bool:
    """Nova's changes-since, on our side (before 2.59): updated at or after ``since``; unknown times count."""
    stamp = migration.updated_at or migration.created_at
    try:
        changed = utc(datetime.fromisoformat(stamp)) if stamp else None
    except ValueError:
        changed = None
    return changed is None or changed >= since


def utc(moment: datetime) -> datetime:
    """Nova's timestamps without a zone are UTC; so is a naive ``since``."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _update_service(session: ComputeSession, host: str, update: ServiceUpdate, microversion: str) -> WriteReceipt:
    service_id = None if update.action is not None else _compute_service_id(session, host, microversion)
    response = session.conn.compute.put(
        update.path(service_id), json=update.body, microversion=microversion, raise_exc=False
    )
    return receipt(session, response)


def _compute_service_id(session: ComputeSession, host: str, microversion: str) -> str:
    """The id (a UUID from 2.53) of ``host``'s nova-compute service."""
    path = "/os-services"
    params = {"binary": COMPUTE_BINARY, "host": host}
    response = session.conn.compute.get(path, params=params, microversion=microversion, raise_exc=False)
    services = payloads.items(json_object(checked(session, response), path), "services")
    found = [s for s in services if isinstance(s, Mapping) and s.get("host") == host]
    if not found:
        raise BackendError(session.cloud, f"Nova has no {COMPUTE_BINARY} service on host {host!r}")
    ident = found[0].get("id")
    if not isinstance(ident, str) or not ident:  # 2.69: a service in a cell that does not answer has no id
        raise BackendError(
            session.cloud, f"Nova gives the {COMPUTE_BINARY} service of {host!r} no id (is its cell down?)"
        )
    return ident


def server_action(session: ComputeSession, instance_id: str, body: dict[str, Any], microversion: str) -> WriteReceipt:
    path = f"/servers/{quote(instance_id, safe='')}/action"
    response = session.conn.compute.post(path, json=body, microversion=microversion, raise_exc=False)
    return receipt(session, response)  # an old evacuate answers {"adminPass": ...}: never kept nor logged


def receipt(session: ComputeSession, response: requests.Response) -> WriteReceipt:
    checked(session, response)
    return WriteReceipt(request_id=request_id_of(response))


GATEWAY_TIMEOUT = 504


def checked(session: ComputeSession, response: requests.Response) -> requests.Response:
    """``response`` when it is 2xx; else BackendError with Nova's message, status and request id."""
    if 200 <= response.status_code < 300:
        return response
    try:
        message = nova_error_message(response.json())
    except ValueError:
        message = None
    raise BackendError(
        session.cloud,
        message or response.reason or "error",
        status_code=response.status_code,
        request_id=request_id_of(response),
        outcome_unknown=response.status_code == GATEWAY_TIMEOUT,  # the gateway gave up: Nova may have it
    )


def request_id_of(response: requests.Response) -> str | None:
    return next((value for h in REQUEST_ID_HEADERS if (value := response.headers.get(h))), None)


def json_object(response: requests.Response, path: str) -> payloads.Payload:
    try:
        body = response.json()
    except ValueError as exc:
        raise payloads.MalformedPayload(f"{path} did not return JSON") from exc
    if not isinstance(body, Mapping):
        raise payloads.MalformedPayload(f"{path} did not return an object")
    return body


def built(session: ComputeSession, build: Callable[[], T]) -> T:
    try:
        return build()
    except WriteNotPossible as exc:
        raise BackendError(session.cloud, str(exc)) from None
