"""The write-fault matrix: every Nova write, through the real action layer and the fault proxy, under faults.

Per row (``write_rows.WRITE_ROWS``): a fresh backend behind a fresh proxy reads the peer, core plans
one write from that snapshot, the fault goes in, ``ActionRunner.run`` sends the plan. Then the
item's end and message, the audit log, the write requests the proxy saw and those that reached
Nova (never one twice), the logins, no traceback, and an event loop that never stalled; where the
answer was lost, the fault is cleared and ``retry_plan`` must find the write done and send nothing.
The vCenter rows (``VCENTER_ROWS``) do the same with the restart of one VM of a dead ESXi host
behind the proxy in front of VMware's simulator; after them the VM exists exactly once, running.
The last tests write the README's write table and check that nothing was left running.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridview.actions.audit import AuditEntry, AuditLog, Outcome
from hybridview.actions.claims import Claims
from hybridview.actions.executors import Tracking
from hybridview.actions.operation import ItemState, ItemStatus, Operation
from hybridview.actions.runner import ActionRunner
from hybridview.backends.nova import NovaBackend
from hybridview.core.actions import Plan, Verb
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.compute_service import ServiceChange, plan_service_change
from hybridview.core.correlation import correlate
from hybridview.core.evacuation import EvacuationRequest, plan_evacuation
from hybridview.core.left_behind import RestartRequest, plan_vm_restarts
from hybridview.core.model import Estate, OpenStackSnapshot, VCenterSnapshot
from tests.faults.census import ThreadCensus
from tests.faults.fault import Fault
from tests.faults.nova_move_rows import CALL_OF_VERB, MOVE_SOURCE, NOVA_MOVE_ROWS, finish, move_plan, prepare, settled
from tests.faults.nova_move_rows import wait_move as wait_for_move
from tests.faults.observe import Ticker
from tests.faults.proxy import Exchange, FaultProxy
from tests.faults.sites import NOVA_CLOUD, Authorities, NovaSite, VcenterSite
from tests.faults.table import WRITE_BEGIN, WRITE_END, WriteOutcome, check_readme, normalize_hosts, render_writes
from tests.faults.write_rows import (
    EVACUATE,
    FAILED_HOST,
    MOVE_ACTS,
    SERVICE_HOST,
    SERVICE_PUT,
    START,
    VCENTER_ROWS,
    WRITE_ROWS,
    Act,
    Entry,
    Rid,
    Target,
    WriteRow,
    write_call,
)
from tests.faults.write_rows_vcenter_moves import MOVE_ROWS
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

pytestmark = [pytest.mark.slow]
COMPUTES = ("host1", FAILED_HOST, SERVICE_HOST)
TRACKING = Tracking(first_poll_seconds=0.2, poll_seconds=0.3, limit_seconds=20.0)  # read_failures: the default 5
RUN_SECONDS = 30.0  # one plan, faulted or retried
SETTLE_SECONDS = 20.0
MAX_LOOP_GAP_SECONDS = 1.0  # a guard against blocking the loop, not a timing benchmark
DISABLE_REASON = "hybridview write-fault matrix"
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
TASK_KEYS = re.compile(r"^task-\d+(,task-\d+)*$")
CALL_OF = {
    Verb.EVACUATE.value: EVACUATE,
    Verb.START_SERVER.value: START,
    Verb.FORCE_DOWN.value: SERVICE_PUT,
    Verb.DISABLE_SERVICE.value: SERVICE_PUT,
    **CALL_OF_VERB,
}
NOVA_ROWS: list[WriteRow] = [*WRITE_ROWS, *NOVA_MOVE_ROWS]
OUTCOMES: dict[str, WriteOutcome] = {}
SECONDS: dict[str, float] = {}
GAPS: dict[str, float] = {}


@dataclass(slots=True)
class WriteSite:
    """The peer with a failed host (its compute stopped, one server on it per evacuation row)."""

    site: NovaSite
    servers: dict[str, str]  # row id -> its server on FAILED_HOST (an evacuation row) or MOVE_SOURCE (a move row)
    direct: NovaBackend  # straight to the peer, no proxy: puts SERVICE_HOST back after a service row
    migrations: dict[str, str] = field(default_factory=dict)  # row id -> the live migration it aborts or completes

    def target(self, row: WriteRow) -> Target:
        return Target(self.servers.get(row.id, ""), SERVICE_HOST)

    def settled(self, server: str) -> None:
        """Wait until Nova shows the server's evacuation done and the server settled on another host.

        A retry then always finds an earlier attempt that took effect (never one still running), so the
        table reads the same on every run.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            progress = self.direct.server_progress(server, datetime.now(UTC) - timedelta(minutes=5))
            if progress.evacuation_status == "done" and progress.task_state is None and progress.host != FAILED_HOST:
                return
            assert time.monotonic() < deadline, f"the evacuation of {server} never settled: {progress}"
            time.sleep(0.1)

    def prepare(self, row: WriteRow) -> None:
        server = self.servers[row.id]
        running = prepare(row, self.direct, self.site.peer.set_live_migration_seconds, server)
        if running is not None:
            self.migrations[row.id] = running

    def finish(self, row: WriteRow) -> None:
        finish(row, self.direct, self.site.peer.set_live_migration_seconds, self.servers[row.id])

    def restore(self) -> None:
        self.direct.set_forced_down(SERVICE_HOST, False)
        self.direct.set_service_enabled(SERVICE_HOST, True)


@dataclass(slots=True)
class VcenterWriteSite:
    """The simulator with one cluster (HA off) whose first host stopped answering; one of its VMs per row."""

    site: VcenterSite
    dead: str  # the host's moref
    vms: dict[str, str]  # row id -> the moref of its VM on the dead host
    uuids: dict[str, str]  # row id -> that VM's instanceUuid

    def target(self, row: WriteRow) -> Target:
        return Target(self.vms[row.id], self.dead)

    def copies(self, row: WriteRow) -> list[dict[str, object]]:
        """Every VM with the row's instanceUuid, as the simulator lists them."""
        return [vm for vm in self.site.peer.list_vms() if vm["instance_uuid"] == self.uuids[row.id]]


@pytest.fixture(scope="module")
def vcenter_write_site(census: ThreadCensus, authorities: Authorities) -> Iterator[VcenterWriteSite]:
    before = set(threading.enumerate())
    with VcsimPeer(
        clusters=1, hosts=2, vms=4 * len(VCENTER_ROWS), username=VCSIM_USER, password=VCSIM_PASSWORD
    ) as peer:
        census.allow_new(before)
        for cluster in peer.list_clusters():
            peer.set_cluster_ha(cluster["name"], False)
        dead = max(peer.list_hosts(), key=lambda h: h["vms"])["moref"]
        on_it = [vm["moref"] for vm in peer.list_vms() if vm["host"] == dead and vm["power_state"] == "poweredOn"]
        assert len(on_it) >= len(VCENTER_ROWS), on_it
        vms = {row.id: vm for row, vm in zip(VCENTER_ROWS, on_it, strict=False)}
        uuids = {row_id: str(uuid.uuid4()) for row_id in vms}  # as Nova's vmwareapi driver sets them
        for row_id, vm in vms.items():
            peer.set_instance_uuid(vm, uuids[row_id])
        peer.set_host_state(dead, "notResponding")
        yield VcenterWriteSite(VcenterSite(peer, authorities), dead, vms, uuids)


@pytest.fixture(scope="module")
def write_site(
    census: ThreadCensus, authorities: Authorities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WriteSite]:
    workdir = tmp_path_factory.mktemp("write-faults")
    before = set(threading.enumerate())
    with (workdir / "peer-stderr.log").open("w") as log, NovaPeer(computes=list(COMPUTES), stderr=log) as peer:
        census.allow_new(before)
        _raise_instance_quota(peer, len(NOVA_ROWS) + 10)
        servers = {row.id: peer.boot(f"w-{row.id}", FAILED_HOST) for row in NOVA_ROWS if row.act.needs_server}
        movers = {act: peer.boot(f"w-{act.name.lower()}", MOVE_SOURCE) for act in MOVE_ACTS}
        servers |= {row.id: movers[row.act] for row in NOVA_ROWS if row.act.moves_server}
        peer.stop_compute(FAILED_HOST)
        clouds = peer.write_clouds_yaml(workdir / "direct-clouds.yaml", NOVA_CLOUD)
        direct = NovaBackend(NOVA_CLOUD, config_files=[str(clouds)], api_timeout=10.0)
        site = NovaSite(peer, authorities, workdir, COMPUTES, frozenset(servers.values()))
        try:
            yield WriteSite(site, servers, direct)
        finally:
            direct.close()


def _raise_instance_quota(peer: NovaPeer, instances: int) -> None:
    """The peer's project may hold 10 servers (Nova's default quota); the matrix boots one per evacuation row."""
    conn = peer.connect()
    try:
        body = {"quota_set": {"instances": instances, "cores": 2 * instances, "ram": 2048 * instances}}
        answer = conn.compute.put(f"/os-quota-sets/{peer.ready['project_id']}", json=body)
        assert answer.status_code == 200, answer.text
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Seen:
    """One write request the proxy read: which call, how often it reached Nova, what the app was answered."""

    call: str
    forwarded: int
    status: int | None
    request_id: str | None
    cut: bool

    @property
    def novas_answer(self) -> bool:
        """Nova took it and its whole answer reached the app."""
        return self.forwarded > 0 and self.status is not None and 200 <= self.status < 300 and not self.cut


@dataclass(slots=True)
class WriteObserved:
    """What one row did, for its assertions and its line in the table."""

    faults: list[Fault] = field(default_factory=list)
    item: ItemStatus | None = None  # after the faulted run
    audit: list[AuditEntry] = field(default_factory=list)
    writes: list[Seen] = field(default_factory=list)
    proxy_rids: list[str] = field(default_factory=list)  # of the error answers the proxy made up
    logins: int = 0
    worst_gap: float = 0.0
    retried: ItemStatus | None = None
    retry_audit: list[AuditEntry] = field(default_factory=list)
    retry_writes: list[Seen] = field(default_factory=list)
    copies: list[dict[str, object]] | None = None  # vCenter rows: the VMs with its instanceUuid, at the end


def _params(rows: list[WriteRow], peer: pytest.MarkDecorator) -> list[object]:
    return [
        pytest.param(
            row, id=row.id, marks=[peer, *([pytest.mark.xfail(reason=row.bug.reason, strict=True)] if row.bug else [])]
        )
        for row in rows
    ]


@pytest.mark.parametrize("row", _params(NOVA_ROWS, pytest.mark.nova_peer))
def test_write_fault(
    row: WriteRow,
    write_site: WriteSite,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    observed = WriteObserved()

    def run() -> None:
        with write_site.site.proxy() as proxy:
            asyncio.run(run_write_row(write_site, row, proxy, tmp_path, observed))

    def put_back() -> None:
        if row.act.moves_server:
            write_site.finish(row)
        elif not row.act.needs_server:
            write_site.restore()

    record_row(
        row.id, observed, (caplog, capfd), run, put_back, lambda: check(row, observed),
        lambda expected: outcome(row, observed, expected),
    )  # fmt: skip


@pytest.mark.parametrize("row", _params(VCENTER_ROWS, pytest.mark.vcsim_peer))
def test_vcenter_write_fault(
    row: WriteRow,
    vcenter_write_site: VcenterWriteSite,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    observed = WriteObserved()
    site = vcenter_write_site

    def run() -> None:
        with site.site.proxy() as proxy:
            asyncio.run(run_vcenter_row(site, row, proxy, tmp_path, observed))

    def verify() -> None:
        observed.copies = site.copies(row)
        check(row, observed)

    record_row(
        row.id, observed, (caplog, capfd), run, lambda: None, verify, lambda expected: outcome(row, observed, expected)
    )


def record_row(
    row_id: str,
    observed: WriteObserved,
    logs: tuple[pytest.LogCaptureFixture, pytest.CaptureFixture[str]],
    run: Callable[[], None],
    put_back: Callable[[], None],
    verify: Callable[[], None],
    outcome_of: Callable[[bool], WriteOutcome],
) -> None:
    """One row, the same way for every write row: run it, always put the peer back and note its time and
    worst loop gap, verify it, with no traceback logged and nothing on stderr; its table line is kept
    whatever happened."""
    caplog, capfd = logs
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    expected = False
    try:
        try:
            run()
        finally:
            put_back()
            SECONDS[row_id], GAPS[row_id] = time.monotonic() - started, observed.worst_gap
        verify()
        tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
        assert not tracebacks, [caplog.text]
        assert capfd.readouterr().err == ""
        expected = True
    finally:
        OUTCOMES[row_id] = outcome_of(expected)


# -- one row ----------------------------------------------------------------------------------


def plan_for(row: WriteRow, snap: OpenStackSnapshot, target: Target, migration_id: str | None = None) -> Plan:
    estate = Estate(openstack=(snap,))
    if row.act.moves_server:
        plan = move_plan(row, snap.cloud, target.server, migration_id)
    elif row.act is Act.FORCE_DOWN:
        plan = plan_service_change(estate, ServiceChange(snap.cloud, target.host, forced_down=True))
    elif row.act is Act.DISABLE:
        plan = plan_service_change(estate, ServiceChange(snap.cloud, target.host, enable=False, reason=DISABLE_REASON))
    else:
        request = EvacuationRequest(
            snap.cloud, FAILED_HOST, (target.server,), start_after=row.act is Act.EVACUATE_AND_START
        )
        plan = plan_evacuation(estate, request)
    assert plan.refused is None and len(plan.sendable) == 1 and not plan.blocked, plan
    return plan


async def run_write_row(
    site: WriteSite, row: WriteRow, proxy: FaultProxy, workdir: Path, observed: WriteObserved
) -> None:
    """Fill ``observed`` as the row goes, so a failing row still shows how far it got."""
    backend = site.site.backend(proxy)
    runner: ActionRunner | None = None
    try:
        target = site.target(row)
        if row.act.moves_server:
            await asyncio.to_thread(site.prepare, row)
        snap = await asyncio.to_thread(backend.fetch)
        plan = plan_for(row, snap, target, site.migrations.get(row.id))
        runner = ActionRunner(
            {backend.name: backend},
            AuditLog(workdir / "audit.jsonl"),
            claims=Claims(workdir / "claims"),
            tracking=TRACKING,
        )
        faults, logins = row.faults(target), site.site.logins(proxy)
        if row.at_follow_up:
            _inject_before_the_follow_up(runner, proxy, faults, observed)
        else:
            observed.faults = [proxy.inject(fault) for fault in faults]
        operation = await _run(runner, plan, observed)
        observed.logins = site.site.logins(proxy) - logins
        observed.item = _only_item(operation)
        observed.proxy_rids = list(proxy.request_ids)
        observed.audit = await asyncio.to_thread(runner.audit.entries)
        observed.writes = _writes(proxy)
        proxy.clear()
        if row.retry is not None:
            if row.act.needs_server:
                await asyncio.to_thread(site.settled, target.server)
            elif row.act.moves_server:
                await asyncio.to_thread(wait_for_move, site.direct, target.server, None, settled)
            again = await _run(runner, runner.retry_plan(operation), observed)
            observed.retried = _only_item(again)
            observed.retry_audit = await asyncio.to_thread(runner.audit.entries)
            observed.retry_writes = _writes(proxy)
    finally:
        if runner is not None:
            await runner.aclose()
        await asyncio.to_thread(backend.close)


def restart_plan(snap: VCenterSnapshot, target: Target) -> Plan:
    """Core's plan for the dead host, down to the row's VM (the other rows' VMs wait for their rows)."""
    estate = Estate(vcenters=(snap,))
    plan = plan_vm_restarts(estate, correlate(estate), RestartRequest(snap.vcenter, target.host))
    plan = replace(plan, steps=tuple(s for s in plan.steps if s.parameters.get("vm_moref") == target.server))
    assert plan.refused is None and len(plan.sendable) == 1 and not plan.blocked, plan
    return plan


async def run_vcenter_row(
    site: VcenterWriteSite, row: WriteRow, proxy: FaultProxy, workdir: Path, observed: WriteObserved
) -> None:
    """As ``run_write_row``, for the restart of the row's VM through the proxy in front of the simulator."""
    backend: VSphereBackend = site.site.backend(proxy)
    runner: ActionRunner | None = None
    try:
        target = site.target(row)
        plan = restart_plan(await asyncio.to_thread(backend.fetch), target)
        runner = ActionRunner(
            {backend.name: backend},
            AuditLog(workdir / "audit.jsonl"),
            claims=Claims(workdir / "claims"),
            tracking=TRACKING,
        )
        logins = site.site.logins(proxy)
        observed.faults = [proxy.inject(fault) for fault in row.faults(target)]
        operation = await _run(runner, plan, observed)
        observed.logins = site.site.logins(proxy) - logins
        observed.item = _only_item(operation)
        observed.audit = await asyncio.to_thread(runner.audit.entries)
        observed.writes = _writes(proxy)
        proxy.clear()
        if row.retry is not None:
            again = await _run(runner, runner.retry_plan(operation), observed)
            observed.retried = _only_item(again)
            observed.retry_audit = await asyncio.to_thread(runner.audit.entries)
            observed.retry_writes = _writes(proxy)
    finally:
        if runner is not None:
            await runner.aclose()
        await asyncio.to_thread(backend.close)


async def _run(runner: ActionRunner, plan: Plan, observed: WriteObserved) -> Operation:
    ticker = Ticker()
    try:
        return await asyncio.wait_for(runner.run(plan, fenced=True), RUN_SECONDS)
    finally:
        ticker.stop()
        observed.worst_gap = max(observed.worst_gap, ticker.worst)


def _inject_before_the_follow_up(
    runner: ActionRunner, proxy: FaultProxy, faults: list[Fault], observed: WriteObserved
) -> None:
    """The faults go in as the item's second write is about to be sent: SENDING again after TRACKING.

    The runner calls listeners synchronously, after the audit record and before the call.
    """
    tracked = False

    def listen(_operation: Operation, item: ItemStatus) -> None:
        nonlocal tracked
        if item.state is ItemState.TRACKING:
            tracked = True
        elif item.state is ItemState.SENDING and tracked and not observed.faults:
            observed.faults = [proxy.inject(fault) for fault in faults]

    def watch(operation: Operation) -> None:
        if not observed.faults:  # the faulted run only, not the retry
            operation.listen(listen)

    runner.watch(watch)


def _only_item(operation: Operation) -> ItemStatus:
    assert len(operation.items) == 1, operation.items
    return operation.items[0]


def _writes(proxy: FaultProxy) -> list[Seen]:
    return [_seen(x, call) for x in list(proxy.exchanges) if (call := write_call(x.request)) is not None]


def _seen(exchange: Exchange, call: str) -> Seen:
    return Seen(call, exchange.forwarded, exchange.status, exchange.request_id, exchange.cut)


def counts(writes: list[Seen]) -> dict[str, tuple[int, int]]:
    """Per write call: requests the proxy saw, and how many times one reached Nova."""
    tally: dict[str, tuple[int, int]] = {}
    for w in writes:
        seen, reached = tally.get(w.call, (0, 0))
        tally[w.call] = (seen + 1, reached + w.forwarded)
    return tally


# -- checks -----------------------------------------------------------------------------------


class Problems:
    """Every way a row differs from what it expects, reported together (an xfail row shows them all)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def expect(self, ok: object, what: str) -> bool:
        if not ok:
            self.found.append(what)
        return bool(ok)

    def raise_any(self) -> None:
        assert not self.found, "\n".join(self.found)


def check(row: WriteRow, o: WriteObserved) -> None:
    assert o.item is not None, "the faulted run never finished"
    problems = Problems()
    problems.expect(o.worst_gap < MAX_LOOP_GAP_SECONDS, f"the event loop stalled {o.worst_gap:.2f} s")
    rid = re.escape(o.proxy_rids[-1]) if o.proxy_rids else "(no request id from the proxy)"
    expected = row.message.replace("{rid}", rid)
    problems.expect(o.item.state is row.state, f"the item ended {o.item.state.value}, not {row.state.value}")
    problems.expect(re.search(expected, o.item.message), f"item message {o.item.message!r} !~ {expected!r}")
    for fault in o.faults:
        hit = fault.hits == fault.times if fault.times is not None else fault.kind.per_connection or fault.hits > 0
        problems.expect(hit, f"{fault.kind.value} fault hit {fault.hits} time(s), not {fault.times or 'at least once'}")
    if row.logins is not None:
        problems.expect(o.logins == row.logins, f"{o.logins} logins during the faulted run, not {row.logins}")
    check_writes(problems, "the faulted run", o.writes, row.writes)
    if o.copies is not None:  # a vCenter row: never registered twice; running once the row is over
        shown = [(vm["moref"], vm["host"], vm["power_state"], vm["connection_state"]) for vm in o.copies]
        running = [vm for vm in o.copies if vm["power_state"] == "poweredOn" and vm["connection_state"] == "connected"]
        ends_running = row.retry is not None or row.state is ItemState.DONE
        problems.expect(len(o.copies) == 1, f"{len(o.copies)} VMs with the row's instanceUuid, not 1: {shown}")
        problems.expect(len(running) == int(ends_running), f"the VM runs {len(running)} time(s) at the end: {shown}")
    check_audit(problems, "after the faulted run", row.audit, o.audit, o)
    if row.retry is not None:
        retried = o.retried
        if problems.expect(retried is not None, "the retry never finished") and retried is not None:
            problems.expect(retried.state is ItemState.DONE, f"the retry ended {retried.state.value}, not done")
            problems.expect(
                re.search(row.retry.message, retried.message),
                f"retry message {retried.message!r} !~ {row.retry.message!r}",
            )
            check_writes(problems, "the retry", o.retry_writes, row.retry.writes or row.writes)
            check_audit(problems, "after the retry", row.retry.audit, o.retry_audit, o)
            before = {e.id: e for e in o.audit}
            for entry in o.retry_audit if row.retry.closes_open else ():
                if entry.id in before and before[entry.id].outcome is Outcome.SENT:
                    found = (entry.result or "").startswith("found by a later check: ")
                    problems.expect(found, f"the open entry was not completed by the retry's check: {entry}")
    problems.raise_any()


def _nonzero(writes: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {call: n for call, n in writes.items() if n != (0, 0)}


def check_writes(problems: Problems, when: str, writes: list[Seen], expected: dict[str, tuple[int, int]]) -> None:
    """The write requests the proxy saw and those that reached Nova, per call; none reached it twice."""
    tally = counts(writes)
    twice = {call: n for call, (_seen, n) in tally.items() if n > 1}
    problems.expect(not twice, f"{when}: a write reached the peer more than once: {twice}")
    problems.expect(tally == _nonzero(expected), f"{when}: writes (seen, reached Nova) {tally}, not {expected}")


def check_audit(
    problems: Problems, when: str, expected: tuple[Entry, ...], entries: list[AuditEntry], o: WriteObserved
) -> None:
    got, want = [(e.verb, e.outcome.value) for e in entries], [(x.verb, x.outcome.value) for x in expected]
    if not problems.expect(got == want, f"audit log {when}: {got}, not {want}"):
        return
    assert o.item is not None
    for wanted, entry in zip(expected, entries, strict=True):
        if entry.outcome is Outcome.SENT:
            unfinished = (entry.finished_at, entry.error, entry.result) == (None, None, None)
            problems.expect(unfinished, f"audit {when}: a 'sent' entry with an outcome: {entry}")
        elif entry.outcome is Outcome.FAILED:  # the item says what the log says
            said = bool(entry.error) and o.item.message.endswith(entry.error or "")
            problems.expect(said, f"audit {when}: error {entry.error!r} is not the item's {o.item.message!r}")
        rid = _request_id(wanted, o)
        problems.expect(entry.request_id == rid, f"audit {when}: {entry.verb} request id {entry.request_id}, not {rid}")


def _request_id(want: Entry, o: WriteObserved) -> str | None:
    """The request id ``want`` names: None, the proxy's error answer's, Nova's answer to that write, task keys."""
    if want.rid is Rid.NONE:
        return None
    if want.rid is Rid.TASKS:
        keys = [e.request_id for e in o.retry_audit or o.audit if e.request_id and TASK_KEYS.match(e.request_id)]
        counted = [k for k in keys if len(k.split(",")) == want.tasks]
        return counted[-1] if counted else f"({want.tasks} vCenter task key(s))"
    call = CALL_OF[want.verb]
    if want.rid is Rid.PROXY:
        made_up = [w.request_id for w in o.writes if w.call == call and w.request_id in o.proxy_rids]
        return made_up[-1] if made_up else "(the proxy answered this write with no request id)"
    novas = [w.request_id for w in o.retry_writes or o.writes if w.call == call and w.novas_answer]
    assert all(r and REQUEST_ID.match(r) for r in novas), novas
    return novas[-1] if novas else "(Nova's answer never reached the app)"


# -- the table --------------------------------------------------------------------------------


def outcome(row: WriteRow, o: WriteObserved, expected: bool) -> WriteOutcome:
    verdict = "yes" if expected else f"NO: {row.bug.title} (known bug, row xfail)" if row.bug else "NO"
    if o.item is None:
        return WriteOutcome(row.call, row.fault, "(the faulted run never finished)", "—", "—", "—", verdict)
    after = "—"
    if row.retry is not None:
        if o.retried is None:
            after = "(the retry never finished)"
        else:
            sent = sum(n for _seen, n in counts(o.retry_writes).values()) - sum(
                n for _seen, n in counts(o.writes).values()
            )
            after = (
                f"`{_shown(o.retried)}`; {sent} more write(s) reached {row.peer}; "
                f"audit: {_audit_cell(o.retry_audit, o)}"
            )
    writes = _writes_cell(o.writes, row.writes)
    return WriteOutcome(row.call, row.fault, _shown(o.item), _audit_cell(o.audit, o), writes, after, verdict)


def _shown(item: ItemStatus) -> str:
    return normalize_hosts(f"{item.state.value}: {item.message}")


def _audit_cell(entries: list[AuditEntry], o: WriteObserved) -> str:
    novas = {w.request_id for w in o.retry_writes or o.writes if w.novas_answer}
    parts = []
    for e in entries:
        if e.request_id is None:
            rid = "no request id"
        elif e.request_id in o.proxy_rids:
            rid = "the error answer's request id"
        elif e.request_id in novas:
            rid = "Nova's request id"
        elif TASK_KEYS.match(e.request_id):
            rid = f"{len(e.request_id.split(','))} task key(s)"
        else:
            rid = "a request id nobody answered with"
        found = ", found by a later check" if (e.result or "").startswith("found by a later check") else ""
        parts.append(f"{e.verb} {e.outcome.value}{found} ({rid})")
    return "; ".join(parts) or "(no entry)"


def _writes_cell(writes: list[Seen], expected: dict[str, tuple[int, int]]) -> str:
    tally = {call: (0, 0) for call in expected} | counts(writes)
    return ", ".join(f"{call} {seen} / {reached}" for call, (seen, reached) in tally.items())


def check_write_table() -> None:
    """The README's write table, once every row of both modules ran (the moves' module runs last and calls it)."""
    rows = [row.id for row in (*NOVA_ROWS, *VCENTER_ROWS)] + [row.id for row in MOVE_ROWS]  # moves: their module
    missing = [row for row in rows if row not in OUTCOMES]
    if missing:
        pytest.skip(f"the table needs every row; these did not run: {', '.join(missing)}")
    print("\nrow seconds (worst loop gap): " + ", ".join(f"{n} {SECONDS[n]:.1f} ({GAPS[n]:.2f})" for n in OUTCOMES))
    print(f"total {sum(SECONDS.values()):.1f} s")
    check_readme(render_writes([OUTCOMES[row] for row in rows]), markers=(WRITE_BEGIN, WRITE_END))


def test_nothing_is_left_running(census: ThreadCensus) -> None:
    deadline = time.monotonic() + 5.0
    while census.extra() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not census.extra(), f"threads left running: {[t.name for t in census.extra()]}"
