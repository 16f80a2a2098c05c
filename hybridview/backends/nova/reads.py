"""Paged reads of the compute API -> one OpenStackSnapshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import openstack.exceptions as sdk_exc

from hybridview.backends.nova import payloads
from hybridview.backends.nova.session import ComputeSession
from hybridview.core.model import OpenStackSnapshot

MIGRATIONS_WINDOW = timedelta(days=2)


def read_snapshot(session: ComputeSession, page_size: int) -> OpenStackSnapshot:
    """Services, hypervisors, servers of every project and recent migrations, each at its own microversion."""
    cloud = session.cloud
    limit = {"limit": str(page_size)}
    services = [
        payloads.service(cloud, raw) for raw in _pages(session, "/os-services", "services", {"binary": "nova-compute"})
    ]
    hypervisor_params = limit if session.at_least("hypervisors", "2.33") else {}
    nodes = [
        payloads.compute_node(cloud, raw, services)
        for raw in _pages(session, "/os-hypervisors/detail", "hypervisors", hypervisor_params)
    ]
    servers = [
        payloads.instance(cloud, raw)
        for raw in _pages(session, "/servers/detail", "servers", {"all_tenants": "True", **limit})
    ]
    migrations = [
        payloads.migration(cloud, raw)
        for raw in _pages(session, "/os-migrations", "migrations", _migration_params(session, limit))
    ]
    return OpenStackSnapshot(
        cloud=cloud,
        taken_at=datetime.now(UTC),
        nodes=tuple(nodes),
        services=tuple(services),
        instances=tuple(servers),
        migrations=tuple(migrations),
        microversion=session.microversion("servers"),
    )


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
