"""The write-fault rows of the Nova moves: live and cold migration, confirm and revert, abort and force-complete,
and the progress reads that follow them (``migration_progress``).

Each act has its own server, booted on host1 and put back there, ACTIVE, after each row (host2's compute
is stopped, so the scheduler's only other choice is host3). A confirm or revert row first cold-migrates
its server to VERIFY_RESIZE; an abort or force-complete row first starts a live migration the peer paces
(``set_live_migration_seconds``), so the call meets a running one. Every row counts the move's write
requests as the evacuation rows do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from hybridview.actions.audit import Outcome
from hybridview.actions.operation import ItemState
from hybridview.backends.base import MigrationProgress
from hybridview.backends.nova import NovaBackend
from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.model import FINISHED_MIGRATION_STATUSES
from tests.faults import answers
from tests.faults.fault import Fault, http
from tests.faults.write_rows import (
    ABORT,
    HTTP_500,
    HTTP_503,
    MAY_HAVE,
    Act,
    Entry,
    Retry,
    Rid,
    Target,
    WriteRow,
    write_call,
)

MOVE_SOURCE = "host1"
LIVE, COLD, CONFIRM, REVERT, FORCE = "os-migrateLive", "migrate", "confirmResize", "revertResize", "force_complete"
CALL_OF_VERB = {
    Verb.LIVE_MIGRATE.value: LIVE,
    Verb.COLD_MIGRATE.value: COLD,
    Verb.CONFIRM_RESIZE.value: CONFIRM,
    Verb.REVERT_RESIZE.value: REVERT,
    Verb.ABORT_LIVE_MIGRATION.value: ABORT,
    Verb.FORCE_COMPLETE.value: FORCE,
}
TIMED_OUT = rf"^no answer from https://127\.0\.0\.1:\d+ in time \(timed out\){MAY_HAVE}$"
CUT_OFF = (
    rf"^the answer from https://127\.0\.0\.1:\d+ was cut off before its end \(connection closed mid-body\){MAY_HAVE}$"
)


PACED_SECONDS = 60.0  # an abort or force-complete row's live migration: running until the call ends it
COUNTERS_PACED_SECONDS = 3.0  # the counters row: long enough for a few polls of a running migration


def _on_host(host: str) -> str:
    return rf"ACTIVE on {host}"


# act -> (the write call, the item's end when it succeeded, what a retry finds after a lost answer)
MOVES: dict[Act, tuple[str, str, str]] = {
    Act.LIVE_MIGRATE: (LIVE, rf"^{_on_host('host3')}$", rf"^an earlier attempt took effect: {_on_host('host3')}$"),
    Act.COLD_MIGRATE: (
        COLD,
        r"^VERIFY_RESIZE on host3: confirm or revert$",
        r"^an earlier attempt took effect: VERIFY_RESIZE on host3: confirm or revert$",
    ),
    Act.CONFIRM_RESIZE: (
        CONFIRM,
        rf"^confirmed: {_on_host('host3')}$",
        rf"^an earlier attempt took effect: {_on_host('host3')}$",
    ),
    Act.REVERT_RESIZE: (
        REVERT,
        rf"^reverted: {_on_host(MOVE_SOURCE)}$",
        rf"^an earlier attempt took effect: {_on_host(MOVE_SOURCE)}$",
    ),
    Act.ABORT_LIVE_MIGRATION: (
        ABORT,
        rf"^aborted: {_on_host(MOVE_SOURCE)}$",
        r"^the live migration already ended: ACTIVE on host1; live-migration \S+ cancelled to host3$",
    ),
    Act.FORCE_COMPLETE: (
        FORCE,
        rf"^completed: {_on_host('host3')}$",
        r"^the live migration already ended: ACTIVE on host3; live-migration \S+ completed to host3$",
    ),
}
VERB_OF = {
    Act.LIVE_MIGRATE: Verb.LIVE_MIGRATE,
    Act.COLD_MIGRATE: Verb.COLD_MIGRATE,
    Act.CONFIRM_RESIZE: Verb.CONFIRM_RESIZE,
    Act.REVERT_RESIZE: Verb.REVERT_RESIZE,
    Act.ABORT_LIVE_MIGRATION: Verb.ABORT_LIVE_MIGRATION,
    Act.FORCE_COMPLETE: Verb.FORCE_COMPLETE,
}
CALL_TEXT = {
    LIVE: "live migrate (POST /servers/{id}/action os-migrateLive)",
    COLD: "cold migrate (POST /servers/{id}/action migrate)",
    CONFIRM: "confirm resize (POST /servers/{id}/action confirmResize)",
    REVERT: "revert resize (POST /servers/{id}/action revertResize)",
    ABORT: "abort live migration (DELETE /servers/{id}/migrations/{mid})",
    FORCE: "force-complete (POST /servers/{id}/migrations/{mid}/action)",
}


def _the_write(call: str, fault: Callable[..., Fault], **match: Any) -> Callable[[Target], list[Fault]]:
    """``fault`` on the row's move write only (an abort's lookup of the migration, a GET, passes)."""

    def faults(t: Target) -> list[Fault]:
        def is_it(request: Any) -> bool:
            return request.path.startswith(t.server_path) and write_call(request) == call

        return [fault(where=is_it, **match)]

    return faults


def _answered(status: int, **match: Any) -> Callable[..., Fault]:
    return partial(Fault.answering, answers.nova_error(status), **match)


def _lost(call: str) -> tuple[str, str, Callable[[Target], list[Fault]], str]:
    """(fault text, row id suffix, faults, item message) of an answer that never reaches the app.

    confirmResize answers 204, which has no body to cut off (the client reads none): it hangs instead.
    """
    if call == CONFIRM:
        return ("hang past the timeout (request forwarded; a 204 has no body to cut off)", "hang",
                _the_write(call, partial(Fault.hang, forwarded=True)), TIMED_OUT)  # fmt: skip
    return "answer cut off (request forwarded)", "truncated", _the_write(call, Fault.truncated), CUT_OFF


def move_rows() -> list[WriteRow]:
    rows: list[WriteRow] = []
    for act, (call, done, found) in MOVES.items():
        verb, text, slug = VERB_OF[act].value, CALL_TEXT[call], VERB_OF[act].value  # slug: the row ids' stem
        failed = (Entry(verb, Outcome.FAILED, Rid.PROXY),)
        lost_text, lost_id, lost_faults, lost_message = _lost(call)
        rows += [
            WriteRow(text, "HTTP 500", f"{slug}-500", act, _the_write(call, _answered(500)),
                     ItemState.FAILED, rf"^{HTTP_500}$", failed, {call: (1, 0)}),
            WriteRow(text, "HTTP 503", f"{slug}-503", act, _the_write(call, _answered(503)),
                     ItemState.FAILED, rf"^{HTTP_503}$", failed, {call: (1, 0)}),
            WriteRow(text, "401 once (token expired)", f"{slug}-401-once", act,
                     _the_write(call, _answered(401, times=1)), ItemState.DONE, done,
                     (Entry(verb, Outcome.DONE, Rid.NOVA),), {call: (2, 1)}, logins=1),
            WriteRow(text, lost_text, f"{slug}-{lost_id}", act, lost_faults, ItemState.UNKNOWN, lost_message,
                     (Entry(verb, Outcome.SENT, Rid.NONE),), {call: (1, 1)},
                     retry=Retry((Entry(verb, Outcome.DONE, Rid.NONE),), found)),
            WriteRow(text, "malformed answer body (request forwarded)", f"{slug}-malformed", act,
                     _the_write(call, Fault.malformed), ItemState.DONE, done, (Entry(verb, Outcome.DONE, Rid.NOVA),),
                     {call: (1, 1)}),
        ]  # fmt: skip
    return rows


def move_progress_rows() -> list[WriteRow]:
    """The reads ``migration_progress`` makes while a move is followed: a few failures are tolerated."""
    live, cold = Act.LIVE_MIGRATE, Act.COLD_MIGRATE
    live_done, cold_done = MOVES[live][1], MOVES[cold][1]
    live_entry = (Entry(Verb.LIVE_MIGRATE.value, Outcome.DONE, Rid.NOVA),)
    cold_entry = (Entry(Verb.COLD_MIGRATE.value, Outcome.DONE, Rid.NOVA),)

    def server_500(t: Target) -> list[Fault]:
        return [Fault.answering(answers.nova_error(500), where=http("GET", t.server_path), times=3)]

    def migrations_malformed(t: Target) -> list[Fault]:
        return [Fault.malformed(where=t.migrations(), times=2)]

    def counters_malformed(t: Target) -> list[Fault]:
        return [Fault.malformed(path=f"{t.server_path}/migrations/", times=2)]

    return [
        WriteRow("move tracking: GET /servers/{id}", "HTTP 500 for 3 polls", "move-progress-server-500", live,
                 server_500, ItemState.DONE, live_done, live_entry, {LIVE: (1, 1)}),
        WriteRow("move tracking: GET /os-migrations", "malformed JSON for 2 polls",
                 "move-progress-migrations-malformed", cold, migrations_malformed, ItemState.DONE, cold_done,
                 cold_entry, {COLD: (1, 1)}),
        WriteRow("move tracking: GET /servers/{id}/migrations/{mid}", "malformed JSON for 2 polls",
                 "move-progress-counters-malformed", live, counters_malformed, ItemState.DONE, live_done, live_entry,
                 {LIVE: (1, 1)}, paced_seconds=COUNTERS_PACED_SECONDS),
    ]  # fmt: skip


NOVA_MOVE_ROWS: list[WriteRow] = [*move_rows(), *move_progress_rows()]


# -- a row's plan and its server's state before and after ---------------------------------------------

SETTLE_SECONDS = 30.0


def move_plan(row: WriteRow, cloud: str, server: str, migration_id: str | None) -> Plan:
    """The row's one step, as a plan function would build it (a fixed source host: the rows need no estate read)."""
    verb = VERB_OF[row.act]
    parameters: dict[str, Any] = {"instance_id": server}
    if verb is Verb.LIVE_MIGRATE:
        parameters |= {"source_host": MOVE_SOURCE, "target_host": None, "block_migration": "auto"}
    elif verb is Verb.COLD_MIGRATE:
        parameters |= {"source_host": MOVE_SOURCE, "target_host": None, "confirm": False}
    elif verb in (Verb.ABORT_LIVE_MIGRATION, Verb.FORCE_COMPLETE):
        assert migration_id is not None, "the row's live migration was not started"
        parameters["migration_id"] = migration_id
    step = Step(ActionKey(cloud, verb, server), f"{verb.value} {server}", parameters, label=f"w-{row.id}")
    return Plan(f"{verb.value} of one server", (step,))


def wait_move(
    direct: NovaBackend, server: str, since: datetime | None, until: Callable[[MigrationProgress], bool]
) -> MigrationProgress:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not until(progress := direct.migration_progress(server, since)):
        assert time.monotonic() < deadline, f"server {server} never got there: {progress}"
        time.sleep(0.1)
    return progress


def settled(progress: MigrationProgress) -> bool:
    """No move of the server runs any more (a cold one may wait at VERIFY_RESIZE)."""
    idle = progress.task_state is None and progress.status in ("ACTIVE", "VERIFY_RESIZE")
    return idle and progress.migration_status in (None, *FINISHED_MIGRATION_STATUSES)


def prepare(row: WriteRow, direct: NovaBackend, set_pace: Callable[[float], None], server: str) -> str | None:
    """Bring the row's server where its call applies; the running live migration's id for abort/force-complete."""
    since = datetime.now(UTC)
    if row.act.needs_resize_waiting:
        direct.migrate(server, target_host=None)
        wait_move(direct, server, since, lambda p: p.status == "VERIFY_RESIZE" and p.task_state is None)
    if row.act.needs_running_live_migration:
        set_pace(PACED_SECONDS)
        direct.live_migrate(server, target_host=None, block_migration="auto")
        return wait_move(direct, server, since, lambda p: p.migration_status == "running").migration_id
    if row.paced_seconds:
        set_pace(row.paced_seconds)
    return None


def finish(row: WriteRow, direct: NovaBackend, set_pace: Callable[[float], None], server: str) -> None:
    """Put the server back on MOVE_SOURCE, ACTIVE, for the next row of its act (a host takes 10 servers).

    The pace goes back to instant; a live migration the row left running is forced to complete, a cold
    migration left waiting is confirmed, and a server elsewhere is live-migrated home.
    """
    if row.act.needs_running_live_migration or row.paced_seconds:
        set_pace(0)
    progress = wait_move(direct, server, None, lambda p: p.migration_status != "preparing")
    if progress.migration_status == "running" and progress.migration_id is not None:
        direct.force_complete_live_migration(server, progress.migration_id)
    progress = wait_move(direct, server, None, settled)
    if progress.status == "VERIFY_RESIZE":
        direct.confirm_resize(server)
        progress = wait_move(direct, server, None, lambda p: settled(p) and p.status == "ACTIVE")
    if progress.host != MOVE_SOURCE:
        since = datetime.now(UTC)
        direct.live_migrate(server, target_host=MOVE_SOURCE, block_migration="auto")
        wait_move(
            direct, server, since, lambda p: settled(p) and p.host == MOVE_SOURCE and p.migration_status is not None
        )
