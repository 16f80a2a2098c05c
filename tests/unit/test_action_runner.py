"""The runner's rules, one function at a time, over an in-memory Nova double.

The proof that the writes work runs on the real peers (tests/integration) and the demo;
these pin the refusals, the audit order, the phases, the bound and the retry check.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hybridview.actions.audit import AuditLog, Outcome
from hybridview.actions.claims import AlreadyRunning, Claims
from hybridview.actions.executors import Tracking
from hybridview.actions.operation import ItemState
from hybridview.actions.runner import ActionRefused, ActionRunner, FencingNotAcknowledged
from hybridview.backends.base import BackendError, ServerProgress, WriteReceipt
from hybridview.core.actions import ActionKey, Plan, Step, Verb


class MemoryNova:
    """Evacuations finish after ``polls`` progress reads; ``fail`` names servers Nova refuses."""

    def __init__(self, audit: AuditLog, *, polls: int = 1, fail: frozenset[str] = frozenset()) -> None:
        self.audit = audit
        self.polls = polls
        self.fail = fail
        self.sent: list[tuple[str, str]] = []
        self.reads: dict[str, int] = {}
        self.active = 0
        self.most_active = 0
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        self.evacuated: set[str] = set()
        self.failing_reads = 0

    def _record(self, verb: str, target: str) -> WriteReceipt:
        recorded = [e for e in self.audit.entries() if e.target == target and e.outcome is Outcome.SENT]
        assert recorded, "the audit entry must be on disk before the call is sent"
        self.sent.append((verb, target))
        return WriteReceipt(f"req-{verb}-{target}")

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        if host in self.fail:
            raise BackendError("c1", "Service not found", status_code=404, request_id="req-fd")
        return self._record("force-down", host)

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt:
        return self._record("enable" if enabled else "disable", host)

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self.gate.wait(5)
            if instance_id in self.fail:
                raise BackendError("c1", "No valid host was found.", status_code=400, request_id="req-bad")
            receipt = self._record("evacuate", instance_id)
            self.evacuated.add(instance_id)
            return receipt
        finally:
            with self._lock:
                self.active -= 1

    def start_server(self, instance_id: str) -> WriteReceipt:
        return self._record("start", instance_id)

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress:
        self.reads[instance_id] = self.reads.get(instance_id, 0) + 1
        if self.failing_reads > 0:
            self.failing_reads -= 1
            raise BackendError("c1", "Unexpected API Error.", status_code=500, request_id="req-read")
        if instance_id in self.evacuated and self.reads[instance_id] >= self.polls:
            return ServerProgress(instance_id, "ACTIVE", "active", None, "kvm2", None, "7", "done", "kvm2")
        return ServerProgress(instance_id, "REBUILD", "active", "rebuilding", "kvm1", None, "7", "pre-migrating", None)


def _evacuation(*ids: str, force_down: bool = True) -> Plan:
    steps = [Step(ActionKey("c1", Verb.FORCE_DOWN, "kvm1"), "force down", {"host": "kvm1", "forced_down": True})]
    steps = steps if force_down else []
    steps += [
        Step(
            ActionKey("c1", Verb.EVACUATE, i),
            f"evacuate {i}",
            {"instance_id": i, "source_host": "kvm1", "target_host": None, "on_shared_storage": None},
            label=i,
        )
        for i in ids
    ]
    return Plan("Evacuate kvm1", tuple(steps), needs_fencing=True)


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))

    return run


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def _runner(nova: MemoryNova, audit: AuditLog, tmp_path: Path, **kw: object) -> ActionRunner:
    return ActionRunner(
        {"c1": nova},
        audit,
        claims=Claims(tmp_path / "running"),
        tracking=Tracking(poll_seconds=0.0, limit_seconds=5),
        **kw,
    )  # type: ignore[arg-type]


@in_loop
async def test_without_fencing_nothing_is_sent(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit)
    runner = _runner(nova, audit, tmp_path)
    with pytest.raises(FencingNotAcknowledged):
        runner.submit(_evacuation("a"))
    assert nova.sent == [] and audit.entries() == []
    await runner.aclose()


@in_loop
async def test_read_only_refuses_every_write(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit)
    runner = _runner(nova, audit, tmp_path, read_only=True)
    with pytest.raises(ActionRefused, match="read-only"):
        runner.submit(_evacuation("a"), fenced=True)
    assert nova.sent == []
    await runner.aclose()


@in_loop
async def test_a_second_submission_while_running_is_refused_and_sends_once(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit)
    nova.gate.clear()
    runner = _runner(nova, audit, tmp_path)
    first = runner.submit(_evacuation("a", force_down=False), fenced=True)
    with pytest.raises(AlreadyRunning):
        runner.submit(_evacuation("a", force_down=False), fenced=True)
    other = _runner(nova, audit, tmp_path)  # another process's runner: the same lock files
    with pytest.raises(AlreadyRunning):
        other.submit(_evacuation("a", force_down=False), fenced=True)
    nova.gate.set()
    await asyncio.wait_for(first.finished.wait(), 5)
    assert first.ok and nova.sent == [("evacuate", "a")]
    entries = audit.entries()
    assert [(e.verb, e.target, e.outcome, e.request_id) for e in entries] == [
        ("evacuate", "a", Outcome.DONE, "req-evacuate-a")
    ]
    await runner.aclose()
    await other.aclose()


@in_loop
async def test_concurrency_is_bounded_and_every_item_is_tracked_to_its_end(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit, polls=3)
    runner = _runner(nova, audit, tmp_path)
    operation = await runner.run(_evacuation(*"abcdefg"), fenced=True, concurrency=2)
    assert operation.ok, operation.summary()
    assert nova.sent[0] == ("force-down", "kvm1")
    assert 1 <= nova.most_active <= 2
    assert all(item.message.startswith("ACTIVE on kvm2") for item in operation.items[1:])
    await runner.aclose()


@in_loop
async def test_a_failure_keeps_novas_message_and_request_id(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit, fail=frozenset({"b"}))
    runner = _runner(nova, audit, tmp_path)
    operation = await runner.run(_evacuation("a", "b"), fenced=True)
    failed = next(i for i in operation.items if i.step.key.target == "b")
    assert failed.state is ItemState.FAILED and "No valid host" in failed.message
    entry = next(e for e in audit.entries() if e.target == "b")
    assert entry.outcome is Outcome.FAILED and entry.request_id == "req-bad" and "No valid host" in (entry.error or "")
    assert not operation.ok
    await runner.aclose()


@in_loop
async def test_a_failed_force_down_stops_the_evacuations(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit, fail=frozenset({"kvm1"}))
    runner = _runner(nova, audit, tmp_path)
    operation = await runner.run(_evacuation("a", "b"), fenced=True)
    assert [i.state for i in operation.items] == [ItemState.FAILED, ItemState.STOPPED, ItemState.STOPPED]
    assert nova.sent == []
    await runner.aclose()


@in_loop
async def test_a_retry_asks_nova_first_and_does_not_send_again(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit, polls=10)
    runner = _runner(nova, audit, tmp_path)
    runner.tracking = Tracking(poll_seconds=0.0, limit_seconds=0.0)  # the first attempt's end is never seen
    first = await runner.run(_evacuation("a", force_down=False), fenced=True)
    assert first.items[0].state is ItemState.UNKNOWN
    assert audit.entries()[0].outcome is Outcome.SENT  # the log says what is true: outcome unknown
    nova.polls = 0
    retry = await runner.run(runner.retry_plan(first), fenced=True)
    assert retry.ok and "earlier attempt took effect" in retry.items[0].message
    assert nova.sent == [("evacuate", "a")]
    await runner.aclose()


@in_loop
async def test_an_unfinished_audit_entry_from_a_crash_makes_the_next_attempt_check(
    audit: AuditLog, tmp_path: Path
) -> None:
    audit.sent("c1", "evacuate", "a", {"instance_id": "a"})  # a process died after this line
    nova = MemoryNova(audit)
    nova.evacuated.add("a")
    runner = _runner(nova, audit, tmp_path)
    operation = await runner.run(_evacuation("a", force_down=False), fenced=True)
    assert operation.ok and nova.sent == []
    (entry,) = audit.entries()
    assert entry.outcome is Outcome.DONE and "found by a later check" in (entry.result or "")
    await runner.aclose()


@in_loop
async def test_stop_leaves_unsent_items_unsent(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit)
    nova.gate.clear()
    runner = _runner(nova, audit, tmp_path)
    operation = runner.submit(_evacuation("a", "b", "c", "d", force_down=False), fenced=True, concurrency=1)
    while not nova.active:
        await asyncio.sleep(0.01)
    operation.stop()
    nova.gate.set()
    await asyncio.wait_for(operation.finished.wait(), 5)
    assert [i.state for i in operation.items] == [ItemState.DONE] + [ItemState.STOPPED] * 3
    assert nova.sent == [("evacuate", "a")]
    await runner.aclose()


@in_loop
async def test_failed_progress_reads_are_retried_and_only_many_lose_track(audit: AuditLog, tmp_path: Path) -> None:
    nova = MemoryNova(audit, polls=3)
    nova.failing_reads = 3
    runner = _runner(nova, audit, tmp_path)
    operation = await runner.run(_evacuation("a", force_down=False), fenced=True)
    assert operation.ok, operation.summary()
    nova.failing_reads = 100
    lost = await runner.run(_evacuation("b", force_down=False), fenced=True)
    assert lost.items[0].state is ItemState.UNKNOWN and "lost track" in lost.items[0].message
    assert next(e for e in audit.entries() if e.target == "b").outcome is Outcome.SENT
    await runner.aclose()
