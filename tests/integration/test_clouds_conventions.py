"""Clouds are found where the `openstack` CLI finds them: `hybridview status` on the real Nova peer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.nova_peer import COMPUTES, nova_peer
from tests.peers.nova.fixture import NovaPeer
from tests.unit.test_cli_status import run_cli

pytestmark = pytest.mark.nova_peer
__all__ = ["nova_peer"]

CLOUD = "nova-peer"
# Nothing from the caller's shell decides where clouds are found; a test sets what it means to.
UNSET = {"OS_CLOUD": "", "OS_CLIENT_CONFIG_FILE": "", "OS_CLIENT_SECURE_FILE": ""}


def _settings(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "hybridview.yaml"
    path.write_text(yaml.safe_dump({"version": 1, **data}))
    return path


def _status(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`status --json` with an empty XDG config home: no settings file and no clouds.yaml of the user's."""
    empty_home = tmp_path / "xdg"
    empty_home.mkdir(exist_ok=True)
    proc = run_cli("status", "--json", *args, env={**UNSET, "XDG_CONFIG_HOME": str(empty_home), **env})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _peer_computes(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The compute hosts status read from the peer, once the endpoint answered without error."""
    doc = json.loads(proc.stdout)
    (endpoint,) = doc["endpoints"]
    assert (endpoint["name"], endpoint["ok"], endpoint["error"]) == (CLOUD, True, None), proc.stderr
    return sorted(n["host"] for n in doc["compute_nodes"])


def test_os_client_config_file_finds_a_cloud_the_settings_name(
    nova_peer: tuple[NovaPeer, Path], tmp_path: Path
) -> None:
    _peer, clouds = nova_peer
    settings = _settings(tmp_path, {"clouds": [CLOUD]})
    proc = _status(tmp_path, "--config", str(settings), OS_CLIENT_CONFIG_FILE=str(clouds))
    assert proc.returncode == 0, proc.stderr
    assert _peer_computes(proc) == sorted(COMPUTES)


def test_os_cloud_is_read_when_the_settings_name_no_endpoint(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    _peer, clouds = nova_peer
    settings = _settings(tmp_path, {"refresh_seconds": 10})
    proc = _status(tmp_path, "--config", str(settings), OS_CLOUD=CLOUD, OS_CLIENT_CONFIG_FILE=str(clouds))
    assert _peer_computes(proc) == sorted(COMPUTES)


def test_os_cloud_is_read_with_no_settings_file_at_all(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    _peer, clouds = nova_peer
    proc = _status(tmp_path, OS_CLOUD=CLOUD, OS_CLIENT_CONFIG_FILE=str(clouds))
    assert _peer_computes(proc) == sorted(COMPUTES)


def test_no_endpoint_and_no_os_cloud_exits_3_naming_os_cloud(tmp_path: Path) -> None:
    proc = _status(tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "$OS_CLOUD is not set" in line and "--demo" in line


def test_the_explicit_clouds_yaml_wins_over_os_client_config_file(
    nova_peer: tuple[NovaPeer, Path], tmp_path: Path
) -> None:
    peer, clouds = nova_peer
    decoy = tmp_path / "decoy-clouds.yaml"  # the same cloud name, at an endpoint nothing listens on
    decoy.write_text(clouds.read_text().replace(peer.endpoint.split("/v2.1")[0], "http://127.0.0.1:9"))
    settings = _settings(tmp_path, {"clouds": [{"name": CLOUD, "clouds_yaml": str(clouds)}]})
    proc = _status(tmp_path, "--config", str(settings), OS_CLIENT_CONFIG_FILE=str(decoy))
    assert _peer_computes(proc) == sorted(COMPUTES)


def test_the_token_may_live_in_secure_yaml(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    peer, _clouds = nova_peer
    public = peer.clouds_config(CLOUD)
    del public["clouds"][CLOUD]["auth"]["token"]
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(public))
    secure = tmp_path / "secure.yaml"
    secure.write_text(yaml.safe_dump({"clouds": {CLOUD: {"auth": {"token": peer.token}}}}))
    proc = _status(tmp_path, OS_CLOUD=CLOUD, OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLIENT_SECURE_FILE=str(secure))
    assert _peer_computes(proc) == sorted(COMPUTES)


def test_an_unknown_cloud_names_the_clouds_yaml_it_read(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    _peer, clouds = nova_peer
    proc = _status(tmp_path, OS_CLOUD="no-such-cloud", OS_CLIENT_CONFIG_FILE=str(clouds))
    (endpoint,) = json.loads(proc.stdout)["endpoints"]
    assert endpoint["error"] == f"clouds.yaml: cloud 'no-such-cloud' was not found in {clouds}"


def test_a_token_without_the_admin_role_says_which_role_the_check_needs(
    nova_peer: tuple[NovaPeer, Path], tmp_path: Path
) -> None:
    peer, clouds = nova_peer
    # The peer maps token "user:project" onto its stub keystone; any user but "admin" has reader and member only.
    viewer = tmp_path / "viewer-clouds.yaml"
    viewer.write_text(clouds.read_text().replace(peer.token, f"viewer:{peer.ready['project_id']}"))
    proc = _status(tmp_path, OS_CLOUD=CLOUD, OS_CLIENT_CONFIG_FILE=str(viewer))
    (endpoint,) = json.loads(proc.stdout)["endpoints"]
    assert endpoint["ok"] is False
    assert endpoint["error"].startswith("HTTP 403: Policy doesn't allow os_compute_api:"), endpoint["error"]
    assert "(request id req-" in endpoint["error"]
    assert endpoint["error"].endswith(") — this check needs the admin role on the cloud (Nova's default policy)")
