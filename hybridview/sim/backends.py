"""The simulated estate behind the same backend protocols, reads and writes, as the real clouds."""

from __future__ import annotations

import time
from datetime import datetime

from hybridview.backends.base import (
    BackendError,
    MigrationProgress,
    ServerProgress,
    TaskProgress,
    VmPlacement,
    WriteReceipt,
)
from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot
from hybridview.sim.estate import SimEstate


def _reachable(estate: SimEstate, endpoint: str) -> None:
    if endpoint in estate.broken_endpoints:
        raise BackendError(endpoint, "simulated outage: connection refused")


class SimNovaBackend:
    """One demo cloud: ``OpenStackBackend`` and ``NovaWrites``."""

    def __init__(self, estate: SimEstate, cloud: str) -> None:
        self._estate = estate
        self._cloud = cloud
        self._writes = estate.nova_writes(cloud)

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def fetch(self) -> OpenStackSnapshot:
        self._estate.catch_up()
        _reachable(self._estate, self._cloud)
        return self._estate.openstack_snapshot(self._cloud)

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.set_forced_down(host, forced_down)

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.set_service_enabled(host, enabled, reason)

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.evacuate(instance_id, target_host=target_host, on_shared_storage=on_shared_storage)

    def start_server(self, instance_id: str) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.start_server(instance_id)

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress:
        _reachable(self._estate, self._cloud)
        return self._writes.server_progress(instance_id, since)

    def live_migrate(self, instance_id: str, *, target_host: str | None, block_migration: str | bool) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.live_migrate(instance_id, target_host=target_host, block_migration=block_migration)

    def migrate(self, instance_id: str, *, target_host: str | None) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.migrate(instance_id, target_host=target_host)

    def confirm_resize(self, instance_id: str) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.confirm_resize(instance_id)

    def revert_resize(self, instance_id: str) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.revert_resize(instance_id)

    def abort_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.abort_live_migration(instance_id, migration_id)

    def force_complete_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        _reachable(self._estate, self._cloud)
        return self._writes.force_complete_live_migration(instance_id, migration_id)

    def migration_progress(self, instance_id: str, since: datetime | None = None) -> MigrationProgress:
        _reachable(self._estate, self._cloud)
        return self._writes.migration_progress(instance_id, since)

    def close(self) -> None:
        return None


class SimVCenterBackend:
    """One demo vCenter: ``VCenterBackend`` and ``VCenterWrites``."""

    def __init__(self, estate: SimEstate, vcenter: str, poll_seconds: float = 0.1) -> None:
        self._estate = estate
        self._vcenter = vcenter
        self._poll_seconds = poll_seconds
        self._seen_version = -1
        self._writes = estate.vcenter_writes(vcenter)

    @property
    def name(self) -> str:
        return self._vcenter

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def fetch(self) -> VCenterSnapshot:
        self._estate.catch_up()
        _reachable(self._estate, self._vcenter)
        self._seen_version = self._estate.version_of(self._vcenter)
        return self._estate.vcenter_snapshot(self._vcenter)

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        deadline = time.monotonic() + max_wait_seconds
        while time.monotonic() < deadline:
            self._estate.catch_up()
            if self._estate.version_of(self._vcenter) != self._seen_version:
                return self.fetch()
            time.sleep(min(self._poll_seconds, max(0.0, deadline - time.monotonic())))
        return None

    def restart_vm(
        self, vm_moref: str, *, vmx_path: str, name: str, instance_uuid: str | None, host_moref: str
    ) -> WriteReceipt:
        _reachable(self._estate, self._vcenter)
        return self._writes.restart_vm(
            vm_moref, vmx_path=vmx_path, name=name, instance_uuid=instance_uuid, host_moref=host_moref
        )

    def find_vm(self, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
        _reachable(self._estate, self._vcenter)
        return self._writes.find_vm(instance_uuid, vmx_path)

    def vm_placement(self, vm_moref: str) -> VmPlacement | None:
        _reachable(self._estate, self._vcenter)
        return self._writes.vm_placement(vm_moref)

    def relocate_vm(self, vm_moref: str, *, host_moref: str | None, datastore_moref: str | None) -> WriteReceipt:
        _reachable(self._estate, self._vcenter)
        return self._writes.relocate_vm(vm_moref, host_moref=host_moref, datastore_moref=datastore_moref)

    def enter_maintenance(self, host_moref: str, *, timeout_seconds: int, evacuate_powered_off: bool) -> WriteReceipt:
        _reachable(self._estate, self._vcenter)
        return self._writes.enter_maintenance(
            host_moref, timeout_seconds=timeout_seconds, evacuate_powered_off=evacuate_powered_off
        )

    def exit_maintenance(self, host_moref: str, *, timeout_seconds: int) -> WriteReceipt:
        _reachable(self._estate, self._vcenter)
        return self._writes.exit_maintenance(host_moref, timeout_seconds=timeout_seconds)

    def task_progress(self, task_key: str) -> TaskProgress:
        _reachable(self._estate, self._vcenter)
        return self._writes.task_progress(task_key)

    def cancel_task(self, task_key: str) -> WriteReceipt:
        _reachable(self._estate, self._vcenter)
        return self._writes.cancel_task(task_key)

    def close(self) -> None:
        return None


def demo_backends(estate: SimEstate) -> tuple[list[SimNovaBackend], list[SimVCenterBackend]]:
    return (
        [SimNovaBackend(estate, c) for c in estate.cloud_names()],
        [SimVCenterBackend(estate, v) for v in estate.vcenter_names()],
    )
