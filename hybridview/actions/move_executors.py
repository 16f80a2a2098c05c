"""Executors of the Nova moves: live and cold migration, confirm or revert, abort and force-complete.

Each follows the server and its newest move record (``os-migrations``) until Nova shows an end;
a live migration's byte counters become the item's structured progress.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hybridview.actions.executors import Detail, End, Executor, Follow, Offload, Prior, poll_until
from hybridview.actions.operation import ItemState
from hybridview.backends.base import MigrationProgress, NovaMoves, WriteReceipt
from hybridview.core.actions import ActionKey, Step, Verb

FAILED_MOVE = frozenset({"error", "failed"})
CANCELLED_MOVE = frozenset({"cancelled"})
ENDED_LIVE = frozenset({"completed", "done", "finished", "error", "failed", "cancelled"})
RESIZE_WAITING = "VERIFY_RESIZE"
NOVA_CLOCK_SLACK = timedelta(minutes=5)  # Nova's clock may differ a little from ours
EARLIER_LOOKBACK = timedelta(days=1)


def describe_move(p: MigrationProgress) -> str:
    task = f", task {p.task_state}" if p.task_state else ""
    record = ""
    if p.migration_status:
        record = f"; {p.migration_type or 'migration'} {p.migration_id} {p.migration_status}"
        record += f" to {p.dest_host}" if p.dest_host else ""
    return f"{p.status}{task} on {p.host or 'no host'}{record}" + _bytes_text(p)


def _bytes_text(p: MigrationProgress) -> str:
    if not p.memory_total_bytes:
        return ""
    done = (p.memory_processed_bytes or 0) / p.memory_total_bytes
    return f"; memory {done:.0%} of {p.memory_total_bytes / 2**30:.1f} GiB"


def move_detail(p: MigrationProgress) -> Detail:
    detail: dict[str, object] = {"migration_id": p.migration_id} if p.migration_id else {}
    counters = {
        "memory_total_bytes": p.memory_total_bytes,
        "memory_processed_bytes": p.memory_processed_bytes,
        "memory_remaining_bytes": p.memory_remaining_bytes,
        "disk_total_bytes": p.disk_total_bytes,
        "disk_processed_bytes": p.disk_processed_bytes,
        "disk_remaining_bytes": p.disk_remaining_bytes,
    }
    detail.update({k: v for k, v in counters.items() if v is not None})
    if p.memory_total_bytes:
        detail["percent"] = round(100 * (p.memory_processed_bytes or 0) / p.memory_total_bytes)
    if p.status == RESIZE_WAITING:
        detail["waiting"] = "confirm"
    return detail


def _reader(
    backend: NovaMoves, offload: Offload, instance_id: str, since: datetime
) -> Callable[[], Awaitable[MigrationProgress]]:
    async def read() -> MigrationProgress:
        progress: MigrationProgress = await offload(backend.migration_progress, instance_id, since)
        return progress

    return read


def _failure(p: MigrationProgress, what: str) -> End | None:
    if p.status == "ERROR":
        return End(ItemState.FAILED, f"{p.fault or 'the server went to ERROR'} ({what}; server ERROR on {p.host})")
    if p.migration_status in FAILED_MOVE and p.task_state is None:
        why = p.fault or f"Nova set the {p.migration_type or 'migration'} record to {p.migration_status}"
        return End(ItemState.FAILED, f"{why}; the server stays {p.status} on {p.host}")
    if p.migration_status in CANCELLED_MOVE and p.task_state is None:
        return End(ItemState.FAILED, f"{what} was cancelled; the server stays {p.status} on {p.host}")
    return None


def live_migration_end(p: MigrationProgress, source: str) -> End | None:
    if (failed := _failure(p, "live migration")) is not None:
        return failed
    if p.task_state is not None or p.status == "MIGRATING":
        return None
    if p.migration_status in (None, *ENDED_LIVE) and p.host != source:
        return End(ItemState.DONE, f"{p.status} on {p.host}")
    if p.migration_status in ENDED_LIVE and p.host == source:
        return End(
            ItemState.FAILED, f"the live migration ended ({p.migration_status}) with the server still on {source}"
        )
    return None


def cold_migration_end(p: MigrationProgress, source: str) -> End | None:
    if (failed := _failure(p, "cold migration")) is not None:
        return failed
    if p.task_state is not None:
        return None
    if p.status == RESIZE_WAITING:
        return End(ItemState.DONE, f"{RESIZE_WAITING} on {p.host}: confirm or revert")
    if (
        p.migration_status in ("confirmed", "completed") and p.host != source
    ):  # confirmed by Nova's resize_confirm_window
        return End(ItemState.DONE, f"{p.status} on {p.host} (Nova confirmed it)")
    return None


def _since_now() -> datetime:
    return datetime.now(UTC) - NOVA_CLOCK_SLACK


class LiveMigrate:
    writes = NovaMoves

    def send(self, backend: NovaMoves, step: Step) -> WriteReceipt:
        p = step.parameters
        return backend.live_migrate(
            p["instance_id"], target_host=p.get("target_host"), block_migration=p.get("block_migration", "auto")
        )

    def earlier_attempt(self, backend: NovaMoves, step: Step) -> Prior | None:
        p = backend.migration_progress(step.parameters["instance_id"], datetime.now(UTC) - EARLIER_LOOKBACK)
        if p.migration_type == "live-migration" and p.migration_status not in (None, *ENDED_LIVE):
            return Prior(True, f"an earlier attempt is running: {describe_move(p)}")
        end = live_migration_end(p, step.parameters["source_host"])
        if end is not None and end.state is ItemState.DONE:
            return Prior(False, f"an earlier attempt took effect: {end.message}")
        return None

    async def track(self, backend: NovaMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        source = step.parameters["source_host"]
        read = _reader(backend, follow.offload, step.parameters["instance_id"], _since_now())
        return await poll_until(read, lambda p: live_migration_end(p, source), describe_move, follow, move_detail)


class ColdMigrate:
    writes = NovaMoves

    def send(self, backend: NovaMoves, step: Step) -> WriteReceipt:
        return backend.migrate(step.parameters["instance_id"], target_host=step.parameters.get("target_host"))

    def earlier_attempt(self, backend: NovaMoves, step: Step) -> Prior | None:
        p = backend.migration_progress(step.parameters["instance_id"], datetime.now(UTC) - EARLIER_LOOKBACK)
        end = cold_migration_end(p, step.parameters["source_host"])
        if end is not None and end.state is ItemState.DONE:
            return Prior(False, f"an earlier attempt took effect: {end.message}", _confirm_after(step, p))
        if end is None and (p.task_state is not None or p.migration_status not in (None, "confirmed", "reverted")):
            return Prior(True, f"an earlier attempt is running: {describe_move(p)}")
        return None

    async def track(self, backend: NovaMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        source = step.parameters["source_host"]
        read = _reader(backend, follow.offload, step.parameters["instance_id"], _since_now())
        last: list[MigrationProgress] = []

        def end_of(p: MigrationProgress) -> End | None:
            last[:] = [p]
            return cold_migration_end(p, source)

        end = await poll_until(read, end_of, describe_move, follow, move_detail)
        if end.state is ItemState.DONE and last:
            if (confirm := _confirm_after(step, last[0])) is not None:
                return End(end.state, end.message, confirm)
            follow.report(end.message, move_detail(last[0]))
        return end


def _confirm_after(step: Step, p: MigrationProgress) -> Step | None:
    """The confirmation a cold migration asked for, once Nova waits at VERIFY_RESIZE."""
    if not step.parameters.get("confirm") or p.status != RESIZE_WAITING:
        return None
    instance_id = step.parameters["instance_id"]
    return Step(
        ActionKey(step.key.endpoint, Verb.CONFIRM_RESIZE, instance_id),
        f"confirm the migration of {step.label or instance_id} on {p.host}",
        {"instance_id": instance_id},
        label=step.label,
    )


class ResizeDecision:
    """Confirm or revert a migration waiting at VERIFY_RESIZE."""

    writes = NovaMoves

    def send(self, backend: NovaMoves, step: Step) -> WriteReceipt:
        instance_id = step.parameters["instance_id"]
        if step.key.verb is Verb.CONFIRM_RESIZE:
            return backend.confirm_resize(instance_id)
        return backend.revert_resize(instance_id)

    def earlier_attempt(self, backend: NovaMoves, step: Step) -> Prior | None:
        p = backend.migration_progress(step.parameters["instance_id"], datetime.now(UTC) - EARLIER_LOOKBACK)
        wanted = "confirmed" if step.key.verb is Verb.CONFIRM_RESIZE else "reverted"
        if p.migration_status == wanted and p.task_state is None:
            return Prior(False, f"an earlier attempt took effect: {p.status} on {p.host}")
        if p.task_state in ("resize_reverting", "resize_confirming") or p.migration_status in (
            "confirming",
            "reverting",
        ):
            return Prior(True, f"an earlier attempt is running: {describe_move(p)}")
        return None

    async def track(self, backend: NovaMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        wanted = "confirmed" if step.key.verb is Verb.CONFIRM_RESIZE else "reverted"

        def end_of(p: MigrationProgress) -> End | None:
            if p.status == "ERROR":
                return End(ItemState.FAILED, p.fault or "the server went to ERROR")
            if p.migration_status in FAILED_MOVE:
                return End(ItemState.FAILED, f"the migration record went to {p.migration_status}")
            settled = p.task_state is None and p.status != RESIZE_WAITING
            if settled and p.migration_status in (wanted, None):
                return End(ItemState.DONE, f"{wanted}: {p.status} on {p.host}")
            return None

        read = _reader(backend, follow.offload, step.parameters["instance_id"], _since_now())
        return await poll_until(read, end_of, describe_move, follow, move_detail)


class LiveMigrationControl:
    """Abort or force-complete a running live migration; followed until the migration ends."""

    writes = NovaMoves

    def send(self, backend: NovaMoves, step: Step) -> WriteReceipt:
        p = step.parameters
        if step.key.verb is Verb.ABORT_LIVE_MIGRATION:
            return backend.abort_live_migration(p["instance_id"], p["migration_id"])
        return backend.force_complete_live_migration(p["instance_id"], p["migration_id"])

    def earlier_attempt(self, backend: NovaMoves, step: Step) -> Prior | None:
        p = backend.migration_progress(step.parameters["instance_id"], datetime.now(UTC) - EARLIER_LOOKBACK)
        if p.migration_id == step.parameters["migration_id"] and p.migration_status in ENDED_LIVE:
            return Prior(False, f"the live migration already ended: {describe_move(p)}")
        return None  # asking again while it runs is what the operator wants

    async def track(self, backend: NovaMoves, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        abort = step.key.verb is Verb.ABORT_LIVE_MIGRATION
        migration_id = step.parameters["migration_id"]

        def end_of(p: MigrationProgress) -> End | None:
            if p.migration_id != migration_id or p.migration_status not in ENDED_LIVE or p.task_state is not None:
                return None
            if abort:
                if p.migration_status in CANCELLED_MOVE:
                    return End(ItemState.DONE, f"aborted: {p.status} on {p.host}")
                return End(ItemState.FAILED, f"not aborted: the live migration ended {p.migration_status} on {p.host}")
            if p.migration_status in FAILED_MOVE | CANCELLED_MOVE:
                return End(ItemState.FAILED, f"the live migration ended {p.migration_status} on {p.host}")
            return End(ItemState.DONE, f"completed: {p.status} on {p.host}")

        read = _reader(backend, follow.offload, step.parameters["instance_id"], _since_now())
        return await poll_until(read, end_of, describe_move, follow, move_detail)


NOVA_MOVE_EXECUTORS: dict[Verb, Executor] = {
    Verb.LIVE_MIGRATE: LiveMigrate(),
    Verb.COLD_MIGRATE: ColdMigrate(),
    Verb.CONFIRM_RESIZE: ResizeDecision(),
    Verb.REVERT_RESIZE: ResizeDecision(),
    Verb.ABORT_LIVE_MIGRATION: LiveMigrationControl(),
    Verb.FORCE_COMPLETE: LiveMigrationControl(),
}
