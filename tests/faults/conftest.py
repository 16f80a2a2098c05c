"""Fault-matrix fixtures: the certificate authorities, each peer once per module, and a thread census.

The UI fixtures (a qasync loop, the worker leak check) come from tests/ui/conftest.py, the
quiet collection of sockets pyVmomi leaves open from tests/integration/test_vsphere_backend.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.faults.census import ThreadCensus
from tests.faults.certs import make_authority
from tests.integration.test_vsphere_backend import reap_failed_login_sockets
from tests.faults.sites import Authorities, NovaSite, VcenterSite
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.ui.conftest import _no_leftover_workers, qloop
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

__all__ = ["_no_leftover_workers", "qloop", "reap_failed_login_sockets"]
NOVA_COMPUTES = ("host1", "host2", "host3")


@pytest.fixture(scope="module")
def census() -> ThreadCensus:
    return ThreadCensus()


@pytest.fixture(scope="module")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> Authorities:
    directory = tmp_path_factory.mktemp("fault-certs")
    return Authorities(make_authority(directory, "proxy"), make_authority(directory, "changed"))


@pytest.fixture(scope="module")
def nova_site(
    census: ThreadCensus, authorities: Authorities, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NovaSite]:
    workdir = tmp_path_factory.mktemp("fault-nova")
    before = set(threading.enumerate())
    with (workdir / "peer-stderr.log").open("w") as log, NovaPeer(computes=list(NOVA_COMPUTES), stderr=log) as peer:
        census.allow_new(before)
        servers = frozenset(peer.boot(f"web-{host}", host) for host in NOVA_COMPUTES)
        yield NovaSite(peer, authorities, workdir, NOVA_COMPUTES, servers)


@pytest.fixture(scope="module")
def vcenter_site(census: ThreadCensus, authorities: Authorities) -> Iterator[VcenterSite]:
    before = set(threading.enumerate())
    with VcsimPeer(clusters=2, hosts=2, vms=8, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        census.allow_new(before)
        yield VcenterSite(peer, authorities)
