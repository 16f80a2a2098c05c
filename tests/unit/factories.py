"""Small builders for hand-made core snapshots (plain dataclasses, no backends)."""

from __future__ import annotations

from datetime import UTC, datetime

from hybridview.core.health import evaluate
from hybridview.core.model import (
    VMWARE_HYPERVISOR_TYPE,
    Cluster,
    ComputeNode,
    ComputeService,
    EndpointKind,
    EndpointStatus,
    EsxiHost,
    Estate,
    Instance,
    OpenStackSnapshot,
    VCenterSnapshot,
    VirtualMachine,
)
from hybridview.core.view import EstateView

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VC_UUID = "8B2E1A4C-6D1F-4F3E-9A55-0123456789AB"


def kvm_node(
    host: str = "kvm1",
    *,
    cloud: str = "c1",
    state: str = "up",
    status: str = "enabled",
    forced_down: bool = False,
    disabled_reason: str | None = None,
) -> ComputeNode:
    return ComputeNode(
        cloud, f"id-{host}", f"{host}.example", "QEMU", host, state, status, disabled_reason, forced_down
    )


def vmware_node(
    hostname: str, *, host: str = "proxy1", cloud: str = "c1", state: str = "up", forced_down: bool = False
) -> ComputeNode:
    return ComputeNode(
        cloud, f"id-{hostname}", hostname, VMWARE_HYPERVISOR_TYPE, host, state, "enabled", None, forced_down
    )


def instance(
    ident: str, node: ComputeNode, *, status: str = "ACTIVE", task_state: str | None = None, bfv: bool = False
) -> Instance:
    return Instance(
        node.cloud,
        ident,
        f"vm-{ident}",
        "p1",
        status,
        status.lower(),
        task_state,
        1,
        node.host,
        node.hypervisor_hostname,
        "m1.small",
        bfv,
    )


def cloud(
    name: str = "c1", nodes: tuple[ComputeNode, ...] = (), instances: tuple[Instance, ...] = ()
) -> OpenStackSnapshot:
    return OpenStackSnapshot(name, T0, nodes, (), instances, ())


def esxi(
    moref: str,
    cluster: str | None = "domain-c7",
    *,
    vcenter: str = "vc1",
    connection: str = "connected",
    overall: str = "green",
    maintenance: bool = False,
    power: str = "poweredOn",
) -> EsxiHost:
    return EsxiHost(vcenter, moref, f"{moref}.example", cluster, connection, power, maintenance, overall)


def vm(moref: str, host: str, instance_uuid: str | None = None, *, vcenter: str = "vc1") -> VirtualMachine:
    return VirtualMachine(vcenter, moref, f"name-{moref}", instance_uuid, host, "poweredOn")


def vcenter(
    name: str = "vc1",
    *,
    uuid: str = VC_UUID,
    clusters: tuple[Cluster, ...] | None = None,
    hosts: tuple[EsxiHost, ...] = (),
    vms: tuple[VirtualMachine, ...] = (),
) -> VCenterSnapshot:
    if clusters is None:
        clusters = (Cluster(name, "domain-c7", "Cluster1", ha_enabled=True, drs_enabled=True),)
    return VCenterSnapshot(name, uuid, T0, clusters, hosts, vms)


def ok(name: str, kind: EndpointKind) -> EndpointStatus:
    return EndpointStatus(name, kind, True, None, T0, T0)


def stale(name: str, kind: EndpointKind, error: str = "HTTP 503: down") -> EndpointStatus:
    return EndpointStatus(name, kind, False, error, T0, T0)


def service(
    host: str,
    *,
    cloud: str = "c1",
    state: str = "up",
    status: str = "enabled",
    forced_down: bool = False,
    reason: str | None = None,
) -> ComputeService:
    return ComputeService(cloud, f"svc-{host}", "nova-compute", host, "nova", state, status, reason, forced_down, None)


def view_of(estate: Estate) -> EstateView:
    """The estate evaluated (health and correlation), as the monitor publishes it."""
    return EstateView(estate, evaluate(estate))
