"""`hybridview options` and `migrate` on the real Nova API, through the action layer, as an operator runs them.

One peer for the module; in order: the options of a running instance, a live migration to a chosen
host and one the scheduler places, a cold migration confirmed at VERIFY_RESIZE, an abort of a running
(paced) live migration while it shows abort and force-complete, and refusals before anything is sent
(an unknown host, then a host whose compute is down: that test stops host3 and runs last).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridview.backends.nova import NovaBackend
from hybridview.core.model import OpenStackSnapshot
from tests.peers.nova.fixture import NovaPeer

pytestmark = pytest.mark.nova_peer
HOSTS = ["host1", "host2", "host3"]
PACED_SECONDS = 60.0


@dataclass
class Cloud:
    peer: NovaPeer
    clouds_yaml: Path
    config: Path
    audit: Path
    live: str  # a server the live-migration tests move
    cold: str  # a server the cold-migration test moves

    def read(self) -> OpenStackSnapshot:
        backend = NovaBackend("nova-peer", config_files=[str(self.clouds_yaml)])
        try:
            return backend.fetch()
        finally:
            backend.close()

    def host_of(self, server: str) -> str | None:
        return next(i.host for i in self.read().instances if i.id == server)

    def audit_entries(self) -> list[dict[str, Any]]:
        done = run(self, "audit", "--json")
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("migrate")
    with NovaPeer(computes=HOSTS) as peer:
        clouds = peer.write_clouds_yaml(tmp / "clouds.yaml")
        config = tmp / "hybridview.yaml"
        config.write_text(yaml.safe_dump({"clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}]}))
        live, cold = peer.boot("mover-live", "host1"), peer.boot("mover-cold", "host1")
        yield Cloud(peer, clouds, config, tmp / "audit.jsonl", live, cold)


def cli_command(cloud: Cloud, *args: str) -> tuple[list[str], dict[str, str]]:
    config = () if args[0] == "audit" else ("--config", str(cloud.config))  # the audit reads only its log
    env = {k: v for k, v in os.environ.items() if k != "HYBRIDVIEW_CONFIG"}
    env["HYBRIDVIEW_AUDIT_LOG"] = str(cloud.audit)
    return [sys.executable, "-m", "hybridview.cli", *args, *config], env


def run(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    command, env = cli_command(cloud, *args)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)


def spawn(cloud: Cloud, *args: str) -> subprocess.Popen[str]:
    command, env = cli_command(cloud, *args)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def options(cloud: Cloud, server: str) -> dict[str, dict[str, Any]]:
    done = run(cloud, "options", server, "--json")
    assert done.returncode == 0, done.stderr
    return {o["kind"]: o for o in json.loads(done.stdout)["options"]}


def test_a_running_instance_can_live_and_cold_migrate_to_the_other_hosts(cloud: Cloud) -> None:
    found = options(cloud, cloud.live)
    live = found["live-migrate"]
    assert live["available"] and live["actor"] == "nova"
    assert {t["name"] for t in live["targets"] if t["usable"]} == {"host2", "host3"}
    assert found["cold-migrate"]["available"]
    assert not found["evacuate"]["available"] and found["evacuate"]["reason"]


def test_a_live_migration_to_a_chosen_host_completes_and_is_audited(cloud: Cloud) -> None:
    done = run(cloud, "migrate", cloud.live, "--live", "--target", "host2", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    items = json.loads(done.stdout)["items"]
    assert [(i["verb"], i["state"]) for i in items] == [("live-migrate", "done")]
    assert items[0]["request_id"].startswith("req-")
    assert cloud.host_of(cloud.live) == "host2"
    records = [m for m in cloud.read().migrations if m.instance_id == cloud.live]
    assert {(m.migration_type, m.status, m.dest_compute) for m in records} == {("live-migration", "completed", "host2")}
    entries = [e for e in cloud.audit_entries() if e["target"] == cloud.live]
    assert [(e["verb"], e["outcome"]) for e in entries] == [("live-migrate", "done")]


def test_a_live_migration_the_scheduler_places_moves_the_server_off_its_host(cloud: Cloud) -> None:
    done = run(cloud, "migrate", cloud.live, "--target", "auto", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert cloud.host_of(cloud.live) in ("host1", "host3")
    assert json.loads(done.stdout)["plan"]["steps"][0]["parameters"]["target_host"] is None


def test_a_cold_migration_with_confirm_ends_active_on_the_target(cloud: Cloud) -> None:
    done = run(cloud, "migrate", cloud.cold, "--cold", "--target", "host3", "--confirm", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert cloud.host_of(cloud.cold) == "host3"
    server = next(i for i in cloud.read().instances if i.id == cloud.cold)
    assert server.status == "ACTIVE"
    records = [m for m in cloud.read().migrations if m.instance_id == cloud.cold]
    assert [(m.migration_type, m.status) for m in records] == [("migration", "confirmed")]
    verbs = [(e["verb"], e["outcome"]) for e in cloud.audit_entries() if e["target"] == cloud.cold]
    assert verbs == [("cold-migrate", "done"), ("confirm-resize", "done")]


def test_a_running_live_migration_offers_abort_and_the_abort_cancels_it(cloud: Cloud) -> None:
    source = cloud.host_of(cloud.live)
    target = next(h for h in ("host1", "host2") if h != source)
    cloud.peer.set_live_migration_seconds(PACED_SECONDS)
    try:
        mover = spawn(cloud, "migrate", cloud.live, "--target", target, "--json")
        found = _wait_for_option(cloud, cloud.live, "abort-live-migration")
        assert found["force-complete"]["available"], found["force-complete"]
        aborted = run(cloud, "migrate", cloud.live, "--abort", "--json")
        assert aborted.returncode == 0, aborted.stderr + aborted.stdout
        out, err = mover.communicate(timeout=120)
    finally:
        cloud.peer.set_live_migration_seconds(0)
    assert mover.returncode == 1, err
    item = json.loads(out)["items"][0]
    assert item["state"] == "failed" and "cancelled" in item["message"]
    assert cloud.host_of(cloud.live) == source
    verbs = [(e["verb"], e["outcome"]) for e in cloud.audit_entries() if e["target"] == cloud.live]
    assert verbs[-2:] == [("live-migrate", "failed"), ("abort-live-migration", "done")] or verbs[-2:] == [
        ("abort-live-migration", "done"),
        ("live-migrate", "failed"),
    ]


def _wait_for_option(cloud: Cloud, server: str, kind: str) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = options(cloud, server)
        if found.get(kind, {}).get("available"):
            return found
        time.sleep(0.5)
    raise AssertionError(f"{kind} never became available: {found}")


def test_a_move_to_an_unknown_or_down_host_is_refused_and_nothing_is_sent(cloud: Cloud) -> None:
    before = len(cloud.audit_entries())
    unknown = run(cloud, "migrate", cloud.live, "--target", "nohost")
    assert unknown.returncode == 2 and "nohost" in unknown.stderr, unknown.stderr
    cloud.peer.stop_compute("host3")  # returns once the API says "down"
    down = run(cloud, "migrate", cloud.live, "--cold", "--target", "host3")
    assert down.returncode == 2 and "host3" in down.stderr and "down" in down.stderr, down.stderr
    assert len(cloud.audit_entries()) == before
