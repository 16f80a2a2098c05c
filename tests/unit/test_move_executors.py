"""The move executors' reading of Nova and vCenter progress, through the runner, over scripted doubles.

Each double answers a scripted sequence of progress reads; the proof against the real APIs is in
tests/integration (Nova peer, VMware's simulator) and the demo.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hybridview.actions.audit import AuditLog, Outcome
from hybridview.actions.executors import Tracking
from hybridview.actions.operation import ItemState, Operation
from hybridview.actions.runner import ActionRunner
from hybridview.backends.base import BackendError, MigrationProgress, TaskProgress, VmPlacement, WriteReceipt
from hybridview.core.actions import ActionKey, Plan, Step, Verb

FAST = Tracking(first_poll_seconds=0.001, poll_seconds=0.001, limit_seconds=5.0, read_failures=3)
GIB = 2**30


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def server(status: str = "ACTIVE", host: str = "kvm1", task: str | None = None, **record: Any) -> MigrationProgress:
    return MigrationProgress("i1", status, None, task, host, **record)


class ScriptedNova:
    """Every move call is recorded; ``migration_progress`` answers ``script`` in turn, then its last entry."""

    def __init__(self, script: list[MigrationProgress | BackendError]) -> None:
        self.script = list(script)
        self.sent: list[tuple[str, ...]] = []

    def _receipt(self, *call: str) -> WriteReceipt:
        self.sent.append(call)
        return WriteReceipt(f"req-{call[0]}")

    def live_migrate(self, instance_id: str, *, target_host: str | None, block_migration: str | bool) -> WriteReceipt:
        return self._receipt("live", instance_id, str(target_host), str(block_migration))

    def migrate(self, instance_id: str, *, target_host: str | None) -> WriteReceipt:
        return self._receipt("cold", instance_id, str(target_host))

    def confirm_resize(self, instance_id: str) -> WriteReceipt:
        return self._receipt("confirm", instance_id)

    def revert_resize(self, instance_id: str) -> WriteReceipt:
        return self._receipt("revert", instance_id)

    def abort_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        return self._receipt("abort", instance_id, migration_id)

    def force_complete_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        return self._receipt("force-complete", instance_id, migration_id)

    def migration_progress(self, instance_id: str, since: datetime | None = None) -> MigrationProgress:
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, BackendError):
            raise answer
        return answer


class ScriptedVCenter:
    def __init__(self, tasks: list[TaskProgress], placement: VmPlacement | None) -> None:
        self.tasks = list(tasks)
        self.placement = placement
        self.sent: list[tuple[str, ...]] = []

    def vm_placement(self, vm_moref: str) -> VmPlacement | None:
        return self.placement

    def relocate_vm(self, vm_moref: str, *, host_moref: str | None, datastore_moref: str | None) -> WriteReceipt:
        self.sent.append(("relocate", vm_moref, str(host_moref), str(datastore_moref)))
        return WriteReceipt("task-7")

    def enter_maintenance(self, host_moref: str, *, timeout_seconds: int, evacuate_powered_off: bool) -> WriteReceipt:
        self.sent.append(("enter", host_moref, str(timeout_seconds)))
        return WriteReceipt("task-8")

    def exit_maintenance(self, host_moref: str, *, timeout_seconds: int) -> WriteReceipt:
        self.sent.append(("exit", host_moref))
        return WriteReceipt("task-9")

    def task_progress(self, task_key: str) -> TaskProgress:
        return self.tasks.pop(0) if len(self.tasks) > 1 else self.tasks[0]

    def cancel_task(self, task_key: str) -> WriteReceipt:
        self.sent.append(("cancel", task_key))
        return WriteReceipt(None)


def nova_step(verb: Verb, **parameters: Any) -> Step:
    base = {"instance_id": "i1", "source_host": "kvm1", "target_host": None}
    return Step(ActionKey("c1", verb, "i1"), f"{verb} i1", {**base, **parameters}, label="web-1")


def runner_for(tmp_path: Path, backend: object, endpoint: str = "c1") -> ActionRunner:
    return ActionRunner({endpoint: backend}, AuditLog(tmp_path / "audit.jsonl"), tracking=FAST)


async def run_one(runner: ActionRunner, step: Step) -> Operation:
    return await runner.run(Plan("move", (step,)))


@in_loop
async def test_a_live_migration_is_done_when_the_server_is_active_on_another_host(tmp_path: Path) -> None:
    running = server("MIGRATING", "kvm1", "migrating", migration_id="5", migration_type="live-migration")
    counters = replace(running, migration_status="running", memory_total_bytes=4 * GIB, memory_processed_bytes=GIB)
    nova = ScriptedNova([counters, server("ACTIVE", "kvm2", migration_id="5", migration_status="completed")])
    runner = runner_for(tmp_path, nova)
    seen: list[dict[str, object]] = []
    operation = runner.submit(Plan("move", (nova_step(Verb.LIVE_MIGRATE, block_migration="auto"),)))
    operation.listen(lambda _op, item: seen.append(dict(item.detail or {})))
    await operation.finished.wait()
    assert nova.sent == [("live", "i1", "None", "auto")]
    assert operation.items[0].state is ItemState.DONE, operation.items[0].message
    assert operation.items[0].message == "ACTIVE on kvm2"
    assert {"migration_id": "5", "memory_total_bytes": 4 * GIB, "memory_processed_bytes": GIB, "percent": 25} in [
        {k: d[k] for k in ("migration_id", "memory_total_bytes", "memory_processed_bytes", "percent") if k in d}
        for d in seen
    ]
    entries = runner.audit.entries()
    assert [e.outcome for e in entries] == [Outcome.DONE]


@in_loop
async def test_a_live_migration_nova_set_to_error_fails_with_the_server_still_on_its_host(tmp_path: Path) -> None:
    nova = ScriptedNova([server("ACTIVE", "kvm1", migration_id="5", migration_status="error")])
    operation = await run_one(runner_for(tmp_path, nova), nova_step(Verb.LIVE_MIGRATE))
    assert operation.items[0].state is ItemState.FAILED
    assert "error" in operation.items[0].message and "kvm1" in operation.items[0].message


@in_loop
async def test_a_cold_migration_with_confirm_sends_the_confirmation_at_verify_resize(tmp_path: Path) -> None:
    at_verify = server(
        "VERIFY_RESIZE", "kvm2", migration_id="6", migration_type="migration", migration_status="finished"
    )
    confirmed = server("ACTIVE", "kvm2", migration_id="6", migration_type="migration", migration_status="confirmed")
    nova = ScriptedNova([server("RESIZE", "kvm1", "resize_prep"), at_verify, confirmed])
    operation = await run_one(runner_for(tmp_path, nova), nova_step(Verb.COLD_MIGRATE, confirm=True))
    assert [c[0] for c in nova.sent] == ["cold", "confirm"]
    assert operation.items[0].state is ItemState.DONE, operation.items[0].message
    assert operation.items[0].message.endswith("confirmed: ACTIVE on kvm2")
    assert [e.verb for e in operation_entries(tmp_path)] == ["cold-migrate", "confirm-resize"]


@in_loop
async def test_a_cold_migration_without_confirm_ends_waiting_for_the_operator(tmp_path: Path) -> None:
    at_verify = server(
        "VERIFY_RESIZE", "kvm2", migration_id="6", migration_type="migration", migration_status="finished"
    )
    nova = ScriptedNova([at_verify])
    operation = await run_one(runner_for(tmp_path, nova), nova_step(Verb.COLD_MIGRATE, confirm=False))
    assert [c[0] for c in nova.sent] == ["cold"]
    item = operation.items[0]
    assert item.state is ItemState.DONE and "VERIFY_RESIZE on kvm2" in item.message
    assert item.detail is not None and item.detail.get("waiting") == "confirm"


@in_loop
async def test_an_abort_is_done_only_when_nova_cancelled_the_migration(tmp_path: Path) -> None:
    cancelled = server(
        "ACTIVE", "kvm1", migration_id="5", migration_type="live-migration", migration_status="cancelled"
    )
    nova = ScriptedNova(
        [server("MIGRATING", "kvm1", "migrating", migration_id="5", migration_status="running"), cancelled]
    )
    step = nova_step(Verb.ABORT_LIVE_MIGRATION, migration_id="5")
    operation = await run_one(runner_for(tmp_path, nova), step)
    assert nova.sent == [("abort", "i1", "5")]
    assert operation.items[0].state is ItemState.DONE and operation.items[0].message == "aborted: ACTIVE on kvm1"

    completed = server("ACTIVE", "kvm2", migration_id="5", migration_status="completed")
    late = await run_one(runner_for(tmp_path / "late", ScriptedNova([completed])), step)
    assert late.items[0].state is ItemState.FAILED and "not aborted" in late.items[0].message


@in_loop
async def test_a_retried_live_migration_follows_the_running_one_and_sends_nothing(tmp_path: Path) -> None:
    running = server("MIGRATING", "kvm1", "migrating", migration_id="5", migration_type="live-migration")
    running = replace(running, migration_status="running")
    nova = ScriptedNova([running, running, server("ACTIVE", "kvm3", migration_id="5", migration_status="completed")])
    runner = runner_for(tmp_path, nova)
    step = nova_step(Verb.LIVE_MIGRATE)
    runner.audit.sent("c1", "live-migrate", "i1", dict(step.parameters))  # an earlier run lost its answer
    operation = await run_one(runner, step)
    assert nova.sent == []
    assert operation.items[0].state is ItemState.DONE and operation.items[0].message == "ACTIVE on kvm3"
    assert [e.outcome for e in runner.audit.entries()] == [Outcome.DONE]


def relocation(**parameters: Any) -> Step:
    base = {
        "vm_moref": "vm-1",
        "name": "db",
        "host_moref": "host-2",
        "host_name": "esx2",
        "source_host_moref": "host-1",
    }
    return Step(ActionKey("vc1", Verb.RELOCATE_VM, "vm-1"), "vMotion db", {**base, **parameters}, label="db")


@in_loop
async def test_a_relocation_follows_its_task_and_checks_where_the_vm_is(tmp_path: Path) -> None:
    tasks = [TaskProgress("task-7", "running", 40, cancelable=True), TaskProgress("task-7", "success", None)]
    vcenter = ScriptedVCenter(tasks, VmPlacement("vm-1", None, "host-2", "poweredOn", datastore_morefs=("ds-1",)))
    runner = runner_for(tmp_path, vcenter, "vc1")
    details: list[dict[str, object]] = []
    operation = runner.submit(Plan("vMotion", (relocation(),)))
    operation.listen(lambda _op, item: details.append(dict(item.detail or {})))
    await operation.finished.wait()
    assert vcenter.sent == [("relocate", "vm-1", "host-2", "None")]
    assert operation.items[0].state is ItemState.DONE and operation.items[0].message == "now on esx2"
    assert operation.items[0].request_id == "task-7"
    assert {"task_key": "task-7", "cancelable": True, "percent": 40} in details

    wrong = ScriptedVCenter([TaskProgress("task-7", "success")], VmPlacement("vm-1", None, "host-1", "poweredOn"))
    moved_elsewhere = await run_one(runner_for(tmp_path / "b", wrong, "vc1"), relocation())
    assert moved_elsewhere.items[0].state is ItemState.FAILED


@in_loop
async def test_a_failed_task_fails_the_item_with_vcenters_message(tmp_path: Path) -> None:
    failed = TaskProgress("task-8", "error", error="The operation is not allowed in the current state.")
    vcenter = ScriptedVCenter([failed], None)
    step = Step(
        ActionKey("vc1", Verb.ENTER_MAINTENANCE, "host-1"),
        "enter maintenance esx1",
        {"host_moref": "host-1", "host_name": "esx1", "timeout_seconds": 60, "evacuate_powered_off": False},
    )
    operation = await run_one(runner_for(tmp_path, vcenter, "vc1"), step)
    assert operation.items[0].state is ItemState.FAILED
    assert operation.items[0].message == "The operation is not allowed in the current state."


@in_loop
async def test_following_a_found_move_sends_nothing_and_holds_its_key(tmp_path: Path) -> None:
    running = server("MIGRATING", "kvm1", "migrating", migration_id="5", migration_status="running")
    nova = ScriptedNova([running, running, server("ACTIVE", "kvm2", migration_id="5", migration_status="completed")])
    runner = runner_for(tmp_path, nova)
    step = nova_step(Verb.LIVE_MIGRATE)
    operation = runner.adopt(Plan("found", (step,)))
    assert operation.found and runner.running(step.key)
    await operation.finished.wait()
    assert nova.sent == [] and runner.audit.entries() == []
    assert operation.items[0].state is ItemState.DONE and not runner.running(step.key)


def operation_entries(tmp_path: Path) -> list[Any]:
    return AuditLog(tmp_path / "audit.jsonl").entries()
