"""The demo state as the core's frozen snapshots, shaped as the real backends deliver them."""

from __future__ import annotations

from hybridview.core.model import (
    Cluster,
    ComputeNode,
    ComputeService,
    Datastore,
    EsxiHost,
    Instance,
    Migration,
    OpenStackSnapshot,
    VCenterSnapshot,
    VCenterTask,
    VirtualMachine,
)
from hybridview.sim.layout import (
    ESXI_CORES,
    FLAVORS,
    GIB,
    HOST_BASE_MEMORY_MB,
    MHZ,
    SimDatastore,
    SimHost,
    SimInstance,
    SimAdmission,
    SimNode,
    SimVCenter,
    SimVM,
)
from hybridview.sim.capacity import providers
from hybridview.sim.instance_actions import instance_actions
from hybridview.sim.state import SimMigration, SimState, SimTask, nova_time
from hybridview.sim.vm_records import vm_record
from hybridview.sim.vsphere_tasks import accessible, used_gb

MICROVERSION = "2.100"  # what the demo clouds read and write at
EVENTS_KEPT = 200
VM_STATE_POWER = {
    "active": 1,
    "stopped": 4,
    "error": 0,
}  # a resized server's: that of the state it came from  # Nova's power states RUNNING, SHUTDOWN, NOSTATE


def openstack_snapshot(state: SimState, cloud: str) -> OpenStackSnapshot:
    nodes = state.nodes.get(cloud)
    if not nodes:
        raise KeyError(cloud)
    heartbeat = nova_time(state.now())
    zones = {n.service_host: n.zone for n in nodes}
    return OpenStackSnapshot(
        cloud,
        state.now(),
        tuple(_node(n) for n in nodes),
        tuple(_service(n, heartbeat) for n in nodes),
        tuple([_instance(i, zones.get(i.host)) for i in state.instances[cloud]]),
        tuple(_migration(m) for m in state.migrations[cloud]),
        MICROVERSION,
        MICROVERSION,
        instance_actions(state, cloud),
        providers(nodes, state.instances[cloud]),
        state.layout.aggregates.get(cloud, ()),
    )


def vcenter_snapshot(state: SimState, name: str) -> VCenterSnapshot:
    vc = state.vcenter(name)
    clusters = tuple(_cluster(vc, moref, cname) for moref, cname in vc.clusters.items())
    hosts = state.hosts[name]
    connection = {h.moref: "connected" if h.connection_state == "connected" else "disconnected" for h in hosts}
    disks = used_gb(state, name)
    memory: dict[str, int] = {}
    for vm in state.vms[name]:
        if vm.power_state == "poweredOn":
            memory[vm.host] = memory.get(vm.host, 0) + vm.memory_mb
    return VCenterSnapshot(
        name,
        vc.instance_uuid,
        state.now(),
        clusters,
        tuple(_host(h, memory.get(h.moref, 0)) for h in hosts),
        tuple([_vm(vm, connection.get(vm.host, "disconnected")) for vm in state.vms[name]]),
        tuple(_datastore(state, d, disks.get(d.moref, 0)) for d in state.datastores[name]),
        events=tuple(state.events[name][-EVENTS_KEPT:]),
        version="8.0.2 (simulated)",
        tasks=tuple(_task(t) for t in state.tasks[name].values() if t.running),
    )


def _cluster(vc: SimVCenter, moref: str, name: str) -> Cluster:
    admission = vc.admission.get(moref) or SimAdmission(vc.ha_enabled[moref])
    return Cluster(
        vc.name,
        moref,
        name,
        vc.ha_enabled[moref],
        True,
        admission.enabled,
        "dc-demo",
        vc.drs_behavior.get(moref),
        admission.policy if admission.enabled else None,
        admission.failover_hosts,
        admission.cpu_percent,
        admission.memory_percent,
    )


def _datastore(state: SimState, d: SimDatastore, used: int) -> Datastore:
    capacity = d.capacity_gb * GIB
    free = max(0, capacity - used * GIB)
    return Datastore(d.vcenter, d.moref, d.name, d.shared, tuple(d.hosts), capacity, free, accessible(state, d))


def _task(t: SimTask) -> VCenterTask:
    return VCenterTask(
        t.key,
        t.key,  # a task's key is its moref's value
        t.description_id,
        t.entity_moref,
        t.entity_name,
        t.state,
        t.progress,
        t.cancelable,
        t.queued_at,
        t.user,
    )


def _node(n: SimNode) -> ComputeNode:
    return ComputeNode(
        n.cloud,
        n.id,
        n.hostname,
        n.hypervisor_type,
        n.service_host,
        n.state,
        n.status,
        n.disabled_reason,
        n.forced_down,
        n.host_ip,
        n.service_id,
        n.vcpus,
        n.vcpus_used,
        n.memory_mb,
        n.memory_mb_used,
    )


def _service(n: SimNode, heartbeat: str) -> ComputeService:
    return ComputeService(
        n.cloud,
        n.service_id,
        "nova-compute",
        n.service_host,
        n.zone,
        n.state,
        n.status,
        n.disabled_reason,
        n.forced_down,
        heartbeat if n.alive else (nova_time(n.died_at) if n.died_at else None),
    )


def _instance(i: SimInstance, zone: str | None) -> Instance:
    """Its last record while what can change of it has not: 30,000 records are costly to make. ``zone``: its host's."""
    r = i.record
    if r is not None and (r.vm_state, r.task_state, r.host, r.node) == (i.vm_state, i.task_state, i.host, i.node):
        return r
    r = i.record = Instance(
        i.cloud,
        i.id,
        i.name,
        i.project,
        i.status,
        i.vm_state,
        i.task_state,
        VM_STATE_POWER[i.resized_from or i.vm_state],
        i.host,
        i.node,
        i.flavor,
        i.boot_from_volume,
        zone,
        *FLAVORS[i.flavor],
    )
    return r


def _migration(m: SimMigration) -> Migration:
    return Migration(
        m.cloud,
        m.id,
        m.instance_id,
        m.migration_type,
        m.status,
        m.source_compute,
        m.dest_compute,
        m.source_node,
        m.dest_node,
        nova_time(m.created_at),
        nova_time(m.updated_at),
    )


def _host(h: SimHost, vm_memory_mb: int) -> EsxiHost:
    connected = h.connection_state == "connected"
    return EsxiHost(
        h.vcenter,
        h.moref,
        h.name,
        h.cluster,
        h.connection_state,
        "poweredOn" if connected else "unknown",
        h.in_maintenance,
        h.overall_status,
        None,
        ESXI_CORES * MHZ,
        ESXI_CORES * MHZ * 5 // 16 if connected else None,
        h.memory_mb,
        HOST_BASE_MEMORY_MB + vm_memory_mb if connected else None,  # a dead host's quick stats are gone
    )


def _vm(vm: SimVM, state: str) -> VirtualMachine:
    """Its last record while what can change of it has not (see ``_instance``); ``state``: its connection."""
    r = vm.record
    if (
        r is not None
        and r.moref == vm.moref
        and r.host_moref == vm.host
        and r.power_state == vm.power_state
        and r.connection_state == state
        and r.name == vm.name
        and r.instance_uuid == vm.instance_uuid
        and r.datastores == vm.datastores
        and r.vmx_path == vm.vmx_path
    ):
        return r
    r = vm.record = vm_record(vm, state)
    return r
