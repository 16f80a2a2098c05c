"""`hybridview restart-vms` on VMware's simulator, with the Nova peer beside it: VMs HA left behind come back.

A host of an HA-off cluster stops answering; `status` lists its running VMs as left
behind (one of them a Nova instance of the vmwareapi node); `restart-vms` is refused
without the fencing word, then registers each VM on another host of the cluster, powered
on, with the same instanceUuid, and `status` no longer counts them on the dead host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

pytestmark = [pytest.mark.nova_peer, pytest.mark.vcsim_peer]
PASSWORD_ENV = "HV_TEST_VCSIM_PASSWORD"
PROXY = "nova-vmware-1"


@dataclass
class Stack:
    vcsim: VcsimPeer
    nova: NovaPeer
    config: Path
    audit: Path
    victim: dict[str, Any]  # the ESXi host that dies
    server_id: str  # the Nova instance whose VM runs on it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("restart")
    with VcsimPeer(clusters=2, hosts=3, vms=24, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
        cluster = vcsim.list_clusters()[0]
        vcsim.set_cluster_ha(cluster["name"], False)
        hosts = [h for h in vcsim.list_hosts() if h["cluster_moref"] == cluster["moref"]]
        victim = max(hosts, key=lambda h: h["vms"])
        assert victim["vms"] >= 2, "the simulator placed too few VMs on one host"
        nodename = f"{cluster['moref']}.{vcsim.instance_uuid}"
        with NovaPeer(computes=["kvm1"], vmware_nodes={PROXY: nodename}) as nova:
            server_id = nova.boot("nova-on-esxi", PROXY)
            vm = next(v for v in vcsim.list_vms() if v["host"] == victim["moref"])
            vcsim.set_instance_uuid(vm["moref"], server_id)  # as the vmwareapi driver names its VMs
            clouds = nova.write_clouds_yaml(tmp / "clouds.yaml")
            config = tmp / "hybridview.yaml"
            vcenter = {
                "name": "vcsim",
                "host": vcsim.host,
                "port": vcsim.port,
                "user": VCSIM_USER,
                "password_env": PASSWORD_ENV,
                "verify": vcsim.ca_file,
            }
            config.write_text(
                yaml.safe_dump({"clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}], "vcenters": [vcenter]})
            )
            yield Stack(vcsim, nova, config, tmp / "audit.jsonl", victim, server_id)


def _run(stack: Stack, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, PASSWORD_ENV: VCSIM_PASSWORD, "HYBRIDVIEW_AUDIT_LOG": str(stack.audit)}
    env.pop("HYBRIDVIEW_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "hybridview.cli", *args, "--config", str(stack.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def _vms_on(stack: Stack, host_moref: str) -> list[dict[str, Any]]:
    return [v for v in stack.vcsim.list_vms() if v["host"] == host_moref]


def test_vms_of_a_dead_host_in_an_ha_off_cluster_come_back_on_its_other_hosts(stack: Stack) -> None:
    victim = stack.victim
    before = {v["instance_uuid"]: v for v in _vms_on(stack, victim["moref"]) if v["power_state"] == "poweredOn"}
    stack.vcsim.set_host_state(victim["name"], "notResponding")

    _code, out, _err = _run(stack, "status", "--json")
    left = json.loads(out)["left_behind_vms"]
    assert sorted(v["instance_uuid"] for v in left) == sorted(before)
    assert all("HA is off" in v["why"] and v["host"] == victim["name"] for v in left)
    linked = next(v for v in left if v["instance_uuid"] == stack.server_id)
    assert linked["nova_instance"]["id"] == stack.server_id

    code, _out, err = _run(stack, "restart-vms", "--host", victim["name"])
    assert code == 2 and "fenced" in err
    assert not stack.audit.exists()
    assert {v["instance_uuid"] for v in _vms_on(stack, victim["moref"])} >= set(before)

    code, out, err = _run(stack, "restart-vms", "--host", victim["name"], "--i-have-fenced", "--json")
    assert code == 0, out + err
    assert json.loads(out)["ok"] is True
    after = {v["instance_uuid"]: v for v in stack.vcsim.list_vms() if v["instance_uuid"] in before}
    cluster_hosts = {h["moref"] for h in stack.vcsim.list_hosts() if h["cluster_moref"] == victim["cluster_moref"]}
    for uuid, vm in after.items():
        assert vm["host"] != victim["moref"] and vm["host"] in cluster_hosts, vm
        assert (vm["power_state"], vm["connection_state"]) == ("poweredOn", "connected"), vm
        assert vm["vmx_path"] == before[uuid]["vmx_path"]  # registered from its own files
    assert set(after) == set(before)  # every instanceUuid kept, none lost, none twice

    _code, out, _err = _run(stack, "status", "--json")
    doc = json.loads(out)
    assert doc["left_behind_vms"] == []
    dead = next(h for c in doc["vcenter_clusters"] for h in c["hosts"] if h["moref"] == victim["moref"])
    assert dead["vms"] == 0
    events = [json.loads(line) for line in stack.audit.read_text().splitlines()]
    sent = [e for e in events if e["event"] == "sent"]
    assert sorted(e["target"] for e in sent) == sorted(before)
    assert all(e["verb"] == "restart-vm" for e in sent)
    done = {e["id"]: e for e in events if e["event"] == "done"}
    assert all(done[e["id"]]["request_id"] for e in sent)  # the vCenter task keys
