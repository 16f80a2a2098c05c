"""The write commands on the demo estate, in a child process: plans, refusals and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_cli_status import run_cli

DEAD = "kvm-1003"  # the host kvm-host-down fails (not forced down: the fencing gate applies)


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


def test_a_dry_run_lists_storage_and_data_outcome_and_sends_nothing(tmp_path: Path) -> None:
    done = run_cli("evacuate", "--scenario", "kvm-host-down", "--host", DEAD, "--dry-run", "--json", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["plan"]["steps"]
    assert {(s["parameters"]["storage"], s["parameters"]["data_outcome"]) for s in steps} <= {
        ("local", "rebuilt-from-image"),
        ("volume", "preserved"),
    }
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_live_host_no_fencing_and_read_only_are_each_refused_with_exit_2(tmp_path: Path) -> None:
    base = ("evacuate", "--scenario", "kvm-host-down")
    live = run_cli(*base, "--host", "kvm-1001", "--i-have-fenced", env=_env(tmp_path))
    unfenced = run_cli(*base, "--host", DEAD, env=_env(tmp_path))
    read_only = run_cli(*base, "--host", DEAD, "--i-have-fenced", "--read-only", env=_env(tmp_path))
    assert [r.returncode for r in (live, unfenced, read_only)] == [2, 2, 2]
    assert "is up" in live.stderr and "fenced" in unfenced.stderr and "read-only" in read_only.stderr
    assert not (tmp_path / "audit.jsonl").exists()


def test_an_evacuation_reports_each_item_and_exits_1_when_one_failed(tmp_path: Path) -> None:
    done = run_cli(
        "evacuate", "--scenario", "kvm-host-down", "--host", DEAD, "--i-have-fenced", "--force-down",
        "--concurrency", "6", "--json", env=_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the demo's seeded failure is on this host
    items = json.loads(done.stdout)["items"]
    assert items[0]["verb"] == "force-down" and items[0]["ok"]
    failed = [i for i in items if not i["ok"]]
    assert len(failed) == 1 and failed[0]["request_id"].startswith("req-") and failed[0]["message"]
    assert all(i["message"].startswith("SHUTOFF on kvm-") for i in items[1:] if i["ok"])
    audit = run_cli("audit", "--json", env=_env(tmp_path))
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    assert len(entries) == len(items) and {e["outcome"] for e in entries} == {"done", "failed"}
