"""A session-wide real Nova API (tests/peers/nova) and a clouds.yaml for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.nova.fixture import NovaPeer

COMPUTES = ("host1", "host2", "host3")
VMWARE_PROXY_HOST = "nova-vmware-1"


@pytest.fixture(scope="module")
def nova_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NovaPeer, Path]]:
    with NovaPeer(computes=list(COMPUTES)) as peer:
        clouds = peer.write_clouds_yaml(tmp_path_factory.mktemp("nova") / "clouds.yaml")
        yield peer, clouds
