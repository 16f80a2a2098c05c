"""Per verb: how a step is sent, how its end is followed, and how a retry learns that it already took effect.

``send`` and ``earlier_attempt`` block (the runner calls them in its workers); ``track``
is a coroutine that polls through ``Offload`` until the item reaches a terminal state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from hybridview.actions.operation import ItemState
from hybridview.backends.base import BackendError, NovaWrites, ServerProgress, VCenterWrites, WriteReceipt
from hybridview.core.actions import ActionKey, Step, Verb

T = TypeVar("T")
Offload = Callable[..., Awaitable[Any]]
Detail = Mapping[str, object]


class Report(Protocol):
    """Where a tracked item's progress goes: a line, and the structured progress when there is some."""

    def __call__(self, line: str, detail: Detail | None = None) -> None: ...


DONE_EVACUATION = frozenset({"done", "completed"})
FAILED_EVACUATION = frozenset({"error", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Tracking:
    first_poll_seconds: float = 0.5  # polls start fast and double up to poll_seconds
    poll_seconds: float = 2.0
    limit_seconds: float = 900.0  # no end seen in this long: the outcome is unknown
    read_failures: int = 5  # this many failed progress reads in a row: the outcome is unknown


@dataclass(frozen=True, slots=True)
class End:
    state: ItemState
    message: str
    follow_up: Step | None = None  # a second write the item needs, sent and audited on its own


@dataclass(frozen=True, slots=True)
class Prior:
    """What an endpoint shows of an earlier attempt of the same step."""

    running: bool  # still in progress: follow it, send nothing
    message: str
    follow_up: Step | None = None  # what the item still needs once the earlier attempt is done
    request_id: str | None = None  # what to follow it by, where the endpoint names it (a vCenter task key)


@dataclass(frozen=True, slots=True)
class Follow:
    """What a tracker takes from the runner: its workers, where progress goes, how long to poll."""

    offload: Offload
    report: Report
    tracking: Tracking


class Executor(Protocol):
    @property
    def writes(self) -> type: ...

    def send(self, backend: Any, step: Step) -> WriteReceipt: ...

    def earlier_attempt(self, backend: Any, step: Step) -> Prior | None: ...

    async def track(self, backend: Any, step: Step, receipt: WriteReceipt, follow: Follow) -> End: ...


class ServiceChange:
    """force-down, its undoing, enable and disable: Nova applies them at once."""

    writes = NovaWrites

    def send(self, backend: NovaWrites, step: Step) -> WriteReceipt:
        p = step.parameters
        if step.key.verb in (Verb.FORCE_DOWN, Verb.UNSET_FORCE_DOWN):
            return backend.set_forced_down(p["host"], bool(p["forced_down"]))
        return backend.set_service_enabled(p["host"], bool(p["enabled"]), p.get("reason"))

    def earlier_attempt(self, backend: NovaWrites, step: Step) -> Prior | None:
        return None  # setting a service state twice is harmless

    async def track(self, backend: NovaWrites, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        return End(ItemState.DONE, receipt.detail or "applied")


def describe_progress(progress: ServerProgress) -> str:
    task = f", task {progress.task_state}" if progress.task_state else ""
    evacuation = (
        f"; evacuation {progress.evacuation_id} {progress.evacuation_status}"
        + (f" to {progress.evacuation_dest}" if progress.evacuation_dest else "")
        if progress.evacuation_status
        else ""
    )
    return f"{progress.status}{task} on {progress.host or 'no host'}{evacuation}"


def evacuation_end(progress: ServerProgress, source_host: str) -> End | None:
    """The item's end once Nova shows it, or None while it runs."""
    if progress.status == "ERROR" or progress.evacuation_status in FAILED_EVACUATION:
        why = progress.fault or f"evacuation {progress.evacuation_status or 'failed'}"
        return End(ItemState.FAILED, f"{why} (server {progress.status} on {progress.host or 'no host'})")
    settled = progress.task_state is None and progress.status not in ("REBUILD", "MIGRATING")
    if settled and progress.evacuation_status in DONE_EVACUATION and progress.host != source_host:
        return End(ItemState.DONE, f"{progress.status} on {progress.host}")
    return None


async def poll_until(
    read: Callable[[], Awaitable[T]],
    end_of: Callable[[T], End | None],
    describe: Callable[[T], str],
    follow: Follow,
    detail_of: Callable[[T], Detail | None] = lambda _value: None,
) -> End:
    """Poll until ``end_of`` sees an end; a failed read is retried, and only many in a row lose track."""
    report, tracking = follow.report, follow.tracking
    deadline = time.monotonic() + tracking.limit_seconds
    failures, last = 0, "no progress read yet"
    pause = min(tracking.first_poll_seconds, tracking.poll_seconds)
    while True:
        try:
            value = await read()
        except BackendError as exc:  # the write was accepted: a failed progress read says nothing of its end
            failures += 1
            if failures >= tracking.read_failures:
                return End(ItemState.UNKNOWN, f"lost track after {failures} failed progress reads: {exc.describe()}")
            report(f"progress read failed ({exc.describe()}); trying again")
        else:
            failures = 0
            end = end_of(value)
            if end is not None:
                return end
            last = describe(value)
            report(last, detail_of(value))
        if time.monotonic() >= deadline:
            return End(ItemState.UNKNOWN, f"no end seen in {tracking.limit_seconds:.0f} s: {last}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, tracking.poll_seconds)


def _progress_reader(
    backend: NovaWrites, offload: Offload, instance_id: str, since: datetime | None = None
) -> Callable[[], Awaitable[ServerProgress]]:
    """One progress read of a server, in the runner's workers, for ``poll_until``."""

    async def read() -> ServerProgress:
        progress: ServerProgress = await offload(backend.server_progress, instance_id, since)
        return progress

    return read


class Evacuate:
    writes = NovaWrites

    def send(self, backend: NovaWrites, step: Step) -> WriteReceipt:
        p = step.parameters
        return backend.evacuate(
            p["instance_id"], target_host=p.get("target_host"), on_shared_storage=p.get("on_shared_storage")
        )

    def earlier_attempt(self, backend: NovaWrites, step: Step) -> Prior | None:
        since = datetime.now(UTC) - timedelta(days=1)
        progress = backend.server_progress(step.parameters["instance_id"], since)
        end = evacuation_end(progress, step.parameters["source_host"])
        if end is not None and end.state is ItemState.DONE:
            return Prior(False, f"an earlier attempt took effect: {end.message}", _start_after(step, end))
        running = progress.evacuation_status not in (None, *DONE_EVACUATION, *FAILED_EVACUATION)
        if end is None and (running or progress.task_state is not None):
            return Prior(True, f"an earlier attempt is running: {describe_progress(progress)}")
        return None

    async def track(self, backend: NovaWrites, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        instance_id, source = step.parameters["instance_id"], step.parameters["source_host"]
        since = datetime.now(UTC) - timedelta(minutes=5)  # Nova's clock may differ a little from ours

        read = _progress_reader(backend, follow.offload, instance_id, since)
        end = await poll_until(read, lambda p: evacuation_end(p, source), describe_progress, follow)
        return End(end.state, end.message, _start_after(step, end))


def _start_after(evacuation: Step, end: End) -> Step | None:
    """The start an evacuation asked for, when Nova left the server stopped."""
    if end.state is not ItemState.DONE or not evacuation.parameters.get("start_after"):
        return None
    if not end.message.startswith("SHUTOFF"):
        return None
    instance_id = evacuation.parameters["instance_id"]
    return Step(
        ActionKey(evacuation.key.endpoint, Verb.START_SERVER, instance_id),
        f"start {evacuation.label or instance_id}: Nova left it stopped after the evacuation",
        {"instance_id": instance_id},
        label=evacuation.label,
    )


class StartServer:
    writes = NovaWrites

    def send(self, backend: NovaWrites, step: Step) -> WriteReceipt:
        return backend.start_server(step.parameters["instance_id"])

    def earlier_attempt(self, backend: NovaWrites, step: Step) -> Prior | None:
        progress = backend.server_progress(step.parameters["instance_id"])
        if progress.status == "ACTIVE" and progress.task_state is None:
            return Prior(False, f"already ACTIVE on {progress.host}")
        return Prior(True, "an earlier start is running") if progress.task_state == "powering-on" else None

    async def track(self, backend: NovaWrites, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        instance_id = step.parameters["instance_id"]

        read = _progress_reader(backend, follow.offload, instance_id)

        def end_of(p: ServerProgress) -> End | None:
            if p.status == "ACTIVE" and p.task_state is None:
                return End(ItemState.DONE, f"ACTIVE on {p.host}")
            if p.status == "ERROR":
                return End(ItemState.FAILED, p.fault or "the server went to ERROR")
            return None

        return await poll_until(read, end_of, describe_progress, follow)


class RestartVm:
    """The backend call registers, keeps the instanceUuid and powers on, waiting for each vCenter task."""

    writes = VCenterWrites

    def send(self, backend: VCenterWrites, step: Step) -> WriteReceipt:
        p = step.parameters
        return backend.restart_vm(
            p["vm_moref"],
            vmx_path=p["vmx_path"],
            name=p["name"],
            instance_uuid=p.get("instance_uuid"),
            host_moref=p["host_moref"],
        )

    def earlier_attempt(self, backend: VCenterWrites, step: Step) -> Prior | None:
        p = step.parameters
        found = backend.find_vm(p.get("instance_uuid"), p["vmx_path"])
        running = (
            found is not None and found.power_state == "poweredOn" and found.connection_state in (None, "connected")
        )
        if found is not None and running and found.moref != p["vm_moref"]:
            return Prior(False, f"an earlier attempt took effect: {found.moref} runs on {found.host_moref}")
        return None

    async def track(self, backend: VCenterWrites, step: Step, receipt: WriteReceipt, follow: Follow) -> End:
        where = step.parameters.get("host_name") or step.parameters["host_moref"]
        return End(ItemState.DONE, f"poweredOn on {where}" + (f"; {receipt.detail}" if receipt.detail else ""))


RECOVERY_EXECUTORS: dict[Verb, Executor] = {
    Verb.FORCE_DOWN: ServiceChange(),
    Verb.UNSET_FORCE_DOWN: ServiceChange(),
    Verb.ENABLE_SERVICE: ServiceChange(),
    Verb.DISABLE_SERVICE: ServiceChange(),
    Verb.EVACUATE: Evacuate(),
    Verb.START_SERVER: StartServer(),
    Verb.RESTART_VM: RestartVm(),
}
