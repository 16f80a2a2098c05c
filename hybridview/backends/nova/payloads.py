"""Nova API JSON -> core snapshots, for every microversion shape we accept.

Shapes follow the samples in the Nova tree (``doc/api_samples``): hypervisor and
service ids became UUIDs at 2.53, hypervisor resource fields went away at 2.88,
servers embed the flavor from 2.47, migrations gained a type at 2.23 and a uuid
at 2.59.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hybridview.core.model import ComputeNode, ComputeService, Instance, Migration

Payload = Mapping[str, Any]


class MalformedPayload(ValueError):
    """The API answered, but not in a shape Nova documents."""


def _require(obj: Payload, key: str, what: str) -> Any:
    if not isinstance(obj, Mapping):
        raise MalformedPayload(f"{what} is not an object")
    if key not in obj or obj[key] is None:
        raise MalformedPayload(f"{what} has no {key!r}")
    return obj[key]


def items(body: Any, collection: str) -> list[Payload]:
    if not isinstance(body, Mapping) or not isinstance(body.get(collection), list):
        raise MalformedPayload(f"response has no {collection!r} list")
    return list(body[collection])


def next_page_params(body: Payload, collection: str) -> dict[str, str] | None:
    """Query parameters of the ``rel=next`` link, or None on the last page."""
    for link in body.get(f"{collection}_links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "next" and link.get("href"):
            query = parse_qs(urlsplit(str(link["href"])).query)
            return {k: v[-1] for k, v in query.items()}
    return None


def service(cloud: str, raw: Payload) -> ComputeService:
    what = "service"
    binary = str(_require(raw, "binary", what))
    host = str(_require(raw, "host", what))
    ident = raw.get("id")
    return ComputeService(
        cloud=cloud,
        # 2.69: services in a down cell come without id and state
        id=str(ident) if ident is not None else f"{binary}@{host}",
        binary=binary,
        host=host,
        zone=raw.get("zone"),
        state=str(raw.get("state") or "unknown"),
        status=str(raw.get("status") or "unknown").lower(),
        disabled_reason=raw.get("disabled_reason"),
        forced_down=bool(raw.get("forced_down", False)),
        updated_at=raw.get("updated_at"),
    )


def compute_node(cloud: str, raw: Payload, services: Iterable[ComputeService]) -> ComputeNode:
    what = "hypervisor"
    hostname = str(_require(raw, "hypervisor_hostname", what))
    svc = raw.get("service") or {}
    host = str(svc.get("host") or hostname)
    match = next((s for s in services if s.host == host and s.binary == "nova-compute"), None)
    return ComputeNode(
        cloud=cloud,
        id=str(_require(raw, "id", what)),
        hypervisor_hostname=hostname,
        hypervisor_type=str(raw.get("hypervisor_type") or "unknown"),
        host=host,
        state=str(raw.get("state") or (match.state if match else "unknown")),
        status=str(raw.get("status") or (match.status if match else "unknown")),
        disabled_reason=svc.get("disabled_reason", match.disabled_reason if match else None),
        forced_down=match.forced_down if match else False,
        host_ip=raw.get("host_ip"),
        service_id=str(svc["id"]) if svc.get("id") is not None else (match.id if match else None),
    )


def _flavor_name(raw: Payload) -> str | None:
    flavor = raw.get("flavor")
    if not isinstance(flavor, Mapping):
        return None
    name = flavor.get("original_name") or flavor.get("id")
    return str(name) if name is not None else None


def instance(cloud: str, raw: Payload) -> Instance:
    what = "server"
    ident = _require(raw, "id", what)
    return Instance(
        cloud=cloud,
        id=str(ident),
        name=str(raw.get("name") or ""),
        project_id=str(raw.get("tenant_id") or raw.get("project_id") or ""),
        status=str(_require(raw, "status", what)),
        vm_state=raw.get("OS-EXT-STS:vm_state"),
        task_state=raw.get("OS-EXT-STS:task_state"),
        power_state=raw.get("OS-EXT-STS:power_state"),
        host=raw.get("OS-EXT-SRV-ATTR:host"),
        node=raw.get("OS-EXT-SRV-ATTR:hypervisor_hostname"),
        flavor=_flavor_name(raw),
        # "" means volume-backed; a missing key (2.69 down-cell server) means unknown
        boot_from_volume="image" in raw and not raw["image"],
        availability_zone=raw.get("OS-EXT-AZ:availability_zone"),
    )


def migration(cloud: str, raw: Payload) -> Migration:
    what = "migration"
    if not isinstance(raw, Mapping):
        raise MalformedPayload(f"{what} is not an object")
    ident = raw.get("uuid") or _require(raw, "id", what)
    return Migration(
        cloud=cloud,
        id=str(ident),
        instance_id=str(_require(raw, "instance_uuid", what)),
        migration_type=str(raw.get("migration_type") or "unknown"),
        status=str(_require(raw, "status", what)),
        source_compute=raw.get("source_compute"),
        dest_compute=raw.get("dest_compute"),
        source_node=raw.get("source_node"),
        dest_node=raw.get("dest_node"),
        created_at=raw.get("created_at"),
        updated_at=raw.get("updated_at"),
    )
