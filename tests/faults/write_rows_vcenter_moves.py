"""The write-fault rows of the vCenter moves: one per (move, fault), what to inject and how the item must end.

Each row sends one plan from core (``plan_relocation`` for vMotion and Storage vMotion, ``plan_drain``
for maintenance mode of an emptied ESXi host and its undo, ``plan_task_cancel`` for the cancel of a
slow relocation) through the real action layer and the fault proxy in front of VMware's simulator.
Like the Nova rows (``write_rows.WriteRow``), a row names the item's end (state and a regex over its
message), the audit log's entries, the move's SOAP writes the proxy saw and those that reached
vCenter, the logins, whether vCenter did it, and where the answer was lost what a retry does once the
fault clears: it finds the move done and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hybridview.actions.audit import Outcome
from hybridview.actions.operation import ItemState
from hybridview.core.actions import Verb
from tests.faults import answers
from tests.faults.fault import Fault, soap_methods
from tests.faults.write_rows import CUT_OFF, MAY_HAVE, SERVICE_UNAVAILABLE, VCENTER, Entry, Retry, Rid

RELOCATE, ENTER, EXIT, CANCEL = "RelocateVM_Task", "EnterMaintenanceMode_Task", "ExitMaintenanceMode_Task", "CancelTask"
MOVE_WRITES = frozenset((RELOCATE, ENTER, EXIT, CANCEL))
NAME = r"\S+"  # a VM's, host's or datastore's name in the simulator
TASK = r"task-\d+"
SYSTEM_ERROR = "SystemError: A general system error occurred: vpxd is restarting"
HTTP_503 = r"HTTP 503: Service Unavailable, not a SOAP answer \(a proxy or load balancer in front of vCenter\?\)"
TOOK_EFFECT = "an earlier attempt took effect"


class Call(Enum):
    """The move a row sends, as the table names it."""

    VMOTION = "vMotion (RelocateVM_Task to a host)"
    STORAGE_VMOTION = "Storage vMotion (RelocateVM_Task to a datastore)"
    ENTER_MAINTENANCE = "enter maintenance mode (EnterMaintenanceMode_Task)"
    EXIT_MAINTENANCE = "exit maintenance mode (ExitMaintenanceMode_Task)"
    CANCEL = "cancel a running relocation (CancelTask)"

    @property
    def method(self) -> str:
        return {
            Call.VMOTION: RELOCATE,
            Call.STORAGE_VMOTION: RELOCATE,
            Call.ENTER_MAINTENANCE: ENTER,
            Call.EXIT_MAINTENANCE: EXIT,
            Call.CANCEL: CANCEL,
        }[self]

    @property
    def verb(self) -> str:
        return {
            Call.VMOTION: Verb.RELOCATE_VM,
            Call.STORAGE_VMOTION: Verb.RELOCATE_VM,
            Call.ENTER_MAINTENANCE: Verb.ENTER_MAINTENANCE,
            Call.EXIT_MAINTENANCE: Verb.EXIT_MAINTENANCE,
            Call.CANCEL: Verb.CANCEL_TASK,
        }[self].value

    @property
    def relocates(self) -> bool:
        return self in (Call.VMOTION, Call.STORAGE_VMOTION)

    @property
    def maintenance(self) -> bool:
        return self in (Call.ENTER_MAINTENANCE, Call.EXIT_MAINTENANCE)


@dataclass(frozen=True, slots=True)
class MoveRow:
    move: Call
    fault: str
    id: str
    faults: Callable[[], list[Fault]]
    state: ItemState
    message: str  # regex over the item's final message
    audit: tuple[Entry, ...]  # after the faulted run, oldest first
    writes: dict[str, tuple[int, int]]  # the move's SOAP writes: seen by the proxy, reached vCenter
    took_effect: bool  # vCenter did it: the VM moved, the host changed mode, the task is cancelled
    logins: int = 0  # during the faulted run (a re-login after NotAuthenticated: 1)
    retry: Retry | None = None
    peer: str = VCENTER

    @property
    def call(self) -> str:
        return self.move.value


def _soap(answer: answers.Answer, method: str, **match: Any) -> Callable[[], list[Fault]]:
    return lambda: [Fault.answering(answer, where=soap_methods(method), **match)]


def _cut(method: str) -> Callable[[], list[Fault]]:
    return lambda: [Fault.truncated(where=soap_methods(method))]


def _failed(move: Call, fault: str, row_id: str, faults: Callable[[], list[Fault]], message: str) -> MoveRow:
    """vCenter (or a proxy in front of it) refused the call: nothing reached vCenter, nothing happened."""
    entry = Entry(move.verb, Outcome.FAILED, Rid.NONE)
    return MoveRow(move, fault, row_id, faults, ItemState.FAILED, message, (entry,), {move.method: (1, 0)}, False)


def _lost(move: Call, row_id: str, doing: str, found: str) -> MoveRow:
    """The answer cut off after vCenter took the call: unknown; the retry finds it done and sends nothing."""
    sent, found_done = Entry(move.verb, Outcome.SENT, Rid.NONE), Entry(move.verb, Outcome.DONE, Rid.NONE)
    return MoveRow(move, "answer cut off (request forwarded)", row_id, _cut(move.method), ItemState.UNKNOWN,
                   rf"^{doing}: {CUT_OFF}{MAY_HAVE}$", (sent,), {move.method: (1, 1)}, True,
                   retry=Retry((found_done,), found))  # fmt: skip


def move_rows() -> list[MoveRow]:
    system_error = answers.soap_fault(*answers.SYSTEM_ERROR)
    not_authenticated = answers.soap_fault(*answers.NOT_AUTHENTICATED)
    unavailable = answers.plain_error(503, SERVICE_UNAVAILABLE)
    vmotion, storage = Call.VMOTION, Call.STORAGE_VMOTION
    enter, leave, cancel = Call.ENTER_MAINTENANCE, Call.EXIT_MAINTENANCE, Call.CANCEL
    relocating = rf"relocating {NAME} to {NAME}"
    cancelling = rf"cancelling task {TASK} \(VirtualMachine\.relocate of {NAME}\)"
    return [
        _failed(vmotion, "SOAP fault SystemError", "relocate-systemerror", _soap(system_error, RELOCATE),
                rf"^{relocating} failed: {SYSTEM_ERROR}$"),
        _failed(vmotion, "HTTP 503 from a reverse proxy", "relocate-503", _soap(unavailable, RELOCATE),
                rf"^{HTTP_503}$"),
        _lost(vmotion, "relocate-truncated", relocating, rf"^{TOOK_EFFECT}: on {NAME}$"),
        MoveRow(vmotion, "NotAuthenticated once (session expired)", "relocate-notauthenticated-once",
                _soap(not_authenticated, RELOCATE, times=1), ItemState.DONE, rf"^now on {NAME}$",
                (Entry(vmotion.verb, Outcome.DONE, Rid.TASKS, 1),), {RELOCATE: (2, 1)}, True, logins=1),
        _lost(storage, "relocate-storage-truncated", rf"relocating {NAME} to datastore {NAME}",
              rf"^{TOOK_EFFECT}: on datastore {NAME}$"),
        _failed(enter, "SOAP fault SystemError", "enter-systemerror", _soap(system_error, ENTER),
                rf"^putting {NAME} in maintenance mode failed: {SYSTEM_ERROR}$"),
        _lost(enter, "enter-truncated", rf"putting {NAME} in maintenance mode",
              rf"^{TOOK_EFFECT}: {NAME} in maintenance mode$"),
        _lost(leave, "exit-truncated", rf"taking {NAME} out of maintenance mode",
              rf"^{TOOK_EFFECT}: {NAME} out of maintenance mode$"),
        _failed(cancel, "SOAP fault SystemError", "cancel-systemerror", _soap(system_error, CANCEL),
                rf"^{cancelling} failed: {SYSTEM_ERROR}$"),
        _lost(cancel, "cancel-truncated", cancelling, rf"^the task already ended: task {TASK} error \(cancel asked\)$"),
    ]  # fmt: skip


MOVE_ROWS: list[MoveRow] = move_rows()
