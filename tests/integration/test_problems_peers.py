"""The window's Problems tab on the real peers: a stopped nova-compute and a not-responding ESXi host.

The Nova failure arrives with the next refresh (Nova has no change feed); the ESXi one through
vCenter's change feed within seconds, with no full refresh of the vCenter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from hybridview.backends.nova import NovaBackend
from hybridview.core.identity import HostRef
from hybridview.core.problems import ProblemKind
from hybridview.service.wiring import Endpoints
from hybridview.ui.app import build_window
from hybridview.views.problems_rows import PROBLEM_COLUMNS, ProblemRow
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.ui.conftest import audit_log, qloop
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = [pytest.mark.ui, pytest.mark.nova_peer, pytest.mark.vcsim_peer, pytest.mark.usefixtures("audit_log")]
__all__ = ["audit_log", "qloop"]  # the window's fixtures: a qasync loop, its audit log under the test's directory
FEED_SECONDS = 5.0
COLUMN = {name: n for n, name in enumerate(PROBLEM_COLUMNS)}


def test_a_stopped_compute_and_a_failed_esxi_host_are_both_listed_with_layer_owner_and_advice(
    qloop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("problems")
    with VcsimPeer(clusters=1, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
        cluster = vcsim.list_clusters()[0]
        nodename = f"{cluster['moref']}.{vcsim.instance_uuid}"
        with NovaPeer(computes=["kvm1", "kvm2"], vmware_nodes={"nova-vmware-1": nodename}) as nova:
            clouds = nova.write_clouds_yaml(tmp / "clouds.yaml")
            nova_backend = NovaBackend("nova-peer", config_files=[str(clouds)])
            endpoints = Endpoints(openstack=[nova_backend], vcenters=[vcsim_backend(vcsim)], refresh_seconds=3600)
            window, controller = build_window(endpoints)
            refresher = controller.monitor.refresher
            vcenter_reads: list[float] = []
            original_read = refresher.read

            async def counted_read(name: str) -> None:
                if name == "vcsim":
                    vcenter_reads.append(time.monotonic())
                await original_read(name)

            refresher.read = counted_read  # type: ignore[method-assign]
            window.resize(1600, 1000)
            window.show()
            controller.start()
            problems = window.problems

            def until(condition: Callable[[], bool], seconds: float) -> bool:
                async def wait() -> None:
                    deadline = time.monotonic() + seconds
                    while not condition() and time.monotonic() < deadline:
                        await asyncio.sleep(0.02)

                qloop.run_until_complete(wait())
                return condition()

            def row(kind: ProblemKind, name: str) -> ProblemRow | None:
                table = problems.table
                rows = table.rows if table else ()
                return next((r for r in rows if r.key[0] is kind and name in r.cells[COLUMN["Item"]]), None)

            try:
                assert until(lambda: problems.table is not None, 60), "no problems table was built"
                assert until(
                    lambda: controller.latest is not None and controller.latest.view.estate.every_endpoint_answered, 60
                )
                assert row(ProblemKind.NODE, "kvm1") is None
                qloop.run_until_complete(asyncio.sleep(1.5))  # the feed's initial state

                nova.stop_compute("kvm1")
                controller.request_refresh()
                assert until(lambda: row(ProblemKind.NODE, "kvm1") is not None, 60), "the stopped compute never showed"
                kvm = row(ProblemKind.NODE, "kvm1")
                assert kvm is not None
                assert kvm.cells[COLUMN["Severity"]] == "✖ CRITICAL"
                assert (kvm.cells[COLUMN["Layer"]], kvm.cells[COLUMN["Owner"]]) == ("Nova", "nova-peer")
                assert "Fence the host" in kvm.cells[COLUMN["Advice"]]

                reads_before = len(vcenter_reads)
                host = vcsim.list_hosts()[0]
                started = time.monotonic()
                vcsim.set_host_state(host["name"], "notResponding")
                shown = until(lambda: row(ProblemKind.ESXI_HOST, host["name"]) is not None, FEED_SECONDS)
                elapsed = time.monotonic() - started
                assert shown, f"the failed ESXi host was not listed within {FEED_SECONDS} s"
                assert len(vcenter_reads) == reads_before, "a full vCenter refresh ran; the feed should bring it"
                esxi = row(ProblemKind.ESXI_HOST, host["name"])
                assert esxi is not None and esxi.item == HostRef("vcsim", host["moref"])
                assert esxi.cells[COLUMN["Severity"]] == "✖ CRITICAL"
                assert (esxi.cells[COLUMN["Layer"]], esxi.cells[COLUMN["Owner"]]) == ("vSphere", "vcsim")
                assert "vSphere HA" in esxi.cells[COLUMN["Advice"]]
                assert row(ProblemKind.NODE, "kvm1") is not None, "both failures are listed"
                assert window.tabs.tabText(0) == f"Problems ({problems.model.rowCount()})"
                print(f"ESXi problem listed {elapsed:.2f} s after the host stopped responding")
            finally:
                qloop.run_until_complete(controller.aclose())
                window.close()
