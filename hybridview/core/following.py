"""Which moves found running at the endpoints hybridview can follow to their end, as a plan that sends nothing."""

from __future__ import annotations

from collections.abc import Callable

from hybridview.core.activity import RunningMove, running_moves
from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.view import EstateView

FOLLOWED_TASKS = {
    "VirtualMachine.relocate": Verb.RELOCATE_VM,
    "VirtualMachine.migrate": Verb.RELOCATE_VM,
    "HostSystem.enterMaintenanceMode": Verb.ENTER_MAINTENANCE,
    "HostSystem.exitMaintenanceMode": Verb.EXIT_MAINTENANCE,
}


def plan_following(view: EstateView, held: Callable[[ActionKey], bool]) -> Plan | None:
    """Steps to follow (never to send) for every running move whose key is not held already; None if none."""
    steps = [s for move in running_moves(view) if (s := _follow_step(view, move)) is not None and not held(s.key)]
    if not steps:
        return None
    return Plan("Moves found running", tuple(steps), notes=("found at the endpoints: followed, nothing is sent",))


def _follow_step(view: EstateView, move: RunningMove) -> Step | None:
    if move.kind == "live-migration":
        return _nova_step(move, Verb.LIVE_MIGRATE)
    if move.kind in ("migration", "resize"):
        return _nova_step(move, Verb.COLD_MIGRATE)
    if move.kind == "vcenter-task":
        return _task_step(view, move)
    return None  # waiting at VERIFY_RESIZE: nothing runs, the operator decides


def _nova_step(move: RunningMove, verb: Verb) -> Step:
    parameters: dict[str, object] = {"instance_id": move.target, "source_host": move.source, "target_host": move.dest}
    if verb is Verb.COLD_MIGRATE:
        parameters["confirm"] = False
    return Step(
        ActionKey(move.endpoint, verb, move.target),
        f"{move.kind} of {move.label} from {move.source or '?'} to {move.dest or '?'} (found running)",
        parameters,
        label=move.label,
    )


def _task_step(view: EstateView, move: RunningMove) -> Step | None:
    snapshot = next((v for v in view.estate.vcenters if v.vcenter == move.endpoint), None)
    task = next((t for t in snapshot.tasks if t.key == move.target), None) if snapshot else None
    verb = FOLLOWED_TASKS.get(task.description_id) if task else None
    if task is None or verb is None or task.entity_moref is None:
        return None
    parameters: dict[str, object] = {"task_key": task.key}
    if verb is Verb.RELOCATE_VM:
        parameters.update({"vm_moref": task.entity_moref, "name": task.entity_name})
    else:
        parameters.update({"host_moref": task.entity_moref, "host_name": task.entity_name, "timeout_seconds": 0})
    return Step(
        ActionKey(move.endpoint, verb, task.entity_moref),
        f"{move.label} (found running, task {task.key})",
        parameters,
        label=task.entity_name or task.entity_moref,
    )
