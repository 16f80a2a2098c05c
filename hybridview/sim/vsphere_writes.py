"""vCenter's writes in the demo: restart a VM of a dead ESXi host on a healthy one, and find a VM.

As on a real vCenter, the VM object of the dead host is unregistered and its .vmx registered
on the target, which makes a new VM object (a new moref) with the same instanceUuid, and
powered on ``restart_seconds`` later. Like the real backend, ``restart_vm`` returns once
those tasks finished (on the estate's clock); readers see the registered VM powered off meanwhile.
"""

from __future__ import annotations

import threading

from hybridview.backends.base import BackendError, VmPlacement, WriteReceipt
from hybridview.sim.layout import SimHost, SimVM
from hybridview.sim.state import SimState

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
            vm = next((v for v in self._state.vms[self._vcenter] if v.moref == vm_moref), None)
            if vm is None:
                raise self._failed(task, _gone("VirtualMachine", vm_moref))
            source = self._host(task, vm.host)
            target = self._host(task, host_moref)
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
            for vm in self._state.vms[self._vcenter]:
                if _matches(vm, instance_uuid, vmx_path):
                    host = self._state.host(self._vcenter, vm.host)
                    connected = host is not None and host.connection_state == "connected"
                    state = "connected" if connected else "disconnected"
                    return VmPlacement(vm.moref, vm.instance_uuid, vm.host, vm.power_state, state)
            return None

    # -- helpers ---------------------------------------------------------------------------

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
            raise self._failed(task, f"{target.name} is not in the cluster of {vm.name}'s host {source.name}")
        if target.connection_state != "connected":
            raise self._failed(
                task, f"The operation is not allowed in the current connection state of the host ({target.name})."
            )
        if target.in_maintenance:
            raise self._failed(
                task, f"The operation is not allowed in the current state: {target.name} is in maintenance mode."
            )
        if not self._state.can_run(target, vm):
            raise self._failed(
                task, f"Invalid datastore path '{vmx_path}': {target.name} does not mount its datastore."
            )

    def _power_on(self, vm: SimVM, host: SimHost, ran: threading.Event) -> None:
        ran.set()
        if vm.host != host.moref or host.connection_state != "connected":
            return
        vm.power_state = "poweredOn"
        self._state.event(
            self._vcenter, vm.moref, "VmPoweredOnEvent", f"{vm.name} on {host.name} in {DATACENTER} is powered on"
        )
        self._state.changed(self._vcenter)

    def _host(self, task: str, moref: str) -> SimHost:
        host = self._state.host(self._vcenter, moref)
        if host is None:
            raise self._failed(task, _gone("HostSystem", moref))
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


def _gone(kind: str, moref: str) -> str:
    return f"The object 'vim.{kind}:{moref}' has already been deleted or has not been completely created"
