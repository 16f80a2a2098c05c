"""The write-fault matrix: one row per (Nova or vCenter write call, fault), what to inject and how it must end.

Each row sends one plan from core through the real action layer (``ActionRunner``) and the fault
proxy in front of the Nova peer: an evacuation of one server of the failed host, an evacuation
followed by the start Nova leaves to us at 2.95+, or a service change on a live host. The row
names the item's end (state and a regex over its message), the audit log's entries, how many
write requests the proxy saw and how many of those reached Nova, and, where the answer was
lost, what a retry does once the fault clears.

The vCenter rows (``vcenter_rows``) send the restart of one VM a dead ESXi host left behind
(``restart_vm``: UnregisterVM, RegisterVM_Task, PowerOnVM_Task, each task waited for) through
the fault proxy in front of VMware's simulator, and count the SOAP writes the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hybridview.actions.audit import Outcome
from hybridview.actions.operation import ItemState
from tests.faults import answers
from tests.faults.fault import Fault, http, soap_methods
from tests.faults.wire import Request

COMPUTE = "/v2.1"
FAILED_HOST = "host2"  # its nova-compute is stopped: every evacuation starts here
SERVICE_HOST = "host3"  # live; the service rows force it down or disable it, and it is restored after each
EVACUATE, START, SERVICE_PUT = "evacuate", "os-start", "PUT os-services"
UNREGISTER, REGISTER, RECONFIGURE, POWER_ON = "UnregisterVM", "RegisterVM_Task", "ReconfigVM_Task", "PowerOnVM_Task"
SOAP_WRITES = frozenset((UNREGISTER, REGISTER, RECONFIGURE, POWER_ON))
GATEWAY_TIMEOUT = "<html><body><h1>504 Gateway Time-out</h1>The server didn't respond in time.</body></html>\n"

CONNECTION_REFUSED = r"cannot connect to https://127\.0\.0\.1:\d+: connection refused"
HTTP_500 = r"HTTP 500: Unexpected API Error\. .* \(request id {rid}\)"
HTTP_503 = r"HTTP 503: The server is currently unavailable\. Please try again at a later time\. \(request id {rid}\)"
MAY_HAVE = r"; it may have taken effect: a retry checks first"
EVACUATED = r"SHUTOFF on host[13]"  # at 2.100 an evacuated server arrives stopped, where the scheduler put it
TOOK_EFFECT = rf"^an earlier attempt took effect: {EVACUATED}$"  # the retry runs once Nova shows it done


class Act(Enum):
    EVACUATE = "evacuate"
    EVACUATE_AND_START = "evacuate, then start"
    FORCE_DOWN = "force down"
    DISABLE = "disable"
    RESTART_VM = "restart a VM of a dead ESXi host"
    LIVE_MIGRATE = "live-migrate a server of host1"
    COLD_MIGRATE = "cold-migrate a server of host1"
    CONFIRM_RESIZE = "confirm a server's cold migration"
    REVERT_RESIZE = "revert a server's cold migration"
    ABORT_LIVE_MIGRATION = "abort a running live migration"
    FORCE_COMPLETE = "force a running live migration to complete"

    @property
    def needs_server(self) -> bool:
        return self in (Act.EVACUATE, Act.EVACUATE_AND_START)

    @property
    def moves_server(self) -> bool:
        """A Nova move row: its own server, booted on host1 (``nova_move_rows``)."""
        return self in MOVE_ACTS

    @property
    def needs_resize_waiting(self) -> bool:
        return self in (Act.CONFIRM_RESIZE, Act.REVERT_RESIZE)

    @property
    def needs_running_live_migration(self) -> bool:
        return self in (Act.ABORT_LIVE_MIGRATION, Act.FORCE_COMPLETE)


class Rid(Enum):
    """Which request id an audit entry must carry."""

    NONE = "none"  # no answer reached the app
    PROXY = "proxy"  # the error answer the proxy made up
    NOVA = "nova"  # Nova's answer to the write, relayed by the proxy
    TASKS = "tasks"  # vCenter's task keys of the write (``Entry.tasks`` of them), as ``restart_vm`` returns them


MOVE_ACTS = frozenset(
    {
        Act.LIVE_MIGRATE,
        Act.COLD_MIGRATE,
        Act.CONFIRM_RESIZE,
        Act.REVERT_RESIZE,
        Act.ABORT_LIVE_MIGRATION,
        Act.FORCE_COMPLETE,
    }
)
ABORT = "DELETE servers/{id}/migrations/{mid}"


@dataclass(frozen=True, slots=True)
class Target:
    """What a row acts on: one server of the failed host (evacuation rows) and the host a service row changes.

    A vCenter row: ``server`` is the VM's moref on the dead host, ``host`` that host's moref.
    """

    server: str
    host: str

    @property
    def action(self) -> str:
        return f"{COMPUTE}/servers/{self.server}/action"

    @property
    def server_path(self) -> str:
        return f"{COMPUTE}/servers/{self.server}"

    def migrations(self) -> Callable[[Request], bool]:
        return http("GET", f"{COMPUTE}/os-migrations", query=f"instance_uuid={self.server}")


def write_call(request: Request) -> str | None:
    """Which write a request is (a server action's key, a service PUT, the abort's DELETE, a SOAP write), or None."""
    if request.soap_method is not None:
        return request.soap_method if request.soap_method in SOAP_WRITES else None
    if request.method == "PUT" and request.path.startswith(f"{COMPUTE}/os-services/"):
        return SERVICE_PUT
    if request.method == "DELETE" and request.path.startswith(f"{COMPUTE}/servers/") and "/migrations/" in request.path:
        return ABORT
    if request.method == "POST" and request.path.startswith(f"{COMPUTE}/servers/") and request.path.endswith("/action"):
        try:
            body = json.loads(request.body)
        except ValueError:
            return "POST action (not JSON)"
        return next(iter(body), "POST action") if isinstance(body, dict) else "POST action"
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry the row must leave: its verb, outcome and request id."""

    verb: str
    outcome: Outcome
    rid: Rid
    tasks: int = 0  # Rid.TASKS: how many task keys


@dataclass(frozen=True, slots=True)
class Retry:
    """After the fault clears, ``runner.retry_plan(op)`` runs: how it must end, the audit log and the writes then.

    ``audit`` is every entry after the retry; one the faulted run left "sent, outcome unknown" and
    the retry's check found done reads "found by a later check".
    """

    audit: tuple[Entry, ...]
    message: str = TOOK_EFFECT  # regex; the item ends DONE (the retry starts once Nova shows the evacuation done)
    writes: dict[str, tuple[int, int]] | None = None  # None: the same as after the faulted run (nothing sent)
    closes_open: bool = True  # the retry's check completes the entry left open; False: it resumes, the entry stays


@dataclass(frozen=True, slots=True)
class Bug:
    title: str  # the table's words
    reason: str  # the xfail reason: where it is and why


@dataclass(slots=True)
class WriteRow:
    call: str  # the write, as the table names it
    fault: str
    id: str
    act: Act
    faults: Callable[[Target], list[Fault]]
    state: ItemState
    message: str  # regex over the item's final message; {rid}: the request id the proxy answered with
    audit: tuple[Entry, ...]  # the row's audit entries after the faulted run, oldest first
    writes: dict[str, tuple[int, int]]  # per write call: requests the proxy saw, and those that reached Nova
    at_follow_up: bool = False  # inject when the item's second write (the start) is about to be sent
    logins: int | None = None  # exactly this many logins during the faulted run (None: not counted)
    retry: Retry | None = None
    bug: Bug | None = None  # a bug in hybridview/ this row shows: the row is xfail meanwhile
    peer: str = "Nova"
    paced_seconds: float = 0.0  # the peer's live migrations take this long during the row (0: done at once)


def _at(path: Callable[[Target], str], answer: answers.Answer, **match: Any) -> Callable[[Target], list[Fault]]:
    return lambda t: [Fault.answering(answer, path=path(t), **match)]


def _action(t: Target) -> str:
    return t.action


def _refuse(_t: Target) -> list[Fault]:
    return [Fault.refuse()]


def _put_only(answer: answers.Answer, **match: Any) -> Callable[[Target], list[Fault]]:
    """The service's PUT only: the GET that finds its id passes."""
    return lambda _t: [Fault.answering(answer, where=lambda r: write_call(r) == SERVICE_PUT, **match)]


def evacuate_rows() -> list[WriteRow]:
    call, act = "evacuate (POST /servers/{id}/action)", Act.EVACUATE
    failed = (Entry(EVACUATE, Outcome.FAILED, Rid.PROXY),)
    unknown = (Entry(EVACUATE, Outcome.SENT, Rid.NONE),)
    found = (Entry(EVACUATE, Outcome.DONE, Rid.NONE),)  # completed by the retry's check; no answer ever came
    return [
        WriteRow(call, "connection refused", "evacuate-refused", act, _refuse, ItemState.FAILED,
                 rf"^{CONNECTION_REFUSED}$", (Entry(EVACUATE, Outcome.FAILED, Rid.NONE),), {EVACUATE: (0, 0)}),
        WriteRow(call, "HTTP 500", "evacuate-500", act, _at(_action, answers.nova_error(500)), ItemState.FAILED,
                 rf"^{HTTP_500}$", failed, {EVACUATE: (1, 0)}),
        WriteRow(call, "HTTP 503", "evacuate-503", act, _at(_action, answers.nova_error(503)), ItemState.FAILED,
                 rf"^{HTTP_503}$", failed, {EVACUATE: (1, 0)}),
        WriteRow(call, "401 once (token expired)", "evacuate-401-once", act,
                 _at(_action, answers.nova_error(401), times=1), ItemState.DONE, rf"^{EVACUATED}$",
                 (Entry(EVACUATE, Outcome.DONE, Rid.NOVA),), {EVACUATE: (2, 1)}, logins=1),
        WriteRow(call, "answer cut off (request forwarded)", "evacuate-truncated", act,
                 lambda t: [Fault.truncated(path=t.action)], ItemState.UNKNOWN,
                 rf"^the answer from https://127\.0\.0\.1:\d+ was cut off before its end \(connection closed "
                 rf"mid-body\){MAY_HAVE}$", unknown, {EVACUATE: (1, 1)}, retry=Retry(found)),
        WriteRow(call, "hang past the timeout (request forwarded)", "evacuate-hang", act,
                 lambda t: [Fault.hang(forwarded=True, path=t.action)], ItemState.UNKNOWN,
                 rf"^no answer from https://127\.0\.0\.1:\d+ in time \(timed out\){MAY_HAVE}$", unknown,
                 {EVACUATE: (1, 1)}, retry=Retry(found)),
        WriteRow(call, "gateway 504 (request forwarded)", "evacuate-504", act,
                 lambda t: [Fault.answering(answers.plain_error(504, GATEWAY_TIMEOUT), forwarded=True,
                                            path=t.action)],
                 ItemState.UNKNOWN, rf"^HTTP 504: Gateway Timeout{MAY_HAVE}$", unknown, {EVACUATE: (1, 1)},
                 retry=Retry(found)),
    ]  # fmt: skip


def progress_rows() -> list[WriteRow]:
    """The reads that follow an accepted evacuation: a few failures are tolerated, many lose track."""
    act, done = Act.EVACUATE, (Entry(EVACUATE, Outcome.DONE, Rid.NOVA),)
    servers, migrations = "tracking: GET /servers/{id}", "tracking: GET /os-migrations"

    def get_server(fault: Callable[..., Fault], **extra: Any) -> Callable[[Target], list[Fault]]:
        return lambda t: [fault(where=http("GET", t.server_path), **extra)]

    def get_migrations(fault: Callable[..., Fault], **extra: Any) -> Callable[[Target], list[Fault]]:
        return lambda t: [fault(where=t.migrations(), **extra)]

    def error_500(**match: Any) -> Fault:
        return Fault.answering(answers.nova_error(500), **match)

    return [
        WriteRow(servers, "HTTP 500 for 3 polls", "progress-server-500", act, get_server(error_500, times=3),
                 ItemState.DONE, rf"^{EVACUATED}$", done, {EVACUATE: (1, 1)}),
        WriteRow(servers, "malformed JSON for 2 polls", "progress-server-malformed", act,
                 get_server(Fault.malformed, times=2), ItemState.DONE, rf"^{EVACUATED}$", done, {EVACUATE: (1, 1)}),
        WriteRow(migrations, "HTTP 500 for 3 polls", "progress-migrations-500", act,
                 get_migrations(error_500, times=3), ItemState.DONE, rf"^{EVACUATED}$", done, {EVACUATE: (1, 1)}),
        WriteRow(migrations, "malformed JSON on every poll", "progress-migrations-malformed", act,
                 get_migrations(Fault.malformed), ItemState.UNKNOWN,
                 r"^lost track after 5 failed progress reads: malformed Nova response: /os-migrations did not "
                 r"return JSON$", (Entry(EVACUATE, Outcome.SENT, Rid.NOVA),), {EVACUATE: (1, 1)},
                 retry=Retry(done)),
    ]  # fmt: skip


def start_rows() -> list[WriteRow]:
    """The start an evacuation at 2.95+ needs (``start_after``): the evacuation succeeds, its start meets the fault."""
    call, act = "start (POST /servers/{id}/action os-start)", Act.EVACUATE_AND_START
    evacuated = Entry(EVACUATE, Outcome.DONE, Rid.NOVA)
    start_500 = _at(_action, answers.nova_error(500), body="os-start")
    return [
        WriteRow(call, "connection refused", "start-refused", act, _refuse, ItemState.FAILED,
                 rf"^{EVACUATED}; {CONNECTION_REFUSED}$", (evacuated, Entry("start-server", Outcome.FAILED, Rid.NONE)),
                 {EVACUATE: (1, 1), START: (0, 0)}, at_follow_up=True),
        WriteRow(call, "HTTP 500", "start-500", act, start_500, ItemState.FAILED, rf"^{EVACUATED}; {HTTP_500}$",
                 (evacuated, Entry("start-server", Outcome.FAILED, Rid.PROXY)), {EVACUATE: (1, 1), START: (1, 0)}),
        WriteRow(call, "HTTP 500, then a retry", "start-500-retry", act, start_500, ItemState.FAILED,
                 rf"^{EVACUATED}; {HTTP_500}$", (evacuated, Entry("start-server", Outcome.FAILED, Rid.PROXY)),
                 {EVACUATE: (1, 1), START: (1, 0)},
                 retry=Retry((evacuated, Entry("start-server", Outcome.FAILED, Rid.PROXY),
                              Entry("start-server", Outcome.DONE, Rid.NOVA)),
                             r"ACTIVE on host[13]$", {EVACUATE: (1, 1), START: (2, 1)}),),
    ]  # fmt: skip


def service_rows() -> list[WriteRow]:
    rows: list[WriteRow] = []
    for act, verb, what in ((Act.FORCE_DOWN, "force-down", "force down"), (Act.DISABLE, "disable-service", "disable")):
        call = f"{what} (PUT /os-services/{{id}})"
        failed = (Entry(verb, Outcome.FAILED, Rid.PROXY),)
        rows += [
            WriteRow(call, "connection refused", f"{verb}-refused", act, _refuse, ItemState.FAILED,
                     rf"^{CONNECTION_REFUSED}$", (Entry(verb, Outcome.FAILED, Rid.NONE),), {SERVICE_PUT: (0, 0)}),
            WriteRow(call, "HTTP 500", f"{verb}-500", act, _put_only(answers.nova_error(500)), ItemState.FAILED,
                     rf"^{HTTP_500}$", failed, {SERVICE_PUT: (1, 0)}),
            WriteRow(call, "401 once (token expired)", f"{verb}-401-once", act,
                     _put_only(answers.nova_error(401), times=1), ItemState.DONE, r"^applied$",
                     (Entry(verb, Outcome.DONE, Rid.NOVA),), {SERVICE_PUT: (2, 1)}, logins=1),
        ]  # fmt: skip
    return rows


VCENTER = "vCenter"
RESTART = "restart-vm"
TASK = r"task-\d+"
VM = r"\S+"  # a VM's name in the simulator
REGISTERING = rf"registering \[[^\]]+\] \S+\.vmx on {VM}"
OUT_OF_INVENTORY = (
    rf"; {VM} is out of the inventory now, its files stay at \[[^\]]+\] \S+\.vmx: restart it again to finish"
)
RESUMED = rf"^poweredOn on {VM}; {VM} is registered as vm-\d+ on host-\d+; powered it on$"
RESTARTED = rf"^poweredOn on {VM}; registered {VM} as vm-\d+ on {VM}; powered it on$"
CUT_OFF = "its answer was cut off before its end"
SERVICE_UNAVAILABLE = "<html><body><h1>503 Service Unavailable</h1>No server is available.</body></html>\n"


def _before_power_on() -> Callable[[Request], bool]:
    """The read of the registered VM's instanceUuid: the last call before PowerOnVM_Task."""
    registered = False

    def matches(request: Request) -> bool:
        nonlocal registered
        registered = registered or request.soap_method == REGISTER
        return registered and request.soap_method == "RetrievePropertiesEx" and b"config.instanceUuid" in request.body

    return matches


def vcenter_rows() -> list[WriteRow]:
    """``restart_vm`` of one VM of a dead host (HA off) through the proxy in front of VMware's simulator."""
    act, row = Act.RESTART_VM, "restart VM: {} (UnregisterVM, RegisterVM_Task, PowerOnVM_Task)"
    register, power_on = row.format(REGISTER), row.format(POWER_ON)
    failed, unknown = Entry(RESTART, Outcome.FAILED, Rid.NONE), Entry(RESTART, Outcome.SENT, Rid.NONE)
    registered = {UNREGISTER: (1, 1), REGISTER: (1, 1), POWER_ON: (0, 0)}
    restarted = {UNREGISTER: (1, 1), REGISTER: (1, 1), POWER_ON: (1, 1)}

    def soap(answer: answers.Answer, method: str, **match: Any) -> Callable[[Target], list[Fault]]:
        return lambda _t: [Fault.answering(answer, where=soap_methods(method), **match)]

    def resumed(audit: tuple[Entry, ...], power_ons: tuple[int, int] = (1, 1), **extra: Any) -> Retry:
        return Retry(audit, RESUMED, {**restarted, POWER_ON: power_ons}, **extra)

    return [
        WriteRow(register, "SOAP fault SystemError", "restart-register-systemerror", act,
                 soap(answers.soap_fault(*answers.SYSTEM_ERROR), REGISTER), ItemState.FAILED,
                 rf"^{REGISTERING} failed: SystemError: A general system error occurred: vpxd is restarting"
                 rf"{OUT_OF_INVENTORY}$", (failed,), {UNREGISTER: (1, 1), REGISTER: (1, 0)},
                 retry=Retry((failed, Entry(RESTART, Outcome.DONE, Rid.TASKS, 2)), RESTARTED,
                             {UNREGISTER: (1, 1), REGISTER: (2, 1), POWER_ON: (1, 1)}), peer=VCENTER),
        WriteRow(power_on, "connection refused", "restart-poweron-refused", act,
                 lambda _t: [Fault.then_inject((Fault.refuse(),), where=_before_power_on())], ItemState.FAILED,
                 r"^cannot reach vCenter: connection refused$", (failed,), registered,
                 retry=resumed((failed, Entry(RESTART, Outcome.DONE, Rid.TASKS, 1))), peer=VCENTER),
        WriteRow(power_on, "HTTP 503 from a reverse proxy", "restart-poweron-503", act,
                 soap(answers.plain_error(503, SERVICE_UNAVAILABLE), POWER_ON), ItemState.FAILED,
                 r"^HTTP 503: Service Unavailable, not a SOAP answer \(a proxy or load balancer in front of "
                 r"vCenter\?\)$",
                 (failed,), {**registered, POWER_ON: (1, 0)},
                 retry=resumed((failed, Entry(RESTART, Outcome.DONE, Rid.TASKS, 1)), (2, 1)), peer=VCENTER),
        WriteRow(register, "answer cut off (request forwarded)", "restart-register-truncated", act,
                 lambda _t: [Fault.truncated(where=soap_methods(REGISTER))], ItemState.UNKNOWN,
                 rf"^{REGISTERING}: {CUT_OFF}{MAY_HAVE}$", (unknown,), registered,
                 retry=resumed((unknown, Entry(RESTART, Outcome.DONE, Rid.TASKS, 1)), closes_open=False),
                 peer=VCENTER),
        WriteRow(power_on, "answer cut off (request forwarded)", "restart-poweron-truncated", act,
                 lambda _t: [Fault.truncated(where=soap_methods(POWER_ON))], ItemState.UNKNOWN,
                 rf"^powering on {VM}: {CUT_OFF}{MAY_HAVE}$", (unknown,), restarted,
                 retry=Retry((Entry(RESTART, Outcome.DONE, Rid.NONE),),
                             r"^an earlier attempt took effect: vm-\d+ runs on host-\d+$"), peer=VCENTER),
        WriteRow(register, "NotAuthenticated once (session expired)", "restart-notauthenticated-once", act,
                 soap(answers.soap_fault(*answers.NOT_AUTHENTICATED), REGISTER, times=1), ItemState.DONE,
                 RESTARTED, (Entry(RESTART, Outcome.DONE, Rid.TASKS, 2),),
                 {UNREGISTER: (1, 1), REGISTER: (2, 1), POWER_ON: (1, 1)}, logins=1, peer=VCENTER),
    ]  # fmt: skip


WRITE_ROWS: list[WriteRow] = [*evacuate_rows(), *progress_rows(), *start_rows(), *service_rows()]
VCENTER_ROWS: list[WriteRow] = vcenter_rows()
