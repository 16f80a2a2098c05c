"""``hybridview watch --json`` against VMware's simulator and the Nova peer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.nova_peer import COMPUTES, nova_peer  # noqa: F401 - module fixture
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.silent_vcenter import PASSWORD_ENV, SilentServer, vcenter_entry
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER
from tests.watch_process import WatchProcess

HOST_REPORT_SECONDS = 5.0


@pytest.fixture
def vcsim() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=3, vms=12, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        yield peer


def watch_vcenters(tmp_path: Path, *entries: dict[str, object]) -> WatchProcess:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "refresh_seconds": 60, "vcenters": list(entries)}))
    return WatchProcess("--config", str(config), env={PASSWORD_ENV: VCSIM_PASSWORD})


def host_goes_critical_within_seconds(watch: WatchProcess, peer: VcsimPeer) -> None:
    initial = watch.initial_report()
    assert initial[-1]["kind"] == "overall" and initial[-1]["from"] is None
    for line in initial:
        assert set(line) >= {"time", "kind", "ref", "name", "from", "to", "reason"}
        assert line["time"].endswith("Z")
    time.sleep(1.5)  # the change feed delivers its initial state
    host = peer.list_hosts()[0]
    started = time.monotonic()
    peer.set_host_state(host["name"], "notResponding")
    line = watch.wait_for(lambda ln: ln["kind"] == "host" and ln["name"] == host["name"], HOST_REPORT_SECONDS)
    elapsed = time.monotonic() - started
    assert line["to"] == "CRITICAL" and line["from"] == "OK", line
    assert line["ref"] == f"host:vcsim/{host['moref']}"
    assert "notResponding" in line["reason"]
    assert elapsed < HOST_REPORT_SECONDS
    overall = watch.wait_for(lambda ln: ln["kind"] == "overall", 2)
    assert overall["to"] == "CRITICAL"


@pytest.mark.vcsim_peer
def test_watch_reports_a_failed_esxi_host_through_the_feed_and_exits_cleanly(tmp_path: Path, vcsim: VcsimPeer) -> None:
    watch = watch_vcenters(tmp_path, vcenter_entry("vcsim", vcsim.port, vcsim.ca_file))
    try:
        host_goes_critical_within_seconds(watch, vcsim)
        code, err = watch.stop()
    finally:
        watch.kill()
    assert code == 0, err
    assert "Traceback" not in err
    assert vcsim.terminate_sessions() == 0, "watch left a vCenter session open"


@pytest.mark.vcsim_peer
def test_a_vcenter_that_never_answers_holds_back_no_other(tmp_path: Path, vcsim: VcsimPeer) -> None:
    silent = SilentServer()
    watch = watch_vcenters(
        tmp_path,
        vcenter_entry("vcsim", vcsim.port, vcsim.ca_file),
        vcenter_entry("vc-silent", silent.port, vcsim.ca_file),
    )
    try:
        initial = watch.initial_report(seconds=15)
        silent_line = next(ln for ln in initial if ln["kind"] == "endpoint" and ln["name"] == "vc-silent")
        assert silent_line["to"] == "STALE"
        watch.seen.clear()
        host_goes_critical_within_seconds_after_start(watch, vcsim)
        code, err = watch.stop(seconds=30)
    finally:
        watch.kill()
        silent.close()
    assert code == 0, err
    assert "Traceback" not in err
    assert vcsim.terminate_sessions() == 0, "watch left a vCenter session open"


def host_goes_critical_within_seconds_after_start(watch: WatchProcess, peer: VcsimPeer) -> None:
    time.sleep(1.5)
    host = peer.list_hosts()[1]
    started = time.monotonic()
    peer.set_host_state(host["name"], "notResponding")
    line = watch.wait_for(lambda ln: ln["kind"] == "host" and ln["name"] == host["name"], HOST_REPORT_SECONDS)
    assert line["to"] == "CRITICAL"
    assert time.monotonic() - started < HOST_REPORT_SECONDS


@pytest.mark.nova_peer
def test_watch_reports_a_stopped_nova_compute(tmp_path: Path, nova_peer: tuple[NovaPeer, Path]) -> None:  # noqa: F811
    peer, clouds = nova_peer
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "clouds": [{"name": "nova-peer", "clouds_yaml": str(clouds)}]}))
    watch = WatchProcess("--config", str(config), "--interval", "2")
    victim = COMPUTES[-1]
    try:
        initial = watch.initial_report()
        assert not [ln for ln in initial if ln["kind"] == "node" and victim in ln["name"]]
        peer.stop_compute(victim)
        line = watch.wait_for(lambda ln: ln["kind"] == "node" and victim in ln["name"], 60)
        assert line["to"] == "CRITICAL" and line["from"] == "OK", [
            (ln["kind"], ln["to"], ln["reason"]) for ln in watch.seen
        ]
        assert "down" in line["reason"]
        code, err = watch.stop()
    finally:
        watch.kill()
        peer.start_compute(victim)
    assert code == 0, err
