"""Matrix rows through the real window: the status bar and alert strip say STALE, the Qt loop keeps ticking."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtWidgets import QLabel

from hybridview.core.health import Severity
from hybridview.service.wiring import Endpoints
from hybridview.ui.loop_probe import LoopLatencyProbe
from hybridview.ui.tree_model import SEVERITY_ROLE
from hybridview.views.presentation import Presentation
from tests.faults.proxy import FaultProxy
from tests.faults.rows import NOVA, ROWS, Row
from tests.faults.sites import Site, endpoint_status
from tests.ui.harness import WindowHarness

pytestmark = [pytest.mark.ui, pytest.mark.slow]
MAX_STALL_MS = 1000.0  # as tests/ui/test_event_loop_latency.py: a guard against blocking, not a benchmark
WINDOW_ROWS = ("nova-refused", "nova-http-500", "vcenter-hang")


class LiveWindow(WindowHarness):
    """The harness's refresh and wait helpers over real backends instead of the demo.

    As the harness, it collects a presentation once the window has shown it (``presentation_shown``,
    after the panes were filled over a few event-loop turns), not when the controller hands it over.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: Endpoints, name: str) -> None:
        super().__init__(loop, endpoints)
        self.name = name

    def endpoint_ok(self) -> bool | None:
        """The endpoint's state in the latest presentation; None before the first."""
        return endpoint_status(self.presentations[-1].view, self.name).ok if self.presentations else None

    def endpoint_label(self) -> QLabel:
        bar = self.window.statusBar()
        labels = [w for w in bar.findChildren(QLabel) if w.objectName().startswith("endpoint")]
        assert len(labels) == 1, [w.text() for w in labels]
        return labels[0]


def _param(row: Row) -> object:
    return pytest.param(row, id=row.id, marks=pytest.mark.nova_peer if row.peer == NOVA else pytest.mark.vcsim_peer)


def _row(row_id: str) -> Row:
    return next(row for row in ROWS if row.id == row_id)


def _site(row: Row, request: pytest.FixtureRequest) -> Site:
    site: Site = request.getfixturevalue("nova_site" if row.peer == NOVA else "vcenter_site")
    return site


@contextmanager
def window_through_proxy(site: Site, loop: asyncio.AbstractEventLoop) -> Iterator[tuple[LiveWindow, FaultProxy]]:
    """The window over the site's backend, behind a proxy, after a good first read."""
    with site.proxy() as proxy:
        harness = LiveWindow(loop, site.endpoints(site.backend(proxy)), site.name)
        harness.window.resize(1400, 900)
        harness.window.show()
        try:
            harness.controller.start()
            harness.wait_until(
                lambda: harness.endpoint_ok() is True and site.data_present(harness.presentations[-1].view)
            )
            yield harness, proxy
        finally:
            harness.close()


def go_stale(harness: LiveWindow, row: Row, proxy: FaultProxy) -> Presentation:
    for fault in row.faults(row):
        proxy.inject(fault)
    harness.controller.request_refresh()
    harness.wait_until(lambda: harness.endpoint_ok() is False and not harness.controller.busy)
    return harness.presentations[-1]  # shown: every pane has it


@pytest.mark.parametrize("row", [_param(_row(row_id)) for row_id in WINDOW_ROWS])
def test_the_window_shows_the_endpoint_stale(
    row: Row, request: pytest.FixtureRequest, qloop: asyncio.AbstractEventLoop
) -> None:
    site = _site(row, request)
    with window_through_proxy(site, qloop) as (harness, proxy):
        name = site.name
        assert harness.endpoint_label().text().startswith(f"✔ {name}")
        probe = LoopLatencyProbe(interval_ms=10)
        probe.start()
        stale = go_stale(harness, row, proxy)
        probe.stop()
        error = endpoint_status(stale.view, name).error
        label = harness.endpoint_label()
        assert label.text().startswith(f"✖ STALE {name}"), label.text()
        assert error and error in label.toolTip()
        assert f"stale data from: {name}" in harness.window.alert.text()
        models = (harness.window.nova_model, harness.window.vcenter_model)
        for ref in site.items(stale.view):
            severity = max(int(m.index_of(ref).data(SEVERITY_ROLE) or 0) for m in models)
            assert severity >= int(Severity.STALE), f"{ref.text()} shown healthy while {name} is stale"
        assert probe.worst_ms < MAX_STALL_MS, f"the Qt loop stalled {probe.worst_ms:.0f} ms"
        proxy.clear()
        harness.refresh()
        harness.wait_until(lambda: harness.endpoint_ok() is True and not harness.controller.busy)
        assert harness.endpoint_label().text().startswith(f"✔ {name}")


@pytest.mark.parametrize("row", [_param(_row("nova-http-500"))])
def test_the_details_overview_does_not_call_stale_hosts_responding(
    row: Row, request: pytest.FixtureRequest, qloop: asyncio.AbstractEventLoop
) -> None:
    """With nothing selected, the details pane sums up the hosts; from stale data it may not say they respond."""
    site = _site(row, request)
    with window_through_proxy(site, qloop) as (harness, proxy):
        go_stale(harness, row, proxy)
        overview = harness.window.details.toPlainText()
        assert "responding" not in overview or "stale" in overview.lower(), (
            f"{site.name} is STALE, yet the details pane says: {overview!r}"
        )
