"""The vCenter moves under faults, through the real action layer: each row of write_rows_vcenter_moves.py.

As the Nova rows of test_write_faults.py: a fresh backend behind a fresh proxy reads the simulator,
core plans the move from that snapshot (a vMotion, a Storage vMotion, maintenance mode of an emptied
host or its undo, the cancel of a slow relocation), the fault goes in, ``ActionRunner.run`` sends the
plan. Then the item's end and message, the audit log, the move's SOAP writes the proxy saw and those
that reached vCenter (never one twice), the logins, what vCenter really did (read without the proxy),
no traceback, an event loop that never stalled; where the answer was lost, the fault is cleared and
``retry_plan`` must find the move done and send nothing. The last tests write the README's write table
(with the rows of test_write_faults.py, when they ran first) and check that nothing was left running.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from hybridview.actions.audit import AuditLog, Outcome
from hybridview.actions.claims import Claims
from hybridview.actions.runner import ActionRunner
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.actions import Plan, Step
from hybridview.core.drain import DrainRequest, plan_drain
from hybridview.core.health import evaluate
from hybridview.core.identity import VmRef
from hybridview.core.model import Estate, VCenterSnapshot
from hybridview.core.moves import plan_relocation, plan_task_cancel
from hybridview.core.view import EstateView
from hybridview.actions.operation import ItemState
from tests.faults.census import ThreadCensus
from tests.faults.proxy import FaultProxy
from tests.faults.sites import Authorities, VcenterSite
from tests.faults.table import WriteOutcome
from tests.faults.test_write_faults import (
    TRACKING,
    Problems,
    Seen,
    WriteObserved,
    _audit_cell,
    _only_item,
    _run,
    _seen,
    _shown,
    _writes_cell,
    check_audit,
    check_writes,
    counts,
    record_row,
)
from tests.faults.test_write_faults import test_nothing_is_left_running as _nothing_left_running
from tests.faults.test_write_faults import check_write_table
from tests.faults.write_rows_vcenter_moves import MOVE_ROWS, MOVE_WRITES, Call, MoveRow
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.vcsim_peer
SLOW_RELOCATION_SECONDS = 30.0  # the cancel rows' relocation runs until cancelled
SETTLE_SECONDS = 10.0
MAINTENANCE_TIMEOUT_SECONDS = 30


@dataclass(slots=True)
class MovesSite:
    site: VcenterSite
    direct: VSphereBackend  # no proxy: sets up, checks and cleans up around a row


@dataclass(slots=True)
class MoveObserved(WriteObserved):
    step: Step | None = None  # the row's planned step
    took_effect: bool | None = None  # read from the simulator once the row is over


@pytest.fixture(scope="module")
def moves_site(census: ThreadCensus, authorities: Authorities) -> Iterator[MovesSite]:
    before = set(threading.enumerate())
    with VcsimPeer(clusters=1, hosts=3, vms=12, datastores=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        census.allow_new(before)
        direct = vcsim_backend(peer)
        try:
            yield MovesSite(VcenterSite(peer, authorities), direct)
        finally:
            direct.close()


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in MOVE_ROWS])
def test_vcenter_move_write_fault(
    row: MoveRow,
    moves_site: MovesSite,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    observed = MoveObserved()

    def run() -> None:
        with moves_site.site.proxy() as proxy:
            asyncio.run(run_move_row(moves_site, row, proxy, tmp_path, observed))

    def put_back() -> None:
        if observed.step is not None:
            observed.took_effect = took_effect(row, moves_site, observed.step)
            clean_up(row, moves_site, observed.step)

    record_row(
        row.id, observed, (caplog, capfd), run, put_back, lambda: check(row, observed),
        lambda expected: outcome(row, observed, expected),
    )  # fmt: skip


# -- one row ----------------------------------------------------------------------------------


def prepare(row: MoveRow, site: MovesSite) -> str | None:
    """Bring the simulator where the row's move applies; the slow relocation's task key for a cancel row.

    A maintenance row's host is emptied first (its VMs vMotioned to the others), so the row is about the
    maintenance call alone; an exit row's host then enters maintenance mode.
    """
    peer, direct = site.site.peer, site.direct
    if row.move is Call.CANCEL:
        vm, target = _vm_and_target(peer)
        peer.set_relocate_seconds(SLOW_RELOCATION_SECONDS)
        return direct.relocate_vm(vm, host_moref=target, datastore_moref=None).request_id
    if row.move.maintenance:
        host = _maintenance_host(peer)
        others = [h["moref"] for h in peer.list_hosts() if h["moref"] != host]
        for i, vm in enumerate(v["moref"] for v in peer.list_vms() if v["host"] == host):
            direct.relocate_vm(vm, host_moref=others[i % len(others)], datastore_moref=None)
        _settle(lambda: not any(v["host"] == host for v in peer.list_vms()), f"{host} never emptied")
        if row.move is Call.EXIT_MAINTENANCE:
            direct.enter_maintenance(host, timeout_seconds=MAINTENANCE_TIMEOUT_SECONDS, evacuate_powered_off=False)
            _settle(lambda: _in_maintenance(peer, host), f"{host} never entered maintenance mode")
    return None


def _vm_and_target(peer: VcsimPeer) -> tuple[str, str]:
    vm = next(v for v in peer.list_vms() if v["power_state"] == "poweredOn")
    target = next(h["moref"] for h in peer.list_hosts() if h["moref"] != vm["host"] and not h["in_maintenance"])
    return str(vm["moref"]), str(target)


def _maintenance_host(peer: VcsimPeer) -> str:
    """The first host by name: the same one every run (the simulator places its VMs at random)."""
    return str(min(peer.list_hosts(), key=lambda h: h["name"])["moref"])


def _in_maintenance(peer: VcsimPeer, host: str) -> bool:
    return any(h["moref"] == host and h["in_maintenance"] for h in peer.list_hosts())


def _settle(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def plan_for(row: MoveRow, snap: VCenterSnapshot, task_key: str | None) -> Plan:
    """Core's plan of the row's move, from the snapshot read through the proxy."""
    estate = Estate(vcenters=(snap,))
    view = EstateView(estate, evaluate(estate))
    if row.move is Call.CANCEL:
        assert task_key is not None, "the slow relocation did not start"
        plan = plan_task_cancel(view, snap.vcenter, task_key)
    elif row.move.maintenance:
        host = _maintenance_host_of(snap, row.move is Call.EXIT_MAINTENANCE)
        plan = plan_drain(view, DrainRequest(snap.vcenter, host, undo=row.move is Call.EXIT_MAINTENANCE))
    else:
        hosts = {h.moref: h for h in snap.hosts}
        running = (v for v in snap.vms if v.power_state == "poweredOn" and hosts[v.host_moref or ""].responding)
        vm = min(running, key=lambda v: v.name)
        if row.move is Call.VMOTION:
            source = hosts[vm.host_moref or ""]
            target = min(
                (h for h in snap.hosts if h.moref != source.moref and h.cluster_moref == source.cluster_moref),
                key=lambda h: h.name,
            ).moref
            plan = plan_relocation(view, VmRef(snap.vcenter, vm.moref), host_moref=target, datastore_moref=None)
        else:
            datastore = next(d.moref for d in snap.datastores if d.moref not in vm.datastores and d.accessible)
            plan = plan_relocation(view, VmRef(snap.vcenter, vm.moref), host_moref=None, datastore_moref=datastore)
    assert plan.refused is None and len(plan.sendable) == 1 and not plan.blocked, plan
    assert plan.sendable[0].key.verb.value == row.move.verb, plan
    return plan


def _maintenance_host_of(snap: VCenterSnapshot, in_maintenance: bool) -> str:
    """The host ``prepare`` emptied (an exit row's: the one in maintenance mode)."""
    if in_maintenance:
        return next(h.moref for h in snap.hosts if h.in_maintenance)
    return min(snap.hosts, key=lambda h: h.name).moref


async def run_move_row(site: MovesSite, row: MoveRow, proxy: FaultProxy, workdir: Path, observed: MoveObserved) -> None:
    """Fill ``observed`` as the row goes, so a failing row still shows how far it got."""
    backend: VSphereBackend = site.site.backend(proxy)
    runner: ActionRunner | None = None
    try:
        task_key = await asyncio.to_thread(prepare, row, site)
        plan = plan_for(row, await asyncio.to_thread(backend.fetch), task_key)
        observed.step = plan.sendable[0]
        runner = ActionRunner(
            {backend.name: backend},
            AuditLog(workdir / "audit.jsonl"),
            claims=Claims(workdir / "claims"),
            tracking=TRACKING,
        )
        logins = site.site.logins(proxy)  # the plan's read logged in: these are the re-logins
        observed.faults = [proxy.inject(fault) for fault in row.faults()]
        operation = await _run(runner, plan, observed)
        observed.logins = site.site.logins(proxy) - logins
        observed.item = _only_item(operation)
        observed.proxy_rids = list(proxy.request_ids)
        observed.audit = await asyncio.to_thread(runner.audit.entries)
        observed.writes = move_writes(proxy)
        proxy.clear()
        if row.retry is not None:
            again = await _run(runner, runner.retry_plan(operation), observed)
            observed.retried = _only_item(again)
            observed.retry_audit = await asyncio.to_thread(runner.audit.entries)
            observed.retry_writes = move_writes(proxy)
    finally:
        if runner is not None:
            await runner.aclose()
        await asyncio.to_thread(backend.close)


def move_writes(proxy: FaultProxy) -> list[Seen]:
    return [_seen(x, x.request.soap_method) for x in list(proxy.exchanges) if x.request.soap_method in MOVE_WRITES]


def took_effect(row: MoveRow, site: MovesSite, step: Step) -> bool:
    """What vCenter did, read without the proxy: the VM where asked, the host's mode, the task cancelled."""
    p, peer = step.parameters, site.site.peer
    if row.move is Call.CANCEL:
        return site.direct.task_progress(p["task_key"]).cancelled
    if row.move.maintenance:
        return _in_maintenance(peer, p["host_moref"]) is (row.move is Call.ENTER_MAINTENANCE)
    vm = next(v for v in peer.list_vms() if v["moref"] == p["vm_moref"])
    return vm["host"] == p["host_moref"] if p["host_moref"] else p["datastore_moref"] in vm["datastores"]


def clean_up(row: MoveRow, site: MovesSite, step: Step) -> None:
    """No task left running, no host left in maintenance mode, relocations instant again."""
    peer, direct = site.site.peer, site.direct
    if row.move is Call.CANCEL:
        key = step.parameters["task_key"]
        if direct.task_progress(key).state in ("queued", "running"):
            direct.cancel_task(key)
        _settle(lambda: direct.task_progress(key).state not in ("queued", "running"), f"{key} never ended")
        peer.set_relocate_seconds(0)
    elif row.move.maintenance:
        host = step.parameters["host_moref"]
        if _in_maintenance(peer, host):
            direct.exit_maintenance(host, timeout_seconds=MAINTENANCE_TIMEOUT_SECONDS)
            _settle(lambda: not _in_maintenance(peer, host), f"{host} never left maintenance mode")


# -- checks and the table ---------------------------------------------------------------------


def check(row: MoveRow, o: MoveObserved) -> None:
    """As test_write_faults.check for a move row, and what vCenter really did."""
    assert o.item is not None, "the faulted run never finished"
    problems = Problems()
    problems.expect(o.worst_gap < 1.0, f"the event loop stalled {o.worst_gap:.2f} s")
    problems.expect(o.item.state is row.state, f"the item ended {o.item.state.value}, not {row.state.value}")
    problems.expect(re.search(row.message, o.item.message), f"item message {o.item.message!r} !~ {row.message!r}")
    for fault in o.faults:
        hit = fault.hits == fault.times if fault.times is not None else fault.hits > 0
        problems.expect(hit, f"{fault.kind.value} fault hit {fault.hits} time(s), not {fault.times or 'at least once'}")
    problems.expect(o.logins == row.logins, f"{o.logins} logins during the faulted run, not {row.logins}")
    problems.expect(o.took_effect is row.took_effect, f"vCenter did it: {o.took_effect}, not {row.took_effect}")
    check_writes(problems, "the faulted run", o.writes, row.writes)
    check_audit(problems, "after the faulted run", row.audit, o.audit, o)
    if row.retry is not None:
        retried = o.retried
        if problems.expect(retried is not None, "the retry never finished") and retried is not None:
            problems.expect(retried.state is ItemState.DONE, f"the retry ended {retried.state.value}, not done")
            problems.expect(
                re.search(row.retry.message, retried.message),
                f"retry message {retried.message!r} !~ {row.retry.message!r}",
            )
            check_writes(problems, "the retry", o.retry_writes, row.writes)  # nothing more was sent
            check_audit(problems, "after the retry", row.retry.audit, o.retry_audit, o)
            left_open = {e.id for e in o.audit if e.outcome is Outcome.SENT}
            for entry in (e for e in o.retry_audit if e.id in left_open):
                found = (entry.result or "").startswith("found by a later check: ")
                problems.expect(found, f"the open entry was not completed by the retry's check: {entry}")
    problems.raise_any()


SIMULATOR_HOST = re.compile(r"\bDC\d+_C\d+_H\d+\b")  # the simulator's VMs start on random hosts


def _stable(text: str) -> str:
    """The same on every run: an ESXi host's name without its number (which host a VM starts on varies)."""
    return SIMULATOR_HOST.sub("DC0_C0_Hn", text)


def outcome(row: MoveRow, o: MoveObserved, expected: bool) -> WriteOutcome:
    found = _outcome(row, o, expected)
    return replace(found, item=_stable(found.item), audit=_stable(found.audit), after=_stable(found.after))


def _outcome(row: MoveRow, o: MoveObserved, expected: bool) -> WriteOutcome:
    verdict = "yes" if expected else "NO"
    if o.item is None:
        return WriteOutcome(row.call, row.fault, "(the faulted run never finished)", "—", "—", "—", verdict)
    after = "—"
    if row.retry is not None:
        if o.retried is None:
            after = "(the retry never finished)"
        else:
            sent = sum(n for _s, n in counts(o.retry_writes).values()) - sum(n for _s, n in counts(o.writes).values())
            audit = _audit_cell(o.retry_audit, o)
            after = f"`{_shown(o.retried)}`; {sent} more write(s) reached {row.peer}; audit: {audit}"
    writes = _writes_cell(o.writes, row.writes)
    return WriteOutcome(row.call, row.fault, _shown(o.item), _audit_cell(o.audit, o), writes, after, verdict)


def test_readme_write_table_is_what_the_rows_observed() -> None:
    """Checked here, after the rows of test_write_faults.py and of this module have run (a full run)."""
    check_write_table()


def test_nothing_is_left_running(census: ThreadCensus) -> None:
    _nothing_left_running(census)
