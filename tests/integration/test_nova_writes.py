"""NovaBackend's writes against the real Nova API (tests/peers/nova): fence a failed compute, evacuate, recover.

One peer for the module (``nova_peer``, three computes). ``failed_host`` boots three servers on
host2 and stops its nova-compute once (≈5–6 s, the peer's service_down_time); the tests after it
follow an operator's order: force the host down, evacuate, restart the compute, unset forced-down.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hybridview.backends.base import BackendError, ServerProgress
from hybridview.backends.nova import NovaBackend
from hybridview.backends.nova.session import WRITE_MICROVERSION_CAP
from hybridview.core.model import ComputeService
from tests.integration.nova_peer import nova_peer
from tests.peers.nova.fixture import NovaPeer

pytestmark = pytest.mark.nova_peer
__all__ = ["nova_peer"]

FAILED = "host2"
UP = "host1"  # stays up throughout
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
WAIT_SECONDS = 30.0


@dataclass
class FailedHost:
    host: str
    servers: list[str]  # booted on it before its compute stopped
    evacuated: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def failed_host(nova_peer: tuple[NovaPeer, Path]) -> FailedHost:
    peer, _clouds = nova_peer
    servers = [peer.boot(f"evac-{n}", FAILED) for n in range(3)]
    peer.stop_compute(FAILED)
    return FailedHost(FAILED, servers)


@pytest.fixture
def backend_at(nova_peer: tuple[NovaPeer, Path]) -> Iterator[Callable[[str], NovaBackend]]:
    """A NovaBackend whose writes are capped at the given microversion; closed after the test."""
    _peer, clouds = nova_peer
    made: list[NovaBackend] = []

    def make(cap: str = WRITE_MICROVERSION_CAP) -> NovaBackend:
        made.append(NovaBackend("nova-peer", config_files=[str(clouds)], write_microversion_cap=cap))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


def _service(backend: NovaBackend, host: str) -> ComputeService:
    return next(s for s in backend.fetch().services if s.host == host)


def _wait(
    backend: NovaBackend, server: str, until: Callable[[ServerProgress], bool], **since: datetime
) -> ServerProgress:
    deadline = time.monotonic() + WAIT_SECONDS
    while not until(progress := backend.server_progress(server, **since)):
        assert time.monotonic() < deadline, f"server {server} still at {progress}"
        time.sleep(0.2)
    return progress


def _landed(progress: ServerProgress) -> bool:
    """The evacuation is done and the server has settled on another host."""
    done = progress.evacuation_status == "done" and progress.task_state is None
    return done and progress.host not in (None, FAILED)


def test_evacuating_from_a_compute_that_is_up_is_refused_with_novas_message(
    nova_peer: tuple[NovaPeer, Path], backend_at: Callable[..., NovaBackend]
) -> None:
    peer, _clouds = nova_peer
    server = peer.boot("busy", UP)
    backend = backend_at()
    with pytest.raises(BackendError) as caught:
        backend.evacuate(server, target_host=None, on_shared_storage=None)
    error = caught.value
    assert (error.status_code, error.message) == (400, f"Compute service of {UP} is still in use.")
    assert error.request_id is not None and REQUEST_ID.match(error.request_id)
    assert str(error) == f"HTTP 400: Compute service of {UP} is still in use. (request id {error.request_id})"
    progress = backend.server_progress(server)
    assert (progress.status, progress.host, progress.evacuation_id) == ("ACTIVE", UP, None)


@pytest.mark.parametrize("cap", [WRITE_MICROVERSION_CAP, "2.52"])  # by service id; the old force-down call
def test_a_stopped_compute_is_forced_down_and_back(
    failed_host: FailedHost, backend_at: Callable[..., NovaBackend], cap: str
) -> None:
    backend = backend_at(cap)
    assert backend.fetch().write_microversion == cap
    receipt = backend.set_forced_down(FAILED, True)
    assert receipt.request_id is not None and REQUEST_ID.match(receipt.request_id)
    service = _service(backend, FAILED)
    assert (service.state, service.forced_down) == ("down", True)
    assert next(n for n in backend.fetch().nodes if n.host == FAILED).forced_down
    backend.set_forced_down(FAILED, False)
    assert (_service(backend, FAILED).state, _service(backend, FAILED).forced_down) == ("down", False)


def test_every_server_of_a_forced_down_host_is_evacuated_and_started_at_2_100(
    failed_host: FailedHost, backend_at: Callable[..., NovaBackend]
) -> None:
    backend = backend_at()
    backend.set_forced_down(FAILED, True)
    since = datetime.now(UTC)
    servers = failed_host.servers[:2]
    for server in servers:
        receipt = backend.evacuate(server, target_host=None, on_shared_storage=None)
        assert receipt.request_id is not None and REQUEST_ID.match(receipt.request_id)
    for server in servers:
        progress = _wait(backend, server, _landed, since=since)
        assert progress.status == "SHUTOFF"  # from 2.95 an evacuated server arrives stopped
        assert progress.evacuation_dest == progress.host
        assert progress.evacuation_id is not None and progress.fault is None
        failed_host.evacuated.append(server)
    for server in servers:
        assert REQUEST_ID.match(backend.start_server(server).request_id or "")
    for server in servers:
        assert _wait(backend, server, lambda p: p.status == "ACTIVE" and p.task_state is None).host != FAILED
    # the host stays fenced until its compute has restarted and cleaned up after the evacuations
    with pytest.raises(BackendError) as caught:
        backend.set_forced_down(FAILED, False)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith(f"Unable to force up host {FAILED} as `done` evacuation migration records")


def test_at_2_13_an_evacuation_needs_on_shared_storage(
    failed_host: FailedHost, backend_at: Callable[..., NovaBackend]
) -> None:
    backend = backend_at("2.13")
    server = failed_host.servers[2]
    with pytest.raises(BackendError, match=r"^evacuating at compute microversion 2\.13 needs to know") as caught:
        backend.evacuate(server, target_host="host3", on_shared_storage=None)
    assert caught.value.status_code is None  # refused here, nothing sent
    untouched = backend.server_progress(server)
    assert (untouched.host, untouched.evacuation_id) == (FAILED, None)
    backend.evacuate(server, target_host="host3", on_shared_storage=False)
    progress = _wait(backend, server, _landed)
    assert (progress.host, progress.evacuation_dest) == ("host3", "host3")
    assert progress.status == "ACTIVE"  # before 2.95 an evacuated server keeps its state
    failed_host.evacuated.append(server)


def test_the_snapshot_has_the_write_microversion_and_the_hypervisor_capacity(
    backend_at: Callable[..., NovaBackend],
) -> None:
    snapshot = backend_at().fetch()
    assert snapshot.write_microversion == WRITE_MICROVERSION_CAP  # the peer speaks up to 2.104
    node = next(n for n in snapshot.nodes if n.host == UP)
    assert (node.vcpus, node.memory_mb) == (10, 8192)  # the peer's MediumFakeDriver, read at 2.87
    assert node.vcpus_used is not None and node.memory_mb_used is not None


@pytest.mark.parametrize("cap", [WRITE_MICROVERSION_CAP, "2.52"])  # by service id; disable-log-reason, enable
def test_a_compute_is_disabled_with_a_reason_and_enabled_again(
    backend_at: Callable[..., NovaBackend], cap: str
) -> None:
    backend = backend_at(cap)
    try:
        backend.set_service_enabled(UP, False, "hybridview: fencing drill")
        service = _service(backend, UP)
        assert (service.status, service.disabled_reason) == ("disabled", "hybridview: fencing drill")
        backend.set_service_enabled(UP, False)
        assert (_service(backend, UP).status, _service(backend, UP).disabled_reason) == ("disabled", None)
    finally:
        backend.set_service_enabled(UP, True)
    service = _service(backend, UP)
    assert (service.status, service.disabled_reason, service.state) == ("enabled", None, "up")


def test_a_restarted_compute_is_up_once_forced_down_is_unset(
    nova_peer: tuple[NovaPeer, Path], failed_host: FailedHost, backend_at: Callable[..., NovaBackend]
) -> None:
    peer, _clouds = nova_peer
    backend = backend_at()
    backend.set_forced_down(FAILED, True)
    with ThreadPoolExecutor(1) as pool:
        restart = pool.submit(peer.start_compute, FAILED)  # returns once the API says "up": after the unset
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                backend.set_forced_down(FAILED, False)
                break
            except BackendError as exc:  # until the restarted compute completed its done evacuations
                if "`done` evacuation" not in exc.message or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        restart.result(timeout=WAIT_SECONDS)
    service = _service(backend, FAILED)
    assert (service.state, service.forced_down) == ("up", False)
    for server in failed_host.evacuated:
        progress = backend.server_progress(server)
        assert progress.evacuation_status == "completed" and progress.host != FAILED
