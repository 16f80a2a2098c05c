"""`options`, `migrate`, `vmotion` and `drain` on the demo estate, in a child process: plans, refusals, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.test_cli_status import run_cli

BUSY_HOST = "kvm-1001"  # the demo's KVM host with 20 instances


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


def _status() -> dict[str, Any]:
    done = run_cli("status", "--demo", "--json")
    return dict(json.loads(done.stdout))


def _instances_on(host: str) -> list[str]:
    done = run_cli("drain", "--demo", "--cloud", "demo-cloud", "--host", host, "--dry-run", "--json")
    steps = json.loads(done.stdout)["plan"]["steps"]
    return [s["target"] for s in steps if s["verb"] in ("live-migrate", "cold-migrate")]


def _options(item: str) -> dict[str, dict[str, Any]]:
    done = run_cli("options", "--demo", item, "--json")
    assert done.returncode == 0, done.stderr
    return {o["kind"]: o for o in json.loads(done.stdout)["options"]}


def test_a_kvm_drain_disables_the_service_then_live_migrates_every_instance(tmp_path: Path) -> None:
    done = run_cli("drain", "--demo", "--cloud", "demo-cloud", "--host", BUSY_HOST, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["plan"]["steps"]
    assert steps[0]["verb"] == "disable-service" and steps[0]["parameters"]["reason"]
    assert [s["verb"] for s in steps[1:]] == ["live-migrate"] * 20
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_vmwareapi_instance_live_migrates_only_to_a_node_of_its_own_vcenter_and_never_evacuates() -> None:
    nodes = {n["host"]: n for n in _status()["compute_nodes"]}
    vmware = sorted(h for h, n in nodes.items() if n["hypervisor_type"] == "VMware vCenter Server")
    done = run_cli("drain", "--demo", "--cloud", "demo-cloud", "--host", vmware[0], "--dry-run")
    assert done.returncode == 2 and "whole cluster" in done.stderr + done.stdout, done.stderr
    assert "hybridview drain --vcenter" in done.stdout + done.stderr
    found = _options(f"ops-{vmware[0]}-01")
    assert not found["evacuate"]["available"] and "vmwareapi" in found["evacuate"]["reason"]
    usable = [t["ident"] for t in found["live-migrate"]["targets"] if t["usable"]]
    vcenter_of = {h: (n["vcenter_cluster"] or "").split("/")[0] for h, n in nodes.items()}  # cluster:VC/moref
    assert usable and {vcenter_of[t] for t in usable} == {vcenter_of[vmware[0]]}
    assert set(vmware) - set(usable) - {vmware[0]}, "the other vCenter's nodes are no target"


def test_a_live_migration_on_the_demo_is_sent_tracked_and_audited(tmp_path: Path) -> None:
    instance = _instances_on(BUSY_HOST)[0]
    done = run_cli("migrate", "--demo", instance, "--target", "kvm-1002", "--json", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    item = json.loads(done.stdout)["items"][0]
    assert item["state"] == "done" and item["message"] == "ACTIVE on kvm-1002"
    audit = run_cli("audit", "--json", env=_env(tmp_path))
    assert [json.loads(line)["verb"] for line in audit.stdout.splitlines()] == ["live-migrate"]


def test_impossible_moves_are_refused_with_exit_2_and_nothing_is_sent(tmp_path: Path) -> None:
    instance = _instances_on(BUSY_HOST)[0]
    unknown = run_cli("migrate", "--demo", instance, "--target", "kvm-9999", env=_env(tmp_path))
    same = run_cli("migrate", "--demo", instance, "--target", BUSY_HOST, env=_env(tmp_path))
    nothing = run_cli("migrate", "--demo", "no-such-instance", env=_env(tmp_path))
    no_resize = run_cli("migrate", "--demo", instance, "--confirm", env=_env(tmp_path))
    assert [r.returncode for r in (unknown, same, nothing, no_resize)] == [2, 2, 2, 2]
    assert "kvm-9999" in unknown.stderr and "no instance" in nothing.stderr
    assert not (tmp_path / "audit.jsonl").exists()


def test_an_esxi_drain_without_full_drs_moves_each_vm_by_our_placement_and_fully_automated_by_drs() -> None:
    clusters = {c["drs_behavior"]: c for c in _status()["vcenter_clusters"] if c["vcenter"] == "vc-east"}
    manual, automated = clusters["manual"]["hosts"][0], clusters["fullyAutomated"]["hosts"][0]
    ours = run_cli("drain", "--demo", "--vcenter", "vc-east", "--host", manual["name"], "--dry-run", "--json")
    assert ours.returncode == 0, ours.stderr
    steps = json.loads(ours.stdout)["plan"]["steps"]
    others = {h["name"] for h in clusters["manual"]["hosts"]} - {manual["name"]}
    assert len([s for s in steps if s["verb"] == "relocate-vm"]) == manual["vms"]
    assert {s["parameters"]["host_name"] for s in steps if s["verb"] == "relocate-vm"} <= others
    assert steps[-1]["verb"] == "enter-maintenance"
    drs = run_cli("drain", "--demo", "--vcenter", "vc-east", "--host", automated["name"], "--dry-run", "--json")
    plan = json.loads(drs.stdout)["plan"]
    assert [s["verb"] for s in plan["steps"]] == ["enter-maintenance"]
    assert any("DRS" in note for note in plan["notes"])


def test_a_vmotion_dry_run_picks_the_least_loaded_host_of_the_cluster_and_sends_nothing(tmp_path: Path) -> None:
    found = _options("ops-nova-vmware-01-01")
    usable = [t for t in found["vmotion"]["targets"] if t["usable"]]
    dry = run_cli("vmotion", "--demo", "ops-nova-vmware-01-01", "--dry-run", "--json", env=_env(tmp_path))
    assert dry.returncode == 0, dry.stderr
    step = json.loads(dry.stdout)["plan"]["steps"][0]
    assert step["verb"] == "relocate-vm" and step["parameters"]["host_moref"] == usable[0]["ident"]
    assert not (tmp_path / "audit.jsonl").exists()
