"""The demo's capacity, all derived from the layout (and so from the seed): Placement providers, host
aggregates and availability zones, vSphere HA admission control, VM reservations (``vm_records`` has their usage).

One cluster is tight on purpose: the first vCenter's first cluster (HA on) runs only big VMs, all alike
(``TIGHT_FLAVORS``), on hosts sized to hold them with one host to spare but not two. Healthy, it has N+1
headroom; in the ``esxi-host-down`` scenario one of its hosts has failed, and the failure of another would
leave VMs without a host: the Problems view warns of it. Every other group has room to spare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hybridview.core.headroom_loads import vm_memory_mb
from hybridview.core.model import HostAggregate, PlacementProvider, ResourceUse
from hybridview.sim.layout import (
    FLAVOR_DISK_GB,
    HOST_BASE_MEMORY_MB,
    SHARED_DATASTORE_GB,
    Layout,
    SimAdmission,
    SimInstance,
    SimNode,
    SimVCenter,
)
from hybridview.sim.vm_records import vm_record

# Placement's inventory of each demo compute node: reserved amounts and allocation ratios as Nova's defaults
VCPU_RATIO, MEMORY_RATIO, DISK_RATIO = 16.0, 1.5, 1.0
RESERVED_HOST_MEMORY_MB = 512
KVM_DISK_GB = 2048
MAX_ZONES = 4  # a cloud's KVM hosts are split into this many zones at most, of 3 hosts at least
SIZE_STEP_MB = 16 * 1024  # the tight cluster's hosts come in steps of 16 GiB, when the range allows
INFRA_CPU_RESERVATION_MHZ = 1000
VMWARE_ZONE = "vmware"
# the clusters other than the tight one and those without HA: admission control by the cluster's place
OTHER_ADMISSION = (
    SimAdmission(True, "percentage", cpu_percent=25, memory_percent=25),
    SimAdmission(True, "failover-level", failover_hosts=1),
    SimAdmission(False),  # HA on, admission control off
)


def furnish(layout: Layout) -> None:
    """Zones and aggregates, admission control, reservations, and the tight cluster's host size."""
    for cloud in dict.fromkeys(n.cloud for n in layout.nodes):
        layout.aggregates[cloud] = _zones(cloud, [n for n in layout.nodes if n.cloud == cloud])
    for v, vc in enumerate(layout.vcenters):
        for c, moref in enumerate(vc.clusters):
            vc.admission[moref] = _admission(vc, moref, v, c)
    for vm in layout.vms:
        if vm.instance_uuid is None:  # an infrastructure VM: fully reserved
            vm.memory_reservation_mb, vm.cpu_reservation_mhz = vm.memory_mb, INFRA_CPU_RESERVATION_MHZ
    tight = tight_cluster(layout)
    if tight is not None:
        _size_tight(layout, *tight)


def tight_cluster(layout: Layout) -> tuple[str, str] | None:
    """(vCenter, cluster moref) of the cluster sized tight: the first vCenter's first cluster."""
    vc = layout.vcenters[0] if layout.vcenters else None
    first = next(iter(vc.clusters), None) if vc else None
    return (vc.name, first) if vc and first and vc.ha_enabled.get(first) else None


def _zones(cloud: str, nodes: list[SimNode]) -> tuple[HostAggregate, ...]:
    """The KVM hosts in up to ``MAX_ZONES`` zones, each defined by an aggregate; every other KVM host in an
    ``ssd`` aggregate across the zones; the vmwareapi proxies in a zone of their own."""
    kvm = [n for n in nodes if not n.is_vmware]
    zones = max(1, min(MAX_ZONES, len(kvm) // 3))
    aggregates: list[HostAggregate] = []
    for z in range(zones if kvm else 0):
        members = kvm[z * len(kvm) // zones : (z + 1) * len(kvm) // zones]
        for node in members:
            node.zone = f"az{z + 1}"
        aggregates.append(_aggregate(cloud, len(aggregates), f"az{z + 1}-kvm", f"az{z + 1}", members))
    if len(kvm) > 1:
        aggregates.append(_aggregate(cloud, len(aggregates), "ssd", None, kvm[::2]))
    vmware = [n for n in nodes if n.is_vmware]
    for node in vmware:
        node.zone = VMWARE_ZONE
    if vmware:
        aggregates.append(_aggregate(cloud, len(aggregates), "vcenter-proxies", VMWARE_ZONE, vmware))
    return tuple(aggregates)


def _aggregate(cloud: str, index: int, name: str, zone: str | None, nodes: Iterable[SimNode]) -> HostAggregate:
    return HostAggregate(cloud, str(index + 1), name, zone, tuple(n.service_host for n in nodes))


def _admission(vc: SimVCenter, moref: str, v: int, c: int) -> SimAdmission:
    if not vc.ha_enabled.get(moref):
        return SimAdmission(False)
    if v == 0 and c == 0:  # the tight cluster: it keeps one host's worth free, until a host fails
        return SimAdmission(True, "failover-level", failover_hosts=1)
    return OTHER_ADMISSION[(2 * v + c) % len(OTHER_ADMISSION)]


def _size_tight(layout: Layout, vcenter: str, moref: str) -> None:
    """Hosts whose memory, less ESXi's own, holds the cluster's VMs on all hosts but one, not on all but two:
    the middle of [load / (n - 1), load / (n - 2)), on a 16 GiB step when that stays inside."""
    hosts = [h for h in layout.hosts if h.vcenter == vcenter and h.cluster == moref]
    n = len(hosts)
    if n < 3:
        return
    on = {h.moref for h in hosts}
    running = [vm_record(vm, "connected") for vm in layout.vms if vm.host in on and vm.power_state == "poweredOn"]
    load = sum(vm_memory_mb(vm) for vm in running)
    low, high = load / (n - 1), load / (n - 2)
    size = round((HOST_BASE_MEMORY_MB + (low + high) / 2) / SIZE_STEP_MB) * SIZE_STEP_MB
    if not low <= size - HOST_BASE_MEMORY_MB < high:
        size = HOST_BASE_MEMORY_MB + int((low + high) / 2)
    for host in hosts:
        host.memory_mb = size
    node = next(n for n in layout.nodes if n.cluster == (vcenter, moref))
    node.memory_mb = size * n


def _disk_gb(node: SimNode) -> int:
    return SHARED_DATASTORE_GB if node.is_vmware else KVM_DISK_GB


def providers(nodes: Iterable[SimNode], instances: Iterable[SimInstance]) -> tuple[PlacementProvider, ...]:
    """Each compute node's root provider, its inventory and the usage of the instances Nova placed on it."""
    disk: Counter[str] = Counter()
    for inst in instances:
        if not inst.boot_from_volume:
            disk[inst.node] += FLAVOR_DISK_GB[inst.flavor]
    return tuple(
        PlacementProvider(
            n.cloud,
            n.id,
            n.hostname,
            (
                ResourceUse("VCPU", n.vcpus, 0, VCPU_RATIO, n.vcpus_used),
                ResourceUse("MEMORY_MB", n.memory_mb, RESERVED_HOST_MEMORY_MB, MEMORY_RATIO, n.memory_mb_used),
                ResourceUse("DISK_GB", _disk_gb(n), 0, DISK_RATIO, disk[n.hostname]),
            ),
        )
        for n in nodes
    )
