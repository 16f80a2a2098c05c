"""Immutable snapshots of both layers, as the backends deliver them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hybridview.core.identity import ClusterRef, ClusterSelector, EndpointRef, HostRef, InstanceRef, NodeRef, VmRef

VMWARE_HYPERVISOR_TYPE = "VMware vCenter Server"


class Storage(StrEnum):
    """Where an instance's disks live, as far as the APIs or the operator's config tell."""

    SHARED = "shared"
    VOLUME = "volume"
    LOCAL = "local"
    UNKNOWN = "unknown"


# per cloud: (compute host pattern, storage) in the config's order; the first match wins
StorageRules = Mapping[str, tuple[tuple[str, Storage], ...]]


class EndpointKind(StrEnum):
    NOVA = "nova"
    VCENTER = "vcenter"


@dataclass(frozen=True, slots=True)
class ComputeService:
    cloud: str
    id: str
    binary: str
    host: str
    zone: str | None
    state: str  # "up" | "down"
    status: str  # "enabled" | "disabled"
    disabled_reason: str | None
    forced_down: bool
    updated_at: str | None


@dataclass(frozen=True, slots=True)
class ComputeNode:
    """One Nova hypervisor record: a libvirt host, or a whole vCenter cluster (vmwareapi)."""

    cloud: str
    id: str
    hypervisor_hostname: str
    hypervisor_type: str
    host: str
    state: str
    status: str
    disabled_reason: str | None
    forced_down: bool
    host_ip: str | None = None
    service_id: str | None = None
    # capacity, where the hypervisor record gives it (hypervisors API below 2.88)
    vcpus: int | None = None
    vcpus_used: int | None = None
    memory_mb: int | None = None
    memory_mb_used: int | None = None

    @property
    def is_vmware(self) -> bool:
        return self.hypervisor_type == VMWARE_HYPERVISOR_TYPE

    @property
    def ref(self) -> NodeRef:
        return NodeRef(self.cloud, self.hypervisor_hostname)


@dataclass(frozen=True, slots=True)
class Instance:
    cloud: str
    id: str
    name: str
    project_id: str
    status: str
    vm_state: str | None
    task_state: str | None
    power_state: int | None
    host: str | None
    node: str | None
    flavor: str | None
    boot_from_volume: bool
    availability_zone: str | None = None
    vcpus: int | None = None  # the flavor's, where the server record embeds it (>= 2.47) or the flavor is known
    memory_mb: int | None = None

    @property
    def ref(self) -> InstanceRef:
        return InstanceRef(self.cloud, self.id)

    @property
    def node_ref(self) -> NodeRef | None:
        """The compute node Nova places it on, if any."""
        return NodeRef(self.cloud, self.node) if self.node else None


@dataclass(frozen=True, slots=True)
class Migration:
    cloud: str
    id: str
    instance_id: str
    migration_type: str
    status: str
    source_compute: str | None
    dest_compute: str | None
    source_node: str | None
    dest_node: str | None
    created_at: str | None
    updated_at: str | None

    @property
    def in_progress(self) -> bool:
        return self.status not in FINISHED_MIGRATION_STATUSES


FINISHED_MIGRATION_STATUSES = frozenset(
    {"done", "completed", "confirmed", "reverted", "error", "failed", "cancelled", "finished"}
)


@dataclass(frozen=True, slots=True)
class InstanceActionEvent:
    """One step of an instance action (``events`` of ``GET /servers/{id}/os-instance-actions/{request_id}``)."""

    event: str  # e.g. compute_rebuild_instance
    start_time: str | None
    finish_time: str | None
    result: str | None  # Success | Error; None while it runs
    host: str | None = None  # from 2.62
    details: str | None = None  # from 2.84: the fault message of a failed event


@dataclass(frozen=True, slots=True)
class InstanceAction:
    """One entry of ``GET /servers/{id}/os-instance-actions``: what was asked of an instance, and by whom."""

    cloud: str
    instance_id: str
    request_id: str
    action: str  # create, evacuate, live-migration, start, …
    start_time: str | None
    message: str | None  # "Error" when it failed
    user_id: str | None = None
    updated_at: str | None = None  # from 2.58
    events: tuple[InstanceActionEvent, ...] = ()  # read only for the actions that failed


@dataclass(frozen=True, slots=True)
class ResourceUse:
    """One resource class of one Placement provider: its inventory and its usage."""

    resource_class: str  # VCPU | MEMORY_MB | DISK_GB | ...
    total: int
    reserved: int
    allocation_ratio: float
    used: int

    @property
    def capacity(self) -> float:
        """What Placement lets the scheduler allocate: (total - reserved) x allocation ratio."""
        return (self.total - self.reserved) * self.allocation_ratio

    @property
    def free(self) -> float:
        return self.capacity - self.used


@dataclass(frozen=True, slots=True)
class PlacementProvider:
    """A compute node's root resource provider in Placement (its name is the node's hypervisor_hostname)."""

    cloud: str
    uuid: str
    name: str
    resources: tuple[ResourceUse, ...] = ()

    def use(self, resource_class: str) -> ResourceUse | None:
        return next((r for r in self.resources if r.resource_class == resource_class), None)


@dataclass(frozen=True, slots=True)
class HostAggregate:
    """A Nova host aggregate (``os-aggregates``); with an availability zone it also defines that zone."""

    cloud: str
    id: str
    name: str
    availability_zone: str | None
    hosts: tuple[str, ...]  # compute service host names


@dataclass(frozen=True, slots=True)
class OpenStackSnapshot:
    cloud: str
    taken_at: datetime
    nodes: tuple[ComputeNode, ...]
    services: tuple[ComputeService, ...]
    instances: tuple[Instance, ...]
    migrations: tuple[Migration, ...]
    microversion: str | None = None
    # the compute microversion writes are sent at (the cloud's maximum, capped at what we build bodies for)
    write_microversion: str | None = None
    # of a bounded set of instances only: those that changed recently or sit on a failed host
    instance_actions: tuple[InstanceAction, ...] = ()
    # capacity for headroom: Placement's providers and Nova's aggregates; a failed read leaves them
    # empty and says why in capacity_error, without failing the rest of the snapshot
    providers: tuple[PlacementProvider, ...] = ()
    aggregates: tuple[HostAggregate, ...] = ()
    capacity_error: str | None = None

    @property
    def ref(self) -> EndpointRef:
        return EndpointRef(self.cloud)


@dataclass(frozen=True, slots=True)
class Cluster:
    vcenter: str
    moref: str
    name: str
    ha_enabled: bool
    drs_enabled: bool
    admission_control: bool | None = None
    datacenter: str | None = None
    drs_behavior: str | None = None  # fullyAutomated | partiallyAutomated | manual (configurationEx.drsConfig)
    # vSphere HA admission control (configurationEx.dasConfig.admissionControlPolicy), when it is enabled:
    # "failover-level" (hosts tolerated), "percentage" (CPU/memory kept free) or "failover-hosts" (dedicated)
    admission_policy: str | None = None
    admission_failover_hosts: int | None = None  # failover-level: host failures tolerated; failover-hosts: how many
    admission_cpu_percent: int | None = None  # percentage: CPU kept for failover
    admission_memory_percent: int | None = None  # percentage: memory kept for failover

    @property
    def ref(self) -> ClusterRef:
        return ClusterRef(self.vcenter, self.moref)


@dataclass(frozen=True, slots=True)
class EsxiHost:
    vcenter: str
    moref: str
    name: str
    cluster_moref: str | None
    connection_state: str  # connected | disconnected | notResponding
    power_state: str  # poweredOn | poweredOff | standBy | unknown
    in_maintenance: bool
    overall_status: str  # green | yellow | red | gray
    das_state: str | None = None
    cpu_mhz: int | None = None
    cpu_used_mhz: int | None = None
    memory_mb: int | None = None
    memory_used_mb: int | None = None

    @property
    def responding(self) -> bool:
        return self.connection_state == "connected"

    @property
    def ref(self) -> HostRef:
        return HostRef(self.vcenter, self.moref)


@dataclass(frozen=True, slots=True)
class VirtualMachine:
    vcenter: str
    moref: str
    name: str
    instance_uuid: str | None
    host_moref: str | None
    power_state: str
    datastores: tuple[str, ...] = ()
    vcpus: int | None = None
    memory_mb: int | None = None
    vmx_path: str | None = None  # config.files.vmPathName: "[datastore] dir/name.vmx"
    connection_state: str | None = None  # runtime.connectionState: connected | disconnected | orphaned | …
    memory_reservation_mb: int | None = None  # config.memoryAllocation.reservation
    cpu_reservation_mhz: int | None = None  # config.cpuAllocation.reservation
    memory_used_mb: int | None = None  # summary.quickStats.hostMemoryUsage
    cpu_used_mhz: int | None = None  # summary.quickStats.overallCpuUsage

    @property
    def ref(self) -> VmRef:
        return VmRef(self.vcenter, self.moref)

    @property
    def host_ref(self) -> HostRef | None:
        """The ESXi host it runs on, if vCenter says."""
        return HostRef(self.vcenter, self.host_moref) if self.host_moref else None


@dataclass(frozen=True, slots=True)
class Datastore:
    vcenter: str
    moref: str
    name: str
    shared: bool
    host_morefs: tuple[str, ...] = ()  # the ESXi hosts that mount it (datastore.host[].key)
    capacity_bytes: int | None = None  # summary.capacity
    free_bytes: int | None = None  # summary.freeSpace
    accessible: bool = True  # summary.accessible


@dataclass(frozen=True, slots=True)
class Alarm:
    entity_moref: str
    name: str
    status: str
    time: str | None = None


@dataclass(frozen=True, slots=True)
class VSphereEvent:
    time: datetime
    entity_moref: str | None
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class VCenterTask:
    """A vCenter task that is queued or running (TaskManager.recentTask), whoever started it."""

    key: str  # TaskInfo.key, e.g. "task-123"
    moref: str  # the Task object's moref
    description_id: str  # TaskInfo.descriptionId, e.g. "VirtualMachine.relocate", "HostSystem.enterMaintenanceMode"
    entity_moref: str | None
    entity_name: str | None
    state: str  # queued | running | success | error
    progress: int | None  # percent, while running
    cancelable: bool
    queued_at: datetime | None = None
    user: str | None = None  # TaskInfo.reason.userName, when a user started it


@dataclass(frozen=True, slots=True)
class VCenterSnapshot:
    vcenter: str
    instance_uuid: str
    taken_at: datetime
    clusters: tuple[Cluster, ...]
    hosts: tuple[EsxiHost, ...]
    vms: tuple[VirtualMachine, ...]
    datastores: tuple[Datastore, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    events: tuple[VSphereEvent, ...] = ()
    version: str | None = None
    tasks: tuple[VCenterTask, ...] = ()  # queued and running tasks

    @property
    def ref(self) -> EndpointRef:
        return EndpointRef(self.vcenter)


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """What the operator must know about one endpoint's freshness."""

    name: str
    kind: EndpointKind
    ok: bool
    error: str | None = None
    last_refresh: datetime | None = None
    last_attempt: datetime | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ref(self) -> EndpointRef:
        return EndpointRef(self.name)


@dataclass(frozen=True, slots=True)
class Estate:
    """Everything known right now: last good snapshot per endpoint plus its status."""

    openstack: tuple[OpenStackSnapshot, ...] = ()
    vcenters: tuple[VCenterSnapshot, ...] = ()
    endpoints: tuple[EndpointStatus, ...] = ()
    node_map: Mapping[str, ClusterSelector] = field(default_factory=dict)  # hypervisor_hostname -> cluster
    storage_rules: StorageRules = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointStatus | None:
        return next((e for e in self.endpoints if e.name == name), None)

    @property
    def every_endpoint_answered(self) -> bool:
        """Every endpoint's first read has finished, well or not."""
        return all(e.last_attempt is not None for e in self.endpoints)
