"""`hybridview evacuate` and `service` on the real Nova API: the fencing gate, the plan, the evacuation, the return.

One peer for the module; the tests run in order, as an operator would: refused while the
compute runs, planned once it is down, refused without the fencing word, done with it,
and the host brought back through the app.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridview.backends.nova import NovaBackend
from hybridview.core.model import OpenStackSnapshot
from tests.peers.nova.fixture import NovaPeer

pytestmark = pytest.mark.nova_peer
VICTIM = "host1"
INSTANCES = 3


@dataclass
class Cloud:
    peer: NovaPeer
    clouds_yaml: Path
    config: Path
    audit: Path
    servers: list[str]

    def read(self) -> OpenStackSnapshot:
        backend = NovaBackend("nova-peer", config_files=[str(self.clouds_yaml)])
        try:
            return backend.fetch()
        finally:
            backend.close()

    def evacuations(self) -> list[Any]:
        return [m for m in self.read().migrations if m.migration_type == "evacuation"]

    def audit_events(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("evacuate")
    with NovaPeer(computes=[VICTIM, "host2", "host3"]) as peer:
        clouds = peer.write_clouds_yaml(tmp / "clouds.yaml")
        config = tmp / "hybridview.yaml"
        storage = {VICTIM: "shared"}  # what the operator declares; the API cannot tell
        config.write_text(
            yaml.safe_dump({"clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds), "instance_storage": storage}]})
        )
        servers = [peer.boot(f"evac-{n}", VICTIM) for n in range(INSTANCES)]
        yield Cloud(peer, clouds, config, tmp / "audit.jsonl", servers)


def _run(cloud: Cloud, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "HYBRIDVIEW_AUDIT_LOG": str(cloud.audit)}
    env.pop("HYBRIDVIEW_CONFIG", None)
    config = () if args[0] == "audit" else ("--config", str(cloud.config))  # the audit reads only its log
    done = subprocess.run(
        [sys.executable, "-m", "hybridview.cli", *args, *config],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def test_1_a_running_compute_is_refused_before_any_write(cloud: Cloud) -> None:
    code, _out, err = _run(cloud, "evacuate", "--host", VICTIM, "--i-have-fenced", "--force-down")
    assert code == 2
    assert f"nova-compute on {VICTIM} is up" in err
    assert cloud.audit_events() == [] and cloud.evacuations() == []


def test_2_once_down_the_dry_run_lists_every_instance_with_storage_and_data_outcome(cloud: Cloud) -> None:
    cloud.peer.stop_compute(VICTIM)
    code, out, _err = _run(cloud, "evacuate", "--host", VICTIM, "--dry-run", "--json", "--force-down")
    assert code == 0
    plan = json.loads(out)["plan"]
    assert plan["refused"] is None and plan["needs_fencing"] is True
    evacuations = [s for s in plan["steps"] if s["verb"] == "evacuate"]
    assert sorted(s["target"] for s in evacuations) == sorted(cloud.servers)
    assert {(s["parameters"]["storage"], s["parameters"]["data_outcome"]) for s in evacuations} == {
        ("shared", "preserved")
    }
    assert plan["steps"][0]["verb"] == "force-down"
    assert cloud.audit_events() == []


def test_3_without_the_fencing_acknowledgement_nothing_is_sent(cloud: Cloud) -> None:
    code, _out, err = _run(cloud, "evacuate", "--host", VICTIM, "--force-down")
    assert code == 2
    assert "fenced" in err and "nothing was sent" in err
    assert cloud.audit_events() == [] and cloud.evacuations() == []
    assert not any(s.forced_down for s in cloud.read().services)


def _spawn(cloud: Cloud, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HYBRIDVIEW_AUDIT_LOG": str(cloud.audit)}
    env.pop("HYBRIDVIEW_CONFIG", None)
    command = [sys.executable, "-m", "hybridview.cli", *args, "--config", str(cloud.config)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _sent(cloud: Cloud, target: str) -> list[dict[str, Any]]:
    return [
        e for e in cloud.audit_events() if e["event"] == "sent" and e["verb"] == "evacuate" and e["target"] == target
    ]


def test_4a_two_evacuations_of_the_same_instance_at_once_send_one(cloud: Cloud) -> None:
    first = cloud.servers[0]
    args = ("evacuate", "--host", VICTIM, "--instance", first, "--i-have-fenced", "--start-after")
    runs = [_spawn(cloud, *args), _spawn(cloud, *args)]
    results = [(run.returncode, out[1]) for run in runs for out in [run.communicate(timeout=120)]]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    # refused before any write, whichever moment the second one planned at: held, moving, or moved
    assert any(why in refused for why in ("already running", "task state rebuilding", "not on host1")), refused
    assert [m.instance_id for m in cloud.evacuations()] == [first]
    assert len(_sent(cloud, first)) == 1


def test_4b_a_process_killed_after_sending_leaves_an_open_entry_and_the_next_run_checks_first(cloud: Cloud) -> None:
    victim = cloud.servers[1]
    run = _spawn(cloud, "evacuate", "--host", VICTIM, "--instance", victim, "--i-have-fenced", "--start-after")
    deadline = time.monotonic() + 60
    while not _sent(cloud, victim) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    (entry,) = _sent(cloud, victim)
    code, out, _err = _run(cloud, "audit", "--json")
    shown = [json.loads(line) for line in out.splitlines()]
    assert next(e for e in shown if e["id"] == entry["id"])["outcome"] == "sent, outcome unknown"
    code, out, err = _run(cloud, "evacuate", "--host", VICTIM, "--instance", victim, "--i-have-fenced", "--start-after")
    assert [m.instance_id for m in cloud.evacuations()].count(victim) == 1  # never twice, whenever the kill landed
    if code == 2:  # Nova had moved it before the next run read the estate: the plan says so and sends nothing
        assert "already evacuated from host1" in err, err
        assert len(_sent(cloud, victim)) == 1
    else:  # the next run still saw it on host1: it checked Nova first, or sent what the killed one never did
        assert code == 0, out + err
        if len(_sent(cloud, victim)) == 1:
            assert "earlier attempt" in out + err
            code, out, _err = _run(cloud, "audit", "--json")
            shown = [json.loads(line) for line in out.splitlines()]
            assert next(e for e in shown if e["id"] == entry["id"])["outcome"] == "done"


def test_4c_fenced_and_forced_down_every_instance_lands_elsewhere(cloud: Cloud) -> None:
    started = time.monotonic()
    code, out, err = _run(
        cloud, "evacuate", "--host", VICTIM, "--i-have-fenced", "--force-down", "--start-after", "--json"
    )
    elapsed = time.monotonic() - started
    assert code == 0, out + err
    result = json.loads(out)
    assert result["ok"] is True and all(item["ok"] for item in result["items"])
    snap = cloud.read()
    servers = {s.id: s for s in snap.instances}
    assert all(servers[i].host not in (None, VICTIM) for i in cloud.servers)
    started_here = [cloud.servers[0], cloud.servers[2]]  # the killed run of 4b may never have started its server
    assert all(servers[i].status == "ACTIVE" for i in started_here)  # arrived SHUTOFF at 2.95+, started after
    per_instance = [m.instance_id for m in cloud.evacuations()]
    assert sorted(per_instance) == sorted(cloud.servers)  # one evacuation record per instance
    last = cloud.servers[2]
    (entry,) = _sent(cloud, last)
    finished = {e["id"]: e for e in cloud.audit_events() if e["event"] == "done"}
    assert finished[entry["id"]]["request_id"].startswith("req-")
    assert all(len(_sent(cloud, s)) >= 1 for s in cloud.servers)
    assert any(s.forced_down for s in snap.services if s.host == VICTIM)
    print(f"evacuated the rest on the Nova peer in {elapsed:.1f} s (CLI)")


def test_5_the_host_comes_back_and_is_released_through_the_app(cloud: Cloud) -> None:
    # A forced-down service never reads "up", which the peer's start_compute waits for: run it aside.
    with ThreadPoolExecutor(1) as pool:
        restart = pool.submit(cloud.peer.start_compute, VICTIM)
        deadline = time.monotonic() + 60
        back: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not back:
            _code, out, _err = _run(cloud, "status", "--json")
            back = [h for h in json.loads(out)["hosts_back"] if "remain" not in h["advice"]]
            time.sleep(0.5)
        assert [h["host"] for h in back] == [VICTIM], "the restarted compute never showed as back"
        assert "cleaned up" in back[0]["advice"]  # Nova completed the evacuations away from it
        code, out, err = _run(cloud, "service", "--host", VICTIM, "--forced-down", "no", "--enable")
        assert code == 0, out + err
        restart.result(timeout=60)
    service = next(s for s in cloud.read().services if s.host == VICTIM)
    assert (service.state, service.forced_down, service.status) == ("up", False, "enabled")
    code, out, _err = _run(cloud, "status", "--json")
    node = next(n for n in json.loads(out)["compute_nodes"] if n["host"] == VICTIM)
    assert node["state"] == "up" and json.loads(out)["hosts_back"] == []
    entries = [e for e in cloud.audit_events() if e["event"] == "sent" and e["verb"] == "unset-force-down"]
    assert len(entries) == 1
