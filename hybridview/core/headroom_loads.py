"""Per host, what headroom weighs: its usable capacity, its load, and what must fit elsewhere if it fails.

Nova (one compute node): Placement's ``(total - reserved) x allocation_ratio`` of MEMORY_MB and VCPU and its
usage; where Placement gave nothing for the node, the hypervisor record's totals and usage (raw, without
ratios). Its need is its usage: the allocations an evacuation rebuilds elsewhere.

vSphere (one ESXi host): its memory and CPU MHz, less the percentage HA admission control keeps free under the
percentage policy (a fit that eats into it leaves no cover for the next failure, and vSphere then refuses new
power-ons). Its need is what HA would restart: each powered-on VM's configured memory, never less than its
reservation (its host memory usage when the configuration is unknown), and its CPU usage, never less than its
CPU reservation (CPU is time-shared: demand, not configuration, has to fit). Its load as a survivor is the
larger of that and its quick stats, so the hypervisor's own use counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hybridview.core.health import NOT_RESPONDING
from hybridview.core.identity import HostRef, NodeRef
from hybridview.core.model import Cluster, ComputeNode, EsxiHost, PlacementProvider, VirtualMachine

MEMORY, VCPU, CPU_MHZ = "memory_mb", "vcpu", "cpu_mhz"  # the resources, each named with its unit
NOVA_RESOURCES = (MEMORY, VCPU)
VSPHERE_RESOURCES = (MEMORY, CPU_MHZ)
PLACEMENT, HYPERVISORS, VCENTER = "placement", "hypervisors", "vcenter"


class HostState(StrEnum):
    USABLE = "usable"  # up and takes load: a survivor
    BUSY = "busy"  # up and runs load, but takes none (disabled, in maintenance, standby): can fail, offers nothing
    DOWN = "down"  # failed: its load waits for a new home
    OUT = "out"  # neither (disconnected, state unknown): not counted


@dataclass(slots=True)
class HostLoad:
    name: str
    ref: NodeRef | HostRef
    state: HostState
    capacity: dict[str, float] = field(default_factory=dict)  # per resource; absent: unknown
    load: dict[str, float] = field(default_factory=dict)  # what occupies it
    need: dict[str, float] = field(default_factory=dict)  # what must fit elsewhere if it fails
    source: str = PLACEMENT


def node_state(node: ComputeNode) -> HostState:
    if node.state == "down" or node.forced_down:
        return HostState.DOWN
    if node.state != "up":
        return HostState.OUT
    return HostState.USABLE if node.status == "enabled" else HostState.BUSY


def node_load(node: ComputeNode, provider: PlacementProvider | None) -> HostLoad:
    """One KVM compute node, from its Placement provider, else from its hypervisor record."""
    host = HostLoad(node.host, node.ref, node_state(node))
    fallback = ((MEMORY, "MEMORY_MB", node.memory_mb, node.memory_mb_used), (VCPU, "VCPU", node.vcpus, node.vcpus_used))
    for name, resource_class, total, used in fallback:
        use = provider.use(resource_class) if provider is not None else None
        if use is not None:
            host.capacity[name], host.load[name] = use.capacity, float(use.used)
        elif total is not None and used is not None:
            host.capacity[name], host.load[name] = float(total), float(used)
            host.source = HYPERVISORS
    host.need = dict(host.load)
    return host


def esxi_state(host: EsxiHost) -> HostState:
    if host.connection_state == NOT_RESPONDING:
        return HostState.DOWN
    if not host.responding:
        return HostState.OUT
    return HostState.BUSY if host.in_maintenance or host.power_state != "poweredOn" else HostState.USABLE


def vm_memory_mb(vm: VirtualMachine) -> int:
    """What HA must find for it: its configured memory, never less than its reservation."""
    reserved = vm.memory_reservation_mb or 0
    if vm.memory_mb is not None:
        return max(vm.memory_mb, reserved)
    return max(reserved, vm.memory_used_mb or 0)


def esxi_load(host: EsxiHost, vms: Sequence[VirtualMachine], kept: Mapping[str, int]) -> HostLoad:
    """One ESXi host and the VMs it runs; ``kept``: the percentage of each resource admission control keeps."""
    load = HostLoad(host.name, host.ref, esxi_state(host), source=VCENTER)
    memory = cpu = 0
    cpu_known = True  # every running VM says its CPU usage or reservation
    for vm in vms:
        if vm.power_state == "poweredOn":
            memory += vm_memory_mb(vm)
            cpu_known = cpu_known and (vm.cpu_used_mhz is not None or vm.cpu_reservation_mhz is not None)
            cpu += max(vm.cpu_used_mhz or 0, vm.cpu_reservation_mhz or 0)
    load.need[MEMORY] = float(memory)
    if cpu_known:
        load.need[CPU_MHZ] = float(cpu)
    for name, total, used in (
        (MEMORY, host.memory_mb, host.memory_used_mb),
        (CPU_MHZ, host.cpu_mhz, host.cpu_used_mhz),
    ):
        if total is not None and name in load.need:
            load.capacity[name] = total * (100 - kept.get(name, 0)) / 100
            load.load[name] = max(load.need[name], float(used or 0))
    return load


def kept_free(cluster: Cluster) -> dict[str, int]:
    """The percentage of each resource HA admission control keeps free (the percentage policy only)."""
    if not (cluster.ha_enabled and cluster.admission_control and cluster.admission_policy == "percentage"):
        return {}
    return {MEMORY: cluster.admission_memory_percent or 0, CPU_MHZ: cluster.admission_cpu_percent or 0}


def admission_text(cluster: Cluster) -> str | None:
    """vSphere HA admission control in words, or None when not known."""
    if not cluster.ha_enabled:
        return "vSphere HA is off: nothing restarts a failed host's VMs by itself"
    if cluster.admission_control is None:
        return None
    if not cluster.admission_control:
        return "HA admission control is off: vSphere holds no capacity back for a host failure"
    policy, hosts = cluster.admission_policy, cluster.admission_failover_hosts
    if policy == "failover-level" and hosts is not None:
        return f"HA admission control: reserves capacity for {_count(hosts, 'host failure')}"
    if policy == "percentage":
        cpu, memory = cluster.admission_cpu_percent, cluster.admission_memory_percent
        return f"HA admission control: keeps {cpu if cpu is not None else '?'}% CPU and " + (
            f"{memory if memory is not None else '?'}% memory free"
        )
    if policy == "failover-hosts":
        return "HA admission control: " + (
            f"{_count(hosts, 'dedicated failover host')}" if hosts is not None else "dedicated failover host(s)"
        )
    return "HA admission control is on (policy not read)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
