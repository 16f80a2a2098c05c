"""The running window follows a real vCenter's change feed: a failed host shows within 2 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from hybridview.core.health import Severity
from hybridview.core.identity import HostRef, VmRef
from hybridview.ui.app import build_window
from hybridview.ui.tree_model import SEVERITY_ROLE
from hybridview.service.wiring import Endpoints
from tests.peers.vcsim.fixture import VcsimPeer
from hybridview.views.presentation import Presentation
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

VM_COUNT_COLUMN = 4  # host rows: name, connection, maintenance, status, VMs, HA state
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


def test_a_vmotion_sent_from_the_window_shows_the_new_placement_without_full_refresh(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with VcsimPeer(clusters=1, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        endpoints = Endpoints(openstack=[], vcenters=[vcsim_backend(peer)], refresh_seconds=3600)
        window, controller = build_window(endpoints)
        refresher = controller.monitor.refresher
        full_refreshes: list[str] = []
        original_read = refresher.read

        async def counted_read(name: str) -> None:
            full_refreshes.append(name)
            await original_read(name)

        refresher.read = counted_read  # type: ignore[method-assign]
        shown: list[Presentation] = []
        window.presentation_shown.connect(shown.append)
        window.show()
        controller.start()

        async def until(condition: Callable[[], bool], seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not condition() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

        def vm_count(host_moref: str) -> str:
            index = window.vcenter_model.index_of(HostRef("vcsim", host_moref))
            return str(index.siblingAtColumn(VM_COUNT_COLUMN).data())

        try:
            qloop.run_until_complete(until(lambda: bool(shown), 30))
            qloop.run_until_complete(asyncio.sleep(1.5))  # the feed's initial state
            vm = next(v for v in peer.list_vms() if v["power_state"] == "poweredOn")
            target = next(h for h in peer.list_hosts() if h["moref"] != vm["host"])
            counts = {h["moref"]: vm_count(h["moref"]) for h in (target, {"moref": vm["host"]})}
            view = controller.latest.view if controller.latest else None
            assert view is not None
            plan = window.desk.relocation(
                view, VmRef("vcsim", vm["moref"]), host_moref=target["moref"], datastore_moref=None
            )
            assert plan.refused is None and len(plan.sendable) == 1, plan
            operation = window.desk.runner.submit(plan)
            qloop.run_until_complete(until(lambda: operation.done, 60))
            assert operation.ok, operation.items
            moved = lambda: vm_count(target["moref"]) == str(int(counts[target["moref"]]) + 1)  # noqa: E731
            qloop.run_until_complete(until(moved, 5))
            assert moved(), "the window never showed the VM on its new host"
            assert vm_count(vm["host"]) == str(int(counts[vm["host"]]) - 1)
            assert full_refreshes == ["vcsim"], "a full refresh ran; the move should arrive through the feed"
        finally:
            qloop.run_until_complete(controller.aclose())
            window.close()
