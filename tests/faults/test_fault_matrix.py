"""The fault matrix (issue #8): each fault, through a real proxy, in front of the real Nova API and vcsim.

Per row: a good read; the fault; a refresh, after which the endpoint is STALE with an error
an operator can read and none of its items shows healthy (unless the row is handled by
design: a re-login, a skipped record); no traceback; the event loop kept ticking; the fault
cleared, the next refresh recovers with fresh data. The last tests write the README table
from what the rows observed and check that nothing was left running.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest

from hybridview.core.health import Severity
from hybridview.service.publication import Publication
from tests.faults.census import ThreadCensus
from tests.faults.observe import Observed, run_row
from tests.faults.rows import NOVA, ROWS, Expect, Row, Tamper
from tests.faults.sites import Site, endpoint_status
from tests.faults.table import Outcome, check_readme, normalize, render

pytestmark = pytest.mark.slow
MAX_LOOP_GAP_SECONDS = 1.0  # a guard against blocking the loop, not a timing benchmark
OUTCOMES: dict[str, Outcome] = {}
SECONDS: dict[str, float] = {}


def _marks(row: Row) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.nova_peer if row.peer == NOVA else pytest.mark.vcsim_peer]
    if row.leaves_sockets:  # collected quietly after the row (reap_failed_login_sockets), but gc may come first
        marks.append(pytest.mark.filterwarnings("ignore::ResourceWarning"))
    return marks


def _params() -> list[object]:
    return [pytest.param(row, id=row.id, marks=_marks(row)) for row in ROWS]


@pytest.mark.parametrize("row", _params())
def test_fault(
    row: Row,
    request: pytest.FixtureRequest,
    census: ThreadCensus,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    del census  # taken before the first peer starts
    site: Site = request.getfixturevalue("nova_site" if row.peer == NOVA else "vcenter_site")
    if row.leaves_sockets:
        request.getfixturevalue("reap_failed_login_sockets")
    caplog.set_level(logging.WARNING)
    observed = Observed()
    started = time.monotonic()
    try:
        with site.proxy() as proxy:
            asyncio.run(run_row(site, row, proxy, observed))
    finally:
        OUTCOMES[row.id] = outcome(site, row, observed)
        SECONDS[row.id] = time.monotonic() - started
    check(site, row, observed)
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not tracebacks, [caplog.text]
    assert capfd.readouterr().err == ""


def outcome(site: Site, row: Row, observed: Observed) -> Outcome:
    read, recovered = observed.read, "yes" if observed.recovered is not None else "NO"
    if read is None:
        return Outcome(row.peer, row.fault, "(the faulted refresh never finished)", "NO", recovered)
    if not read.ok:
        shown = f"STALE: {read.error}"
        healthy = [p for p in observed.during if _shown_healthy(site, p)]
        return Outcome(row.peer, row.fault, normalize(shown), "NO" if healthy else "yes", recovered)
    shown = "OK" + "".join(f"; warning: {w}" for w in read.warnings)
    if observed.logins and row.expect is Expect.OK:
        shown += f" (logged in again {_times(observed.logins)}, transparently)"
    return Outcome(row.peer, row.fault, normalize(shown), "—", recovered)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _shown_healthy(site: Site, publication: Publication) -> list[str]:
    """The items of a stale endpoint that this publication shows at OK (none, for a healthy app)."""
    if endpoint_status(publication.view, site.name).ok:
        return []
    health, states = publication.view.health, publication.states
    return [
        ref.text()
        for ref in site.items(publication.view)
        if health.of(ref).severity < Severity.STALE or states[ref].level == "OK"
    ]


def check(site: Site, row: Row, observed: Observed) -> None:
    assert observed.read is not None and observed.faulted is not None
    read, published = observed.read, endpoint_status(observed.faulted.view, site.name)
    assert observed.worst_gap < MAX_LOOP_GAP_SECONDS, f"the event loop stalled {observed.worst_gap:.2f} s"
    if row.logins is not None:
        assert observed.logins == row.logins, f"{observed.logins} logins during the fault, not {row.logins}"
    if row.expect is Expect.STALE:
        expected = row.error.replace("{rid}", re.escape(observed.request_ids[-1]) if observed.request_ids else "")
        assert not read.ok and read.error and re.search(expected, read.error), read
        assert not published.ok and published.error, published
        assert published.error == read.error or published.error.startswith("change feed: "), published
        assert site.items(observed.faulted.view), "the stale endpoint's last data is gone"
        for publication in observed.during:
            assert not _shown_healthy(site, publication), (
                f"stale data shown healthy: {_shown_healthy(site, publication)}"
            )
    else:
        assert read.ok and published.ok, read
        assert all(endpoint_status(p.view, site.name).ok for p in observed.during), "the endpoint went STALE"
        if row.expect is Expect.OK:
            assert site.data_present(observed.faulted.view)
        else:
            check_skipped(site, observed)
    assert observed.recovered is not None
    assert not any("malformed" in w for w in endpoint_status(observed.recovered.view, site.name).warnings)


def check_skipped(site: Site, observed: Observed) -> None:
    """One record left out and named in a warning; the rest of the endpoint shown."""
    tamper, faulted = observed.faults[0].rewrite, observed.faulted
    assert isinstance(tamper, Tamper) and faulted is not None
    assert tamper.victim is not None, "the answer held no record to spoil"
    victim = tamper.victim
    warnings = endpoint_status(faulted.view, site.name).warnings
    assert any("malformed" in w and victim in w for w in warnings), warnings
    estate = faulted.view.estate
    shown = {i.id for s in estate.openstack for i in s.instances} | {v.moref for s in estate.vcenters for v in s.vms}
    assert victim not in shown
    assert site.data_present(faulted.view, missing=1)


def test_readme_table_is_what_the_matrix_observed() -> None:
    missing = [row.id for row in ROWS if row.id not in OUTCOMES]
    if missing:
        pytest.skip(f"the table needs every row; these did not run: {', '.join(missing)}")
    print("\nrow seconds: " + ", ".join(f"{name} {SECONDS[name]:.1f}" for name in OUTCOMES))
    print(f"total {sum(SECONDS.values()):.1f} s")
    check_readme(render([OUTCOMES[row.id] for row in ROWS]))


def test_nothing_is_left_running(census: ThreadCensus) -> None:
    deadline = time.monotonic() + 5.0
    while census.extra() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not census.extra(), f"threads left running: {[t.name for t in census.extra()]}"
