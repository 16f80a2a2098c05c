"""``status`` and ``watch`` on a real Nova API record what they observe in the history, and ``timeline``
shows it afterwards; a history that cannot be written (a full disk: /dev/full) is one warning line on
stderr and the usual exit code."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from hybridview.service.history import HISTORY_ENV, History
from tests.integration.nova_peer import COMPUTES, nova_peer  # noqa: F401 - module fixture
from tests.peers.nova.fixture import NovaPeer
from tests.unit.test_cli_status import run_cli
from tests.watch_process import WatchProcess

pytestmark = pytest.mark.nova_peer
VICTIM = COMPUTES[1]
FULL_DISK = Path("/dev/full")
CRITICAL_EXIT = 2


@pytest.fixture
def config(tmp_path: Path, nova_peer: tuple[NovaPeer, Path]) -> Path:  # noqa: F811
    _peer, clouds = nova_peer
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}]}))
    return path


@pytest.fixture
def stopped(nova_peer: tuple[NovaPeer, Path]) -> Iterator[str]:  # noqa: F811
    peer, _clouds = nova_peer
    peer.stop_compute(VICTIM)
    try:
        yield VICTIM
    finally:
        peer.start_compute(VICTIM)


def _env(tmp_path: Path, history: Path) -> dict[str, str]:
    return {HISTORY_ENV: str(history), "HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


def _victim_changes(path: Path) -> list[tuple[str, str | None]]:
    return [(c.state, c.before) for c in History(path).changes() if c.label == VICTIM]


def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.1)


def test_status_records_the_stopped_compute_and_the_timeline_shows_it(
    tmp_path: Path, config: Path, stopped: str
) -> None:
    history = tmp_path / "history.jsonl"
    env = _env(tmp_path, history)
    proc = run_cli("status", "--json", "--config", str(config), env=env)
    assert proc.returncode == CRITICAL_EXIT, proc.stderr
    assert proc.stderr == ""
    assert _victim_changes(history) == [("down", None)]  # first seen down: at its last heartbeat

    shown = run_cli("timeline", "--json", "--host", stopped, "--config", str(config), env=env)
    assert shown.returncode == 0, shown.stderr
    events = [json.loads(line) for line in shown.stdout.splitlines()]
    down = [e for e in events if e["kind"] == "compute service down"]
    assert [(e["object"]["label"], e["source"]) for e in down] == [(stopped, "history")], events
    assert len(history.read_text().splitlines()) == 1  # what status wrote; the timeline found it there


def test_watch_records_each_change_it_prints(tmp_path: Path, config: Path, nova_peer: tuple[NovaPeer, Path]) -> None:  # noqa: F811
    peer, _clouds = nova_peer
    history = tmp_path / "history.jsonl"
    watch = WatchProcess("--config", str(config), "--interval", "2", env=_env(tmp_path, history))
    running = True
    try:
        watch.initial_report()
        peer.stop_compute(VICTIM)
        running = False
        watch.wait_for(lambda ln: ln["kind"] == "node" and VICTIM in ln["name"] and ln["to"] == "CRITICAL", 60)
        _wait_until(lambda: _victim_changes(history) == [("down", "up")], 10)  # seen up, then down
        peer.start_compute(VICTIM)
        running = True
        watch.wait_for(lambda ln: ln["kind"] == "node" and VICTIM in ln["name"] and ln["to"] == "OK", 60)
        _wait_until(lambda: _victim_changes(history) == [("down", "up"), ("up", "down")], 10)
        code, err = watch.stop()
    finally:
        watch.kill()
        if not running:
            peer.start_compute(VICTIM)
    assert code == 0, err
    assert err == ""


def test_a_full_disk_is_one_warning_and_the_usual_exit_code(tmp_path: Path, config: Path, stopped: str) -> None:
    writable = run_cli("status", "--config", str(config), env=_env(tmp_path, tmp_path / "history.jsonl"))
    full = run_cli("status", "--config", str(config), env=_env(tmp_path, FULL_DISK))
    assert writable.returncode == full.returncode == CRITICAL_EXIT, full.stderr
    assert stopped in full.stdout
    (line,) = full.stderr.splitlines()
    assert line.startswith("hybridview: warning: observed changes not recorded") and str(FULL_DISK) in line, line

    watch = WatchProcess("--config", str(config), env=_env(tmp_path, FULL_DISK))
    try:
        initial = watch.initial_report()
        assert [ln["to"] for ln in initial if ln["kind"] == "node" and stopped in ln["name"]] == ["CRITICAL"]
        code, err = watch.stop()
    finally:
        watch.kill()
    assert code == 0, err
    (line,) = err.splitlines()
    assert line.startswith("hybridview: warning: observed changes not recorded") and str(FULL_DISK) in line, line

    timeline = run_cli("timeline", "--config", str(config), "--json", env=_env(tmp_path, FULL_DISK))
    assert timeline.returncode == 0, timeline.stderr  # the events still print
    assert "internal error" not in timeline.stderr
    warnings = [ln for ln in timeline.stderr.splitlines() if "observed changes not recorded" in ln]
    assert len(warnings) == 1 and str(FULL_DISK) in warnings[0], timeline.stderr
