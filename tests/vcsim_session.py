"""An operator's own pyVmomi session on the vcsim peer (not hybridview's), to look at or change the simulator
as any vCenter client does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyVim.connect import Disconnect, SmartConnect

from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER


@contextmanager
def operator_session(peer: VcsimPeer) -> Iterator[Any]:
    """The ServiceInstance of a session logged in as the tests' user, trusting the peer's CA; logged out after."""
    context = peer.ssl_context()
    si = SmartConnect(host=peer.host, port=peer.port, user=VCSIM_USER, pwd=VCSIM_PASSWORD, sslContext=context)
    try:
        yield si
    finally:
        Disconnect(si)
