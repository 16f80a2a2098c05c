"""The demo vCenter's tasks over the estate's clock, and how a VM moves: vMotion and Storage vMotion.

A task runs from its creation, its progress climbing in tenths, and ends in success or in an
error with the fault's message; a finished task's info stays readable, as on a real vCenter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from hybridview.sim import vsphere_faults as fault
from hybridview.sim.layout import SimDatastore, SimHost, SimVM, vmx_path
from hybridview.sim.state import SimState, SimTask

USER = "VSPHERE.LOCAL\\hybridview"  # who the demo's writes run as
PROGRESS_STEPS = 10
FINISHED_KEPT = 200  # finished tasks kept per vCenter
RELOCATE = "VirtualMachine.relocate"
DRS_VMOTION = "Drm.ExecuteVMotionLRO"  # the vMotions DRS starts itself


# -- tasks ----------------------------------------------------------------------------------


def new_task(
    state: SimState,
    vcenter: str,
    description_id: str,
    entity: SimVM | SimHost,
    *,
    cancelable: bool,
    user: str | None = USER,
) -> SimTask:
    task = SimTask(
        vcenter, f"task-{state.serial()}", description_id, entity.moref, entity.name, cancelable, state.now(), user
    )
    tasks = state.tasks[vcenter]
    tasks[task.key] = task
    finished = [key for key, t in tasks.items() if not t.running]
    for key in finished[: max(0, len(finished) - FINISHED_KEPT)]:
        del tasks[key]
    state.changed(vcenter)
    return task


def end_task(state: SimState, task: SimTask, error: str | None = None) -> None:
    task.state, task.error = ("error", error) if error else ("success", None)
    if error is None:
        task.progress = 100
    state.changed(task.vcenter)


def set_progress(state: SimState, task: SimTask, percent: int) -> None:
    if task.running and task.progress != percent:
        task.progress = percent
        state.changed(task.vcenter)


def timed(state: SimState, task: SimTask, seconds: float, finish: Callable[[], str | None]) -> None:
    """Run ``task`` for ``seconds``, then ``finish`` it (its fault's message, or None for success)."""
    for step in range(1, PROGRESS_STEPS):
        state.timeline.after(
            seconds * step / PROGRESS_STEPS, partial(set_progress, state, task, 100 * step // PROGRESS_STEPS)
        )

    def end() -> None:
        if task.running:
            end_task(state, task, finish())

    state.timeline.after(seconds, end)


def cancel(state: SimState, task: SimTask) -> None:
    """CancelTask: the task ends in error; a host it was putting in maintenance mode stays out of it."""
    task.cancelled = True
    end_task(state, task, fault.CANCELED)
    for key, run in list(state.entering.items()):
        if run.task is task:
            del state.entering[key]


def busy(state: SimState, entity_moref: str, vcenter: str) -> bool:
    """A task of this entity is running."""
    return any(t.running and t.entity_moref == entity_moref for t in state.tasks[vcenter].values())


# -- placement ------------------------------------------------------------------------------


def used_gb(state: SimState, vcenter: str) -> dict[str, int]:
    """Per datastore moref: the GB its VMs' files take."""
    used: dict[str, int] = {}
    for vm in state.vms[vcenter]:
        for moref in vm.datastores:
            used[moref] = used.get(moref, 0) + vm.disk_gb
    return used


def accessible(state: SimState, datastore: SimDatastore) -> bool:
    """Mounted by a host that answers: a dead host's local datastore is not."""
    hosts = (state.host(datastore.vcenter, moref) for moref in datastore.hosts)
    return any(h is not None and h.connection_state == "connected" for h in hosts)


def entering(state: SimState, host: SimHost) -> bool:
    return (host.vcenter, host.moref) in state.entering


def memory_load(state: SimState, host: SimHost) -> int:
    return sum(
        vm.memory_mb for vm in state.vms[host.vcenter] if vm.host == host.moref and vm.power_state == "poweredOn"
    )


def least_loaded(state: SimState, vm: SimVM, hosts: Iterable[SimHost], planned: dict[str, int]) -> SimHost | None:
    """The host that can run ``vm`` with the least memory of powered-on VMs, counting moves already ``planned``
    (host moref -> MB), which it adds ``vm`` to."""
    usable = [h for h in hosts if h.moref != vm.host and state.can_run(h, vm) and not entering(state, h)]
    best = min(usable, key=lambda h: (memory_load(state, h) + planned.get(h.moref, 0), h.name), default=None)
    if best is not None:
        planned[best.moref] = planned.get(best.moref, 0) + vm.memory_mb
    return best


def relocation_refusal(state: SimState, vm: SimVM, host: SimHost, datastore: SimDatastore | None) -> str | None:
    """Why vCenter refuses to relocate ``vm`` to ``host`` (and ``datastore``), or None."""
    source = state.host(vm.vcenter, vm.host)
    if source is None or source.connection_state != "connected":
        return fault.not_connected(source) if source else fault.gone("HostSystem", vm.host)
    if host.cluster != source.cluster:
        return f"A specified parameter was not correct: host. {fault.not_in_cluster(host, vm, source)}"
    if host.connection_state != "connected":
        return fault.not_connected(host)
    if host.in_maintenance:
        return fault.in_maintenance(host)
    if host.moref != vm.host and entering(state, host):
        return fault.entering_maintenance(host)
    if datastore is None:
        return None if state.can_run(host, vm) else fault.not_mounted(vm.vmx_path, host)
    if host.moref not in datastore.hosts:
        return fault.not_mounted(vmx_path(datastore, vm.name), host)
    if not accessible(state, datastore):
        return fault.inaccessible(datastore)
    moving = datastore.moref not in vm.datastores
    if moving and datastore.capacity_gb - used_gb(state, vm.vcenter).get(datastore.moref, 0) < vm.disk_gb:
        return fault.no_space(datastore)
    return None


def move_vm(state: SimState, vm: SimVM, host: SimHost, datastore: SimDatastore | None) -> None:
    """The end of a relocation: the VM on ``host``, its files on ``datastore`` (None: where they are)."""
    source = state.host(vm.vcenter, vm.host)
    if datastore is not None and vm.datastores != (datastore.moref,):
        vm.datastores, vm.vmx_path = (datastore.moref,), vmx_path(datastore, vm.name)
        where = datastore.name
    else:
        where = "its datastore"
    if source is not None and source is not host:
        message = f"Migration of virtual machine {vm.name} from {source.name} to {host.name}, {where} completed"
        state.event(vm.vcenter, vm.moref, "VmMigratedEvent", message)
    else:
        state.event(vm.vcenter, vm.moref, "VmRelocatedEvent", f"Completed the relocation of {vm.name} to {where}")
    vm.host = host.moref
    state.changed(vm.vcenter)


def begin_relocation(
    state: SimState,
    vm: SimVM,
    host: SimHost,
    datastore: SimDatastore | None,
    *,
    seconds: float,
    by_drs: bool = False,
) -> SimTask:
    """A RelocateVM_Task (or DRS's own vMotion): the VM moves at the end, if the target can still take it."""
    if by_drs:
        task = new_task(state, vm.vcenter, DRS_VMOTION, vm, cancelable=False, user=None)
    else:
        task = new_task(state, vm.vcenter, RELOCATE, vm, cancelable=True)

    def finish() -> str | None:
        refusal = relocation_refusal(state, vm, host, datastore)
        if refusal is None:
            move_vm(state, vm, host, datastore)
        return refusal

    timed(state, task, seconds, finish)
    return task


def place_in_cluster(state: SimState, vm: SimVM, cluster: str) -> bool:
    """Nova's vmwareapi driver moved the VM to another cluster of its vCenter: onto its least loaded host and
    its shared datastore. False when no host of that cluster can take it."""
    datastore = next((d for d in state.datastores[vm.vcenter] if d.cluster == cluster), None)
    hosts = [
        h
        for h in state.hosts[vm.vcenter]
        if h.cluster == cluster and h.connection_state == "connected" and not h.in_maintenance
    ]
    best = min(hosts, key=lambda h: (memory_load(state, h), h.name), default=None)
    if best is None or datastore is None:
        return False
    move_vm(state, vm, best, datastore)
    return True


def vm_of_instance(state: SimState, vcenter: str, instance_id: str) -> SimVM | None:
    return next((vm for vm in state.vms[vcenter] if vm.instance_uuid == instance_id), None)
