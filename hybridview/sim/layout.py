"""Builds the static layout of the simulated estate from a size and a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from hybridview.core.model import VMWARE_HYPERVISOR_TYPE, HostAggregate, Instance, VirtualMachine

KVM_TYPE = "QEMU"
PROJECTS = ("ops", "web", "data", "ci", "billing", "analytics")
FLAVORS = {"m1.small": (1, 2048), "m1.medium": (2, 4096), "m1.large": (4, 8192), "c1.xlarge": (8, 16384)}
FLAVOR_NAMES = tuple(FLAVORS)
FLAVOR_DISK_GB = {"m1.small": 20, "m1.medium": 40, "m1.large": 80, "c1.xlarge": 160}
SMALL_FLAVORS = ("m1.small", "m1.medium")  # the busy host's: many small instances
KVM_VCPUS, KVM_MEMORY_MB = 64, 384 * 1024
ESXI_CORES, ESXI_MEMORY_MB = 32, 512 * 1024
HOST_BASE_MEMORY_MB = 16 * 1024  # what ESXi itself takes
MHZ = 2600
TIGHT_FLAVORS = ("c1.xlarge",)  # the VMs of the demo's tight cluster (``sim.capacity``): big, and all alike
SHARED_DATASTORE_GB, LOCAL_DATASTORE_GB = 4096, 800
MIB, GIB = 1024**2, 1024**3
REBUILD_TASK_STATES = frozenset({"rebuilding", "rebuild_spawning", "rebuild_block_device_mapping"})
RESIZE_TASK_STATES = frozenset({"resize_prep", "resize_migrating", "resize_migrated", "resize_finish"})
VM_STATE_STATUS = {"active": "ACTIVE", "stopped": "SHUTOFF", "error": "ERROR", "resized": "VERIFY_RESIZE"}
# cluster k of vCenter v: at least one fully automated DRS cluster, and some where hybridview must place VMs itself
DRS_BEHAVIORS = ("fullyAutomated", "manual", "partiallyAutomated", "fullyAutomated")


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
    busy_kvm_node_instances: int = 20  # the first KVM host of the first cloud holds this many (the drain benchmark's)

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
            busy_kvm_node_instances=0,
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
    alive: bool = True  # nova-compute heartbeats; False: the host is dead
    status: str = "enabled"
    disabled_reason: str | None = None
    forced_down: bool = False
    died_at: datetime | None = None  # its last heartbeat, once dead
    zone: str = "nova"  # its availability zone (``sim.capacity``)
    vcpus: int = KVM_VCPUS
    memory_mb: int = KVM_MEMORY_MB
    vcpus_used: int = 0
    memory_mb_used: int = 0

    @property
    def state(self) -> str:
        """As Nova's servicegroup says: a forced-down service is down whatever its heartbeat."""
        return "up" if self.alive and not self.forced_down else "down"

    @property
    def is_vmware(self) -> bool:
        return self.cluster is not None


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
    vm_state: str = "active"
    task_state: str | None = None
    fault: str | None = None
    resized_from: str | None = None  # while cold-migrated (vm_state resized): the vm_state it goes back to
    record: Instance | None = field(default=None, compare=False, repr=False)  # its last snapshot record

    @property
    def status(self) -> str:
        """Nova's status from vm_state and task_state (nova.api.openstack.common)."""
        if self.task_state in REBUILD_TASK_STATES:
            return "REBUILD"
        if self.task_state in RESIZE_TASK_STATES:
            return "RESIZE"
        if self.task_state == "migrating":
            return "MIGRATING"
        if self.task_state == "resize_reverting":
            return "REVERT_RESIZE"
        return VM_STATE_STATUS[self.vm_state]


@dataclass(slots=True)
class SimHost:
    vcenter: str
    moref: str
    name: str
    cluster: str
    connection_state: str = "connected"
    in_maintenance: bool = False
    overall_status: str = "green"
    memory_mb: int = ESXI_MEMORY_MB


@dataclass(slots=True)
class SimVM:
    vcenter: str
    moref: str
    name: str
    instance_uuid: str | None
    host: str
    power_state: str = "poweredOn"
    vcpus: int = 2
    memory_mb: int = 4096
    datastores: tuple[str, ...] = ()  # datastore morefs
    vmx_path: str = ""
    disk_gb: int = 40
    memory_reservation_mb: int = 0
    cpu_reservation_mhz: int = 0
    record: VirtualMachine | None = field(default=None, compare=False, repr=False)  # its last snapshot record


@dataclass(slots=True)
class SimDatastore:
    vcenter: str
    moref: str
    name: str
    shared: bool
    hosts: list[str] = field(default_factory=list)  # the morefs of the hosts that mount it
    cluster: str | None = None  # the cluster whose hosts all mount it
    capacity_gb: int = LOCAL_DATASTORE_GB


@dataclass(frozen=True, slots=True)
class SimAdmission:
    """A cluster's vSphere HA admission control, as ``core.model.Cluster`` names it."""

    enabled: bool
    policy: str | None = None
    failover_hosts: int | None = None
    cpu_percent: int | None = None
    memory_percent: int | None = None


@dataclass(slots=True)
class SimVCenter:
    name: str
    instance_uuid: str
    clusters: dict[str, str] = field(default_factory=dict)  # moref -> name
    ha_enabled: dict[str, bool] = field(default_factory=dict)
    drs_behavior: dict[str, str] = field(default_factory=dict)
    admission: dict[str, SimAdmission] = field(default_factory=dict)  # moref -> its admission control


@dataclass(slots=True)
class Layout:
    nodes: list[SimNode] = field(default_factory=list)
    instances: list[SimInstance] = field(default_factory=list)
    vcenters: list[SimVCenter] = field(default_factory=list)
    hosts: list[SimHost] = field(default_factory=list)
    vms: list[SimVM] = field(default_factory=list)
    datastores: list[SimDatastore] = field(default_factory=list)
    aggregates: dict[str, tuple[HostAggregate, ...]] = field(default_factory=dict)  # per cloud
    next_moref: int = 100  # the numeric suffix the next new moref takes


class _Ids:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not security
        self.counter = 100

    def uuid(self) -> str:
        """The text of ``uuid.UUID(int=rng.getrandbits(128), version=4)``, without its slow constructor."""
        n = self.rng.getrandbits(128) & ~(0xC000 << 48) | 0x8000 << 48
        h = f"{n & ~(0xF000 << 64) | 4 << 76:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def pick(self, choices: tuple[str, ...]) -> str:
        """``rng.choice``, at a tenth of its cost: 60,000 picks build the large estate."""
        return choices[int(self.rng.random() * len(choices))]

    def moref(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def cloud_name(index: int) -> str:
    return ("demo-cloud", "demo-edge")[index] if index < 2 else f"demo-cloud-{index + 1}"


def vmx_path(datastore: SimDatastore, name: str) -> str:
    return f"[{datastore.name}] {name}/{name}.vmx"


def build_layout(size: SimSize, seed: int) -> Layout:
    ids = _Ids(seed)
    layout = Layout()
    _build_vcenters(layout, size, ids)
    for c in range(size.clouds):
        _build_kvm(layout, cloud_name(c), size, ids, c)
    _build_vmware_nodes(layout, size, ids)
    _count_usage(layout)
    layout.next_moref = ids.counter + 1
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
        busy = cloud_index == 0 and n == 0 and size.busy_kvm_node_instances > size.instances_per_kvm_node
        count = size.busy_kvm_node_instances if busy else size.instances_per_kvm_node
        flavors = SMALL_FLAVORS if busy else FLAVOR_NAMES
        for i in range(count):
            layout.instances.append(_instance(ids, cloud, node, i, bfv=i % 3 == 0, flavors=flavors))


def _instance(
    ids: _Ids, cloud: str, node: SimNode, index: int, *, bfv: bool, flavors: tuple[str, ...] = FLAVOR_NAMES
) -> SimInstance:
    project = ids.pick(PROJECTS)
    return SimInstance(
        cloud,
        ids.uuid(),
        f"{project}-{node.service_host}-{index + 1:02d}",
        project,
        ids.pick(flavors),
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
            vc.drs_behavior[moref] = DRS_BEHAVIORS[(2 * v + c) % len(DRS_BEHAVIORS)]
            shared_name = f"{vc.clusters[moref]}-shared"
            shared = SimDatastore(
                name, ids.moref("datastore-"), shared_name, True, cluster=moref, capacity_gb=SHARED_DATASTORE_GB
            )
            layout.datastores.append(shared)
            for h in range(size.hosts_per_cluster):
                host = SimHost(name, ids.moref("host-"), f"esx{v + 1}{c + 1:02d}{h + 1:02d}.{name}.example", moref)
                layout.hosts.append(host)
                shared.hosts.append(host.moref)
                local = f"datastore1 ({host.name.partition('.')[0]})"
                layout.datastores.append(SimDatastore(name, ids.moref("datastore-"), local, False, [host.moref]))


def _build_vmware_nodes(layout: Layout, size: SimSize, ids: _Ids) -> None:
    """One vmwareapi node per cluster, in the first cloud, named as the driver names it."""
    cloud = cloud_name(0)
    proxy = 0
    for vc in layout.vcenters:
        for moref, cluster_name in vc.clusters.items():
            proxy += 1
            hosts = [h for h in layout.hosts if h.vcenter == vc.name and h.cluster == moref]
            node = SimNode(
                cloud,
                ids.uuid(),
                f"{moref}.{vc.instance_uuid}",
                f"nova-vmware-{proxy:02d}",
                VMWARE_HYPERVISOR_TYPE,
                ids.uuid(),
                f"10.9.0.{proxy}",
                cluster=(vc.name, moref),
                vcpus=ESXI_CORES * len(hosts),
                memory_mb=ESXI_MEMORY_MB * len(hosts),
            )
            layout.nodes.append(node)
            shared = next(d for d in layout.datastores if d.vcenter == vc.name and d.cluster == moref)
            on_shared = (shared.moref,)  # one tuple for all its VMs
            flavors = TIGHT_FLAVORS if proxy == 1 else FLAVOR_NAMES
            for h_index, host in enumerate(hosts):
                for i in range(size.vms_per_esxi_host):
                    index = h_index * size.vms_per_esxi_host + i
                    inst = _instance(ids, cloud, node, index, bfv=True, flavors=flavors)
                    layout.instances.append(inst)
                    vcpus, memory = FLAVORS[inst.flavor]
                    layout.vms.append(
                        SimVM(
                            vc.name,
                            ids.moref("vm-"),
                            inst.name,
                            inst.id,
                            host.moref,
                            "poweredOn",
                            vcpus,
                            memory,
                            on_shared,
                            vmx_path(shared, inst.name),
                            FLAVOR_DISK_GB[inst.flavor],
                        )
                    )
            for u in range(size.unmanaged_vms_per_cluster):
                name = f"{cluster_name}-infra-{u + 1}"
                host = hosts[u % len(hosts)]
                vm = SimVM(vc.name, ids.moref("vm-"), name, None, host.moref, datastores=on_shared)
                vm.vmx_path = vmx_path(shared, name)
                layout.vms.append(vm)


def _count_usage(layout: Layout) -> None:
    nodes: dict[str, dict[str, SimNode]] = {}
    for n in layout.nodes:
        nodes.setdefault(n.cloud, {})[n.hostname] = n
    for inst in layout.instances:
        node = nodes[inst.cloud][inst.node]
        vcpus, memory = FLAVORS[inst.flavor]
        node.vcpus_used += vcpus
        node.memory_mb_used += memory
