"""``hybridview status`` end to end, as a monitoring system would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridview.core.identity import ClusterRef, HostRef, NodeRef, parse_ref

REPO = Path(__file__).resolve().parents[2]


def status(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("status", *args, env=env)


def run_cli(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, Qt offscreen, with ``env`` added and the variables in ``unset`` removed."""
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    for name in ("HYBRIDVIEW_CONFIG", *unset):
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "hybridview.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=full_env,
        check=False,
    )


def status_json(*args: str) -> tuple[int, dict[str, Any]]:
    proc = status(*args, "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_kvm_host_down_is_critical_with_nova_layer() -> None:
    code, doc = status_json("--demo", "--scenario", "kvm-host-down")
    assert code == 2
    assert doc["health"] == "critical"
    (failed,) = doc["failed_hosts"]
    assert failed["layer"] == "nova"
    assert failed["name"].startswith("kvm-")
    assert parse_ref(failed["ref"]) == NodeRef(failed["owner"], failed["name"])
    assert "evacuate" in failed["advice"]


def test_esxi_host_down_is_critical_with_esxi_layer() -> None:
    code, doc = status_json("--scenario", "esxi-host-down")  # --scenario implies --demo
    assert code == 2
    ha_on, ha_off = doc["failed_hosts"]  # one host of an HA cluster, one of an HA-off cluster
    assert {ha_on["layer"], ha_off["layer"]} == {"esxi"}
    assert "HA is OFF" in ha_off["advice"] and "HA restarts" in ha_on["advice"]
    assert doc["left_behind_vms"] and all(v["why"].startswith("vSphere HA is off") for v in doc["left_behind_vms"])
    failed = ha_on
    assert failed["owner"] == "vc-east"
    assert failed["affected_instances"] > 0
    host = parse_ref(failed["ref"])
    assert isinstance(host, HostRef) and host.vcenter == "vc-east"


def test_healthy_exits_zero() -> None:
    code, doc = status_json("--demo", "--scenario", "healthy")
    assert code == 0
    assert doc["health"] == "ok"
    assert doc["failed_hosts"] == []


def test_document_shape_and_vmware_correlation() -> None:
    code, doc = status_json("--demo")
    assert code == 0
    assert {"health", "endpoints", "compute_nodes", "vcenter_clusters", "failed_hosts"} <= set(doc)
    assert doc["endpoints"]
    for e in doc["endpoints"]:
        assert {"name", "kind", "ok", "error", "last_refresh"} <= set(e)
        assert e["kind"] in ("nova", "vcenter")
        assert e["ok"] is True
        assert e["error"] is None
        assert isinstance(e["last_refresh"], str)
    clusters = {c["ref"]: c for c in doc["vcenter_clusters"]}
    assert clusters
    for ref, c in clusters.items():
        assert parse_ref(ref) == ClusterRef(c["vcenter"], c["moref"])
        assert c["hosts"]
        for h in c["hosts"]:
            assert {"ref", "name", "moref", "connection_state", "vms", "health"} <= set(h)
            assert parse_ref(h["ref"]) == HostRef(c["vcenter"], h["moref"])
    for node in doc["compute_nodes"]:
        assert parse_ref(node["ref"]) == NodeRef(node["cloud"], node["hypervisor_hostname"])
    vmware = [n for n in doc["compute_nodes"] if n["hypervisor_type"] == "VMware vCenter Server"]
    assert len(vmware) == len(clusters)
    for node in vmware:
        ref = node["vcenter_cluster"]
        assert ref is not None, node
        assert clusters[ref]["nova_node"] == node["ref"]
        assert node["hypervisor_hostname"].startswith(clusters[ref]["moref"] + ".")
    for node in doc["compute_nodes"]:
        if node["hypervisor_type"] != "VMware vCenter Server":
            assert node["vcenter_cluster"] is None
    assert doc["unmatched_vmware_nodes"] == []


def test_failed_host_entries_have_the_documented_keys() -> None:
    _code, doc = status_json("--demo", "--scenario", "vmware-proxy-down")
    (failed,) = doc["failed_hosts"]
    assert {"ref", "layer", "name", "reason", "advice"} <= set(failed)
    assert failed["layer"] == "nova"
    assert "Do not evacuate" in failed["advice"]


def test_text_output() -> None:
    proc = status("--demo", "--scenario", "kvm-host-down")
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert lines[0] == "HYBRIDVIEW CRITICAL"
    assert any(line.strip().startswith("FAILED nova host kvm-") for line in lines)


def test_bad_config_exits_3_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("vcenters:\n  - {name: a, host: h, user: u, password: secret}\n", encoding="utf-8")
    proc = status("--config", str(bad), "--json")
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad) in lines[0]
    assert "vcenters[0].password" in lines[0]
    assert "secret" not in proc.stderr


def test_invalid_yaml_config_exits_3(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("clouds: [prod\n", encoding="utf-8")
    proc = status("--config", str(bad))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert str(bad) in line
    assert "line " in line


def test_missing_named_config_exits_3(tmp_path: Path) -> None:
    proc = status("--config", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 3
    (line,) = proc.stderr.splitlines()
    assert "does not exist" in line


@pytest.mark.parametrize("scenario", ["healthy", "kvm-host-down"])
def test_main_in_process(scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    from hybridview.cli import main

    code = main(["status", "--demo", "--scenario", scenario, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == {"healthy": 0, "kvm-host-down": 2}[scenario]
    assert doc["health"] == {"healthy": "ok", "kvm-host-down": "critical"}[scenario]


def test_timeout_defaults_to_30_seconds_and_takes_a_fraction() -> None:
    from hybridview.cli.main import parse_args

    assert parse_args(["status"]).timeout == 30
    assert parse_args(["status", "--timeout", "2.5"]).timeout == 2.5


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "nan", "inf", ""])
def test_a_bad_timeout_is_argparses_one_line_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    from hybridview.cli.main import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(["status", "--timeout", bad])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("hybridview status: error: argument --timeout: ")
    assert "seconds" in error


def test_main_in_process_returns_even_with_a_stuck_worker_alive(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the process entry may end the process early; ``main`` in a test or an embedding returns its code."""
    import threading

    from hybridview.cli import main
    from hybridview.service.workers import THREAD_PREFIX, abandoned_workers

    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name=f"{THREAD_PREFIX}stuck-in-test", daemon=True)
    stuck.start()
    try:
        assert abandoned_workers() >= 1
        code = main(["status", "--demo", "--scenario", "healthy", "--json"])
    finally:
        release.set()
        stuck.join()
    assert code == 0
    assert json.loads(capsys.readouterr().out)["health"] == "ok"


HEADROOM_KEYS = {
    "kind",
    "owner",
    "group",
    "enough",
    "biggest_host",
    "needed",
    "spare",
    "hosts",
    "text",
    "admission_control",
}


def test_headroom_lists_every_group_and_esxi_host_down_leaves_one_cluster_short() -> None:
    _code, doc = status_json("--scenario", "esxi-host-down")
    rooms = doc["headroom"]
    assert {r["kind"] for r in rooms} == {"cluster", "zone", "aggregate"}
    assert len([r for r in rooms if r["kind"] == "cluster"]) == len(doc["vcenter_clusters"])
    for room in rooms:
        assert HEADROOM_KEYS <= set(room), room
        units = {"memory_mb", "cpu_mhz"} if room["kind"] == "cluster" else {"memory_mb", "vcpu"}
        assert set(room["needed"]) == set(room["spare"]) == units, room
    (short,) = [r for r in rooms if r["enough"] is False]
    assert (short["kind"], short["owner"], short["group"]) == ("cluster", "vc-east", "vc-east-cl01")
    assert parse_ref(short["ref"]) == ClusterRef(
        "vc-east", next(c["moref"] for c in doc["vcenter_clusters"] if c["name"] == "vc-east-cl01")
    )
    assert short["needed"]["memory_mb"] > short["spare"]["memory_mb"]
    assert short["short"]["memory_mb"] == short["needed"]["memory_mb"] - short["spare"]["memory_mb"]
    assert short["biggest_host"] in short["text"] and "would not fit" in short["text"]
    assert short["admission_control"] == "HA admission control: reserves capacity for 1 host failure"
    lines = status("--scenario", "esxi-host-down").stdout.splitlines()
    at = lines.index("  Headroom: 1 group(s) could not absorb the failure of one more host")
    assert lines[at + 1].startswith("    cluster vc-east-cl01 (vc-east): If ") and short["text"] in lines[at + 1]


def test_the_healthy_demo_has_headroom_everywhere_and_no_headroom_section() -> None:
    code, doc = status_json("--demo", "--scenario", "healthy")
    assert code == 0
    assert doc["headroom"] and all(r["enough"] is True for r in doc["headroom"])
    assert not any("Headroom" in line for line in status("--demo", "--scenario", "healthy").stdout.splitlines())
