"""Nova clouds with Placement figures, for the headroom tests (core and the Problems view)."""

from __future__ import annotations

import dataclasses

from hybridview.core.model import ComputeNode, HostAggregate, OpenStackSnapshot, PlacementProvider, ResourceUse
from tests.unit.factories import cloud, service

GIB = 1024


def provider(
    node: ComputeNode,
    memory_gib: float,
    used_gib: float,
    vcpus: int = 64,
    vcpus_used: int = 8,
    *,
    reserved_mb: int = 0,
    memory_ratio: float = 1.0,
    vcpu_ratio: float = 1.0,
) -> PlacementProvider:
    """The node's root provider: its memory and vCPU inventories and what is used of them."""
    resources = (
        ResourceUse("MEMORY_MB", int(memory_gib * GIB), reserved_mb, memory_ratio, int(used_gib * GIB)),
        ResourceUse("VCPU", vcpus, 0, vcpu_ratio, vcpus_used),
    )
    return PlacementProvider(node.cloud, f"rp-{node.host}", node.hypervisor_hostname, resources)


def placed_cloud(
    nodes: tuple[ComputeNode, ...],
    providers: tuple[PlacementProvider, ...] = (),
    *,
    zone: str | None = "az1",
    aggregates: tuple[HostAggregate, ...] = (),
    capacity_error: str | None = None,
) -> OpenStackSnapshot:
    """Cloud c1 of ``nodes``, each one's compute service in ``zone``, with these Placement figures."""
    services = tuple(dataclasses.replace(service(n.host), zone=zone) for n in nodes)
    return dataclasses.replace(
        cloud("c1", nodes),
        services=services,
        providers=providers,
        aggregates=aggregates,
        capacity_error=capacity_error,
    )
