"""Writes that start a vCenter task and return once it exists: vMotion and Storage vMotion
(RelocateVM_Task), maintenance mode; the progress and the cancel of a task; where a VM is now.

The receipt's request id is the task's key (TaskInfo.key). A task this backend started is found
again by the key through ``StartedTasks``; any other, through TaskManager.recentTask.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pyVmomi import vim, vmodl

from hybridview.backends.base import BackendError, TaskProgress, VmPlacement, WriteReceipt
from hybridview.backends.vsphere.actions import PLACEMENT, Steps, placement, read_one, read_props, text
from hybridview.backends.vsphere.errors import LOST_ANSWERS, fault_text
from hybridview.backends.vsphere.session import Session

log = logging.getLogger(__name__)
NO_WAIT = 0.0  # these writes never wait for their task
UNREAD: tuple[type[BaseException], ...] = (vmodl.MethodFault, *LOST_ANSWERS)  # a task's state could not be read


class StartedTasks:
    """Task key -> Task moref of the tasks this backend started; shared by its worker threads."""

    def __init__(self) -> None:
        self._morefs: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, key: str, moref: str) -> None:
        with self._lock:
            self._morefs[key] = moref

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._morefs.get(key)


# -- where a VM is -----------------------------------------------------------------------------


def vm_placement(session: Session, vm_moref: str) -> VmPlacement | None:
    """The VM's host, datastores and power now; None when vCenter no longer has it."""
    try:
        props = read_props(session, [vim.VirtualMachine(vm_moref, session.si._stub)], vim.VirtualMachine, PLACEMENT)
    except vmodl.fault.ManagedObjectNotFound:
        return None
    found = props.get(vm_moref)
    return placement(vm_moref, found) if found is not None else None


# -- writes that start a task ------------------------------------------------------------------


def relocate_vm(
    session: Session,
    endpoint: str,
    tasks: StartedTasks,
    vm_moref: str,
    *,
    host_moref: str | None,
    datastore_moref: str | None,
) -> WriteReceipt:
    """RelocateVM_Task: to ``host_moref`` (vMotion), ``datastore_moref`` (Storage vMotion), or both.

    The VM keeps its resource pool: a host of its cluster takes it there, and vCenter refuses a host
    of another cluster (InvalidArgument). Returns once the task exists.
    """
    if host_moref is None and datastore_moref is None:
        raise BackendError(endpoint, f"nothing to relocate {vm_moref} to: name a host, a datastore or both")
    stub = session.si._stub
    vm = vim.VirtualMachine(vm_moref, stub)
    props = read_props(session, [vm], vim.VirtualMachine, ("name", "resourcePool")).get(vm_moref)
    if props is None:
        raise BackendError(endpoint, f"VM {vm_moref} is not in vCenter's inventory")
    spec = vim.vm.RelocateSpec()
    where = []
    if host_moref is not None:
        spec.host = vim.HostSystem(host_moref, stub)
        spec.pool = props.get("resourcePool")
        where.append(_named(session, endpoint, spec.host, "host"))
    if datastore_moref is not None:
        spec.datastore = vim.Datastore(datastore_moref, stub)
        where.append("datastore " + _named(session, endpoint, spec.datastore, "datastore"))
    what = f"relocating {text(props.get('name')) or vm_moref} to {' and '.join(where)}"
    with Steps(endpoint, NO_WAIT).doing(what):
        task = vm.RelocateVM_Task(spec=spec)
    return _started(endpoint, tasks, task, what)


def enter_maintenance(
    session: Session, endpoint: str, tasks: StartedTasks, host_moref: str, *, timeout_seconds: int, evacuate: bool
) -> WriteReceipt:
    """EnterMaintenanceMode_Task; vCenter's task runs until the host's powered-on VMs are gone."""
    host = vim.HostSystem(host_moref, session.si._stub)
    what = f"putting {_named(session, endpoint, host, 'host')} in maintenance mode"
    with Steps(endpoint, NO_WAIT).doing(what):
        task = host.EnterMaintenanceMode_Task(timeout=timeout_seconds, evacuatePoweredOffVms=evacuate)
    return _started(endpoint, tasks, task, what)


def exit_maintenance(
    session: Session, endpoint: str, tasks: StartedTasks, host_moref: str, *, timeout_seconds: int
) -> WriteReceipt:
    host = vim.HostSystem(host_moref, session.si._stub)
    what = f"taking {_named(session, endpoint, host, 'host')} out of maintenance mode"
    with Steps(endpoint, NO_WAIT).doing(what):
        task = host.ExitMaintenanceMode_Task(timeout=timeout_seconds)
    return _started(endpoint, tasks, task, what)


def _named(session: Session, endpoint: str, obj: Any, noun: str) -> str:
    """The object's name, read before anything is sent; BackendError when vCenter does not have it."""
    try:
        name = read_one(session, obj, "name")
    except vmodl.fault.ManagedObjectNotFound:
        name = None
    if name is None:
        raise BackendError(endpoint, f"{noun} {obj._moId} is not in vCenter's inventory")
    return str(name)


def _started(endpoint: str, tasks: StartedTasks, task: Any, what: str) -> WriteReceipt:
    """The receipt of a task that exists; BackendError when vCenter has failed it already."""
    tasks.add(task._moId, task._moId)
    try:
        info = task.info
    except UNREAD as exc:  # the task exists: follow it by its moref
        log.warning("%s: %s: task %s started, its state unread: %s", endpoint, what, task._moId, exc)
        return WriteReceipt(task._moId, f"{what}: task {task._moId} started")
    key = str(info.key)
    tasks.add(key, task._moId)
    if info.state == vim.TaskInfo.State.error:
        raise BackendError(endpoint, f"{what} failed: {fault_text(info.error)}", request_id=key)
    return WriteReceipt(key, f"{what}: task {key} {info.state}")


# -- tasks -------------------------------------------------------------------------------------


def task_progress(session: Session, endpoint: str, tasks: StartedTasks, task_key: str) -> TaskProgress:
    _moref, info = _find_task(session, endpoint, tasks, task_key)
    error = fault_text(info.error) if info.error is not None else None
    return TaskProgress(
        key=str(info.key),
        state=str(info.state),
        progress=int(info.progress) if info.progress is not None else None,
        cancelable=bool(info.cancelable),
        cancelled=bool(info.cancelled),
        error=error,
        description_id=text(info.descriptionId),
        entity_moref=info.entity._moId if info.entity is not None else None,
    )


def cancel_task(session: Session, endpoint: str, tasks: StartedTasks, task_key: str) -> WriteReceipt:
    """CancelTask; vCenter's refusal (ended, not cancelable) is a BackendError."""
    moref, info = _find_task(session, endpoint, tasks, task_key)
    what = f"cancelling task {task_key} ({info.descriptionId} of {info.entityName or '?'})"
    with Steps(endpoint, NO_WAIT).doing(what):
        vim.Task(moref, session.si._stub).CancelTask()
    return WriteReceipt(task_key, f"asked vCenter to cancel task {task_key}")


def _find_task(session: Session, endpoint: str, tasks: StartedTasks, task_key: str) -> tuple[str, Any]:
    """The moref and TaskInfo of the task with this key: one this backend started, or a recent one."""
    moref = tasks.get(task_key)
    if moref is not None:
        info = _info(session, moref)
        if info is not None:
            return moref, info
    recent = list(read_one(session, session.content.taskManager, "recentTask") or ())
    for found, props in read_props(session, recent, vim.Task, ("info",)).items():
        if str(props["info"].key) == task_key:
            tasks.add(task_key, found)
            return found, props["info"]
    raise BackendError(endpoint, f"vCenter no longer knows task {task_key}: it forgets finished tasks after a while")


def _info(session: Session, moref: str) -> Any:
    try:
        return read_one(session, vim.Task(moref, session.si._stub), "info")
    except vmodl.fault.ManagedObjectNotFound:
        return None
