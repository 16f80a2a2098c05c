"""Time to evacuate a failed host, concurrency 3 against 1, through the real action layer.

Demo: scenario kvm-host-down with 50 instances on the failed host; each simulated
evacuation takes ``--evacuation-seconds`` of wall time (as Nova's rebuild does), so the
figure measures the runner: its bound, its tracking polls, its audit writes.
Nova peer: the real Nova API (tests/peers/nova) with ``--nova-instances`` servers booted
on host1, which is stopped; a fresh peer per concurrency. Both go through
``ActionRunner.run`` with the plan from ``core.evacuation``, as ``hybridview evacuate`` does.

    .venv/bin/python bench/evacuation.py [--instances 50] [--evacuation-seconds 3] [--nova-instances 9]
    .venv/bin/python bench/evacuation.py --skip-nova
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
from hybridview.core.evacuation import EvacuationRequest, plan_evacuation
from hybridview.core.model import Estate

TRACKING = Tracking()  # the product's own poll interval


async def evacuate(
    writers: dict[str, object], estate: Estate, cloud: str, host: str, concurrency: int
) -> dict[str, object]:
    plan = plan_evacuation(estate, EvacuationRequest(cloud, host, force_down=True))
    with tempfile.TemporaryDirectory() as tmp:
        runner = ActionRunner(
            writers,
            AuditLog(Path(tmp) / "audit.jsonl"),
            claims=Claims(Path(tmp) / "run"),
            concurrency=concurrency,
            tracking=TRACKING,
        )
        started = time.monotonic()
        operation = await runner.run(plan, fenced=True)
        seconds = time.monotonic() - started
        await runner.aclose()
    tally = {state.value: n for state, n in operation.counts().items()}
    failures = sorted({i.message for i in operation.items if not i.ok})[:3]
    return {"concurrency": concurrency, "seconds": round(seconds, 1), "items": tally, "not done": failures}


def demo(instances: int, evacuation_seconds: float, concurrency: int) -> dict[str, object]:
    from hybridview.sim import SimEstate, SimSize
    from hybridview.sim.backends import demo_backends

    estate = SimEstate(
        "kvm-host-down", SimSize(instances_per_kvm_node=instances), evacuation_seconds=evacuation_seconds
    )
    with estate.state.lock:  # hosts big enough to take a full host's load: the figure is the runner's
        for node in (n for nodes in estate.state.nodes.values() for n in nodes):
            node.memory_mb *= 4
        estate.invalidate()
    nova, _ = demo_backends(estate)
    snaps = tuple(b.fetch() for b in nova)
    down = next((s.cloud, sv.host) for s in snaps for sv in s.services if sv.state == "down")
    result = asyncio.run(evacuate({b.name: b for b in nova}, Estate(openstack=snaps), down[0], down[1], concurrency))
    return {"where": "demo", **result}


def nova_peer(instances: int, concurrency: int) -> dict[str, object]:
    from hybridview.backends.nova import NovaBackend
    from tests.peers.nova.fixture import NovaPeer

    with tempfile.TemporaryDirectory() as tmp, NovaPeer(computes=["host1", "host2", "host3", "host4"]) as peer:
        clouds = peer.write_clouds_yaml(Path(tmp) / "clouds.yaml")
        for n in range(instances):
            peer.boot(f"bench-{n}", "host1")
        peer.stop_compute("host1")
        backend = NovaBackend("nova-peer", config_files=[str(clouds)])
        try:
            estate = Estate(openstack=(backend.fetch(),))
            result = asyncio.run(evacuate({"nova-peer": backend}, estate, "nova-peer", "host1", concurrency))
        finally:
            backend.close()
    return {"where": "nova peer", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--evacuation-seconds", type=float, default=3.0)
    parser.add_argument("--nova-instances", type=int, default=9, help="at most 10: the peer's instance quota")
    parser.add_argument("--skip-nova", action="store_true")
    args = parser.parse_args()
    runs = [lambda c=c: demo(args.instances, args.evacuation_seconds, c) for c in (3, 1)]
    if not args.skip_nova:
        runs += [lambda c=c: nova_peer(args.nova_instances, c) for c in (3, 1)]
    for run in runs:
        print(json.dumps(run()), flush=True)
    print(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
