"""What a write will do, before anything is sent: plans are pure data, built from a snapshot.

A plan is a list of steps in the order they are sent. Each step is one call to one
endpoint, keyed by (endpoint, verb, target) so that the same action is never running
twice. A step may be blocked, with the reason, and a plan may be refused as a whole
(``refused``): then nothing of it is ever sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verb(StrEnum):
    FORCE_DOWN = "force-down"
    UNSET_FORCE_DOWN = "unset-force-down"
    DISABLE_SERVICE = "disable-service"
    ENABLE_SERVICE = "enable-service"
    EVACUATE = "evacuate"
    START_SERVER = "start-server"
    RESTART_VM = "restart-vm"  # register a VM of a dead ESXi host on a healthy one, then power it on
    LIVE_MIGRATE = "live-migrate"
    COLD_MIGRATE = "cold-migrate"  # ends at VERIFY_RESIZE unless the step asks to confirm
    CONFIRM_RESIZE = "confirm-resize"
    REVERT_RESIZE = "revert-resize"
    ABORT_LIVE_MIGRATION = "abort-live-migration"
    FORCE_COMPLETE = "force-complete"  # of a running live migration
    RELOCATE_VM = "relocate-vm"  # vMotion and/or Storage vMotion (RelocateVM_Task)
    ENTER_MAINTENANCE = "enter-maintenance"
    EXIT_MAINTENANCE = "exit-maintenance"
    CANCEL_TASK = "cancel-task"  # of a running vCenter task


@dataclass(frozen=True, slots=True, order=True)
class ActionKey:
    endpoint: str
    verb: Verb
    target: str  # what it acts on: a compute host name, a server id, a VM's instanceUuid or moref

    def __str__(self) -> str:
        return f"{self.verb} {self.target} on {self.endpoint}"


@dataclass(frozen=True, slots=True)
class Step:
    key: ActionKey
    summary: str  # one line for the operator: what is sent and to where
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the backend call's arguments, audited
    label: str = ""  # the item's name as the operator knows it (instance name, VM name, host)
    consequence: str | None = None  # what it does to data, when that matters
    blocked_reason: str | None = None  # set: this step is never sent

    @property
    def blocked(self) -> bool:
        return self.blocked_reason is not None


@dataclass(frozen=True, slots=True)
class Plan:
    title: str
    steps: tuple[Step, ...]
    refused: str | None = None  # set: the whole plan is impossible and nothing is sent
    needs_fencing: bool = False  # the operator must acknowledge that the host is fenced
    notes: tuple[str, ...] = ()  # what the operator must know before confirming

    @property
    def sendable(self) -> tuple[Step, ...]:
        return () if self.refused else tuple(s for s in self.steps if not s.blocked)

    @property
    def blocked(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.blocked)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "refused": self.refused,
            "needs_fencing": self.needs_fencing,
            "notes": list(self.notes),
            "steps": [
                {
                    "endpoint": s.key.endpoint,
                    "verb": s.key.verb.value,
                    "target": s.key.target,
                    "label": s.label,
                    "summary": s.summary,
                    "parameters": dict(s.parameters),
                    "consequence": s.consequence,
                    "blocked_reason": s.blocked_reason,
                }
                for s in self.steps
            ],
        }
