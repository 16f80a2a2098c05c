"""Backend protocols and the one error type the rest of the app sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot


class BackendError(Exception):
    """A fetch failed; the message is fit to show an operator as-is."""

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        # a write whose answer was lost (timed out, cut off): it may have taken effect
        self.outcome_unknown = outcome_unknown
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.insert(0, f"HTTP {self.status_code}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")


@runtime_checkable
class OpenStackBackend(Protocol):
    """One Nova cloud. ``fetch`` blocks: call it from a worker thread."""

    @property
    def name(self) -> str: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...

    def fetch(self) -> OpenStackSnapshot: ...

    def close(self) -> None: ...


@runtime_checkable
class VCenterBackend(Protocol):
    """One vCenter. Every method blocks: call them from a worker thread."""

    @property
    def name(self) -> str: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...

    def fetch(self) -> VCenterSnapshot:
        """A full inventory read."""
        ...

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        """The snapshot after the next changes, or None when nothing changed in time."""
        ...

    def close(self) -> None: ...


# -- writes ---------------------------------------------------------------------------------
# A write method blocks until the endpoint took the call (Nova: accepted; vCenter: the task was
# created, or for restart_vm its tasks finished) and raises BackendError, with Nova's request id
# where there is one, when it did not. A vCenter write that starts a task returns the task's key
# as the receipt's request_id; ``task_progress`` follows it.


@dataclass(frozen=True, slots=True)
class WriteReceipt:
    """What the endpoint said when it took a write."""

    request_id: str | None  # Nova's x-openstack-request-id, or the vCenter task key(s), comma-separated
    detail: str | None = None  # anything the operator should read, e.g. "vCenter gave it a new instanceUuid"


@dataclass(frozen=True, slots=True)
class ServerProgress:
    """One server as Nova reports it now, and its newest evacuation record."""

    instance_id: str
    status: str  # ACTIVE, REBUILD, SHUTOFF, ERROR, …
    vm_state: str | None
    task_state: str | None
    host: str | None
    fault: str | None = None  # the server's fault message, when it has one
    evacuation_id: str | None = None  # the newest os-migrations record of type evacuation (since ``since``)
    evacuation_status: str | None = None
    evacuation_dest: str | None = None


@runtime_checkable
class NovaWrites(Protocol):
    """The writes of one Nova cloud; each takes the compute host or server id Nova knows."""

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        """Force nova-compute of ``host`` down or not: ``PUT /os-services/{id}`` at >= 2.53, older call before."""
        ...

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt: ...

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        """``POST /servers/{id}/action`` evacuate, its body right for the write microversion."""
        ...

    def start_server(self, instance_id: str) -> WriteReceipt: ...

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress: ...


@runtime_checkable
class NovaMoves(Protocol):
    """The moves of one Nova cloud: live and cold migration and their follow-ups."""

    def live_migrate(self, instance_id: str, *, target_host: str | None, block_migration: str | bool) -> WriteReceipt:
        """``os-migrateLive``: ``host`` null lets the scheduler choose; ``block_migration`` "auto" from 2.25."""
        ...

    def migrate(self, instance_id: str, *, target_host: str | None) -> WriteReceipt:
        """Cold migration (``migrate``); a chosen host needs 2.56. The server ends at VERIFY_RESIZE."""
        ...

    def confirm_resize(self, instance_id: str) -> WriteReceipt: ...

    def revert_resize(self, instance_id: str) -> WriteReceipt: ...

    def abort_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        """``DELETE /servers/{id}/migrations/{migration_id}`` (2.24; a queued one from 2.65)."""
        ...

    def force_complete_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        """``POST /servers/{id}/migrations/{migration_id}/action`` force_complete (2.22)."""
        ...

    def migration_progress(self, instance_id: str, since: datetime | None = None) -> MigrationProgress:
        """The server now, its newest live-migration/migration/resize record since ``since`` and its byte counters."""
        ...


@dataclass(frozen=True, slots=True)
class MigrationProgress:
    """One server as Nova reports it now, with its newest move record (``os-migrations``) and, while a
    live migration runs, its counters (``GET /servers/{id}/migrations/{mid}``)."""

    instance_id: str
    status: str  # ACTIVE, MIGRATING, RESIZE, VERIFY_RESIZE, SHUTOFF, ERROR, …
    vm_state: str | None
    task_state: str | None
    host: str | None
    fault: str | None = None
    migration_id: str | None = None
    migration_type: str | None = None  # live-migration | migration | resize
    migration_status: str | None = None  # queued, preparing, running, finished, confirmed, reverted, error, …
    source_host: str | None = None
    dest_host: str | None = None
    memory_total_bytes: int | None = None
    memory_processed_bytes: int | None = None
    memory_remaining_bytes: int | None = None
    disk_total_bytes: int | None = None
    disk_processed_bytes: int | None = None
    disk_remaining_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class VmPlacement:
    """Where vCenter has a VM now."""

    moref: str
    instance_uuid: str | None
    host_moref: str | None
    power_state: str
    connection_state: str | None = None
    datastore_morefs: tuple[str, ...] = ()  # where its files are (VirtualMachine.datastore)


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """A vCenter task now (its TaskInfo)."""

    key: str
    state: str  # queued | running | success | error
    progress: int | None = None  # percent while running
    cancelable: bool = False
    cancelled: bool = False  # TaskInfo.cancelled: a cancel was asked for
    error: str | None = None  # the fault's localized message, when state is error
    description_id: str | None = None
    entity_moref: str | None = None


@runtime_checkable
class VCenterWrites(Protocol):
    def restart_vm(
        self, vm_moref: str, *, vmx_path: str, name: str, instance_uuid: str | None, host_moref: str
    ) -> WriteReceipt:
        """Register a VM of a dead host on ``host_moref`` from its .vmx, keep its instanceUuid, power it on.

        The VM object of the dead host is unregistered first (its files stay); a real vCenter
        cannot relocate a VM whose host does not answer.
        """
        ...

    def find_vm(self, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
        """The VM registered now with this instanceUuid (or, without one, this .vmx), if any."""
        ...


@runtime_checkable
class VCenterMoves(Protocol):
    """vMotion, Storage vMotion, maintenance mode, and the tasks they start."""

    def vm_placement(self, vm_moref: str) -> VmPlacement | None:
        """Where this VM is now (host, datastores, power), or None when vCenter no longer has it."""
        ...

    def relocate_vm(self, vm_moref: str, *, host_moref: str | None, datastore_moref: str | None) -> WriteReceipt:
        """``RelocateVM_Task`` (vMotion with a host, Storage vMotion with a datastore, or both); the receipt's
        request_id is the task key. Returns once the task exists."""
        ...

    def enter_maintenance(self, host_moref: str, *, timeout_seconds: int, evacuate_powered_off: bool) -> WriteReceipt:
        """``EnterMaintenanceMode_Task``; the receipt's request_id is the task key."""
        ...

    def exit_maintenance(self, host_moref: str, *, timeout_seconds: int) -> WriteReceipt:
        """``ExitMaintenanceMode_Task``; the receipt's request_id is the task key."""
        ...

    def task_progress(self, task_key: str) -> TaskProgress:
        """The task's TaskInfo now; BackendError when vCenter no longer knows the key."""
        ...

    def cancel_task(self, task_key: str) -> WriteReceipt:
        """``CancelTask``; BackendError (with vCenter's reason) when the task is not cancelable."""
        ...
