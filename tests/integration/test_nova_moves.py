"""NovaBackend's moves against the real Nova API (tests/peers/nova): live and cold migration, confirm and
revert, abort and force-complete of a running live migration, Nova's refusals.

One peer for the module (``nova_peer``, three computes, fake drivers). A live migration is done at once
unless the peer is paced (``set_live_migration_seconds``), which the abort and force-complete tests do.
The test of a down target host stops host3 and runs last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hybridview.backends.base import BackendError, MigrationProgress, WriteReceipt
from hybridview.backends.nova import NovaBackend
from tests.integration.nova_peer import COMPUTES, nova_peer
from tests.peers.nova.fixture import NovaPeer

pytestmark = pytest.mark.nova_peer
__all__ = ["nova_peer"]

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
WAIT_SECONDS = 30.0
PACED_SECONDS = 60.0  # long enough to act on a running live migration, never reached
DOWN = "host3"


@pytest.fixture(scope="module")
def backend(nova_peer: tuple[NovaPeer, Path]) -> Iterator[NovaBackend]:
    _peer, clouds = nova_peer
    made = NovaBackend("nova-peer", config_files=[str(clouds)])
    yield made
    made.close()


@pytest.fixture(scope="module")
def server(nova_peer: tuple[NovaPeer, Path]) -> str:
    """One server the tests move around in turn (each starts wherever the one before left it)."""
    peer, _clouds = nova_peer
    return peer.boot("mover", "host1")


@pytest.fixture
def paced(nova_peer: tuple[NovaPeer, Path]) -> Iterator[NovaPeer]:
    peer, _clouds = nova_peer
    peer.set_live_migration_seconds(PACED_SECONDS)
    yield peer
    peer.set_live_migration_seconds(0)


def _wait(
    backend: NovaBackend, server: str, since: datetime, until: Callable[[MigrationProgress], bool]
) -> MigrationProgress:
    deadline = time.monotonic() + WAIT_SECONDS
    while not until(progress := backend.migration_progress(server, since)):
        assert time.monotonic() < deadline, f"server {server} still at {progress}"
        time.sleep(0.2)
    return progress


def _settled(status: str, migration_status: str) -> Callable[[MigrationProgress], bool]:
    """The move record reads ``migration_status`` and the server has caught up (no task, ``status``)."""
    return lambda p: p.migration_status == migration_status and p.task_state is None and p.status == status


def _copying(progress: MigrationProgress) -> bool:
    return progress.migration_status == "running" and bool(progress.memory_processed_bytes)


def _other_host(backend: NovaBackend, server: str, *, besides: tuple[str, ...] = ()) -> tuple[str, str]:
    """(where the server is, an up host it is not on)."""
    here = backend.migration_progress(server).host
    assert here is not None
    return here, next(h for h in COMPUTES if h != here and h not in besides)


def _accepted(receipt_id: str | None) -> None:
    assert receipt_id is not None and REQUEST_ID.match(receipt_id), receipt_id


def test_a_live_migration_to_a_chosen_host_completes(backend: NovaBackend, server: str) -> None:
    source, target = _other_host(backend, server, besides=(DOWN,))
    since = datetime.now(UTC)
    _accepted(backend.live_migrate(server, target_host=target, block_migration="auto").request_id)
    progress = _wait(backend, server, since, _settled("ACTIVE", "completed"))
    assert (progress.host, progress.migration_type) == (target, "live-migration")
    assert (progress.source_host, progress.dest_host) == (source, target)
    assert progress.memory_total_bytes is None  # finished: Nova has no counters to show


def test_a_live_migration_where_the_scheduler_chooses_completes(backend: NovaBackend, server: str) -> None:
    source, _target = _other_host(backend, server)
    since = datetime.now(UTC)
    _accepted(backend.live_migrate(server, target_host=None, block_migration="auto").request_id)
    progress = _wait(backend, server, since, _settled("ACTIVE", "completed"))
    assert progress.host not in (None, source) and progress.dest_host == progress.host
    assert progress.migration_type == "live-migration"


def test_at_2_24_a_live_migration_goes_with_booleans_and_completes(
    nova_peer: tuple[NovaPeer, Path], server: str
) -> None:
    _peer, clouds = nova_peer
    old = NovaBackend("nova-peer", config_files=[str(clouds)], write_microversion_cap="2.24")
    try:
        source = old.migration_progress(server).host
        since = datetime.now(UTC)
        old.live_migrate(server, target_host=None, block_migration="auto")  # sent as false, disk_over_commit false
        progress = _wait(old, server, since, _settled("ACTIVE", "completed"))
        assert progress.host not in (None, source)
    finally:
        old.close()


def test_a_cold_migration_reaches_verify_resize_and_is_confirmed(backend: NovaBackend, server: str) -> None:
    source, _target = _other_host(backend, server)
    since = datetime.now(UTC)
    _accepted(backend.migrate(server, target_host=None).request_id)
    waiting = _wait(backend, server, since, _settled("VERIFY_RESIZE", "finished"))
    assert (waiting.migration_type, waiting.vm_state, waiting.source_host) == ("migration", "resized", source)
    assert waiting.host == waiting.dest_host != source
    _accepted(backend.confirm_resize(server).request_id)
    confirmed = _wait(backend, server, since, _settled("ACTIVE", "confirmed"))
    assert (confirmed.host, confirmed.migration_id) == (waiting.host, waiting.migration_id)


def test_a_cold_migration_to_a_chosen_host_is_reverted(backend: NovaBackend, server: str) -> None:
    source, target = _other_host(backend, server, besides=(DOWN,))
    since = datetime.now(UTC)
    backend.migrate(server, target_host=target)
    waiting = _wait(backend, server, since, _settled("VERIFY_RESIZE", "finished"))
    assert (waiting.host, waiting.dest_host) == (target, target)
    _accepted(backend.revert_resize(server).request_id)
    reverted = _wait(backend, server, since, _settled("ACTIVE", "reverted"))
    assert reverted.host == source


def test_below_2_56_a_cold_migration_to_a_chosen_host_is_refused_and_nothing_is_sent(
    nova_peer: tuple[NovaPeer, Path], server: str
) -> None:
    _peer, clouds = nova_peer
    old = NovaBackend("nova-peer", config_files=[str(clouds)], write_microversion_cap="2.55")
    try:
        source, target = _other_host(old, server)
        with pytest.raises(BackendError, match=r"^cold migration to a chosen host needs compute microversion 2\.56"):
            old.migrate(server, target_host=target)
        time.sleep(0.5)
        after = old.migration_progress(server)
        assert (after.host, after.status, after.task_state) == (source, "ACTIVE", None)
    finally:
        old.close()


def test_os_migrations_lists_the_live_and_cold_migrations(backend: NovaBackend, server: str) -> None:
    mine = [m for m in backend.fetch().migrations if m.instance_id == server]
    statuses = {(m.migration_type, m.status) for m in mine}
    assert {("live-migration", "completed"), ("migration", "confirmed"), ("migration", "reverted")} <= statuses


def test_a_running_live_migration_shows_its_bytes_and_is_forced_to_complete(
    backend: NovaBackend, server: str, paced: NovaPeer
) -> None:
    source, _target = _other_host(backend, server)
    since = datetime.now(UTC)
    backend.live_migrate(server, target_host=None, block_migration="auto")
    running = _wait(backend, server, since, _copying)
    assert (running.status, running.task_state) == ("MIGRATING", "migrating")
    assert running.memory_total_bytes == 512 * 1024 * 1024  # m1.tiny
    assert running.memory_remaining_bytes == running.memory_total_bytes - (running.memory_processed_bytes or 0)
    assert running.migration_id is not None
    _accepted(backend.force_complete_live_migration(server, running.migration_id).request_id)
    done = _wait(backend, server, since, _settled("ACTIVE", "completed"))
    assert done.host not in (None, source) and done.migration_id == running.migration_id


def test_a_running_live_migration_is_aborted_and_the_server_stays(
    backend: NovaBackend, server: str, paced: NovaPeer
) -> None:
    source, _target = _other_host(backend, server)
    since = datetime.now(UTC)
    backend.live_migrate(server, target_host=None, block_migration="auto")
    running = _wait(backend, server, since, lambda p: p.migration_status == "running")
    assert running.migration_id is not None
    _accepted(backend.abort_live_migration(server, running.migration_id).request_id)
    cancelled = _wait(backend, server, since, _settled("ACTIVE", "cancelled"))
    assert cancelled.host == source


def test_abort_or_force_complete_of_no_running_live_migration_gets_novas_answer(
    backend: NovaBackend, server: str
) -> None:
    finished = backend.migration_progress(server)
    assert finished.migration_id is not None and finished.migration_status == "cancelled"
    with pytest.raises(BackendError, match=r"has no running live migration") as caught:
        backend.abort_live_migration(server, finished.migration_id)  # a uuid: looked up among the running ones
    assert caught.value.status_code is None
    with pytest.raises(BackendError) as caught:
        backend.force_complete_live_migration(server, "1")
    assert caught.value.status_code == 409 and caught.value.request_id is not None
    assert caught.value.message == f"Instance {server} is in an invalid state for 'force_complete'"


def test_a_move_to_an_unknown_host_gets_novas_refusal(backend: NovaBackend, server: str) -> None:
    here = backend.migration_progress(server).host
    moves: tuple[Callable[[], WriteReceipt], ...] = (
        lambda: backend.live_migrate(server, target_host="nohost", block_migration="auto"),
        lambda: backend.migrate(server, target_host="nohost"),
    )
    for move in moves:
        with pytest.raises(BackendError) as caught:
            move()
        error = caught.value
        assert (error.status_code, error.message) == (400, "Compute host nohost could not be found.")
        assert error.request_id is not None and REQUEST_ID.match(error.request_id)
        assert str(error) == f"HTTP 400: Compute host nohost could not be found. (request id {error.request_id})"
    after = backend.migration_progress(server)
    assert (after.host, after.status, after.task_state) == (here, "ACTIVE", None)


def test_a_move_to_a_down_host_is_accepted_and_fails_in_nova(
    nova_peer: tuple[NovaPeer, Path], backend: NovaBackend, server: str
) -> None:
    """Nova takes both moves (202) and its scheduler fails them later: only a check before sending prevents them."""
    peer, _clouds = nova_peer
    if backend.migration_progress(server).host == DOWN:
        since = datetime.now(UTC)
        backend.live_migrate(server, target_host=None, block_migration="auto")
        _wait(backend, server, since, _settled("ACTIVE", "completed"))
    peer.stop_compute(DOWN)
    here = backend.migration_progress(server).host
    moves: tuple[tuple[Callable[[], WriteReceipt], str], ...] = (
        (lambda: backend.migrate(server, target_host=DOWN), "migration"),
        (lambda: backend.live_migrate(server, target_host=DOWN, block_migration="auto"), "live-migration"),
    )
    for move, migration_type in moves:
        since = datetime.now(UTC)
        _accepted(move().request_id)
        failed = _wait(backend, server, since, _settled("ACTIVE", "error"))
        assert (failed.migration_type, failed.host) == (migration_type, here)
