"""backends/nova/ through openstacksdk against the real Nova API (tests/peers/nova)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from hybridview.backends.base import BackendError
from hybridview.backends.nova import NovaBackend
from hybridview.core.health import evaluate
from hybridview.core.model import EndpointKind, EndpointStatus, Estate
from tests.integration.nova_peer import COMPUTES, nova_peer
from tests.peers.nova.fixture import NovaPeer

pytestmark = pytest.mark.nova_peer
__all__ = ["nova_peer"]


def _backend(clouds: Path, **kwargs: object) -> NovaBackend:
    return NovaBackend("nova-peer", config_files=[str(clouds)], **kwargs)  # type: ignore[arg-type]


def test_lists_hypervisors_services_and_servers_on_three_hosts(nova_peer: tuple[NovaPeer, Path]) -> None:
    peer, clouds = nova_peer
    booted = {peer.boot(f"web-{host}", host): host for host in COMPUTES}
    backend = _backend(clouds, page_size=2)  # small pages exercise the marker paging
    try:
        snap = backend.fetch()
    finally:
        backend.close()
    assert sorted(n.host for n in snap.nodes) == sorted(COMPUTES)
    assert all(n.state == "up" and n.status == "enabled" and not n.forced_down for n in snap.nodes)
    assert sorted(s.host for s in snap.services) == sorted(COMPUTES)
    by_id = {i.id: i for i in snap.instances}
    assert set(booted) <= set(by_id)
    for server_id, host in booted.items():
        assert by_id[server_id].host == host
        assert by_id[server_id].status == "ACTIVE"
    assert snap.microversion is not None and tuple(map(int, snap.microversion.split("."))) >= (2, 88)


def test_stopped_compute_is_shown_down_and_failed(nova_peer: tuple[NovaPeer, Path]) -> None:
    peer, clouds = nova_peer
    backend = _backend(clouds)
    peer.stop_compute("host2")
    try:
        snap = backend.fetch()
        node = next(n for n in snap.nodes if n.host == "host2")
        assert node.state == "down"
        status = (EndpointStatus("nova-peer", EndpointKind.NOVA, True),)
        report = evaluate(Estate(openstack=(snap,), endpoints=status))
        failed = [f for f in report.failed_hosts if f.layer == "nova"]
        assert [f.name for f in failed] == [node.hypervisor_hostname]
        assert "evacuate" in failed[0].advice and "Fence" in failed[0].advice
    finally:
        peer.start_compute("host2")
        backend.close()


def test_bad_token_gives_a_clear_401(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    peer, clouds = nova_peer
    text = clouds.read_text().replace(peer.token, "nobody:nothing")
    assert text != clouds.read_text()
    bad = tmp_path / "clouds.yaml"
    bad.write_text(text)
    # user "nobody" is not admin: Nova refuses the admin listings with 403
    with pytest.raises(BackendError) as caught:
        _backend(bad).fetch()
    assert caught.value.status_code in (401, 403)
    assert "HTTP 40" in str(caught.value)


def test_unknown_cloud_name_is_a_clouds_yaml_error(nova_peer: tuple[NovaPeer, Path]) -> None:
    _peer, clouds = nova_peer
    with pytest.raises(BackendError, match=r"clouds\.yaml"):
        NovaBackend("no-such-cloud", config_files=[str(clouds)]).fetch()


def test_unreachable_endpoint_is_reported(nova_peer: tuple[NovaPeer, Path], tmp_path: Path) -> None:
    peer, clouds = nova_peer
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    moved = tmp_path / "clouds.yaml"
    moved.write_text(clouds.read_text().replace(peer.endpoint.split("/v2.1")[0], f"http://127.0.0.1:{free_port}"))
    with pytest.raises(BackendError, match=rf"^cannot connect to http://127\.0\.0\.1:{free_port}: connection refused$"):
        NovaBackend("nova-peer", config_files=[str(moved)], api_timeout=5).fetch()


# fault -> what the operator must read, {rid} the request id the peer's answer carried
FIRST_CONTACT_FAULTS = {
    "401": r"^HTTP 401: The request you have made requires authentication\. \(request id {rid}\)$",
    "503": r"^HTTP 503: The server is currently unavailable\..* \(request id {rid}\)$",
    "not_json": r"^HTTP 200: compute version document at http://\S+/v2\.1 is not JSON$",
}


@pytest.mark.parametrize("fault", sorted(FIRST_CONTACT_FAULTS))
def test_a_fault_at_version_discovery_keeps_its_cause(nova_peer: tuple[NovaPeer, Path], fault: str) -> None:
    peer, clouds = nova_peer
    backend = _backend(clouds)
    try:
        request_id = peer.set_version_fault(fault)
        try:
            with pytest.raises(BackendError) as caught:
                backend.fetch()
        finally:
            peer.set_version_fault(None)
        assert re.match(FIRST_CONTACT_FAULTS[fault].format(rid=re.escape(request_id)), str(caught.value))
        assert "not reachable" not in str(caught.value)
        assert caught.value.request_id == (request_id or None)
        assert backend.fetch().nodes  # the same backend recovers once the endpoint answers again
    finally:
        backend.close()
