"""Testing a connection before it is saved, against the real peers: the Nova API and VMware's simulator.

Each test calls ``service.connections`` as the window does (through the module, so pytest collects
none of its ``test_*`` functions) and checks the steps a person reads: reachable, authenticated,
version, privileges. What a step should find comes from the peer itself, never from a constant.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVmomi import vim

from hybridview.config import CloudConfig, VCenterConfig
from hybridview.core.model import EndpointKind
from hybridview.service import connections
from hybridview.service.connections import ConnectionTest
from tests.faults.certs import make_authority
from tests.integration.nova_peer import nova_peer
from tests.keyring_memory import MemoryKeyring, memory_keyring
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.silent_vcenter import SilentServer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_config
from tests.vcsim_session import operator_session

__all__ = ["memory_keyring", "nova_peer"]  # fixtures, imported for use here

TIMEOUT = 3.0
SILENT_BOUND = TIMEOUT + 10  # generous: a loaded runner, and the bound is the point, not the speed
REFUSED_BOUND = 2.0  # a refused connection fails at once
VIEWER, VIEWER_PASSWORD = "connections-viewer", "viewer-password"  # an account without the admin role


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _steps(result: ConnectionTest) -> dict[str, tuple[bool, str]]:
    return {c.step: (c.ok, c.text) for c in result.checks}


def _unreachable(result: ConnectionTest) -> str:
    """The text of a test that never reached the endpoint: one check, reachable, failed."""
    (check,) = result.checks
    assert (check.step, check.ok) == ("reachable", False), result.checks
    assert not result.ok
    return check.text


def _timed_out(result: ConnectionTest) -> None:
    """An endpoint that never answers: unreachable within the timeout, and it says so."""
    assert result.elapsed_seconds < SILENT_BOUND
    assert "timed out" in _unreachable(result)


def _login_refused(result: ConnectionTest) -> str:
    """The text of a refused login: reachable passed, authenticated failed, nothing asked after it."""
    assert [(c.step, c.ok) for c in result.checks] == [("reachable", True), ("authenticated", False)]
    assert not result.ok and result.version is None
    return result.checks[-1].text


# ---- Nova ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def nova(nova_peer: tuple[NovaPeer, Path]) -> NovaPeer:
    return nova_peer[0]


@pytest.fixture(scope="module")
def clouds_yaml(
    nova_peer: tuple[NovaPeer, Path], silent: SilentServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Clouds of the peer: by password (admin), by static token, a viewer, a wrong password, nobody home."""
    peer, _token_clouds = nova_peer
    peer.set_keystone_account(VIEWER, VIEWER_PASSWORD)
    by_password = peer.clouds_config("p", auth="password")["clouds"]["p"]
    by_token = peer.clouds_config("t")["clouds"]["t"]

    def login(user: str, password: str, auth_url: str | None = None) -> dict[str, Any]:
        auth = {**by_password["auth"], "username": user, "password": password}
        return {**by_password, "auth": {**auth, "auth_url": auth_url or auth["auth_url"]}}

    keystone = peer.keystone
    clouds = {
        "admin": by_password,
        "token": by_token,
        "viewer": login(VIEWER, VIEWER_PASSWORD),
        "wrong-password": login(keystone["username"], "not-the-password"),
        "refused": login(keystone["username"], keystone["password"], f"http://127.0.0.1:{_closed_port()}/identity/v3"),
        "silent": login(keystone["username"], keystone["password"], f"http://127.0.0.1:{silent.port}/identity/v3"),
    }
    path = tmp_path_factory.mktemp("connections") / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


def _cloud(clouds_yaml: Path, name: str) -> ConnectionTest:
    return connections.test_cloud(CloudConfig(name, clouds_yaml=str(clouds_yaml)), timeout_seconds=TIMEOUT)


def _max_microversion(peer: NovaPeer) -> str:
    """What the compute API's own version document says (no token needed)."""
    with urllib.request.urlopen(peer.endpoint, timeout=10) as answer:  # noqa: S310 (the peer on 127.0.0.1)
        return str(json.loads(answer.read())["version"]["version"])


@pytest.mark.nova_peer
def test_cloud_names_are_those_of_the_clouds_yaml(clouds_yaml: Path) -> None:
    assert connections.cloud_names(str(clouds_yaml)) == tuple(sorted(yaml.safe_load(clouds_yaml.read_text())["clouds"]))


@pytest.mark.nova_peer
def test_an_admin_cloud_passes_every_step_with_the_version_and_privileges(nova: NovaPeer, clouds_yaml: Path) -> None:
    result = _cloud(clouds_yaml, "admin")
    steps = _steps(result)
    assert [c.step for c in result.checks] == ["reachable", "authenticated", "version", "privileges"]
    assert all(ok for ok, _text in steps.values()), steps
    assert result.ok and result.kind is EndpointKind.NOVA
    assert result.version == f"compute {_max_microversion(nova)}"
    assert nova.keystone["auth_url"] in steps["reachable"][1]
    assert f"token issued for {nova.keystone['username']}" in steps["authenticated"][1]
    assert "admin" in steps["authenticated"][1]
    for read in ("os-services", "os-hypervisors", "servers of all projects", "os-migrations"):
        assert read in steps["privileges"][1]
    assert steps["privileges"][1].endswith("; admin")


@pytest.mark.nova_peer
def test_a_static_token_cloud_is_checked_by_the_compute_api(nova: NovaPeer, clouds_yaml: Path) -> None:
    result = _cloud(clouds_yaml, "token")
    assert result.ok and all(c.ok for c in result.checks), result.checks
    assert result.version == f"compute {_max_microversion(nova)}"
    assert "accepted by the compute API" in _steps(result)["authenticated"][1]


@pytest.mark.nova_peer
def test_a_viewer_logs_in_and_is_told_what_it_cannot_do(clouds_yaml: Path) -> None:
    result = _cloud(clouds_yaml, "viewer")
    steps = _steps(result)
    assert result.ok  # reachable and authenticated: missing privileges are shown, not fatal
    assert steps["authenticated"][0] and steps["version"][0]
    ok, text = steps["privileges"]
    assert not ok
    assert text.startswith("refused (HTTP 403): os-services, os-hypervisors, servers of all projects, os-migrations")
    assert text.endswith("not admin: evacuation and moves will be refused")


@pytest.mark.nova_peer
def test_a_wrong_password_fails_at_authenticated_and_names_the_user_and_keystone(
    nova: NovaPeer, clouds_yaml: Path
) -> None:
    said = _login_refused(_cloud(clouds_yaml, "wrong-password"))
    assert said == f"login refused for user {nova.keystone['username']} at {nova.keystone['auth_url']}"


@pytest.mark.nova_peer
def test_nothing_listening_fails_at_reachable_at_once(clouds_yaml: Path) -> None:
    started = time.monotonic()
    said = _unreachable(_cloud(clouds_yaml, "refused"))
    assert time.monotonic() - started < REFUSED_BOUND
    assert "connection refused" in said and "\n" not in said


@pytest.mark.nova_peer
def test_a_silent_identity_endpoint_ends_within_the_timeout(clouds_yaml: Path) -> None:
    _timed_out(_cloud(clouds_yaml, "silent"))


# ---- vCenter -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=2, vms=4, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        yield peer


@pytest.fixture
def client(vcsim: VcsimPeer) -> Iterator[Any]:
    """A plain pyVmomi client, to see the simulator as any vCenter client does."""
    with operator_session(vcsim) as si:
        yield si


def _vcenter(config: VCenterConfig, password: str | None = VCSIM_PASSWORD) -> ConnectionTest:
    return connections.test_vcenter(config, password, timeout_seconds=TIMEOUT)


@pytest.mark.vcsim_peer
def test_a_vcenter_passes_every_step_and_logs_out(vcsim: VcsimPeer, client: Any) -> None:
    result = _vcenter(vcsim_config(vcsim))
    steps = _steps(result)
    assert [c.step for c in result.checks] == ["reachable", "authenticated", "version", "privileges"]
    assert all(ok for ok, _text in steps.values()), steps
    assert result.ok and result.kind is EndpointKind.VCENTER
    content = client.RetrieveContent()
    assert result.version == content.about.fullName
    assert f"trusted by {vcsim.ca_file}" in steps["reachable"][1]
    assert steps["authenticated"][1] == f"logged in as {VCSIM_USER}"
    assert f"and {len(vcsim.list_clusters())} clusters" in steps["privileges"][1]
    others = [s for s in content.sessionManager.sessionList if s.key != content.sessionManager.currentSession.key]
    assert others == []  # the test's session was logged out


@pytest.mark.vcsim_peer
def test_a_wrong_password_is_refused_for_the_user(vcsim: VcsimPeer) -> None:
    said = _login_refused(_vcenter(vcsim_config(vcsim), "not-the-password"))
    assert said.startswith(f"login refused for {VCSIM_USER}")


@pytest.mark.vcsim_peer
def test_no_password_given_means_the_stored_one(
    vcsim: VcsimPeer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_keyring = replace(vcsim_config(vcsim), password_env=None, keyring=True)
    missing = _vcenter(in_keyring, None)
    assert not missing.ok and "no password in the system keyring" in missing.checks[-1].text
    memory_keyring.set_password("hybridview", in_keyring.name, VCSIM_PASSWORD)
    assert _vcenter(in_keyring, None).ok
    assert _vcenter(in_keyring, "").ok  # an empty password field keeps the stored one
    by_env = vcsim_config(vcsim)
    assert by_env.password_env is not None
    monkeypatch.setenv(by_env.password_env, VCSIM_PASSWORD)
    assert _vcenter(by_env, None).ok


@pytest.mark.vcsim_peer
def test_a_wrong_pin_fails_at_tls_and_the_right_one_passes(vcsim: VcsimPeer) -> None:
    wrong = _unreachable(_vcenter(replace(vcsim_config(vcsim), verify=True, thumbprint="AA:" * 31 + "AA")))
    assert "does not match the pinned one" in wrong and vcsim.thumbprint_sha256 in wrong
    right = _vcenter(replace(vcsim_config(vcsim), verify=True, thumbprint=vcsim.thumbprint_sha256))
    assert right.ok and "the certificate is the pinned one" in right.checks[0].text


@pytest.mark.vcsim_peer
def test_the_certificate_is_verified_against_the_ca_asked_for(vcsim: VcsimPeer, tmp_path: Path) -> None:
    stranger = make_authority(tmp_path / "other-ca", "stranger")
    for verify in (True, str(stranger.ca_file)):  # the system's CAs, and another CA, do not know vcsim's
        said = _unreachable(_vcenter(replace(vcsim_config(vcsim), verify=verify)))
        assert said.startswith("TLS certificate not trusted"), said
    unverified = _vcenter(replace(vcsim_config(vcsim), verify=False))
    assert unverified.ok and "NOT verified" in unverified.checks[0].text


@pytest.mark.vcsim_peer
def test_a_role_without_the_write_privileges_on_a_cluster_is_named(vcsim: VcsimPeer, client: Any) -> None:
    content = client.RetrieveContent()
    manager = content.authorizationManager
    read_only = next(r.roleId for r in manager.roleList if r.name == "ReadOnly")
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
    limited, other = sorted(view.view, key=lambda c: c.name)
    view.Destroy()
    permission = vim.AuthorizationManager.Permission(
        principal=VCSIM_USER, group=False, roleId=read_only, propagate=True
    )
    manager.SetEntityPermissions(limited, [permission])
    try:
        result = _vcenter(vcsim_config(vcsim))
    finally:
        manager.SetEntityPermissions(limited, [])
    ok, text = _steps(result)["privileges"]
    assert result.ok and not ok
    assert text.startswith(f"missing on {limited.name}: ")
    assert "Resource.HotMigrate" in text and "vMotion" in text and "maintenance mode" in text
    assert other.name not in text and "System.Read" not in text
    assert _vcenter(vcsim_config(vcsim)).checks[-1].ok  # the permission is gone again


def test_a_silent_vcenter_ends_within_the_timeout(silent: SilentServer) -> None:
    config = VCenterConfig("hung", "127.0.0.1", VCSIM_USER, port=silent.port, password_env="UNUSED", verify=False)
    _timed_out(_vcenter(config))


def test_nothing_listening_at_a_vcenter_fails_at_once() -> None:
    config = VCenterConfig("gone", "127.0.0.1", "u", port=_closed_port(), password_env="UNUSED", verify=False)
    result = _vcenter(config)
    assert result.elapsed_seconds < REFUSED_BOUND
    assert "connection refused" in _unreachable(result)
