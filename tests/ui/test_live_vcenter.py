"""The running window follows a real vCenter's change feed: a failed host shows within 2 s."""

from __future__ import annotations

import asyncio
import time

import pytest

from hybridview.core.health import Severity
from hybridview.core.identity import HostRef
from hybridview.ui.app import build_window
from hybridview.ui.tree_model import SEVERITY_ROLE
from hybridview.service.wiring import Endpoints
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = [pytest.mark.ui, pytest.mark.vcsim_peer]


def test_failed_host_shows_within_two_seconds_without_full_refresh(qloop: asyncio.AbstractEventLoop) -> None:
    with VcsimPeer(clusters=2, hosts=3, vms=12, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        endpoints = Endpoints(openstack=[], vcenters=[vcsim_backend(peer)], refresh_seconds=3600)
        window, controller = build_window(endpoints)
        refresher = controller.monitor.refresher
        full_refreshes: list[float] = []
        original_read = refresher.read

        async def counted_read(name: str) -> None:
            if name == "vcsim":
                full_refreshes.append(time.monotonic())
            await original_read(name)

        refresher.read = counted_read  # type: ignore[method-assign]
        shown: list[int] = []
        window.presentation_shown.connect(lambda _p: shown.append(1))
        window.show()
        controller.start()

        async def until(condition: object, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
                await asyncio.sleep(0.02)

        try:
            qloop.run_until_complete(until(lambda: shown, 30))
            status = refresher.estate().endpoint("vcsim")
            assert status is not None and status.ok, status
            qloop.run_until_complete(asyncio.sleep(1.5))  # let the feed deliver its initial state
            host = peer.list_hosts()[0]
            key = HostRef("vcsim", host["moref"])
            assert window.vcenter_model.index_of(key).data(SEVERITY_ROLE) == int(Severity.OK)
            started = time.monotonic()
            peer.set_host_state(host["name"], "notResponding")

            def failed_shown() -> bool:
                return window.vcenter_model.index_of(key).data(SEVERITY_ROLE) == int(Severity.CRITICAL)

            qloop.run_until_complete(until(failed_shown, 5))
            elapsed = time.monotonic() - started
            assert failed_shown(), "the failed host never showed"
            assert elapsed < 2.0, f"took {elapsed:.2f} s"
            assert len(full_refreshes) == 1, "a full refresh ran; the change should arrive through the feed"
            assert host["name"] in window.alert.text()
        finally:
            qloop.run_until_complete(controller.aclose())
            window.close()
