"""Time to drain a 20-instance KVM host in the demo, concurrency 3 against 1, through the real action layer.

The demo's kvm-1001 (demo-cloud) holds 20 instances; each simulated live migration takes
``--live-migration-seconds`` of wall time, as a real one takes its copy time, so the figure
measures the runner: its bound, its tracking polls, its audit writes. The plan is
``core.drain.plan_drain`` (disable the service, then live-migrate every instance, the scheduler
placing each), sent by ``ActionRunner.run`` as ``hybridview drain`` does; the estate is read
once by the monitor, as the CLI reads it. The host is enabled again between runs (``--undo``).

    .venv/bin/python bench/drain.py [--live-migration-seconds 2] [--host kvm-1001]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hybridview.actions.audit import AuditLog
from hybridview.actions.claims import Claims
from hybridview.actions.executors import Tracking
from hybridview.actions.runner import ActionRunner
from hybridview.core.drain import DrainRequest, plan_drain
from hybridview.service.monitor import EstateMonitor
from hybridview.service.wiring import Endpoints
from hybridview.sim import SimEstate
from hybridview.sim.backends import demo_backends

CLOUD = "demo-cloud"
TRACKING = Tracking()  # the product's own poll interval


async def drain(host: str, live_migration_seconds: float, concurrency: int) -> dict[str, object]:
    estate = SimEstate("healthy", tick_seconds=3600.0, live_migration_seconds=live_migration_seconds)
    nova, vcenters = demo_backends(estate)
    endpoints = Endpoints(list(nova), list(vcenters), demo=estate)
    monitor = EstateMonitor(endpoints)
    with tempfile.TemporaryDirectory() as tmp:
        writers: dict[str, object] = {b.name: b for b in (*nova, *vcenters)}
        runner = ActionRunner(
            writers,
            AuditLog(Path(tmp) / "audit.jsonl"),
            claims=Claims(Path(tmp) / "run"),
            concurrency=concurrency,
            tracking=TRACKING,
        )
        try:
            view = await monitor.read_once(time.monotonic() + 60)
            plan = plan_drain(view, DrainRequest(CLOUD, host, reason="bench: maintenance"))
            started = time.monotonic()
            operation = await runner.run(plan)
            seconds = time.monotonic() - started
        finally:
            await runner.aclose()
            await monitor.aclose()
    tally = {state.value: n for state, n in operation.counts().items()}
    moved = sum(1 for i in operation.items if i.ok and i.step.key.verb.value == "live-migrate")
    failures = sorted({i.message for i in operation.items if not i.ok})[:3]
    return {
        "where": "demo",
        "host": host,
        "instances moved": moved,
        "concurrency": concurrency,
        "live migration seconds": live_migration_seconds,
        "seconds": round(seconds, 1),
        "items": tally,
        "not done": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live-migration-seconds", type=float, default=2.0)
    parser.add_argument("--host", default="kvm-1001")
    args = parser.parse_args()
    for concurrency in (3, 1):
        print(json.dumps(asyncio.run(drain(args.host, args.live_migration_seconds, concurrency))), flush=True)
    print(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
