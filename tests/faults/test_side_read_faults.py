"""Faults on a Nova refresh's side reads (side_rows.py), through the real proxy, Nova peer and monitor.

Per row: a good read; the fault on Placement, os-aggregates or os-instance-actions only; a refresh,
after which the endpoint is still OK with every compute node and server, the other side reads' data
is there, and the snapshot says what failed (``capacity_error``, or a warning for the instance
actions); no traceback, the loop kept ticking; the fault cleared, the next refresh has it all again.
The site has one live-migrated server (so its actions are worth reading) and one aggregate; the
instance actions are asked on every read here (KEEP_SECONDS 0), as they are every 5 minutes.
The last tests write tests/faults/README.md's table and check that nothing was left running.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import pytest

from hybridview.backends.nova import instance_actions
from hybridview.core.model import OpenStackSnapshot
from tests.faults.census import ThreadCensus
from tests.faults.observe import Observed, run_row
from tests.faults.rows import Expect, Tamper
from tests.faults.side_rows import SIDE_ROWS, SideRow
from tests.faults.sites import NovaSite, endpoint_status
from tests.faults.table import Outcome, check_readme, normalize, render

pytestmark = [pytest.mark.slow, pytest.mark.nova_peer]
README = Path(__file__).with_name("README.md")
MARKERS = ("<!-- side-read-fault-matrix:begin -->", "<!-- side-read-fault-matrix:end -->")
COLUMNS = (
    "read",
    "fault",
    "what the operator sees after the faulted refresh",
    "compute nodes and servers all shown",
    "next refresh has it all again",
)
MAX_LOOP_GAP_SECONDS = 1.0
MIGRATION_SECONDS = 30.0
OUTCOMES: dict[str, Outcome] = {}


@pytest.fixture(scope="module")
def side_site(nova_site: NovaSite) -> NovaSite:
    """The fault site with one aggregate, and one server live-migrated (its actions are then worth reading)."""
    conn = nova_site.peer.connect()
    try:
        aggregate = conn.compute.create_aggregate(name="fault-aggregate")
        conn.compute.add_host_to_aggregate(aggregate, nova_site.computes[0])
        server = conn.compute.get_server(sorted(nova_site.servers)[0])
        conn.compute.live_migrate_server(server, host=None, block_migration="auto")
        deadline = time.monotonic() + MIGRATION_SECONDS
        while (moved := conn.compute.get_server(server.id)).compute_host == server.compute_host or moved.task_state:
            assert time.monotonic() < deadline, "the live migration did not end"
            time.sleep(0.2)
    finally:
        conn.close()
    return nova_site


@pytest.fixture(autouse=True)
def actions_every_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instance_actions, "KEEP_SECONDS", 0.0)


@pytest.mark.parametrize("side", [pytest.param(r, id=r.id) for r in SIDE_ROWS])
def test_side_fault(
    side: SideRow,
    side_site: NovaSite,
    census: ThreadCensus,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    del census  # taken before the peer started
    caplog.set_level(logging.WARNING)
    observed = Observed()
    try:
        with side_site.proxy() as proxy:
            asyncio.run(run_row(side_site, side.row, proxy, observed))
    finally:
        OUTCOMES[side.id] = outcome(side_site, side, observed)
    check(side_site, side, observed)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info], [caplog.text]
    assert capfd.readouterr().err == ""


def _snapshot(site: NovaSite, observed: Observed, which: str = "faulted") -> OpenStackSnapshot:
    publication = observed.faulted if which == "faulted" else observed.recovered
    assert publication is not None
    (snap,) = [s for s in publication.view.estate.openstack if s.cloud == site.name]
    return snap


def _said(site: NovaSite, side: SideRow, observed: Observed) -> str | None:
    assert observed.faulted is not None
    warnings = endpoint_status(observed.faulted.view, site.name).warnings
    if side.row.expect is Expect.SKIPPED:
        return next((w for w in warnings if "malformed" in w), None)
    return side.read.said(_snapshot(site, observed), warnings)


def outcome(site: NovaSite, side: SideRow, observed: Observed) -> Outcome:
    if observed.faulted is None or observed.read is None:
        return Outcome(side.read.name, side.row.fault, "(the faulted refresh never finished)", "NO", "NO")
    status = "OK" if observed.read.ok else f"STALE: {observed.read.error}"
    said = _said(site, side, observed)
    kept = "yes" if observed.read.ok and site.data_present(observed.faulted.view) else "NO"
    shown = f"{status}; {said}" if said else status
    logins = f" (logged in again {observed.logins} time(s))" if observed.logins else ""
    return Outcome(
        side.read.name, side.row.fault, normalize(shown + logins), kept, "yes" if observed.recovered else "NO"
    )


def check(site: NovaSite, side: SideRow, observed: Observed) -> None:
    assert observed.read is not None and observed.faulted is not None and observed.recovered is not None
    assert observed.worst_gap < MAX_LOOP_GAP_SECONDS, f"the event loop stalled {observed.worst_gap:.2f} s"
    row = side.row
    if row.logins is not None:
        assert observed.logins == row.logins, f"{observed.logins} logins during the fault, not {row.logins}"
    assert observed.read.ok, observed.read
    assert all(endpoint_status(p.view, site.name).ok for p in observed.during), "the endpoint went STALE"
    assert site.data_present(observed.faulted.view), "compute nodes or servers are missing"
    snap, said = _snapshot(site, observed), _said(site, side, observed)
    if row.expect is Expect.SKIPPED:
        tamper = observed.faults[0].rewrite
        assert isinstance(tamper, Tamper) and tamper.victim is not None, "the answer held no record to spoil"
        assert said is not None and tamper.victim in said, said
        assert snap.capacity_error is None
        shown = {p.name for p in snap.providers} | {f"id {a.id}" for a in snap.aggregates}
        assert tamper.victim not in shown
    else:
        expected = row.error.replace("{rid}", re.escape(observed.request_ids[-1]) if observed.request_ids else "")
        assert said is not None and re.search(expected, said), said
        assert side.read.kept(snap), "another side read's data is gone"
    recovered = _snapshot(site, observed, "recovered")
    assert recovered.capacity_error is None
    assert len(recovered.providers) == len(site.computes) and len(recovered.aggregates) == 1
    assert recovered.instance_actions, "the migrated server's actions are read again"
    assert not endpoint_status(observed.recovered.view, site.name).warnings


def test_readme_table_is_what_the_side_read_matrix_observed() -> None:
    missing = [r.id for r in SIDE_ROWS if r.id not in OUTCOMES]
    if missing:
        pytest.skip(f"the table needs every row; these did not run: {', '.join(missing)}")
    check_readme(render([OUTCOMES[r.id] for r in SIDE_ROWS], COLUMNS), README, MARKERS)


def test_nothing_is_left_running(census: ThreadCensus) -> None:
    deadline = time.monotonic() + 5.0
    while census.extra() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not census.extra(), f"threads left running: {[t.name for t in census.extra()]}"
