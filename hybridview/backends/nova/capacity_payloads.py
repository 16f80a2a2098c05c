"""Placement and os-aggregates JSON -> core capacity records (no SDK), as ``payloads`` does for the compute reads.

Shapes follow Placement's API reference at microversion 1.14 (``root_provider_uuid`` from 1.14;
inventories and usages answer with the provider's generation) and Nova's ``os-aggregates``
(``uuid`` from 2.41). A record of another shape raises ``MalformedPayload`` naming the field,
never its value; fields we do not map are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hybridview.backends.nova.payloads import (
    MalformedPayload,
    Payload,
    _ident,
    _object,
    _optional_int,
    _optional_text,
    _require,
    _text,
)
from hybridview.backends.records import is_integer, is_text
from hybridview.core.model import HostAggregate, PlacementProvider, ResourceUse


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """One entry of ``GET /resource_providers``: who it is, and the generation its inventories and usages had."""

    uuid: str
    name: str
    generation: int | None
    root_uuid: str | None  # None before 1.14: taken as a root

    @property
    def is_root(self) -> bool:
        return self.root_uuid is None or self.root_uuid == self.uuid


@dataclass(frozen=True, slots=True)
class Inventory:
    total: int
    reserved: int
    allocation_ratio: float


@dataclass(frozen=True, slots=True)
class Counted:
    """An inventories or usages answer: per resource class, and the provider generation it was read at."""

    generation: int | None
    by_class: Mapping[str, Any]  # Inventory for inventories, int for usages


def resource_provider(raw: Payload) -> ProviderRecord:
    what = "resource provider"
    return ProviderRecord(
        uuid=_text(raw, "uuid", what),
        name=_text(raw, "name", what),
        generation=_optional_int(raw, "generation", what),
        root_uuid=_optional_text(raw, "root_provider_uuid", what),
    )


def provider_name(raw: Any, position: int) -> str:
    """How a warning names a provider record: its name, else its uuid, else its position."""
    if isinstance(raw, Mapping):
        for key in ("name", "uuid"):
            if is_text(raw.get(key)) and raw[key]:
                return str(raw[key])
    return f"record {position}"


def inventories(body: Any) -> Counted:
    """``GET /resource_providers/{uuid}/inventories``: total, reserved and allocation ratio per class."""
    what = "inventories"
    found = _classes(body, "inventories")
    by_class = {}
    for resource_class, raw in found.items():
        within = f"inventory {resource_class!r}"
        record = _object(raw, within)
        total = _count(record, "total", within)
        reserved = _optional_int(record, "reserved", within) or 0
        if reserved < 0 or reserved > total:
            raise MalformedPayload(f"{within} 'reserved' is not between 0 and its total")
        by_class[resource_class] = Inventory(total, reserved, _ratio(record, within))
    return Counted(_generation(body, what), by_class)


def usages(body: Any) -> Counted:
    """``GET /resource_providers/{uuid}/usages``: what is allocated per class."""
    found = _classes(body, "usages")
    return Counted(_generation(body, "usages"), {rc: _count(found, rc, "usages") for rc in found})


def provider(cloud: str, record: ProviderRecord, inventory: Counted, usage: Counted) -> PlacementProvider:
    """The provider with one ResourceUse per inventory class (a class with no usage entry has none used)."""
    resources = tuple(
        ResourceUse(rc, inv.total, inv.reserved, inv.allocation_ratio, int(usage.by_class.get(rc, 0)))
        for rc, inv in sorted(inventory.by_class.items())
    )
    return PlacementProvider(cloud=cloud, uuid=record.uuid, name=record.name, resources=resources)


def aggregate(cloud: str, raw: Payload) -> HostAggregate:
    what = "aggregate"
    hosts = _object(raw, what).get("hosts") or []
    if not isinstance(hosts, list) or not all(is_text(h) for h in hosts):
        raise MalformedPayload(f"{what} 'hosts' is not a list of host names")
    zone = _optional_text(raw, "availability_zone", what)
    return HostAggregate(
        cloud=cloud,
        id=_ident(raw, "id", what),
        name=_optional_text(raw, "name", what) or "",
        availability_zone=zone or None,
        hosts=tuple(hosts),
    )


def _classes(body: Any, key: str) -> Mapping[str, Any]:
    found = _object(body, f"{key} response").get(key)
    if not isinstance(found, Mapping):
        raise MalformedPayload(f"{key} response has no {key!r} object")
    return found


def _generation(body: Payload, what: str) -> int | None:
    return _optional_int(body, "resource_provider_generation", f"{what} response")


def _count(record: Payload, key: str, what: str) -> int:
    value = _require(record, key, what)
    if not is_integer(value) or value < 0:
        raise MalformedPayload(f"{what} {key!r} is not a count")
    return int(value)


def _ratio(record: Payload, what: str) -> float:
    value = record.get("allocation_ratio", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise MalformedPayload(f"{what} 'allocation_ratio' is not a positive number")
    return float(value)
