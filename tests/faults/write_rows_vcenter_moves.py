"""vCenter fault rows for the moves: one per (write call, fault), what to inject and how the backend call must end.

Each row sends one call of ``VCenterMoves`` (RelocateVM_Task, EnterMaintenanceMode_Task, CancelTask)
through the fault proxy in front of VMware's simulator and names: the BackendError's message (a regex)
or the receipt's detail, whether the outcome is unknown (the answer was lost after vCenter took the
call), how many of the call's requests the proxy saw and how many reached vCenter, and the logins.
Like the restart rows in write_rows.py, whose answers these reuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tests.faults import answers
from tests.faults.fault import Fault, soap_methods
from tests.faults.write_rows import CUT_OFF, SERVICE_UNAVAILABLE

RELOCATE, ENTER, CANCEL = "RelocateVM_Task", "EnterMaintenanceMode_Task", "CancelTask"
NAME = r"\S+"  # a VM's or host's name in the simulator
RELOCATING = rf"relocating {NAME} to {NAME}"
TASK = r"task-\d+"


class Call(Enum):
    RELOCATE = "vMotion (relocate_vm with a host)"
    ENTER_MAINTENANCE = "enter maintenance mode"
    CANCEL = "cancel a slow relocation's task"


@dataclass(frozen=True, slots=True)
class MoveRow:
    call: Call
    fault: str
    id: str
    faults: Callable[[], list[Fault]]
    message: str  # regex over the BackendError's message, or over the receipt's detail when ``raises`` is False
    writes: tuple[int, int]  # the call's SOAP requests: seen by the proxy, reached vCenter
    raises: bool = True
    outcome_unknown: bool = False
    took_effect: bool = False  # vCenter did it: the VM moved, the host is in maintenance, the task is cancelled
    logins: int = 0  # logins during the call (a re-login after NotAuthenticated: 1)

    @property
    def method(self) -> str:
        return {Call.RELOCATE: RELOCATE, Call.ENTER_MAINTENANCE: ENTER, Call.CANCEL: CANCEL}[self.call]


def _soap(answer: answers.Answer, method: str, **match: Any) -> Callable[[], list[Fault]]:
    return lambda: [Fault.answering(answer, where=soap_methods(method), **match)]


def _cut(method: str) -> Callable[[], list[Fault]]:
    return lambda: [Fault.truncated(where=soap_methods(method))]


def move_rows() -> list[MoveRow]:
    system_error = answers.soap_fault(*answers.SYSTEM_ERROR)
    not_authenticated = answers.soap_fault(*answers.NOT_AUTHENTICATED)
    unavailable = answers.plain_error(503, SERVICE_UNAVAILABLE)
    return [
        MoveRow(Call.RELOCATE, "SOAP fault SystemError", "relocate-systemerror", _soap(system_error, RELOCATE),
                rf"^{RELOCATING} failed: SystemError: A general system error occurred: vpxd is restarting$", (1, 0)),
        MoveRow(Call.RELOCATE, "HTTP 503 from a reverse proxy", "relocate-503", _soap(unavailable, RELOCATE),
                r"^Service Unavailable, not a SOAP answer \(a proxy or load balancer in front of vCenter\?\)$",
                (1, 0)),
        MoveRow(Call.RELOCATE, "answer cut off (request forwarded)", "relocate-truncated", _cut(RELOCATE),
                rf"^{RELOCATING}: {CUT_OFF}$", (1, 1), outcome_unknown=True, took_effect=True),
        MoveRow(Call.RELOCATE, "NotAuthenticated once (session expired)", "relocate-notauthenticated-once",
                _soap(not_authenticated, RELOCATE, times=1), rf"^{RELOCATING}: task {TASK} success$", (2, 1),
                raises=False, took_effect=True, logins=1),
        MoveRow(Call.ENTER_MAINTENANCE, "SOAP fault SystemError", "enter-systemerror", _soap(system_error, ENTER),
                rf"^putting {NAME} in maintenance mode failed: SystemError: A general system error occurred: "
                r"vpxd is restarting$", (1, 0)),
        MoveRow(Call.ENTER_MAINTENANCE, "answer cut off (request forwarded)", "enter-truncated", _cut(ENTER),
                rf"^putting {NAME} in maintenance mode: {CUT_OFF}$", (1, 1), outcome_unknown=True, took_effect=True),
        MoveRow(Call.CANCEL, "SOAP fault SystemError", "cancel-systemerror", _soap(system_error, CANCEL),
                rf"^cancelling task {TASK} \(VirtualMachine\.relocate of {NAME}\) failed: SystemError: ", (1, 0)),
        MoveRow(Call.CANCEL, "answer cut off (request forwarded)", "cancel-truncated", _cut(CANCEL),
                rf"^cancelling task {TASK} \(VirtualMachine\.relocate of {NAME}\): {CUT_OFF}$", (1, 1),
                outcome_unknown=True, took_effect=True),
    ]  # fmt: skip


MOVE_ROWS: list[MoveRow] = move_rows()
