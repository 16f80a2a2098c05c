"""Fault rows of a Nova refresh's side reads: Placement, os-aggregates and os-instance-actions.

A fault on one of them must leave the endpoint OK with the rest of its snapshot, and say what
failed: Placement and aggregate failures in the snapshot's ``capacity_error``, instance-action
failures in the endpoint's warnings. Each row is a matrix ``Row`` (run by observe.run_row) plus
where its message shows and what must be kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hybridview.core.model import OpenStackSnapshot
from tests.faults import answers
from tests.faults.fault import Fault
from tests.faults.rows import COMPUTE, NOVA, TIMED_OUT_NOVA, Expect, Row, Tamper
from tests.faults.wire import Request

PLACEMENT = "/placement/"
AGGREGATES = f"{COMPUTE}/os-aggregates"
TIMED_OUT = TIMED_OUT_NOVA.strip("^$")
UNAUTHORIZED = r"HTTP 401: The request you have made requires authentication\."


def instance_actions(request: Request) -> bool:
    return "/os-instance-actions" in request.path


@dataclass(frozen=True, slots=True)
class SideRead:
    """One side read: how its faults are matched, where its failure is said, what is kept beside it."""

    name: str  # as the table names it
    slug: str
    match: dict[str, Any]  # Fault keyword arguments: path= or where=
    said: Callable[[OpenStackSnapshot, tuple[str, ...]], str | None]
    kept: Callable[[OpenStackSnapshot], bool]  # the other side reads' data, there
    prefix: str  # how the failure's message starts


def _capacity_error(snap: OpenStackSnapshot, _warnings: tuple[str, ...]) -> str | None:
    return snap.capacity_error


def _actions_warning(_snap: OpenStackSnapshot, warnings: tuple[str, ...]) -> str | None:
    return next((w for w in warnings if w.startswith("instance actions of ")), None)


READS = {
    "placement": SideRead(
        "Placement (resource providers, inventories, usages)",
        "placement",
        {"path": PLACEMENT},
        _capacity_error,
        lambda snap: bool(snap.aggregates),
        "Placement not read: ",
    ),
    "aggregates": SideRead(
        "os-aggregates",
        "aggregates",
        {"path": AGGREGATES},
        _capacity_error,
        lambda snap: bool(snap.providers),
        "host aggregates not read: ",
    ),
    "actions": SideRead(
        "os-instance-actions (per instance)",
        "instance-actions",
        {"where": instance_actions},
        _actions_warning,
        lambda snap: bool(snap.providers) and bool(snap.aggregates),
        r"instance actions of 1 instance\(s\) could not be read \(",
    ),
}
ACTIONS_END = r"\); the timeline lacks them"


@dataclass(slots=True)
class SideRow:
    read: SideRead
    row: Row  # the matrix row observe.run_row runs; its ``error`` is the regex of what ``read.said`` gives

    @property
    def id(self) -> str:
        return f"{self.read.slug}-{self.row.slug}"


def _row(
    read: SideRead, fault: str, slug: str, faults: Callable[[Row], list[Fault]], said: str, **more: Any
) -> SideRow:
    end = ACTIONS_END if read is READS["actions"] else ""
    expect = Expect.SKIPPED if "spoil" in more else Expect.OK
    return SideRow(read, Row(NOVA, fault, slug, faults, f"^{read.prefix}{said}{end}$", expect=expect, **more))


def _answering(read: SideRead, answer: answers.Answer) -> Callable[[Row], list[Fault]]:
    return lambda _row: [Fault.answering(answer, **read.match)]


def _each(read: SideRead, fault: Callable[..., Fault]) -> Callable[[Row], list[Fault]]:
    return lambda _row: [fault(**read.match)]


def _tampering(path: str) -> Callable[[Row], list[Fault]]:
    def faults(row: Row) -> list[Fault]:
        assert row.spoil is not None
        return [Fault.rewriting(Tamper(row.spoil), path=path)]

    return faults


def _spoiled_provider(body: Any) -> tuple[Any, str | None]:
    providers = body.get("resource_providers") or []
    if not providers:
        return body, None
    providers[0].pop("uuid", None)
    return body, str(providers[0]["name"])


def _spoiled_aggregate(body: Any) -> tuple[Any, str | None]:
    aggregates = body.get("aggregates") or []
    if not aggregates:
        return body, None
    aggregates[0]["hosts"] = "host1"
    return body, f"id {aggregates[0]['id']}"


RID = r" \(request id {rid}\)"
NOVA_500 = r"HTTP 500: Unexpected API Error\. .*"
NOT_JSON = r"malformed answer: /\S+ did not return JSON"


def side_rows() -> list[SideRow]:
    placement, aggregates, actions = READS["placement"], READS["aggregates"], READS["actions"]
    return [
        _row(placement, "HTTP 500", "http-500", _answering(placement, answers.placement_error(500)),
             r"HTTP 500: The server has either erred .*" + RID),
        _row(placement, "401 always (one new login)", "401-always", _answering(placement, answers.placement_error(401)),
             UNAUTHORIZED + RID, logins=1),
        _row(placement, "hang past the timeout", "hang", _each(placement, Fault.hang), TIMED_OUT),
        _row(placement, "malformed JSON", "malformed-json", _each(placement, Fault.malformed), NOT_JSON),
        _row(placement, "one malformed provider", "malformed-record", _tampering(f"{PLACEMENT}resource_providers"), "",
             spoil=_spoiled_provider),
        _row(aggregates, "HTTP 500", "http-500", _answering(aggregates, answers.nova_error(500)), NOVA_500 + RID),
        _row(aggregates, "401 always (one new login)", "401-always", _answering(aggregates, answers.nova_error(401)),
             UNAUTHORIZED + RID, logins=1),
        _row(aggregates, "hang past the timeout", "hang", _each(aggregates, Fault.hang), TIMED_OUT),
        _row(aggregates, "malformed JSON", "malformed-json", _each(aggregates, Fault.malformed), NOT_JSON),
        _row(aggregates, "one malformed aggregate", "malformed-record", _tampering(AGGREGATES), "",
             spoil=_spoiled_aggregate),
        # the instance-action read names no request id; it says how many instances it could not read
        _row(actions, "HTTP 500", "http-500", _answering(actions, answers.nova_error(500)), NOVA_500),
        _row(actions, "401 always (one new login)", "401-always", _answering(actions, answers.nova_error(401)),
             UNAUTHORIZED, logins=1),
        _row(actions, "hang past the timeout", "hang", _each(actions, Fault.hang), TIMED_OUT),
        _row(actions, "malformed JSON", "malformed-json", _each(actions, Fault.malformed), r"/\S+ did not return JSON"),
    ]  # fmt: skip


SIDE_ROWS = side_rows()
