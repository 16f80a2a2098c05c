"""The fault matrix: one row per (peer, fault), what to inject and what the operator must then read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tests.faults import answers
from tests.faults.fault import Fault, soap_methods, soap_methods_except

NOVA, VCENTER = "Nova", "vCenter"
COMPUTE = "/v2.1"  # every compute API path; the peer's Keystone stays reachable
SDK = "/sdk"
# What SmartConnect may still call while the session is refused, so that it reaches Login.
SESSIONLESS = ("RetrieveServiceContent", "Login", "Logout")


class Expect(Enum):
    STALE = "stale"  # the endpoint is STALE with the error, its items at least STALE
    OK = "ok"  # handled transparently: the endpoint stays OK
    SKIPPED = "skipped"  # OK, one record left out and named in a warning


class Trigger(Enum):
    REFRESH = "refresh"  # the faulted refresh runs at once
    FEED_FIRST = "feed first"  # the change feed meets the fault first (a vCenter's feed is always connected)
    FEED_HIT = "feed hit"  # the fault targets the feed: wait until it hit, then refresh


@dataclass(slots=True)
class Tamper:
    """A rewrite that spoils one record of an answer and remembers which."""

    spoil: Callable[[Any], tuple[Any, str | None]]
    victim: str | None = None

    def __call__(self, body: Any) -> Any:
        if self.victim is not None:  # one record, once: later pages and reads pass unchanged
            return body
        body, self.victim = self.spoil(body)
        return body


def _server_without_status(body: Any) -> tuple[Any, str | None]:
    servers = body.get("servers") or []
    if not servers:
        return body, None
    servers[0].pop("status", None)
    return body, str(servers[0]["id"])


_VM_CPU = re.compile(
    r'(<obj type="VirtualMachine">(vm-\d+)</obj>(?:(?!<obj ).)*?<name>config\.hardware\.numCPU</name><val [^>]*?)'
    r'type="xsd:int">\d+</val>',
    re.DOTALL,
)


def _vm_with_text_cpu_count(text: str) -> tuple[str, str | None]:
    found = _VM_CPU.search(text)
    if found is None:
        return text, None
    spoiled = text[: found.start()] + found.group(1) + 'type="xsd:string">two</val>' + text[found.end() :]
    return spoiled, found.group(2)


@dataclass(slots=True)
class Row:
    peer: str
    fault: str  # as the table names it
    slug: str
    faults: Callable[[Row], list[Fault]]
    error: str = ""  # regex for the endpoint's error; {rid}: the request id the proxy answered with
    expect: Expect = Expect.STALE
    trigger: Trigger = Trigger.REFRESH
    pinned: bool = False
    logins: int | None = None  # exactly this many logins during the fault (None: not counted)
    spoil: Callable[[Any], tuple[Any, str | None]] | None = None  # for the one-malformed-record rows
    # pyVmomi leaves the socket of a refused login or TLS handshake open until it is collected
    leaves_sockets: bool = False  # pyVmomi keeps the socket of an answer it cannot parse until a full GC

    @property
    def id(self) -> str:
        return f"{'nova' if self.peer == NOVA else 'vcenter'}-{self.slug}"


def _each(fault: Callable[[], Fault]) -> Callable[[Row], list[Fault]]:
    """A new fault each time the row runs."""
    return lambda _row: [fault()]


def _tampering(row: Row) -> list[Fault]:
    assert row.spoil is not None
    tamper = Tamper(row.spoil)
    if row.peer == NOVA:
        return [Fault.rewriting(tamper, path=f"{COMPUTE}/servers/detail")]
    return [Fault.rewriting_text(tamper, body="RetrievePropertiesEx")]


SLOW_SECONDS = 1.2  # each call answers within the HTTP timeout, the whole read does not within its own
READ_TIMED_OUT = r"^timed out: no answer within 3 s$"
TIMED_OUT_NOVA = r"^no answer from https://127\.0\.0\.1:\d+ in time \(timed out\)$"
NOT_XML = r"malformed vCenter answer: not well-formed XML \(cut off or corrupted\): "
TIMED_OUT_VCENTER = r"^no answer from vCenter in time \(timed out\)$"


def nova_rows() -> list[Row]:
    def error(status: int) -> Callable[[Row], list[Fault]]:
        return lambda _row: [Fault.answering(answers.nova_error(status), path=COMPUTE)]

    return [
        Row(NOVA, "connection refused", "refused", _each(Fault.refuse),
            r"^cannot connect to https://127\.0\.0\.1:\d+: connection refused$"),
        Row(NOVA, "5 s latency", "latency", _each(lambda: Fault.latency(5.0, path=COMPUTE)), TIMED_OUT_NOVA),
        Row(NOVA, "hang past the timeout", "hang", _each(lambda: Fault.hang(path=COMPUTE)), TIMED_OUT_NOVA),
        Row(NOVA, "slow: 1.2 s per call", "slow", _each(lambda: Fault.latency(SLOW_SECONDS, path=COMPUTE)),
            READ_TIMED_OUT),
        Row(NOVA, "HTTP 500", "http-500", error(500), r"^HTTP 500: Unexpected API Error\. .* \(request id {rid}\)$"),
        Row(NOVA, "HTTP 503", "http-503", error(503),
            r"^HTTP 503: The server is currently unavailable\. .* \(request id {rid}\)$"),
        Row(NOVA, "401 once (token expired)", "401-once",
            lambda _row: [Fault.answering(answers.nova_error(401), path=COMPUTE, times=1)],
            expect=Expect.OK, logins=1),
        Row(NOVA, "401 always", "401-always", error(401),
            r"^HTTP 401: The request you have made requires authentication\. \(request id {rid}\)$", logins=1),
        Row(NOVA, "malformed JSON", "malformed-json", _each(lambda: Fault.malformed(path=f"{COMPUTE}/")),
            r"^malformed Nova response: /\S+ did not return JSON$"),
        Row(NOVA, "truncated body", "truncated", _each(lambda: Fault.truncated(path=f"{COMPUTE}/")),
            r"^the answer from https://127\.0\.0\.1:\d+ was cut off before its end"),
        Row(NOVA, "changed certificate (CA-verified)", "changed-cert", _each(Fault.changed_certificate),
            r"^cannot connect to https://127\.0\.0\.1:\d+: TLS certificate not trusted: "),
        Row(NOVA, "one malformed server", "malformed-record", _tampering, expect=Expect.SKIPPED,
            spoil=_server_without_status),
    ]  # fmt: skip


def vcenter_rows() -> list[Row]:
    def refused_session(_row: Row) -> list[Fault]:
        return [
            Fault.answering(answers.soap_fault(*answers.INVALID_LOGIN), where=soap_methods("Login")),
            Fault.answering(answers.soap_fault(*answers.NOT_AUTHENTICATED), where=soap_methods_except(*SESSIONLESS)),
        ]

    system_error = answers.soap_fault(*answers.SYSTEM_ERROR)
    unavailable = answers.plain_error(503, "503 Service Unavailable\n")
    return [
        Row(VCENTER, "connection refused", "refused", _each(Fault.refuse),
            r"^cannot reach vCenter: connection refused$", trigger=Trigger.FEED_FIRST),
        Row(VCENTER, "5 s latency", "latency", _each(lambda: Fault.latency(5.0, path=SDK)), TIMED_OUT_VCENTER),
        Row(VCENTER, "hang past the timeout", "hang", _each(lambda: Fault.hang(path=SDK)), TIMED_OUT_VCENTER),
        Row(VCENTER, "slow: 1.2 s per call", "slow", _each(lambda: Fault.latency(SLOW_SECONDS, path=SDK)),
            READ_TIMED_OUT),
        Row(VCENTER, "HTTP 500 (SOAP fault)", "http-500",
            _each(lambda: Fault.answering(system_error, path=SDK)),
            r"^SystemError: A general system error occurred: vpxd is restarting$"),
        Row(VCENTER, "HTTP 503 (reverse proxy)", "http-503",
            _each(lambda: Fault.answering(unavailable, path=SDK)),
            r"^HTTP 503: Service Unavailable, not a SOAP answer \(a proxy or load balancer in front of vCenter\?\)$"),
        Row(VCENTER, "NotAuthenticated on the feed, once", "not-authenticated-once",
            lambda _row: [Fault.answering(answers.soap_fault(*answers.NOT_AUTHENTICATED),
                                          where=soap_methods("WaitForUpdatesEx"), times=1)],
            expect=Expect.OK, trigger=Trigger.FEED_HIT, logins=1),
        Row(VCENTER, "NotAuthenticated always, login refused", "not-authenticated-always", refused_session,
            r"^login refused for operator@vsphere\.local: check the user and password$"),
        Row(VCENTER, "malformed XML", "malformed-xml", _each(lambda: Fault.malformed(path=SDK)),
            rf"^{NOT_XML}mismatched tag: line \d+, column \d+$", leaves_sockets=True),
        Row(VCENTER, "truncated body", "truncated", _each(lambda: Fault.truncated(path=SDK)),
            rf"^({NOT_XML}|malformed vCenter answer: cut off)", leaves_sockets=True),
        Row(VCENTER, "changed certificate (CA-verified)", "changed-cert", _each(Fault.changed_certificate),
            r"^TLS certificate not trusted: ", trigger=Trigger.FEED_FIRST),
        Row(VCENTER, "changed certificate (pinned thumbprint)", "changed-cert-pinned",
            _each(Fault.changed_certificate),
            r"^certificate thumbprint [0-9A-F:]{95} does not match the pinned one: refusing to log in$",
            trigger=Trigger.FEED_FIRST, pinned=True),
        Row(VCENTER, "one malformed VM", "malformed-record", _tampering, expect=Expect.SKIPPED,
            spoil=_vm_with_text_cpu_count),
    ]  # fmt: skip


ROWS: list[Row] = [*nova_rows(), *vcenter_rows()]
