"""GUI-thread stall during refreshes of the large demo estate.

Estate: SimSize.large() = 1,000 Nova compute nodes, 30,900 instances, 5 vCenters with
400 ESXi hosts. A 10 ms PreciseTimer runs on the GUI thread; its lateness is the
longest time the event loop could not run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_refresh_latency.py [--refreshes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync

from hybridview.sim import SimSize
from hybridview.ui.app import application, build_window
from hybridview.ui.loop_probe import LoopLatencyProbe
from hybridview.service.wiring import demo_endpoints


async def measure(refreshes: int) -> None:
    endpoints = demo_endpoints("esxi-host-down", SimSize.large(), tick_seconds=2.0)
    window, controller = build_window(endpoints)
    controller.set_auto_refresh(False)
    window.resize(1600, 1000)
    window.show()
    shown: list[float] = []
    controller.presentation_ready.connect(lambda _p: shown.append(time.perf_counter()))
    probe = LoopLatencyProbe(10)
    durations = []
    probe.start()
    for _ in range(refreshes):
        started = time.perf_counter()
        before = len(shown)
        if not controller.busy:
            controller.request_refresh() if shown else controller.start()
        while len(shown) == before:
            await asyncio.sleep(0.005)
        durations.append(shown[-1] - started)
        await asyncio.sleep(0.5)
    probe.stop()
    await controller.aclose()
    window.close()
    assert endpoints.demo is not None
    layout = endpoints.demo.layout
    print(
        f"estate: {len(layout.nodes)} compute nodes, {len(layout.instances)} instances, "
        f"{len(layout.hosts)} ESXi hosts, {len(layout.vms)} VMs"
    )
    print(f"refresh to window: first {durations[0] * 1000:.0f} ms, median {statistics.median(durations) * 1000:.0f} ms")
    print(
        f"GUI thread: worst stall {probe.worst_ms:.1f} ms, p99 {probe.percentile_ms(0.99):.1f} ms, "
        f"p50 {probe.percentile_ms(0.5):.1f} ms over {len(probe.lateness)} timer ticks (goal: worst < 100 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()
    app = application()
    loop = qasync.QEventLoop(app)
    with loop:
        loop.run_until_complete(measure(args.refreshes))


if __name__ == "__main__":
    main()
