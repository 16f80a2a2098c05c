"""``hybridview status --timeout`` keeps to its budget when a vCenter accepts and never answers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.peers.vcsim.fixture import VcsimPeer
from tests.silent_vcenter import PASSWORD_ENV, SilentServer, vcenter_entry
from tests.unit.test_cli_status import status
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

TIMEOUT = 5
# The command keeps to TIMEOUT; the rest covers starting the interpreter on a loaded runner.
WALL_LIMIT_SECONDS = TIMEOUT + 1.5


def status_within_timeout(tmp_path: Path, *entries: dict[str, object]) -> tuple[int, dict[str, Any], float]:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "vcenters": list(entries)}))
    started = time.monotonic()
    proc = status("--json", "--timeout", str(TIMEOUT), "--config", str(config), env={PASSWORD_ENV: VCSIM_PASSWORD})
    elapsed = time.monotonic() - started
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), elapsed


def endpoint(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in doc["endpoints"] if e["name"] == name)


def assert_no_answer_in_time(doc: dict[str, Any], name: str) -> None:
    silent = endpoint(doc, name)
    assert silent["ok"] is False
    assert "no answer within" in silent["error"], silent


def test_a_vcenter_that_never_answers_is_unknown_within_the_timeout(tmp_path: Path) -> None:
    silent = SilentServer()
    try:
        code, doc, elapsed = status_within_timeout(tmp_path, vcenter_entry("vc-silent", silent.port, False))
    finally:
        silent.close()
    assert elapsed < WALL_LIMIT_SECONDS
    assert code == 3
    assert doc["health"] == "unknown"
    assert_no_answer_in_time(doc, "vc-silent")


@pytest.mark.vcsim_peer
def test_a_silent_vcenter_beside_a_good_one_is_stale_and_the_good_one_is_shown(tmp_path: Path) -> None:
    silent = SilentServer()
    try:
        with VcsimPeer(clusters=2, hosts=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
            code, doc, elapsed = status_within_timeout(
                tmp_path,
                vcenter_entry("vcsim", vcsim.port, vcsim.ca_file),
                vcenter_entry("vc-silent", silent.port, vcsim.ca_file),
            )
            assert vcsim.terminate_sessions() == 0, "status left a vCenter session open"
    finally:
        silent.close()
    assert elapsed < WALL_LIMIT_SECONDS
    assert code >= 1
    assert endpoint(doc, "vcsim")["ok"] is True
    assert {c["vcenter"] for c in doc["vcenter_clusters"]} == {"vcsim"}
    assert len(doc["vcenter_clusters"]) == 2
    assert_no_answer_in_time(doc, "vc-silent")
