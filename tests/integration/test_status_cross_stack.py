"""`hybridview status` on a real config: the Nova peer and the vCenter simulator, linked."""

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


@dataclass
class Stack:
    vcsim: VcsimPeer
    nova: NovaPeer
    config: Path
    nodename: str
    cluster_moref: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with VcsimPeer(clusters=2, hosts=3, vms=12, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
        cluster = vcsim.list_clusters()[0]
        nodename = f"{cluster['moref']}.{vcsim.instance_uuid}"
        with NovaPeer(computes=["kvm1"], vmware_nodes={"nova-vmware-1": nodename}) as nova:
            clouds = nova.write_clouds_yaml(tmp / "clouds.yaml")
            config = tmp / "hybridview.yaml"
            config.write_text(
                yaml.safe_dump(
                    {
                        "refresh_seconds": 10,
                        "clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}],
                        "vcenters": [
                            {
                                "name": "vcsim",
                                "host": vcsim.host,
                                "port": vcsim.port,
                                "user": VCSIM_USER,
                                "password_env": PASSWORD_ENV,
                                "verify": vcsim.ca_file,
                            }
                        ],
                    }
                )
            )
            yield Stack(vcsim, nova, config, nodename, cluster["moref"])


def _status(stack: Stack, config: Path | None = None) -> tuple[int, dict[str, Any]]:
    env = {**os.environ, PASSWORD_ENV: VCSIM_PASSWORD}
    env.pop("HYBRIDVIEW_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "hybridview.cli", "status", "--json", "--config", str(config or stack.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def test_status_lists_every_cluster_and_host_with_the_simulators_counts(stack: Stack) -> None:
    code, doc = _status(stack)
    assert [e["ok"] for e in doc["endpoints"]] == [True, True], doc["endpoints"]
    assert code == 0, doc["failed_hosts"]
    hosts = {h["moref"]: h for c in doc["vcenter_clusters"] for h in c["hosts"]}
    expected = {h["moref"]: h for h in stack.vcsim.list_hosts()}
    assert set(hosts) == set(expected)
    assert all(h["ref"] == f"host:vcsim/{m}" for m, h in hosts.items())
    assert {m: h["vms"] for m, h in hosts.items()} == {m: h["vms"] for m, h in expected.items()}
    assert {c["moref"] for c in doc["vcenter_clusters"]} == {c["moref"] for c in stack.vcsim.list_clusters()}


def test_vmwareapi_node_and_cluster_name_each_other(stack: Stack) -> None:
    _code, doc = _status(stack)
    node = next(n for n in doc["compute_nodes"] if n["hypervisor_hostname"] == stack.nodename)
    assert node["hypervisor_type"] == "VMware vCenter Server"
    assert node["ref"] == f"node:nova-peer/{stack.nodename}"
    assert node["vcenter_cluster"] == f"cluster:vcsim/{stack.cluster_moref}"
    cluster = next(c for c in doc["vcenter_clusters"] if c["moref"] == stack.cluster_moref)
    assert cluster["ref"] == node["vcenter_cluster"]
    assert cluster["nova_node"] == node["ref"]
    others = [c for c in doc["vcenter_clusters"] if c["moref"] != stack.cluster_moref]
    assert others and all(c["nova_node"] is None for c in others)


def test_failed_esxi_host_appears_in_the_next_status(stack: Stack) -> None:
    victim = stack.vcsim.list_hosts()[0]
    stack.vcsim.set_host_state(victim["name"], "notResponding")
    try:
        code, doc = _status(stack)
    finally:
        stack.vcsim.set_host_state(victim["name"], "connected")
    assert code == 2
    assert [(f["layer"], f["name"]) for f in doc["failed_hosts"]] == [("esxi", victim["name"])]


def test_tls_verification_off_works_but_is_a_warning(stack: Stack, tmp_path: Path) -> None:
    settings = yaml.safe_load(stack.config.read_text())
    settings["vcenters"][0]["verify"] = False
    insecure = tmp_path / "insecure.yaml"
    insecure.write_text(yaml.safe_dump(settings))
    code, doc = _status(stack, insecure)
    vcenter = next(e for e in doc["endpoints"] if e["kind"] == "vcenter")
    assert vcenter["ok"] is True
    assert any("TLS verification is OFF" in w for w in vcenter["warnings"])
    assert (code, doc["health"]) == (1, "warning")
