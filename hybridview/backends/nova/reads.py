"""Paged reads of the compute API -> one OpenStackSnapshot.

Each record is mapped on its own: a malformed one is skipped and named in the read's
warnings, the rest of its collection is kept. A response that is not the documented
shape (no list, not JSON, a paging loop) still fails the whole read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import openstack.exceptions as sdk_exc

from hybridview.backends.nova import payloads
from hybridview.backends.nova.session import WRITES, ComputeSession
from hybridview.backends.records import Collection, Mapped, RecordSkips
from hybridview.core.model import OpenStackSnapshot

MIGRATIONS_WINDOW = timedelta(days=2)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One paged collection of the compute API, and how a warning names its skipped records."""

    path: str
    key: str  # the list in the response body, and the resource whose microversion it is read at
    kind: str
    loss: str  # what a skipped record costs the view
    id_keys: tuple[str, ...] = ("id",)

    @property
    def records(self) -> Collection:
        return Collection(self.kind, self.loss, self.path)


# Nova reports a forced-down service down, so a node's own state still shows that it failed.
SERVICES = Endpoint("/os-services", "services", "service", "the forced-down flag of their compute nodes is unknown")
HYPERVISORS = Endpoint("/os-hypervisors/detail", "hypervisors", "hypervisor", "those compute nodes are not shown")
SERVERS = Endpoint("/servers/detail", "servers", "server", "those instances are not shown")
MIGRATIONS = Endpoint("/os-migrations", "migrations", "migration", "those migrations are not shown", ("uuid", "id"))


def read_snapshot(session: ComputeSession, page_size: int) -> Mapped[OpenStackSnapshot]:
    """Services, hypervisors, servers of every project and recent migrations, each at its own microversion.

    The snapshot also names the microversion writes are sent at, so an operator sees it before one.
    """
    cloud = session.cloud
    limit = {"limit": str(page_size)}
    skips = RecordSkips(payloads.MalformedPayload)

    def read(endpoint: Endpoint, params: dict[str, str], mapper: Callable[[payloads.Payload], T]) -> list[T]:
        return skips.map(
            endpoint.records,
            _pages(session, endpoint.path, endpoint.key, params),
            mapper,
            lambda raw, position: payloads.record_name(raw, position, endpoint.id_keys),
        )

    services = read(SERVICES, {"binary": "nova-compute"}, lambda raw: payloads.service(cloud, raw))
    hypervisor_params = limit if session.at_least("hypervisors", "2.33") else {}
    nodes = read(HYPERVISORS, hypervisor_params, lambda raw: payloads.compute_node(cloud, raw, services))
    servers = read(SERVERS, {"all_tenants": "True", **limit}, lambda raw: payloads.instance(cloud, raw))
    migrations = read(MIGRATIONS, _migration_params(session, limit), lambda raw: payloads.migration(cloud, raw))
    snapshot = OpenStackSnapshot(
        cloud=cloud,
        taken_at=datetime.now(UTC),
        nodes=tuple(nodes),
        services=tuple(services),
        instances=tuple(servers),
        migrations=tuple(migrations),
        microversion=session.microversion("servers"),
        write_microversion=session.microversion(WRITES),
    )
    return Mapped(snapshot, skips.warnings())


def _migration_params(session: ComputeSession, limit: dict[str, str]) -> dict[str, str]:
    if not session.at_least("migrations", "2.59"):  # no changes-since and no paging before 2.59
        return {}
    since = (datetime.now(UTC) - MIGRATIONS_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"changes-since": since, **limit}


def _pages(session: ComputeSession, path: str, collection: str, params: dict[str, str]) -> Iterator[payloads.Payload]:
    """Every item of a collection, following ``rel=next`` links; a marker seen twice is a loop."""
    microversion = session.microversion(collection)
    query: dict[str, str] | None = dict(params)
    seen_markers: set[str] = set()
    while query is not None:
        response = session.conn.compute.get(path, params=query, microversion=microversion, raise_exc=False)
        sdk_exc.raise_from_response(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise payloads.MalformedPayload(f"{path} did not return JSON") from exc
        yield from payloads.items(body, collection)
        query = payloads.next_page_params(body, collection)
        marker = (query or {}).get("marker")
        if marker is not None:
            if marker in seen_markers:
                raise payloads.MalformedPayload(f"{path} paging loops on marker {marker}")
            seen_markers.add(marker)
            query = {**params, **(query or {})}
