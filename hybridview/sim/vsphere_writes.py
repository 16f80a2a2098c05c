"""vCenter's writes in the demo: restart a VM of a dead ESXi host on a healthy one, find a VM, relocate it,
put a host in and out of maintenance mode, and follow or cancel the tasks.

As on a real vCenter, the VM object of the dead host is unregistered and its .vmx registered
on the target, which makes a new VM object (a new moref) with the same instanceUuid, and
powered on ``restart_seconds`` later. Like the real backend, ``restart_vm`` returns once
those tasks finished (on the estate's clock); readers see the registered VM powered off meanwhile.
The other writes return once their task exists; it runs over the estate's clock (``vsphere_tasks``).
"""

from __future__ import annotations

import threading

from hybridview.backends.base import BackendError, TaskProgress, VmPlacement, WriteReceipt
from hybridview.sim import vsphere_faults as fault
from hybridview.sim.layout import SimHost, SimVM
from hybridview.sim.state import SimState, SimTask
from hybridview.sim.vsphere_maintenance import begin_entering, begin_exiting
from hybridview.sim.vsphere_tasks import begin_relocation, busy, cancel, relocation_refusal

DATACENTER = "dc-demo"


class SimVCenterWrites:
    """The writes of one demo vCenter; every method takes the estate's lock."""

    def __init__(self, state: SimState, vcenter: str) -> None:
        self._state = state
        self._vcenter = vcenter

    def restart_vm(
        self, vm_moref: str, *, vmx_path: str, name: str, instance_uuid: str | None, host_moref: str
    ) -> WriteReceipt:
        ran = threading.Event()
        with self._state.lock:
            self._state.settle()
            task = self._task()
            vm = self._state.vm(self._vcenter, vm_moref)
            if vm is None:
                raise self._failed(task, fault.gone("VirtualMachine", vm_moref))
            source = self._host(vm.host, task)
            target = self._host(host_moref, task)
            self._check(task, vm, vmx_path, source, target)
            unregister, register, power_on = task, self._task(), self._task()
            vm.moref, vm.host, vm.name, vm.power_state = self._state.moref("vm-"), target.moref, name, "poweredOff"
            if instance_uuid:
                vm.instance_uuid = instance_uuid
            self._state.event(self._vcenter, source.moref, "VmRemovedEvent", f"Removed {name} on {source.name}")
            self._state.event(
                self._vcenter, vm.moref, "VmRegisteredEvent", f"Registered {name} on {target.name} in {DATACENTER}"
            )
            self._state.changed(self._vcenter)
            self._state.timeline.after(self._state.timing.restart_seconds, lambda: self._power_on(vm, target, ran))
        self._state.wait(ran)
        with self._state.lock:
            if vm.power_state != "poweredOn":
                raise self._failed(power_on, f"Cannot power on {name}: {target.name} is {target.connection_state}.")
        return WriteReceipt(",".join((unregister, register, power_on)))

    def find_vm(self, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
        with self._state.lock:
            self._state.settle()
            vm = next((v for v in self._state.vms[self._vcenter] if _matches(v, instance_uuid, vmx_path)), None)
            return None if vm is None else self._placement(vm)

    def vm_placement(self, vm_moref: str) -> VmPlacement | None:
        with self._state.lock:
            self._state.settle()
            vm = self._state.vm(self._vcenter, vm_moref)
            return None if vm is None else self._placement(vm)

    def relocate_vm(self, vm_moref: str, *, host_moref: str | None, datastore_moref: str | None) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            vm = self._state.vm(self._vcenter, vm_moref)
            if vm is None:
                raise self._failed(self._task(), fault.gone("VirtualMachine", vm_moref))
            if busy(self._state, vm.moref, self._vcenter):
                raise self._failed(self._task(), fault.BUSY)
            host = self._host(host_moref or vm.host)
            datastore = None
            if datastore_moref is not None:
                datastore = self._state.datastore(self._vcenter, datastore_moref)
                if datastore is None:
                    raise self._failed(self._task(), fault.gone("Datastore", datastore_moref))
            refusal = relocation_refusal(self._state, vm, host, datastore)
            if refusal is not None:
                raise self._failed(self._task(), refusal)
            seconds = self._state.timing.relocate_seconds
            return WriteReceipt(begin_relocation(self._state, vm, host, datastore, seconds=seconds).key)

    def enter_maintenance(self, host_moref: str, *, timeout_seconds: int, evacuate_powered_off: bool) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            host = self._host(host_moref)
            self._check_maintenance(host, entering=True)
            return WriteReceipt(begin_entering(self._state, host, timeout_seconds, evacuate_powered_off).key)

    def exit_maintenance(self, host_moref: str, *, timeout_seconds: int) -> WriteReceipt:
        """``timeout_seconds`` is taken and not needed: the demo's hosts leave maintenance mode in time."""
        with self._state.lock:
            self._state.settle()
            host = self._host(host_moref)
            self._check_maintenance(host, entering=False)
            return WriteReceipt(begin_exiting(self._state, host).key)

    def task_progress(self, task_key: str) -> TaskProgress:
        with self._state.lock:
            self._state.settle()
            t = self._known_task(task_key)
            return TaskProgress(
                t.key,
                t.state,
                t.progress if t.running else None,
                t.cancelable,
                t.cancelled,
                t.error,
                t.description_id,
                t.entity_moref,
            )

    def cancel_task(self, task_key: str) -> WriteReceipt:
        with self._state.lock:
            self._state.settle()
            task = self._known_task(task_key)
            if not task.running:
                raise self._failed(task.key, fault.INVALID_STATE)
            if not task.cancelable:
                raise self._failed(task.key, fault.NOT_SUPPORTED)
            cancel(self._state, task)
            return WriteReceipt(task.key)

    # -- helpers ---------------------------------------------------------------------------

    def _placement(self, vm: SimVM) -> VmPlacement:
        host = self._state.host(self._vcenter, vm.host)
        connected = host is not None and host.connection_state == "connected"
        state = "connected" if connected else "disconnected"
        return VmPlacement(vm.moref, vm.instance_uuid, vm.host, vm.power_state, state, vm.datastores)

    def _check(self, task: str, vm: SimVM, vmx_path: str, source: SimHost, target: SimHost) -> None:
        if source.connection_state != "notResponding":
            raise self._failed(
                task,
                f"Unable to access file {vm.vmx_path} since it is locked: {vm.name} runs on {source.name}, "
                f"which is {source.connection_state}",
            )
        if vmx_path != vm.vmx_path:
            raise self._failed(task, f"File {vmx_path} was not found")
        if target.cluster != source.cluster:
            raise self._failed(task, fault.not_in_cluster(target, vm, source))
        if target.connection_state != "connected":
            raise self._failed(task, fault.not_connected(target))
        if target.in_maintenance:
            raise self._failed(task, fault.in_maintenance(target))
        if not self._state.can_run(target, vm):
            raise self._failed(task, fault.not_mounted(vmx_path, target))

    def _check_maintenance(self, host: SimHost, *, entering: bool) -> None:
        """EnterMaintenanceMode_Task on a host in (or entering) maintenance, or its exit on one that is not:
        InvalidState; either on a host that does not answer: its connection state."""
        if host.connection_state != "connected":
            raise self._failed(self._task(), fault.not_connected(host))
        if (host.vcenter, host.moref) in self._state.entering:
            raise self._failed(self._task(), fault.BUSY)
        if host.in_maintenance == entering:
            raise self._failed(self._task(), fault.INVALID_STATE)

    def _known_task(self, task_key: str) -> SimTask:
        task = self._state.tasks[self._vcenter].get(task_key)
        if task is None:
            raise self._failed(task_key, fault.gone("Task", task_key))
        return task

    def _power_on(self, vm: SimVM, host: SimHost, ran: threading.Event) -> None:
        ran.set()
        if vm.host != host.moref or host.connection_state != "connected":
            return
        vm.power_state = "poweredOn"
        self._state.event(
            self._vcenter, vm.moref, "VmPoweredOnEvent", f"{vm.name} on {host.name} in {DATACENTER} is powered on"
        )
        self._state.changed(self._vcenter)

    def _host(self, moref: str, task: str | None = None) -> SimHost:
        host = self._state.host(self._vcenter, moref)
        if host is None:
            raise self._failed(task or self._task(), fault.gone("HostSystem", moref))
        return host

    def _task(self) -> str:
        return f"task-{self._state.serial()}"

    def _failed(self, task: str, message: str) -> BackendError:
        return BackendError(self._vcenter, message, request_id=task)


def _matches(vm: SimVM, instance_uuid: str | None, vmx_path: str) -> bool:
    """By instanceUuid when there is one (vCenter compares it case-blind), else by .vmx path."""
    if instance_uuid:
        return (vm.instance_uuid or "").lower() == instance_uuid.lower()
    return vm.vmx_path == vmx_path
