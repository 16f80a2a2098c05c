"""Nova API JSON -> core snapshots, for every microversion shape we accept.

Shapes follow the samples in the Nova tree (``doc/api_samples``): hypervisor and
service ids became UUIDs at 2.53, hypervisor resource fields went away at 2.88,
servers embed the flavor from 2.47, migrations gained a type at 2.23 and a uuid
at 2.59.

A record of any other shape raises ``MalformedPayload`` and nothing else: a field we map
that holds the wrong JSON type is malformed, fields we do not map are ignored. Messages
name the field, never its value, so the skipped records of one cause share one warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hybridview.backends.records import checked, is_flag, is_integer, is_text
from hybridview.core.model import ComputeNode, ComputeService, Instance, InstanceAction, InstanceActionEvent, Migration

Payload = Mapping[str, Any]


class MalformedPayload(ValueError):
    """The API answered, but not in a shape Nova documents."""


def _object(raw: Any, what: str) -> Payload:
    if not isinstance(raw, Mapping):
        raise MalformedPayload(f"{what} is not an object")
    return raw


def _require(obj: Payload, key: str, what: str) -> Any:
    if key not in _object(obj, what) or obj[key] is None:
        raise MalformedPayload(f"{what} has no {key!r}")
    return obj[key]


def _is_ident(value: Any) -> bool:
    """Nova ids are database integers before 2.53 and UUID strings after (a bool is not an id)."""
    return is_text(value) or (is_integer(value) and 0 <= value < 2**63)


def _checked(value: Any, valid: Callable[[Any], bool], noun: str, key: str, what: str) -> Any:
    return checked(value, valid, noun, f"{what} {key!r}", MalformedPayload)


def _text(obj: Payload, key: str, what: str) -> str:
    return str(_checked(_require(obj, key, what), is_text, "a string", key, what))


def _ident(obj: Payload, key: str, what: str) -> str:
    return str(_checked(_require(obj, key, what), _is_ident, "an id", key, what))


def _optional_text(obj: Payload, key: str, what: str) -> str | None:
    value: str | None = _checked(obj.get(key), is_text, "a string", key, what)
    return value


def _optional_ident(obj: Payload, key: str, what: str) -> str | None:
    value = _checked(obj.get(key), _is_ident, "an id", key, what)
    return None if value is None else str(value)


def _optional_int(obj: Payload, key: str, what: str) -> int | None:
    value: int | None = _checked(obj.get(key), is_integer, "an integer", key, what)
    return value


def _optional_bool(obj: Payload, key: str, what: str) -> bool | None:
    value: bool | None = _checked(obj.get(key), is_flag, "a boolean", key, what)
    return value


def _optional_object(obj: Payload, key: str, what: str) -> Payload | None:
    value: Payload | None = _checked(obj.get(key), lambda v: isinstance(v, Mapping), "an object", key, what)
    return value


def items(body: Any, collection: str) -> list[Payload]:
    if not isinstance(body, Mapping) or not isinstance(body.get(collection), list):
        raise MalformedPayload(f"response has no {collection!r} list")
    return list(body[collection])


def next_page_params(body: Payload, collection: str) -> dict[str, str] | None:
    """Query parameters of the ``rel=next`` link, or None on the last page."""
    key = f"{collection}_links"
    links = _object(body, "response").get(key)
    if links is None:
        return None
    if not isinstance(links, list):
        raise MalformedPayload(f"response {key!r} is not a list")
    for link in links:
        if isinstance(link, Mapping) and link.get("rel") == "next" and link.get("href"):
            href = link["href"]
            if not isinstance(href, str):
                raise MalformedPayload(f"response {key!r} has a next link that is not a string")
            try:
                query = parse_qs(urlsplit(href).query)
            except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
                raise MalformedPayload(f"response {key!r} has a next link that is not a URL") from exc
            return {k: v[-1] for k, v in query.items()}
    return None


def record_name(raw: Any, position: int, id_keys: tuple[str, ...] = ("id",)) -> str:
    """How a warning names a record: its id when it has one, else its position in the collection."""
    if isinstance(raw, Mapping):
        for key in id_keys:
            value = raw.get(key)
            if _is_ident(value) and value != "":
                return f"id {value}"
    return f"record {position}"


def service(cloud: str, raw: Payload) -> ComputeService:
    what = "service"
    binary = _text(raw, "binary", what)
    host = _text(raw, "host", what)
    ident = _optional_ident(raw, "id", what)
    return ComputeService(
        cloud=cloud,
        # 2.69: services in a down cell come without id and state
        id=ident if ident is not None else f"{binary}@{host}",
        binary=binary,
        host=host,
        zone=_optional_text(raw, "zone", what),
        state=_optional_text(raw, "state", what) or "unknown",
        status=(_optional_text(raw, "status", what) or "unknown").lower(),
        disabled_reason=_optional_text(raw, "disabled_reason", what),
        forced_down=_optional_bool(raw, "forced_down", what) or False,
        updated_at=_optional_text(raw, "updated_at", what),
    )


def compute_node(cloud: str, raw: Payload, services: Iterable[ComputeService]) -> ComputeNode:
    what = "hypervisor"
    hostname = _text(raw, "hypervisor_hostname", what)
    ident = _ident(raw, "id", what)
    svc = _optional_object(raw, "service", what) or {}
    host = _optional_text(svc, "host", "hypervisor service") or hostname
    match = next((s for s in services if s.host == host and s.binary == "nova-compute"), None)
    if "disabled_reason" in svc:
        disabled_reason = _optional_text(svc, "disabled_reason", "hypervisor service")
    else:
        disabled_reason = match.disabled_reason if match else None
    service_id = _optional_ident(svc, "id", "hypervisor service")
    return ComputeNode(
        cloud=cloud,
        id=ident,
        hypervisor_hostname=hostname,
        hypervisor_type=_optional_text(raw, "hypervisor_type", what) or "unknown",
        host=host,
        state=_optional_text(raw, "state", what) or (match.state if match else "unknown"),
        status=_optional_text(raw, "status", what) or (match.status if match else "unknown"),
        disabled_reason=disabled_reason,
        forced_down=match.forced_down if match else False,
        host_ip=_optional_text(raw, "host_ip", what),
        service_id=service_id if service_id is not None else (match.id if match else None),
        # gone from the hypervisor record at 2.88 (placement has them): None then
        vcpus=_optional_int(raw, "vcpus", what),
        vcpus_used=_optional_int(raw, "vcpus_used", what),
        memory_mb=_optional_int(raw, "memory_mb", what),
        memory_mb_used=_optional_int(raw, "memory_mb_used", what),
    )


def _flavor_size(raw: Payload) -> tuple[int | None, int | None]:
    """vCPUs and RAM (MiB) of the flavor a server embeds from 2.47; before, it names the flavor only."""
    flavor = _optional_object(raw, "flavor", "server")
    if flavor is None:
        return None, None
    return _optional_int(flavor, "vcpus", "server flavor"), _optional_int(flavor, "ram", "server flavor")


def _flavor_name(raw: Payload) -> str | None:
    what = "server flavor"
    flavor = _optional_object(raw, "flavor", "server")
    if flavor is None:
        return None
    return _optional_text(flavor, "original_name", what) or _optional_ident(flavor, "id", what)


def _boot_from_volume(raw: Payload) -> bool:
    """An empty ``image`` means volume-backed; none at all (a 2.69 down-cell server) or null means unknown."""
    image = raw.get("image")
    if image is None:
        return False
    if not isinstance(image, str | Mapping):
        raise MalformedPayload("server 'image' is neither a string nor an object")
    return not image


def instance(cloud: str, raw: Payload) -> Instance:
    what = "server"
    ident = _ident(raw, "id", what)
    vcpus, memory_mb = _flavor_size(raw)
    return Instance(
        cloud=cloud,
        id=ident,
        name=_optional_text(raw, "name", what) or "",
        project_id=_optional_text(raw, "tenant_id", what) or _optional_text(raw, "project_id", what) or "",
        status=_text(raw, "status", what),
        vm_state=_optional_text(raw, "OS-EXT-STS:vm_state", what),
        task_state=_optional_text(raw, "OS-EXT-STS:task_state", what),
        power_state=_optional_int(raw, "OS-EXT-STS:power_state", what),
        host=_optional_text(raw, "OS-EXT-SRV-ATTR:host", what),
        node=_optional_text(raw, "OS-EXT-SRV-ATTR:hypervisor_hostname", what),
        flavor=_flavor_name(raw),
        boot_from_volume=_boot_from_volume(raw),
        availability_zone=_optional_text(raw, "OS-EXT-AZ:availability_zone", what),
        vcpus=vcpus,
        memory_mb=memory_mb,
    )


def server_fault(raw: Payload) -> str | None:
    """The message of a server's ``fault`` (an ERROR server has one), if any."""
    fault = _optional_object(raw, "fault", "server")
    return None if fault is None else _optional_text(fault, "message", "server fault")


def migration(cloud: str, raw: Payload) -> Migration:
    what = "migration"
    uuid = _optional_text(_object(raw, what), "uuid", what)
    return Migration(
        cloud=cloud,
        id=uuid or _ident(raw, "id", what),
        instance_id=_text(raw, "instance_uuid", what),
        migration_type=_optional_text(raw, "migration_type", what) or "unknown",
        status=_text(raw, "status", what),
        source_compute=_optional_text(raw, "source_compute", what),
        dest_compute=_optional_text(raw, "dest_compute", what),
        source_node=_optional_text(raw, "source_node", what),
        dest_node=_optional_text(raw, "dest_node", what),
        created_at=_optional_text(raw, "created_at", what),
        updated_at=_optional_text(raw, "updated_at", what),
    )


def instance_action(cloud: str, instance_id: str, raw: Payload) -> InstanceAction:
    """One ``instanceActions`` record; its ``events`` only where the record carries them (the show call)."""
    what = "instance action"
    events = _object(raw, what).get("events") or []
    if not isinstance(events, list):
        raise MalformedPayload(f"{what} 'events' is not a list")
    return InstanceAction(
        cloud=cloud,
        instance_id=_optional_text(raw, "instance_uuid", what) or instance_id,
        request_id=_text(raw, "request_id", what),
        action=_text(raw, "action", what),
        start_time=_optional_text(raw, "start_time", what),
        message=_optional_text(raw, "message", what),
        user_id=_optional_text(raw, "user_id", what),
        updated_at=_optional_text(raw, "updated_at", what),
        events=tuple(instance_action_event(e) for e in events),
    )


def instance_action_event(raw: Any) -> InstanceActionEvent:
    what = "instance action event"
    return InstanceActionEvent(
        event=_text(_object(raw, what), "event", what),
        start_time=_optional_text(raw, "start_time", what),
        finish_time=_optional_text(raw, "finish_time", what),
        result=_optional_text(raw, "result", what),
        host=_optional_text(raw, "host", what),
        details=_optional_text(raw, "details", what),
    )


@dataclass(frozen=True, slots=True)
class LiveMigrationCounters:
    """What a running live migration has moved (``GET /servers/{id}/migrations/{mid}``, 2.23+), in bytes."""

    memory_total: int | None
    memory_processed: int | None
    memory_remaining: int | None
    disk_total: int | None
    disk_processed: int | None
    disk_remaining: int | None


def live_migration_counters(raw: Any) -> LiveMigrationCounters:
    what = "server migration"
    record = _object(raw, what)
    return LiveMigrationCounters(
        *(
            _optional_int(record, f"{part}_{count}_bytes", what)
            for part in ("memory", "disk")
            for count in ("total", "processed", "remaining")
        )
    )
