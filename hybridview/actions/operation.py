"""One submitted plan as it runs: an item per step, each with its state, message and request id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import count

from hybridview.core.actions import Plan, Step


class ItemState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    TRACKING = "in progress"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"  # never sent: the operator stopped the rest, or an earlier phase failed
    BLOCKED = "blocked"  # never sent: the plan says why
    UNKNOWN = "outcome unknown"  # sent, and no end was seen in time

    @property
    def finished(self) -> bool:
        return self not in (ItemState.QUEUED, ItemState.SENDING, ItemState.TRACKING)


@dataclass(frozen=True, slots=True)
class ItemStatus:
    step: Step
    state: ItemState
    message: str = ""  # the latest progress line, Nova's or vCenter's error, or the result
    request_id: str | None = None
    audit_id: str | None = None
    # the latest structured progress, where the endpoint gives it: "percent" (0-100), "migration_id",
    # "task_key", "cancelable", Nova's memory_/disk_ total/processed/remaining_bytes, "waiting" ("confirm")
    detail: Mapping[str, object] | None = None

    @property
    def ok(self) -> bool:
        return self.state is ItemState.DONE

    def as_json(self) -> dict[str, object]:
        return {
            "endpoint": self.step.key.endpoint,
            "verb": self.step.key.verb.value,
            "target": self.step.key.target,
            "label": self.step.label,
            "state": self.state.value,
            "ok": self.ok,
            "message": self.message,
            "request_id": self.request_id,
            "audit_id": self.audit_id,
            "detail": dict(self.detail) if self.detail else None,
        }


Listener = Callable[["Operation", ItemStatus], None]
_numbers = count(1)


class Operation:
    """Created by the runner; faces read ``items`` and listen for changes, on the event loop's thread."""

    def __init__(self, plan: Plan, concurrency: int, *, found: bool = False) -> None:
        self.number = next(_numbers)
        self.plan = plan
        self.found = found  # followed, not sent: found running at the endpoints (a restart, another tool)
        self.concurrency = concurrency
        self.items: list[ItemStatus] = [
            ItemStatus(s, ItemState.BLOCKED, s.blocked_reason or "") if s.blocked else ItemStatus(s, ItemState.QUEUED)
            for s in plan.steps
        ]
        self._listeners: list[Listener] = []
        self._stopping = False
        self.finished = asyncio.Event()

    @property
    def title(self) -> str:
        return self.plan.title

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    @property
    def ok(self) -> bool:
        """Every item that could be sent succeeded, and none was blocked."""
        return all(i.state is ItemState.DONE for i in self.items)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def stop(self) -> None:
        """Items not yet sent are not sent; those already sent are followed to their end."""
        self._stopping = True
        for index, item in enumerate(self.items):
            if item.state is ItemState.QUEUED:
                self.update(index, ItemState.STOPPED, "stopped by the operator before it was sent")

    def update(
        self,
        index: int,
        state: ItemState,
        message: str | None = None,
        *,
        request_id: str | None = None,
        audit_id: str | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        item = self.items[index]
        self.items[index] = replace(
            item,
            state=state,
            message=item.message if message is None else message,
            request_id=request_id or item.request_id,
            audit_id=audit_id or item.audit_id,
            detail=item.detail if detail is None else detail,
        )
        for listener in list(self._listeners):
            listener(self, self.items[index])

    def counts(self) -> dict[ItemState, int]:
        tally: dict[ItemState, int] = {}
        for item in self.items:
            tally[item.state] = tally.get(item.state, 0) + 1
        return tally

    def summary(self) -> str:
        tally = self.counts()
        parts = [f"{n} {state.value}" for state, n in tally.items()]
        return f"{self.title}: " + ", ".join(parts)

    def failed_steps(self) -> tuple[Step, ...]:
        return tuple(i.step for i in self.items if i.state in (ItemState.FAILED, ItemState.UNKNOWN))
