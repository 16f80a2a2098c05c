"""The vCenter moves under faults: each row of write_rows_vcenter_moves.py through the fault proxy.

A row sends one backend call (vMotion, maintenance mode, the cancel of a task) with its fault
injected, then checks what the operator reads, whether the outcome is unknown, the call's SOAP
requests the proxy saw and passed on, the logins, and what vCenter really did (read without faults).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hybridview.backends.base import BackendError, WriteReceipt
from hybridview.backends.vsphere import VSphereBackend
from tests.faults.census import ThreadCensus
from tests.faults.proxy import FaultProxy
from tests.faults.sites import Authorities, VcenterSite
from tests.faults.write_rows_vcenter_moves import MOVE_ROWS, Call, MoveRow
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.vcsim_peer
SLOW_RELOCATION_SECONDS = 30.0  # the cancel rows' relocation runs until cancelled


@dataclass(slots=True)
class MovesSite:
    site: VcenterSite
    direct: VSphereBackend  # no proxy: sets up, checks and cleans up around a row


@pytest.fixture(scope="module")
def moves_site(census: ThreadCensus, authorities: Authorities) -> Iterator[MovesSite]:
    before = set(threading.enumerate())
    with VcsimPeer(clusters=1, hosts=3, vms=12, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        census.allow_new(before)
        direct = vcsim_backend(peer)
        try:
            yield MovesSite(VcenterSite(peer, authorities), direct)
        finally:
            direct.close()


def _vm_and_target(peer: VcsimPeer) -> tuple[str, str]:
    vm = next(v for v in peer.list_vms() if v["power_state"] == "poweredOn")
    target = next(h["moref"] for h in peer.list_hosts() if h["moref"] != vm["host"] and not h["in_maintenance"])
    return str(vm["moref"]), str(target)


def _send(row: MoveRow, backend: VSphereBackend, site: MovesSite, proxy: FaultProxy) -> tuple[object, str]:
    """Inject the row's faults, make its call; (the receipt or the BackendError, what to check took effect)."""
    peer = site.site.peer
    if row.call is Call.CANCEL:
        vm, target = _vm_and_target(peer)
        peer.set_relocate_seconds(SLOW_RELOCATION_SECONDS)
        key = site.direct.relocate_vm(vm, host_moref=target, datastore_moref=None).request_id or ""
        subject = key
    elif row.call is Call.RELOCATE:
        vm, target = _vm_and_target(peer)
        subject = f"{vm} {target}"
    else:
        target = next(h["moref"] for h in peer.list_hosts() if not h["in_maintenance"])
        subject = target
    for fault in row.faults():
        proxy.inject(fault)
    try:
        if row.call is Call.CANCEL:
            return backend.cancel_task(key), subject
        if row.call is Call.RELOCATE:
            return backend.relocate_vm(vm, host_moref=target, datastore_moref=None), subject
        return backend.enter_maintenance(target, timeout_seconds=30, evacuate_powered_off=False), subject
    except BackendError as error:
        return error, subject


def _took_effect(row: MoveRow, site: MovesSite, subject: str) -> bool:
    peer = site.site.peer
    if row.call is Call.CANCEL:
        return site.direct.task_progress(subject).cancelled
    if row.call is Call.RELOCATE:
        vm, target = subject.split()
        return any(v["moref"] == vm and v["host"] == target for v in peer.list_vms())
    return any(h["moref"] == subject and h["in_maintenance"] for h in peer.list_hosts())


def _clean_up(row: MoveRow, site: MovesSite, subject: str) -> None:
    peer = site.site.peer
    if row.call is Call.CANCEL:
        if site.direct.task_progress(subject).state in ("queued", "running"):
            site.direct.cancel_task(subject)
        peer.set_relocate_seconds(0)
    elif row.call is Call.ENTER_MAINTENANCE and _took_effect(row, site, subject):
        site.direct.exit_maintenance(subject, timeout_seconds=30)


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in MOVE_ROWS])
def test_vcenter_move_fault(row: MoveRow, moves_site: MovesSite) -> None:
    with moves_site.site.proxy() as proxy:
        backend = moves_site.site.backend(proxy)
        subject = ""
        try:
            backend.fetch()  # logged in before the row: its logins are the re-logins it causes
            logins = moves_site.site.logins(proxy)
            answer, subject = _send(row, backend, moves_site, proxy)
            relogins = moves_site.site.logins(proxy) - logins
            proxy.clear()
            if row.raises:
                assert isinstance(answer, BackendError), answer
                assert re.search(row.message, answer.message), answer.message
                assert answer.outcome_unknown is row.outcome_unknown
            else:
                assert isinstance(answer, WriteReceipt), answer
                assert re.search(row.message, answer.detail or ""), answer.detail
            reached = sum(x.forwarded > 0 for x in proxy.exchanges if x.request.soap_method == row.method)
            assert (proxy.count(row.method), reached) == row.writes
            assert relogins == row.logins
            assert _took_effect(row, moves_site, subject) is row.took_effect
        finally:
            backend.close()
            if subject:
                _clean_up(row, moves_site, subject)
