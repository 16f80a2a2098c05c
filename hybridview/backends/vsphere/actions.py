"""Writes: restart a VM that vSphere HA left on a dead ESXi host, and find where a VM is now.

A real vCenter cannot move a VM whose host does not answer. The way back is the one an
operator takes by hand: remove the VM from the inventory (its files stay on the datastore),
register its .vmx on a live host of the same cluster, give it back its instanceUuid if vCenter
chose another (Nova's vmwareapi driver finds its VMs by it), power it on. Every input is
checked before the first change, and calling again after a partial restart finishes it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim, vmodl

from hybridview.backends.base import BackendError, VmPlacement, WriteReceipt
from hybridview.backends.vsphere.errors import LOST_ANSWERS, fault_text, lost_answer
from hybridview.backends.vsphere.session import Session

log = logging.getLogger(__name__)
PC = vmodl.query.PropertyCollector
TASK_TIMEOUT_SECONDS = 600.0  # per task; registering and powering on take seconds on a healthy vCenter
POLL_FIRST_SECONDS, POLL_MAX_SECONDS = 0.1, 2.0
DATASTORE = re.compile(r"^\[([^\]]+)\] ")
PLACEMENT = ("config.instanceUuid", "runtime.host", "runtime.powerState", "runtime.connectionState", "datastore")
OLD_VM = ("parent", "config.files.vmPathName", "runtime.host", "runtime.connectionState")
HOST = ("name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode", "datastore")


# -- find --------------------------------------------------------------------------------------


def find_vm(session: Session, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
    """The VM with this instanceUuid (without one, this .vmx), preferring one on a host that answers."""
    index = session.content.searchIndex
    if instance_uuid:
        found = list(index.FindAllByUuid(uuid=instance_uuid, vmSearch=True, instanceUuid=True) or ())
    else:
        found = [vm for dc in _datacenters(session) if (vm := index.FindByDatastorePath(dc, vmx_path)) is not None]
    rows = read_props(session, found, vim.VirtualMachine, PLACEMENT)
    return min((placement(moref, props) for moref, props in rows.items()), key=_preference, default=None)


def placement(moref: str, p: dict[str, Any]) -> VmPlacement:
    host = p.get("runtime.host")
    return VmPlacement(
        moref=moref,
        instance_uuid=text(p.get("config.instanceUuid")),
        host_moref=host._moId if host is not None else None,
        power_state=text(p.get("runtime.powerState")) or "unknown",
        connection_state=text(p.get("runtime.connectionState")),
        datastore_morefs=tuple(ds._moId for ds in p.get("datastore") or ()),
    )


def _preference(p: VmPlacement) -> tuple[bool, bool, str]:
    """On a host that answers first, then running before stopped."""
    return p.connection_state != "connected", p.power_state != "poweredOn", p.moref


def _datacenters(session: Session) -> list[Any]:
    content = session.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.Datacenter], True)
    try:
        return list(view.view)
    finally:
        view.DestroyView()


# -- restart -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    host: Any
    name: str
    cluster: Any  # the host's compute resource
    pool: Any  # its root resource pool


def restart_vm(
    session: Session,
    endpoint: str,
    vm_moref: str,
    *,
    vmx_path: str,
    name: str,
    instance_uuid: str | None,
    host_moref: str,
    task_timeout: float = TASK_TIMEOUT_SECONDS,
) -> WriteReceipt:
    """Register the VM of a dead host on ``host_moref`` from its .vmx, keep its instanceUuid, power it on."""
    steps = Steps(endpoint, task_timeout)
    stub = session.si._stub
    old = read_props(session, [vim.VirtualMachine(vm_moref, stub)], vim.VirtualMachine, OLD_VM).get(vm_moref)
    live = _live(find_vm(session, instance_uuid, vmx_path))
    if live is None and old is None:  # an earlier attempt may have registered it and stopped there
        live = _live(find_vm(session, None, vmx_path))
    if live is not None:
        vm = vim.VirtualMachine(live.moref, stub)
        notes = _finish(steps, vm, name, instance_uuid, live.instance_uuid, live.power_state == "poweredOn")
        where = f"{name} is registered as {live.moref} on {live.host_moref}"
        return WriteReceipt(
            steps.request_id, "; ".join([where, *notes]) if notes else f"{where} and runs: nothing to do"
        )

    target = _target(session, endpoint, host_moref, vmx_path)
    if old is not None:
        _check_old(session, endpoint, f"{name} ({vm_moref})", old, vmx_path, target)
    parent = old.get("parent") if old is not None else None
    folder = parent if isinstance(parent, vim.Folder) else _vm_folder(session, endpoint, target.cluster)
    if old is not None:
        log.info("%s: removing %s (%s) of a dead host from the inventory", endpoint, name, vm_moref)
        with steps.doing(f"removing {name} ({vm_moref}) from the inventory"):
            vim.VirtualMachine(vm_moref, stub).UnregisterVM()
    try:
        log.info("%s: registering %s on %s", endpoint, vmx_path, target.name)
        with steps.doing(f"registering {vmx_path} on {target.name}"):
            task = folder.RegisterVM_Task(
                path=vmx_path, name=name, asTemplate=False, pool=target.pool, host=target.host
            )
        vm = steps.wait(f"registering {vmx_path} on {target.name}", task)
        given = text(read_one(session, vm, "config.instanceUuid"))
        notes = [f"registered {name} as {vm._moId} on {target.name}"]
        notes += _finish(steps, vm, name, instance_uuid, given, powered_on=False)
    except BackendError as error:
        if old is None or error.outcome_unknown:  # unknown: the retry's check finds where it got to
            raise
        lost = f"{name} is out of the inventory now, its files stay at {vmx_path}: restart it again to finish"
        raise BackendError(endpoint, f"{error.message}; {lost}", request_id=error.request_id) from error
    return WriteReceipt(steps.request_id, "; ".join(notes))


def _live(placement: VmPlacement | None) -> VmPlacement | None:
    return placement if placement is not None and placement.connection_state == "connected" else None


def _finish(steps: Steps, vm: Any, name: str, wanted: str | None, given: str | None, powered_on: bool) -> list[str]:
    """Give ``vm`` the instanceUuid Nova knows and power it on, as far as it still needs; what it did."""
    notes = []
    if wanted and (given or "").lower() != wanted.lower():
        with steps.doing(f"setting {name}'s instanceUuid"):
            task = vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(instanceUuid=wanted))
        steps.wait(f"setting {name}'s instanceUuid", task)
        notes.append(f"vCenter gave it instanceUuid {given}; set it to {wanted}, the one Nova knows")
    if not powered_on:
        with steps.doing(f"powering on {name}"):
            task = vm.PowerOnVM_Task()
        steps.wait(f"powering on {name}", task)
        notes.append("powered it on")
    return notes


def _target(session: Session, endpoint: str, host_moref: str, vmx_path: str) -> _Target:
    """The host to register on, checked: it answers, is not in maintenance, mounts the .vmx's datastore."""
    host = vim.HostSystem(host_moref, session.si._stub)
    p = read_props(session, [host], vim.HostSystem, HOST).get(host_moref)
    if p is None:
        raise BackendError(endpoint, f"host {host_moref} is not in vCenter's inventory")
    name = text(p.get("name")) or host_moref
    state = text(p.get("runtime.connectionState"))
    if state != "connected":
        raise BackendError(endpoint, f"{name} is {state}: a VM can only be registered on a host that answers")
    if p.get("runtime.inMaintenanceMode"):
        raise BackendError(endpoint, f"{name} is in maintenance mode: a VM cannot be powered on there")
    datastore = DATASTORE.match(vmx_path)
    if datastore is None:
        raise BackendError(endpoint, f"{vmx_path!r} is not a datastore path like '[datastore] dir/name.vmx'")
    mounted = read_props(session, list(p.get("datastore") or ()), vim.Datastore, ("name",))
    if datastore.group(1) not in {props.get("name") for props in mounted.values()}:
        raise BackendError(endpoint, f"{name} does not mount datastore {datastore.group(1)} of {vmx_path}")
    cluster = p.get("parent")
    pool = read_one(session, cluster, "resourcePool") if isinstance(cluster, vim.ComputeResource) else None
    if pool is None:
        raise BackendError(endpoint, f"{name} is in no cluster with a resource pool")
    return _Target(host, name, cluster, pool)


def _check_old(session: Session, endpoint: str, what: str, old: dict[str, Any], vmx_path: str, target: _Target) -> None:
    """The VM object to unregister: this .vmx's, of a host that does not answer, in the target's cluster."""
    path = old.get("config.files.vmPathName")
    if path != vmx_path:
        raise BackendError(endpoint, f"{what} has its .vmx at {path}, not {vmx_path}: left as it is")
    if old.get("runtime.connectionState") == "connected":
        raise BackendError(endpoint, f"{what} is on a host that answers: only a dead host's VMs are restarted")
    source = old.get("runtime.host")
    if source is None:
        return
    cluster = read_one(session, source, "parent")
    if cluster is not None and cluster._moId != target.cluster._moId:
        raise BackendError(endpoint, f"{target.name} is not in the cluster of {what}'s host {source._moId}")


def _vm_folder(session: Session, endpoint: str, entity: Any) -> Any:
    """The VM folder of the datacenter above ``entity``."""
    for _depth in range(64):  # folders nest, never this deep
        entity = read_one(session, entity, "parent")
        if isinstance(entity, vim.Datacenter):
            return read_one(session, entity, "vmFolder")
        if entity is None:
            break
    raise BackendError(endpoint, "no datacenter above the target host: cannot find a VM folder")


class Steps:
    """The vCenter tasks of one write, waited for in turn; their keys make its request id."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.keys: list[str] = []

    @property
    def request_id(self) -> str | None:
        return ",".join(self.keys) or None

    @contextmanager
    def doing(self, what: str) -> Iterator[None]:
        """A fault of a call inside becomes a BackendError naming ``what``; a lost answer leaves its outcome unknown."""
        try:
            yield
        except vim.fault.NotAuthenticated:
            raise  # the session keeper logs in again and calls the write again, which resumes
        except vmodl.MethodFault as exc:
            raise BackendError(self.endpoint, f"{what} failed: {fault_text(exc)}") from exc
        except LOST_ANSWERS as exc:  # sent, its answer never came whole: it may have taken effect
            raise lost_answer(self.endpoint, what, exc) from exc

    def wait(self, what: str, task: Any) -> Any:
        """The task's result once it succeeds; BackendError with its key when it fails or outlasts the timeout."""
        deadline = time.monotonic() + self.timeout
        pause = POLL_FIRST_SECONDS
        while True:
            with self.doing(what):
                info = task.info
            if not self.keys or self.keys[-1] != info.key:
                self.keys.append(str(info.key))
            if info.state == vim.TaskInfo.State.success:
                return info.result
            if info.state == vim.TaskInfo.State.error:
                raise BackendError(self.endpoint, f"{what} failed: {fault_text(info.error)}", request_id=info.key)
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(
                    self.endpoint,
                    f"{what} did not finish in {self.timeout:g} s (still {info.state})",
                    request_id=info.key,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, POLL_MAX_SECONDS)


# -- property reads ----------------------------------------------------------------------------


def read_props(
    session: Session, objects: Sequence[Any], mo_type: type, paths: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """moref -> {path: pyVmomi value} of each object that still exists; an unset property is absent."""
    if not objects:
        return {}
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=o, skip=False) for o in objects],
        propSet=[PC.PropertySpec(type=mo_type, pathSet=list(paths))],
        reportMissingObjectsInResults=True,
    )
    collector = session.content.propertyCollector
    result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
    rows: dict[str, dict[str, Any]] = {}
    while result is not None:
        for content in result.objects or ():
            faults = [m.fault for m in content.missingSet or ()]
            if any(isinstance(f, vmodl.fault.ManagedObjectNotFound) for f in faults):
                continue  # gone since it was named
            if faults:
                raise faults[0]  # e.g. NotAuthenticated: the session keeper logs in again
            rows[content.obj._moId] = {prop.name: prop.val for prop in content.propSet or ()}
        result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
    return rows


def read_one(session: Session, obj: Any, path: str) -> Any:
    return read_props(session, [obj], type(obj), (path,)).get(obj._moId, {}).get(path)


def text(value: Any) -> str | None:
    return str(value) if value is not None else None
