"""The one way a write is sent: refuse what must not run, then send, track and audit each step.

``submit`` decides synchronously, before any call: read-only mode, a refused plan, a
missing fencing acknowledgement and a key already running are refused here, and
nothing of such a plan is ever sent. A plan's steps run in phases (consecutive steps of
one verb: force-down before the evacuations), each phase with bounded concurrency; a
failed phase stops the later ones. Every call is recorded in the audit log, fsynced,
before it is sent; a retry first asks the endpoint whether the earlier attempt took effect.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from hybridview.actions.audit import AuditEntry, AuditLog, Outcome
from hybridview.actions.claims import Claims
from hybridview.actions.executors import Detail, End, Follow, Prior, Report, Tracking
from hybridview.actions.verbs import EXECUTORS
from hybridview.actions.operation import ItemState, Operation
from hybridview.backends.base import BackendError, WriteReceipt
from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.service.tasks import describe_exception, spawn
from hybridview.service.workers import Workers

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_CONCURRENCY = 3
UNFINISHED_LOOKBACK = timedelta(days=1)  # an audit entry still "sent" this recent makes the next attempt check first


class ActionRefused(Exception):
    """Nothing was sent; the message says why."""


class FencingNotAcknowledged(ActionRefused):
    pass


class ActionRunner:
    def __init__(
        self,
        writers: Mapping[str, object],
        audit: AuditLog,
        *,
        claims: Claims | None = None,
        read_only: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        tracking: Tracking | None = None,
        workers: int = 8,
    ) -> None:
        self._writers = dict(writers)
        self.audit = audit
        self.claims = claims or Claims(None)
        self.read_only = read_only
        self.concurrency = concurrency
        self.tracking = tracking or Tracking()
        self._pool = Workers(workers)
        self._retry_keys: set[ActionKey] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchers: list[Callable[[Operation], None]] = []
        self.operations: list[Operation] = []

    def watch(self, watcher: Callable[[Operation], None]) -> None:
        """Called with each operation once it is submitted."""
        self._watchers.append(watcher)

    def running(self, key: ActionKey) -> bool:
        return self.claims.held(key)

    # -- submission ------------------------------------------------------------------------
    def submit(self, plan: Plan, *, fenced: bool = False, concurrency: int | None = None) -> Operation:
        self._refuse(plan, fenced)
        sendable = plan.sendable
        self.claims.claim(s.key for s in sendable)
        operation = Operation(plan, max(1, concurrency or self.concurrency))
        self.operations.append(operation)
        for watcher in self._watchers:
            watcher(operation)
        task = spawn(self._run(operation), name=f"action {operation.number}: {plan.title}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return operation

    async def run(self, plan: Plan, *, fenced: bool = False, concurrency: int | None = None) -> Operation:
        operation = self.submit(plan, fenced=fenced, concurrency=concurrency)
        await operation.finished.wait()
        return operation

    def adopt(self, plan: Plan) -> Operation:
        """Follow moves found running at the endpoints (started before a restart, or elsewhere); nothing is sent.

        Their keys are held while they are followed, so the same move is not submitted meanwhile, and an
        audit entry of ours still open for one of them is completed when its end is seen.
        """
        self.claims.claim(s.key for s in plan.steps)
        operation = Operation(plan, max(1, len(plan.steps)), found=True)
        self.operations.append(operation)
        for watcher in self._watchers:
            watcher(operation)
        task = spawn(self._follow_found(operation), name=f"follow {operation.number}: {plan.title}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return operation

    async def _follow_found(self, operation: Operation) -> None:
        try:
            unfinished = await self.offload(self._unfinished_keys)

            async def one(index: int, step: Step) -> None:
                prior = Prior(True, "found running")
                try:
                    end = await self._follow_earlier(operation, index, step, prior, "", unfinished.get(step.key))
                except Exception as exc:
                    log.exception("following %s failed inside hybridview", step.key)
                    end = End(ItemState.UNKNOWN, f"hybridview lost track: {describe_exception(exc)}")
                operation.update(index, end.state, end.message)

            await asyncio.gather(*(one(i, item.step) for i, item in enumerate(operation.items)))
        finally:
            for item in operation.items:
                self.claims.release(item.step.key)
            operation.finished.set()

    def retry_plan(self, operation: Operation) -> Plan:
        """The failed and unknown steps of an operation, as a plan of their own; they check before sending."""
        steps = operation.failed_steps()
        self._retry_keys.update(s.key for s in steps)
        return Plan(
            f"Retry: {operation.title}", steps, needs_fencing=operation.plan.needs_fencing, notes=operation.plan.notes
        )

    def _refuse(self, plan: Plan, fenced: bool) -> None:
        if self.read_only:
            raise ActionRefused("read-only mode: hybridview sends no write")
        if plan.refused:
            raise ActionRefused(plan.refused)
        if plan.needs_fencing and not fenced:
            raise FencingNotAcknowledged(
                "refused: this acts on a failed host, and you have not confirmed that it is fenced "
                "(powered off or cut from its storage); nothing was sent"
            )
        if not plan.sendable:
            reasons = {s.blocked_reason for s in plan.blocked}
            raise ActionRefused(
                "nothing to send: every item is blocked (" + "; ".join(sorted(r for r in reasons if r)) + ")"
            )
        for step in plan.sendable:
            executor = EXECUTORS.get(step.key.verb)
            backend = self._writers.get(step.key.endpoint)
            if executor is None or backend is None or not isinstance(backend, executor.writes):
                raise ActionRefused(f"{step.key.endpoint} cannot {step.key.verb}: no such endpoint with writes")

    # -- running ---------------------------------------------------------------------------
    async def offload(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args))

    async def _run(self, operation: Operation) -> None:
        try:
            unfinished = await self.offload(self._unfinished_keys)
            indexed = [(i, item.step) for i, item in enumerate(operation.items) if item.state is ItemState.QUEUED]
            for _, phase in itertools.groupby(indexed, key=lambda pair: pair[1].key.verb):
                members = list(phase)
                await self._run_phase(operation, members, unfinished)
                if any(operation.items[i].state in (ItemState.FAILED, ItemState.UNKNOWN) for i, _ in members):
                    self._stop_rest(operation, "not sent: an earlier step failed")
                    break
        finally:
            for item in operation.items:
                self.claims.release(item.step.key)
            operation.finished.set()

    def _unfinished_keys(self) -> dict[ActionKey, AuditEntry]:
        """Recent entries still "sent, outcome unknown" (a lost answer, a crash), by key."""
        since = datetime.now(UTC) - UNFINISHED_LOOKBACK
        return {
            key: e
            for e in self.audit.entries(since=since)
            if e.outcome is Outcome.SENT
            for key in [_key_of(e.endpoint, e.verb, e.target)]
            if key is not None
        }

    def _stop_rest(self, operation: Operation, why: str) -> None:
        for index, item in enumerate(operation.items):
            if item.state is ItemState.QUEUED:
                operation.update(index, ItemState.STOPPED, why)

    async def _run_phase(
        self, operation: Operation, members: list[tuple[int, Step]], unfinished: dict[ActionKey, AuditEntry]
    ) -> None:
        gate = asyncio.Semaphore(operation.concurrency)

        async def one(index: int, step: Step) -> None:
            async with gate:
                if operation.items[index].state is not ItemState.QUEUED:
                    return  # stopped while it waited
                check = step.key in self._retry_keys or step.key in unfinished
                await self._run_item(operation, index, step, check, unfinished.get(step.key))

        await asyncio.gather(*(one(i, s) for i, s in members))

    async def _run_item(
        self, operation: Operation, index: int, step: Step, check_first: bool, open_entry: AuditEntry | None = None
    ) -> None:
        operation.update(
            index, ItemState.SENDING, "checking whether an earlier attempt took effect" if check_first else "sending"
        )
        try:
            end = await self._send_and_track(operation, index, step, check_first, open_entry=open_entry)
            while end.follow_up is not None:
                follow = end.follow_up
                operation.update(index, ItemState.TRACKING, f"{end.message}; {follow.summary}")
                end = await self._send_and_track(operation, index, follow, check_first=False, prefix=end.message)
        except Exception as exc:
            log.exception("action %s failed inside hybridview", step.key)
            end = End(ItemState.FAILED, f"hybridview failed: {describe_exception(exc)}")
        operation.update(index, end.state, end.message)
        if end.state is ItemState.DONE:
            self._retry_keys.discard(step.key)

    async def _send_and_track(
        self,
        operation: Operation,
        index: int,
        step: Step,
        check_first: bool,
        prefix: str = "",
        open_entry: AuditEntry | None = None,
    ) -> End:
        executor = EXECUTORS[step.key.verb]
        backend: Any = self._writers[step.key.endpoint]
        lead = f"{prefix}; " if prefix else ""
        if check_first:
            try:
                prior = await self.offload(executor.earlier_attempt, backend, step)
            except BackendError as exc:
                why = f"{lead}could not check the earlier attempt, not sent again: {exc.describe()}"
                return End(ItemState.FAILED, why)
            if prior is not None:
                return await self._follow_earlier(operation, index, step, prior, lead, open_entry)
        entry = await self.offload(
            self.audit.sent, step.key.endpoint, step.key.verb.value, step.key.target, step.parameters
        )
        operation.update(index, ItemState.SENDING, lead + step.summary, audit_id=entry.id)
        try:
            receipt = await self.offload(executor.send, backend, step)
        except BackendError as exc:
            if exc.outcome_unknown:  # it may have taken effect: the log keeps "sent, outcome unknown"
                self._retry_keys.add(step.key)
                return End(ItemState.UNKNOWN, f"{lead}{exc.describe()}; it may have taken effect: a retry checks first")
            await self.offload(
                partial(self.audit.finished, entry, ok=False, error=exc.describe(), request_id=exc.request_id)
            )
            return End(ItemState.FAILED, lead + exc.describe())
        if receipt.request_id:  # kept even if the end is never seen
            entry = await self.offload(self.audit.accepted, entry, receipt.request_id)
        operation.update(index, ItemState.TRACKING, lead + "accepted", request_id=receipt.request_id)
        report = _reporter(operation, index, lead)
        end = await executor.track(backend, step, receipt, Follow(self.offload, report, self.tracking))
        if end.state is not ItemState.UNKNOWN:  # unknown stays "sent, outcome unknown" in the log: that is the truth
            ok = end.state is ItemState.DONE
            await self.offload(
                partial(
                    self.audit.finished,
                    entry,
                    ok=ok,
                    result=end.message if ok else None,
                    error=None if ok else end.message,
                    request_id=receipt.request_id,
                )
            )
        return End(end.state, lead + end.message, end.follow_up)

    async def _follow_earlier(
        self, operation: Operation, index: int, step: Step, prior: Prior, lead: str, open_entry: AuditEntry | None
    ) -> End:
        """Nothing is sent: the earlier attempt is followed to its end, and its open audit entry completed."""
        executor = EXECUTORS[step.key.verb]
        end = End(ItemState.DONE, lead + prior.message, prior.follow_up)
        if prior.running:
            operation.update(index, ItemState.TRACKING, lead + prior.message)
            report = _reporter(operation, index, lead)
            backend: Any = self._writers[step.key.endpoint]
            follow = Follow(self.offload, report, self.tracking)
            end = await executor.track(backend, step, WriteReceipt(prior.request_id), follow)
            end = End(end.state, lead + end.message, end.follow_up)
        if open_entry is not None and end.state in (ItemState.DONE, ItemState.FAILED):
            ok = end.state is ItemState.DONE
            note = f"found by a later check: {end.message}"
            await self.offload(
                partial(
                    self.audit.finished,
                    open_entry,
                    ok=ok,
                    result=note if ok else None,
                    error=None if ok else note,
                    request_id=open_entry.request_id,
                )
            )
        return end

    async def aclose(self) -> None:
        for operation in self.operations:
            operation.stop()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=5.0)
            for task in pending:  # still tracking: their audit entries stay "sent, outcome unknown"
                task.cancel()
        self._pool.close(1.0)


def _reporter(operation: Operation, index: int, lead: str) -> Report:
    """Where an item's progress lines go while it is tracked."""

    def report(line: str, detail: Detail | None = None) -> None:
        operation.update(index, ItemState.TRACKING, lead + line, detail=detail)

    return report


def _key_of(endpoint: str, verb: str, target: str) -> ActionKey | None:
    try:
        return ActionKey(endpoint, Verb(verb), target)
    except ValueError:
        return None
