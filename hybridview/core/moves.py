"""Plans for moving one workload: Nova live and cold migration and their follow-ups, vMotion."""

from __future__ import annotations

from hybridview.core.actions import Plan
from hybridview.core.identity import InstanceRef, VmRef
from hybridview.core.view import EstateView


def plan_live_migration(view: EstateView, instance: InstanceRef, target_host: str | None) -> Plan:
    """``os-migrateLive`` of one instance to ``target_host`` (None: the scheduler chooses), block migration auto.

    Refused (nothing sent) when the options say live migration is impossible now, or the target is
    unknown, down, disabled, the source itself, or not a valid target for the driver.
    Step: Verb.LIVE_MIGRATE, target instance id, parameters
    {instance_id, source_host, target_host (or None), block_migration: "auto"}.
    """
    raise NotImplementedError


def plan_cold_migration(
    view: EstateView, instance: InstanceRef, target_host: str | None, *, confirm: bool = False
) -> Plan:
    """``migrate``; a chosen host needs 2.56 (refused below). Step Verb.COLD_MIGRATE, parameters
    {instance_id, source_host, target_host, confirm}: with confirm the executor confirms at VERIFY_RESIZE."""
    raise NotImplementedError


def plan_resize_decision(view: EstateView, instance: InstanceRef, *, confirm: bool) -> Plan:
    """Confirm or revert a cold migration waiting at VERIFY_RESIZE. Verb.CONFIRM_RESIZE / REVERT_RESIZE,
    parameters {instance_id}."""
    raise NotImplementedError


def plan_live_migration_control(view: EstateView, instance: InstanceRef, *, abort: bool) -> Plan:
    """Abort (True) or force-complete (False) the instance's running live migration, where the driver
    supports it (libvirt; not vmwareapi) and the microversion allows (force-complete 2.22, abort 2.24,
    abort of a queued one 2.65). Parameters {instance_id, migration_id}."""
    raise NotImplementedError


def plan_relocation(
    view: EstateView, vm: VmRef, *, host_moref: str | None, datastore_moref: str | None
) -> Plan:
    """vMotion (host), Storage vMotion (datastore) or both, one RelocateVM_Task. Refused when the VM's host
    is not responding, the target is not a connected host of the same cluster outside maintenance, or
    the datastore is not mounted by the (target) host. Verb.RELOCATE_VM, target vm moref, parameters
    {vm_moref, name, host_moref, host_name, datastore_moref, datastore_name, source_host_moref}."""
    raise NotImplementedError


def plan_task_cancel(view: EstateView, vcenter: str, task_key: str) -> Plan:
    """CancelTask of a running vCenter task that says it is cancelable. Verb.CANCEL_TASK, target task key,
    parameters {task_key, description}."""
    raise NotImplementedError
