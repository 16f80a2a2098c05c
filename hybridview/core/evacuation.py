"""Nova evacuation: which instances of failed compute hosts wait for it, and the plan that does it.

The fencing gate lives here: a host whose nova-compute is up is never evacuated (the
plan is refused before any call), and a down host needs the operator's word that it is
fenced. Storage is what the APIs expose (a volume-backed boot) or what the operator
declared per host in the config; anything else stays unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.model import (
    ComputeNode,
    ComputeService,
    Estate,
    Instance,
    Migration,
    OpenStackSnapshot,
    Storage,
)

EVACUABLE_VM_STATES = frozenset({"active", "stopped", "error"})  # Nova's check_instance_state for evacuate
EVACUATED_ARRIVE_STOPPED = "2.95"  # from this microversion an evacuated server arrives SHUTOFF
SHARED_STORAGE_FLAG_UNTIL = "2.13"  # up to this microversion the body must say onSharedStorage


class DataOutcome(StrEnum):
    PRESERVED = "preserved"
    REBUILT = "rebuilt-from-image"
    UNKNOWN = "unknown"


DATA_OUTCOME = {
    Storage.SHARED: DataOutcome.PRESERVED,
    Storage.VOLUME: DataOutcome.PRESERVED,
    Storage.LOCAL: DataOutcome.REBUILT,
    Storage.UNKNOWN: DataOutcome.UNKNOWN,
}
CONSEQUENCE = {
    DataOutcome.PRESERVED: "its disks survive",
    DataOutcome.REBUILT: "rebuilt from its image: data on its local disk is LOST",
    DataOutcome.UNKNOWN: "storage unknown: if its disk was local to the dead host, its data is lost",
}


@dataclass(frozen=True, slots=True)
class PendingEvacuation:
    cloud: str
    instance_id: str
    name: str
    project: str
    source_host: str
    vm_state: str | None
    storage: Storage
    data_outcome: DataOutcome
    evacuable: bool
    blocked_reason: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "cloud": self.cloud,
            "instance_id": self.instance_id,
            "name": self.name,
            "project": self.project,
            "source_host": self.source_host,
            "vm_state": self.vm_state,
            "storage": self.storage.value,
            "data_outcome": self.data_outcome.value,
            "evacuable": self.evacuable,
            "blocked_reason": self.blocked_reason,
        }


@dataclass(frozen=True, slots=True)
class EvacuationTarget:
    host: str
    hypervisor_type: str
    free_vcpus: int | None
    free_memory_mb: int | None

    @property
    def capacity(self) -> str:
        if self.free_vcpus is None or self.free_memory_mb is None:
            return "free capacity unknown"
        return f"{self.free_vcpus} vCPU, {self.free_memory_mb // 1024} GiB free"


def version_at_least(version: str | None, floor: str) -> bool:
    if not version:
        return False
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in floor.split("."))


def storage_of(instance: Instance, host: str, rules: Iterable[tuple[str, Storage]]) -> Storage:
    if instance.boot_from_volume:
        return Storage.VOLUME
    return next((storage for pattern, storage in rules if fnmatchcase(host, pattern)), Storage.UNKNOWN)


def compute_service(snap: OpenStackSnapshot, host: str) -> ComputeService | None:
    return next((s for s in snap.services if s.host == host and s.binary == "nova-compute"), None)


def host_is_down(service: ComputeService) -> bool:
    return service.forced_down or service.state == "down"


def _running_evacuation(instance: Instance, migrations: Iterable[Migration]) -> Migration | None:
    return next(
        (m for m in migrations if m.instance_id == instance.id and m.migration_type == "evacuation" and m.in_progress),
        None,
    )


def _blocked_reason(
    instance: Instance, node: ComputeNode | None, snap: OpenStackSnapshot, storage: Storage
) -> str | None:
    if node is not None and node.is_vmware:
        return (
            "vmwareapi instance: the driver does not support evacuate and the instance would end in ERROR; "
            "vSphere HA restarts the VMs of a failed ESXi host, and a dead nova-compute proxy only needs a restart"
        )
    running = _running_evacuation(instance, snap.migrations)
    if running is not None:
        return f"already being evacuated (migration {running.id}: {running.status})"
    if instance.task_state:
        return f"busy: task state {instance.task_state}; Nova evacuates only an instance with no task running"
    if (instance.vm_state or "").lower() not in EVACUABLE_VM_STATES:
        return f"vm_state {instance.vm_state}: Nova evacuates only active, stopped or error instances"
    if _needs_storage_flag(snap) and storage is Storage.UNKNOWN:
        return (
            f"this cloud speaks microversion {snap.write_microversion}, where evacuate must say whether "
            "storage is shared, and it is unknown: declare instance_storage for this host in the config"
        )
    return None


def _needs_storage_flag(snap: OpenStackSnapshot) -> bool:
    """Up to 2.13 the evacuate body must say onSharedStorage; an unknown version is the backend's to find."""
    return snap.write_microversion is not None and not version_at_least(snap.write_microversion, "2.14")


def _pending(
    snap: OpenStackSnapshot, host: str, rules: Iterable[tuple[str, Storage]]
) -> Iterable[tuple[Instance, PendingEvacuation]]:
    nodes = {n.hypervisor_hostname: n for n in snap.nodes}
    rules = tuple(rules)
    for inst in snap.instances:
        if inst.host != host:
            continue
        storage = storage_of(inst, host, rules)
        blocked = _blocked_reason(inst, nodes.get(inst.node or ""), snap, storage)
        yield (
            inst,
            PendingEvacuation(
                cloud=snap.cloud,
                instance_id=inst.id,
                name=inst.name,
                project=inst.project_id,
                source_host=host,
                vm_state=inst.vm_state,
                storage=storage,
                data_outcome=DATA_OUTCOME[storage],
                evacuable=blocked is None,
                blocked_reason=blocked,
            ),
        )


def pending_evacuations(estate: Estate) -> list[PendingEvacuation]:
    """Every instance still placed on a libvirt compute host whose nova-compute is down."""
    pending: list[PendingEvacuation] = []
    for snap in estate.openstack:
        vmware_hosts = {n.host for n in snap.nodes if n.is_vmware}
        for service in snap.services:
            if service.binary != "nova-compute" or not host_is_down(service) or service.host in vmware_hosts:
                continue
            pending.extend(p for _, p in _pending(snap, service.host, estate.storage_rules.get(snap.cloud, ())))
    return pending


def evacuation_targets(snap: OpenStackSnapshot, source_host: str) -> tuple[EvacuationTarget, ...]:
    """Up, enabled compute hosts of the source's hypervisor type, most free memory first."""
    source_types = {n.hypervisor_type for n in snap.nodes if n.host == source_host}
    services = {s.host: s for s in snap.services if s.binary == "nova-compute"}
    targets = []
    for node in snap.nodes:
        service = services.get(node.host)
        usable = service is not None and service.state == "up" and service.status == "enabled"
        if node.host == source_host or node.is_vmware or not usable or service is None or service.forced_down:
            continue
        if source_types and node.hypervisor_type not in source_types:
            continue
        targets.append(
            EvacuationTarget(
                node.host,
                node.hypervisor_type,
                _free(node.vcpus, node.vcpus_used),
                _free(node.memory_mb, node.memory_mb_used),
            )
        )
    return tuple(sorted(targets, key=lambda t: (-(t.free_memory_mb or 0), t.host)))


def _free(total: int | None, used: int | None) -> int | None:
    return None if total is None or used is None else max(0, total - used)


@dataclass(frozen=True, slots=True)
class EvacuationRequest:
    cloud: str
    host: str
    instance_ids: tuple[str, ...] = ()  # empty: the whole host
    target: str | None = None  # None: the scheduler chooses
    force_down: bool = False
    start_after: bool = False  # start each server Nova leaves stopped (microversion >= 2.95)


def plan_evacuation(estate: Estate, request: EvacuationRequest) -> Plan:
    title = f"Evacuate {request.host} ({request.cloud})"
    snap = next((s for s in estate.openstack if s.cloud == request.cloud), None)
    if snap is None:
        return Plan(title, (), refused=f"no cloud named {request.cloud!r} is being read")
    service = compute_service(snap, request.host)
    if service is None:
        return Plan(title, (), refused=f"cloud {request.cloud} has no nova-compute on host {request.host!r}")
    if not host_is_down(service):
        return Plan(
            title,
            (),
            refused=(
                f"nova-compute on {request.host} is up: Nova refuses to evacuate a live host, and evacuating a host "
                "that is not really dead runs every instance twice and corrupts its disks. If the host is dead, "
                "fence it (power it off); its service then shows down"
            ),
        )
    targets = evacuation_targets(snap, request.host)
    if request.target is not None and request.target not in {t.host for t in targets}:
        return Plan(
            title, (), refused=f"target {request.target} is not an up, enabled host of the same hypervisor type"
        )
    items = list(_pending(snap, request.host, estate.storage_rules.get(request.cloud, ())))
    if request.instance_ids:
        missing = set(request.instance_ids) - {inst.id for inst, _ in items}
        if missing:
            return Plan(title, (), refused="; ".join(_elsewhere(snap, request.host, i) for i in sorted(missing)))
        items = [(inst, p) for inst, p in items if inst.id in request.instance_ids]
    steps = [_force_down_step(request, service)] if request.force_down and not service.forced_down else []
    steps += [_evacuate_step(request, snap, inst, p) for inst, p in items]
    notes = _notes(snap, service, request, targets) + _data_notes([p for _, p in items if p.evacuable])
    return Plan(title, tuple(steps), needs_fencing=True, notes=notes)


def _data_notes(items: list[PendingEvacuation]) -> tuple[str, ...]:
    rebuilt = sum(p.data_outcome is DataOutcome.REBUILT for p in items)
    unknown = sum(p.data_outcome is DataOutcome.UNKNOWN for p in items)
    notes = []
    if rebuilt:
        notes.append(
            f"{rebuilt} instance(s) on local disks will be rebuilt from their image: their local data is LOST."
        )
    if unknown:
        notes.append(
            f"{unknown} instance(s) have storage nobody declared: if their disks were local, their data is lost "
            "(declare instance_storage in the config to know)."
        )
    return tuple(notes)


def _elsewhere(snap: OpenStackSnapshot, host: str, instance_id: str) -> str:
    """Why a requested instance is not planned: evacuated already, elsewhere, or unknown."""
    inst = next((i for i in snap.instances if i.id == instance_id), None)
    if inst is None:
        return f"no instance {instance_id} in cloud {snap.cloud}"
    moved = [m for m in snap.migrations if m.instance_id == inst.id and m.migration_type == "evacuation"]
    away = next((m for m in reversed(moved) if m.source_compute == host), None)
    where = f"now on {inst.host or 'no host'}, {inst.status}"
    if away is not None:
        return f"{inst.name} ({inst.id}) was already evacuated from {host} (migration {away.id} {away.status}; {where})"
    return f"{inst.name} ({inst.id}) is not on {host} ({where})"


def _force_down_step(request: EvacuationRequest, service: ComputeService) -> Step:
    return Step(
        ActionKey(request.cloud, Verb.FORCE_DOWN, request.host),
        f"mark nova-compute on {request.host} forced down (service {service.id})",
        {"host": request.host, "forced_down": True},
        label=request.host,
    )


def _evacuate_step(request: EvacuationRequest, snap: OpenStackSnapshot, inst: Instance, p: PendingEvacuation) -> Step:
    flag = None
    if p.storage is not Storage.UNKNOWN:  # the backend sends it only where the microversion needs it
        flag = p.storage is Storage.SHARED
    where = request.target or "a host the scheduler picks"
    return Step(
        ActionKey(request.cloud, Verb.EVACUATE, inst.id),
        f"evacuate {inst.name} ({inst.id}) from {request.host} to {where}",
        {
            "instance_id": inst.id,
            "source_host": request.host,
            "target_host": request.target,
            "on_shared_storage": flag,
            "storage": p.storage.value,
            "data_outcome": p.data_outcome.value,
            "start_after": request.start_after and stopped_after_evacuation(snap),
        },
        label=inst.name,
        consequence=f"storage {p.storage}: {CONSEQUENCE[p.data_outcome]}",
        blocked_reason=p.blocked_reason,
    )


def _notes(
    snap: OpenStackSnapshot, service: ComputeService, request: EvacuationRequest, targets: tuple[EvacuationTarget, ...]
) -> tuple[str, ...]:
    notes = [
        f"You confirm that {request.host} is fenced: powered off or cut from its storage and network. "
        "If it is still running, every evacuated instance runs twice and its disks are corrupted."
    ]
    if not service.forced_down and not request.force_down:
        notes.append(
            f"nova-compute on {request.host} is down but not forced down: if it comes back during the evacuation, "
            "Nova may start its instances again there. Forcing it down first is safer."
        )
    if version_at_least(snap.write_microversion, EVACUATED_ARRIVE_STOPPED):
        notes.append(
            f"At microversion {snap.write_microversion} Nova leaves each evacuated server stopped (SHUTOFF); "
            "start them afterwards."
        )
    if not targets:
        notes.append("No up, enabled host of the same hypervisor type is left: the scheduler will find no host.")
    return tuple(notes)


def stopped_after_evacuation(snap: OpenStackSnapshot) -> bool:
    return version_at_least(snap.write_microversion, EVACUATED_ARRIVE_STOPPED)
