"""pyVmomi backend against VMware's vCenter simulator: TLS, failures, sessions."""

from __future__ import annotations

import gc
import socket
import warnings
from collections.abc import Iterator
from dataclasses import replace

import pytest
from pyVim.connect import Disconnect, SmartConnect

from hybridview.backends.base import BackendError
from hybridview.backends.vsphere import VSphereBackend
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend, vcsim_config

pytestmark = pytest.mark.vcsim_peer


@pytest.fixture(scope="module")
def peer() -> Iterator[VcsimPeer]:
    with VcsimPeer(clusters=2, hosts=2, vms=8, username=VCSIM_USER, password=VCSIM_PASSWORD) as running:
        yield running


@pytest.fixture
def reap_failed_login_sockets() -> Iterator[None]:
    """pyVmomi leaves the socket of a refused login or TLS check open; collect it quietly."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _backend(peer: VcsimPeer, **changes: object) -> VSphereBackend:
    return VSphereBackend(replace(vcsim_config(peer), **changes), password=lambda _cfg: VCSIM_PASSWORD)  # type: ignore[arg-type]


def test_expired_session_is_renewed_transparently(peer: VcsimPeer) -> None:
    backend = vcsim_backend(peer)
    try:
        first = backend.fetch()
        assert backend.logins == 1
        other = SmartConnect(
            host=peer.host, port=peer.port, user=VCSIM_USER, pwd=VCSIM_PASSWORD, sslContext=peer.ssl_context()
        )
        try:
            manager = other.RetrieveContent().sessionManager
            victims = [s.key for s in manager.sessionList if s.key != manager.currentSession.key]
            assert victims
            manager.TerminateSession(victims)
        finally:
            Disconnect(other)
        again = backend.fetch()
        assert backend.logins == 2
        assert len(again.hosts) == len(first.hosts)
    finally:
        backend.close()


def test_change_feed_survives_session_loss(peer: VcsimPeer) -> None:
    backend = vcsim_backend(peer)
    try:
        host = backend.fetch().hosts[0]
        while backend.wait_for_updates(1.0) is not None:
            pass
        peer.terminate_sessions()
        peer.set_host_state(host.name, "notResponding")
        update = None
        for _attempt in range(3):
            update = backend.wait_for_updates(2.0)
            if update is not None:
                break
        assert backend.logins == 2
        assert update is not None
        assert next(h for h in update.hosts if h.moref == host.moref).connection_state == "notResponding"
    finally:
        peer.set_host_state(host.name, "connected")
        backend.close()


@pytest.mark.usefixtures("reap_failed_login_sockets")
def test_untrusted_certificate_is_refused_with_a_clear_error(peer: VcsimPeer) -> None:
    backend = _backend(peer, verify=True)  # the system store does not know the peer's private CA
    with pytest.raises(BackendError, match="TLS certificate not trusted"):
        backend.fetch()


def test_verify_false_works_and_warns(peer: VcsimPeer) -> None:
    backend = _backend(peer, verify=False)
    try:
        assert backend.fetch().hosts
        assert any("TLS verification is OFF" in w for w in backend.warnings)
    finally:
        backend.close()


@pytest.mark.usefixtures("reap_failed_login_sockets")
def test_pinned_thumbprint_accepts_the_right_certificate_only(peer: VcsimPeer) -> None:
    good = _backend(peer, verify=True, thumbprint=peer.thumbprint_sha256)
    try:
        assert good.fetch().hosts
        assert good.warnings == ()
    finally:
        good.close()
    wrong = "AA:" * 31 + "AA"
    with pytest.raises(BackendError, match="does not match the pinned one"):
        _backend(peer, verify=True, thumbprint=wrong).fetch()


@pytest.mark.usefixtures("reap_failed_login_sockets")
def test_wrong_password_is_reported(peer: VcsimPeer) -> None:
    backend = VSphereBackend(vcsim_config(peer), password=lambda _cfg: "not-the-password")
    with pytest.raises(BackendError, match="login refused"):
        backend.fetch()


def test_unreachable_vcenter_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from hybridview.config import VCenterConfig

    config = VCenterConfig("gone", "127.0.0.1", "u", port=port, password_env="X", verify=False)
    with pytest.raises(BackendError, match="cannot reach vCenter"):
        VSphereBackend(config, password=lambda _cfg: "p", timeout_seconds=3).fetch()
