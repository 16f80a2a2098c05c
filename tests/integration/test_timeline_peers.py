"""`hybridview timeline --json` on a real config: a compute stopped on the Nova peer, an ESXi host not responding
on the vCenter simulator. Run twice: the second run still lists the compute going down (from the history)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

pytestmark = [pytest.mark.nova_peer, pytest.mark.vcsim_peer]
PASSWORD_ENV = "HV_TEST_VCSIM_PASSWORD"


def _post_connection_lost(vcsim: VcsimPeer, host_moref: str, name: str) -> None:
    """What vCenter posts when a host stops responding; the simulator's set_host_state posts no event."""
    si = SmartConnect(
        host=vcsim.host, port=vcsim.port, user=VCSIM_USER, pwd=VCSIM_PASSWORD, sslContext=vcsim.ssl_context()
    )
    try:
        host = vim.HostSystem(host_moref, si._stub)
        event = vim.event.HostConnectionLostEvent(
            key=0,
            chainId=0,
            createdTime=datetime.now(),
            userName="",
            host=vim.event.HostEventArgument(host=host, name=name),
            fullFormattedMessage=f"Host {name} is not responding",
        )
        si.content.eventManager.PostEvent(event)
    finally:
        Disconnect(si)


def _timeline(config: Path, env: dict[str, str], *extra: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "hybridview.cli", "timeline", "--json", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_timeline_lists_the_stopped_compute_and_the_dead_esxi_host_in_time_order(tmp_path: Path) -> None:
    with (
        VcsimPeer(clusters=1, hosts=3, vms=6, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim,
        NovaPeer(computes=["kvm1", "kvm2"]) as nova,
    ):
        clouds = nova.write_clouds_yaml(tmp_path / "clouds.yaml")
        config = tmp_path / "hybridview.yaml"
        vc = {"name": "vcsim", "host": vcsim.host, "port": vcsim.port, "user": VCSIM_USER}
        vc |= {"password_env": PASSWORD_ENV, "verify": vcsim.ca_file}
        settings = {"clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}], "vcenters": [vc]}
        config.write_text(yaml.safe_dump(settings))
        env = {**os.environ, PASSWORD_ENV: VCSIM_PASSWORD, "HYBRIDVIEW_HISTORY": str(tmp_path / "history.jsonl")}
        env["HYBRIDVIEW_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
        env.pop("HYBRIDVIEW_CONFIG", None)

        server = nova.boot("vm1", "kvm1")
        nova.stop_compute("kvm1")  # returns once the API says down
        victim = vcsim.list_hosts()[0]
        vcsim.set_host_state(victim["name"], "notResponding")
        _post_connection_lost(vcsim, victim["moref"], victim["name"])

        first = _timeline(config, env)
        second = _timeline(config, env)  # the first run observed; this one reads it back
        kvm1_only = _timeline(config, env, "--host", "kvm1")

    for items in (first, second):
        times = [datetime.fromisoformat(i["time"]) for i in items]
        assert times == sorted(times), items
        assert all({"time", "layer", "object", "kind", "text", "source"} <= set(i) for i in items)
    down = [i for i in second if i["kind"] == "compute service down" and i["object"]["label"] == "kvm1"]
    assert [(i["layer"], i["source"]) for i in down] == [("nova", "history")], second
    assert "kvm1" in down[0]["text"] and "down" in down[0]["text"]
    esxi = [i for i in second if i["object"]["ref"] == f"host:vcsim/{victim['moref']}"]
    assert {(i["layer"], i["source"], i["kind"]) for i in esxi} >= {
        ("vcenter", "history", "ESXi host notResponding"),
        ("vcenter", "events", "HostConnectionLostEvent"),
    }, esxi
    assert all(i["object"]["label"] == victim["name"] for i in esxi)
    # in time order: the compute died (its last heartbeat) before the ESXi host was seen not responding
    order = [i["kind"] for i in second if i in down or i in esxi]
    assert order[0] == "compute service down" and order[-1] == "ESXi host notResponding", order
    assert len([i for i in first if i["kind"] == "compute service down"]) == 1  # once, not once per run
    assert {i["object"]["label"] for i in kvm1_only} >= {"kvm1"}
    assert all(i["layer"] == "nova" for i in kvm1_only), kvm1_only
    assert server  # booted on kvm1 before it stopped
