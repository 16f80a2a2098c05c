"""Executors of the vCenter writes that start a task: relocation (vMotion, Storage vMotion),
maintenance mode, and the cancel of a task. Each follows its task's TaskInfo to the end."""

from __future__ import annotations

from collections.abc import Callable

from hybridview.actions.executors import Detail, End, Executor, Follow, Prior, Tracking, poll_until
from hybridview.actions.operation import ItemState
from hybridview.backends.base import BackendError, TaskProgress, VCenterBackend, VCenterMoves, WriteReceipt
from hybridview.core.actions import Step, Verb

TASK_ENDED = frozenset({"success", "error"})
RELOCATE_TASKS = frozenset({"VirtualMachine.relocate", "VirtualMachine.migrate"})
MAINTENANCE_TASKS = frozenset({"HostSystem.enterMaintenanceMode", "HostSystem.exitMaintenanceMode"})


def running_task(backend: object, entity_moref: str, kinds: frozenset[str]) -> Prior | None:
    """A task of these kinds still queued or running on the entity: an earlier attempt to follow, not to repeat
    (vCenter would refuse the second with TaskInProgress)."""
    if not isinstance(backend, VCenterBackend):
        return None
    snapshot = backend.fetch()
    task = next((t for t in snapshot.tasks if t.entity_moref == entity_moref and t.description_id in kinds), None)
    if task is None:
        return None
    return Prior(True, f"an earlier attempt is running: task {task.key} {task.state}", request_id=task.key)


def describe_task(t: TaskProgress) -> str:
    percent = f" {t.progress}%" if t.progress is not None and t.state == "running" else ""
    return f"task {t.key} {t.state}{percent}" + (" (cancel asked)" if t.cancelled else "")


def task_detail(t: TaskProgress) -> Detail:
    detail: dict[str, object] = {"task_key": t.key, "cancelable": t.cancelable and t.state not in TASK_ENDED}
    if t.progress is not None:
        detail["percent"] = 100 if t.state == "success" else t.progress
    return detail


def _task_key(step: Step, receipt: WriteReceipt) -> str:
    key = receipt.request_id or step.parameters.get("task_key")
    if not key:
        raise BackendError(step.key.endpoint, f"no vCenter task to follow for {step.key}")
    return str(key)


async def follow_task(
    backend: VCenterMoves,
    task_key: str,
    follow: Follow,
    on_success: Callable[[TaskProgress], End],
) -> End:
    async def read() -> TaskProgress:
        progress: TaskProgress = await follow.offload(backend.task_progress, task_key)
        return progress

    def end_of(t: TaskProgress) -> End | None:
        if t.state == "error":
            return End(ItemState.FAILED, t.error or f"task {t.key} failed")
        return on_success(t) if t.state == "success" else None

    return await poll_until(read, end_of, describe_task, follow, task_detail)


class Relocate:
    writes = VCenterMoves

    def send(self, backend: VCenterMoves, step: Step) -> WriteReceipt:
        p = step.parameters
        return backend.relocate_vm(
            p["vm_moref"], host_moref=p.get("host_moref"), datastore_moref=p.get("datastore_moref")
        )

    def earlier_attempt(self, backend: VCenterMoves, step: Step) -> Prior | None:
        placed = backend.vm_placement(step.parameters["vm_moref"])
        if placed is not None and _arrived(step, placed.host_moref, placed.datastore_morefs):
            return Prior(False, f"an earlier attempt took effect: {_where(step)}")
        return running_task(backend, step.parameters["vm_moref"], RELOCATE_TASKS)

    async def track(self, backend: VCenterMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        async def arrived() -> End:
            placed = await follow.offload(backend.vm_placement, step.parameters["vm_moref"])
            if placed is None:
                return End(ItemState.UNKNOWN, "the task succeeded, and vCenter no longer has the VM")
            if _arrived(step, placed.host_moref, placed.datastore_morefs):
                return End(ItemState.DONE, f"now {_where(step)}")
            return End(ItemState.FAILED, f"the task succeeded, and the VM is on {placed.host_moref}: not where asked")

        end = await follow_task(backend, _task_key(step, receipt), follow, lambda _t: End(ItemState.DONE, ""))
        return await arrived() if end.state is ItemState.DONE else end


def _arrived(step: Step, host_moref: str | None, datastores: tuple[str, ...]) -> bool:
    p = step.parameters
    host_ok = p.get("host_moref") is None or host_moref == p["host_moref"]
    datastore_ok = p.get("datastore_moref") is None or p["datastore_moref"] in datastores
    return host_ok and datastore_ok


def _where(step: Step) -> str:
    p = step.parameters
    parts = []
    if p.get("host_moref"):
        parts.append(f"on {p.get('host_name') or p['host_moref']}")
    if p.get("datastore_moref"):
        parts.append(f"on datastore {p.get('datastore_name') or p['datastore_moref']}")
    return " and ".join(parts) or "where it was"


class Maintenance:
    writes = VCenterMoves

    def send(self, backend: VCenterMoves, step: Step) -> WriteReceipt:
        p = step.parameters
        if step.key.verb is Verb.ENTER_MAINTENANCE:
            return backend.enter_maintenance(
                p["host_moref"],
                timeout_seconds=int(p["timeout_seconds"]),
                evacuate_powered_off=bool(p.get("evacuate_powered_off")),
            )
        return backend.exit_maintenance(p["host_moref"], timeout_seconds=int(p["timeout_seconds"]))

    def earlier_attempt(self, backend: VCenterMoves, step: Step) -> Prior | None:
        """The host already where the step puts it: a lost answer's call took effect (sending again would be
        vCenter's InvalidState). Read from a snapshot, the one host read a vCenter backend has."""
        if not isinstance(backend, VCenterBackend):
            return None
        host = next((h for h in backend.fetch().hosts if h.moref == step.parameters["host_moref"]), None)
        if host is not None and host.in_maintenance is (step.key.verb is Verb.ENTER_MAINTENANCE):
            return Prior(False, f"an earlier attempt took effect: {_maintenance_end(step)}")
        return running_task(backend, step.parameters["host_moref"], MAINTENANCE_TASKS)

    async def track(self, backend: VCenterMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        limit = Tracking(
            follow.tracking.first_poll_seconds,
            follow.tracking.poll_seconds,
            max(follow.tracking.limit_seconds, float(step.parameters["timeout_seconds"]) + 60.0),
            follow.tracking.read_failures,
        )
        return await follow_task(
            backend,
            _task_key(step, receipt),
            Follow(follow.offload, follow.report, limit),
            lambda _t: End(ItemState.DONE, _maintenance_end(step)),
        )


def _maintenance_end(step: Step) -> str:
    name = step.parameters.get("host_name") or step.parameters["host_moref"]
    state = "in maintenance mode" if step.key.verb is Verb.ENTER_MAINTENANCE else "out of maintenance mode"
    return f"{name} {state}"


class CancelTask:
    writes = VCenterMoves

    def send(self, backend: VCenterMoves, step: Step) -> WriteReceipt:
        receipt = backend.cancel_task(step.parameters["task_key"])
        return WriteReceipt(step.parameters["task_key"], receipt.detail)

    def earlier_attempt(self, backend: VCenterMoves, step: Step) -> Prior | None:
        t = backend.task_progress(step.parameters["task_key"])
        if t.state in TASK_ENDED:
            return Prior(False, f"the task already ended: {describe_task(t)}")
        return None

    async def track(self, backend: VCenterMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        def ended(_t: TaskProgress) -> End:
            return End(ItemState.FAILED, "the task finished before the cancel took effect")

        end = await follow_task(backend, _task_key(step, receipt), follow, ended)
        if end.state is ItemState.FAILED and end.message != "the task finished before the cancel took effect":
            return End(ItemState.DONE, f"cancelled: {end.message}")  # a cancelled task ends in error
        return end


VCENTER_TASK_EXECUTORS: dict[Verb, Executor] = {
    Verb.RELOCATE_VM: Relocate(),
    Verb.ENTER_MAINTENANCE: Maintenance(),
    Verb.EXIT_MAINTENANCE: Maintenance(),
    Verb.CANCEL_TASK: CancelTask(),
}
