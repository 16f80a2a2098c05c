"""Builds the static layout of the simulated estate from a size and a seed."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from hybridview.core.model import VMWARE_HYPERVISOR_TYPE

KVM_TYPE = "QEMU"
PROJECTS = ("ops", "web", "data", "ci", "billing", "analytics")
FLAVORS = ("m1.small", "m1.medium", "m1.large", "c1.xlarge")


@dataclass(frozen=True, slots=True)
class SimSize:
    clouds: int = 2
    kvm_nodes_per_cloud: int = 6
    vcenters: int = 2
    clusters_per_vcenter: int = 2
    hosts_per_cluster: int = 4
    instances_per_kvm_node: int = 6
    vms_per_esxi_host: int = 5
    unmanaged_vms_per_cluster: int = 2

    @classmethod
    def large(cls) -> SimSize:
        """1,000 compute nodes and 30,000 instances/VMs, for benchmarks."""
        return cls(
            clouds=2,
            kvm_nodes_per_cloud=475,
            vcenters=5,
            clusters_per_vcenter=10,
            hosts_per_cluster=8,
            instances_per_kvm_node=22,
            vms_per_esxi_host=25,
            unmanaged_vms_per_cluster=0,
        )


@dataclass(slots=True)
class SimNode:
    cloud: str
    id: str
    hostname: str
    service_host: str
    hypervisor_type: str
    service_id: str
    host_ip: str
    cluster: tuple[str, str] | None = None  # (vcenter, moref) for vmwareapi nodes
    state: str = "up"
    status: str = "enabled"
    disabled_reason: str | None = None
    forced_down: bool = False


@dataclass(slots=True)
class SimInstance:
    cloud: str
    id: str
    name: str
    project: str
    flavor: str
    node: str
    host: str
    boot_from_volume: bool
    status: str = "ACTIVE"
    task_state: str | None = None


@dataclass(slots=True)
class SimHost:
    vcenter: str
    moref: str
    name: str
    cluster: str
    connection_state: str = "connected"
    in_maintenance: bool = False
    overall_status: str = "green"


@dataclass(slots=True)
class SimVM:
    vcenter: str
    moref: str
    name: str
    instance_uuid: str | None
    host: str
    power_state: str = "poweredOn"


@dataclass(slots=True)
class SimVCenter:
    name: str
    instance_uuid: str
    clusters: dict[str, str] = field(default_factory=dict)  # moref -> name
    ha_enabled: dict[str, bool] = field(default_factory=dict)


@dataclass(slots=True)
class Layout:
    nodes: list[SimNode] = field(default_factory=list)
    instances: list[SimInstance] = field(default_factory=list)
    vcenters: list[SimVCenter] = field(default_factory=list)
    hosts: list[SimHost] = field(default_factory=list)
    vms: list[SimVM] = field(default_factory=list)


class _Ids:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not security
        self._counter = 100

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moref(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"


def cloud_name(index: int) -> str:
    return ("demo-cloud", "demo-edge")[index] if index < 2 else f"demo-cloud-{index + 1}"


def build_layout(size: SimSize, seed: int) -> Layout:
    ids = _Ids(seed)
    layout = Layout()
    _build_vcenters(layout, size, ids)
    for c in range(size.clouds):
        _build_kvm(layout, cloud_name(c), size, ids, c)
    _build_vmware_nodes(layout, size, ids)
    return layout


def _build_kvm(layout: Layout, cloud: str, size: SimSize, ids: _Ids, cloud_index: int) -> None:
    for n in range(size.kvm_nodes_per_cloud):
        host = f"kvm-{cloud_index + 1}{n + 1:03d}"
        node = SimNode(
            cloud,
            ids.uuid(),
            f"{host}.{cloud}.example",
            host,
            KVM_TYPE,
            ids.uuid(),
            f"10.{cloud_index}.{n // 250}.{n % 250 + 1}",
        )
        layout.nodes.append(node)
        for i in range(size.instances_per_kvm_node):
            layout.instances.append(_instance(ids, cloud, node, i, bfv=i % 3 == 0))


def _instance(ids: _Ids, cloud: str, node: SimNode, index: int, *, bfv: bool) -> SimInstance:
    project = ids.rng.choice(PROJECTS)
    return SimInstance(
        cloud,
        ids.uuid(),
        f"{project}-{node.service_host}-{index + 1:02d}",
        project,
        ids.rng.choice(FLAVORS),
        node.hostname,
        node.service_host,
        bfv,
    )


def _build_vcenters(layout: Layout, size: SimSize, ids: _Ids) -> None:
    regions = ("east", "west", "north", "south", "central")
    for v in range(size.vcenters):
        name = f"vc-{regions[v % len(regions)]}" + (f"-{v // len(regions) + 1}" if v >= len(regions) else "")
        vc = SimVCenter(name, ids.uuid())
        layout.vcenters.append(vc)
        for c in range(size.clusters_per_vcenter):
            moref = ids.moref("domain-c")
            vc.clusters[moref] = f"{name}-cl{c + 1:02d}"
            vc.ha_enabled[moref] = not (c == 1 and v == 0)
            for h in range(size.hosts_per_cluster):
                layout.hosts.append(
                    SimHost(name, ids.moref("host-"), f"esx{v + 1}{c + 1:02d}{h + 1:02d}.{name}.example", moref)
                )


def _build_vmware_nodes(layout: Layout, size: SimSize, ids: _Ids) -> None:
    """One vmwareapi node per cluster, in the first cloud, named as the driver names it."""
    cloud = cloud_name(0)
    proxy = 0
    for vc in layout.vcenters:
        for moref, cluster_name in vc.clusters.items():
            proxy += 1
            node = SimNode(
                cloud,
                ids.uuid(),
                f"{moref}.{vc.instance_uuid}",
                f"nova-vmware-{proxy:02d}",
                VMWARE_HYPERVISOR_TYPE,
                ids.uuid(),
                f"10.9.0.{proxy}",
                cluster=(vc.name, moref),
            )
            layout.nodes.append(node)
            hosts = [h for h in layout.hosts if h.vcenter == vc.name and h.cluster == moref]
            for h_index, host in enumerate(hosts):
                for i in range(size.vms_per_esxi_host):
                    inst = _instance(ids, cloud, node, h_index * size.vms_per_esxi_host + i, bfv=True)
                    layout.instances.append(inst)
                    layout.vms.append(SimVM(vc.name, ids.moref("vm-"), inst.name, inst.id, host.moref))
            for u in range(size.unmanaged_vms_per_cluster):
                host = hosts[u % len(hosts)]
                layout.vms.append(SimVM(vc.name, ids.moref("vm-"), f"{cluster_name}-infra-{u + 1}", None, host.moref))
