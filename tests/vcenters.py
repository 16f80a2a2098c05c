"""Subjects for the vCenter backend contract: the demo estate and the vcsim peer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from hybridview.backends.base import VCenterBackend
from hybridview.backends.vsphere import VSphereBackend
from hybridview.config import VCenterConfig
from hybridview.sim import SimEstate
from hybridview.sim.backends import SimVCenterBackend
from tests.peers.vcsim.fixture import VcsimPeer

VCSIM_USER = "operator@vsphere.local"
VCSIM_PASSWORD = "s3cret-for-tests"


class HostFailer(Protocol):
    def __call__(self, host: str, connection_state: str) -> None: ...


@dataclass(slots=True)
class Subject:
    """A backend plus the peer's own view of itself, to check the backend against."""

    backend: VCenterBackend
    set_host_state: HostFailer
    expected_vms_per_cluster: dict[str, int]  # cluster name -> VMs, as the peer counts them
    expected_hosts_per_cluster: dict[str, int]


def vcsim_config(peer: VcsimPeer, name: str = "vcsim") -> VCenterConfig:
    return VCenterConfig(
        name=name,
        host=peer.host,
        port=peer.port,
        user=VCSIM_USER,
        password_env="HV_TEST_VCSIM_PASSWORD",
        verify=peer.ca_file,
    )


def vcsim_backend(peer: VcsimPeer) -> VSphereBackend:
    return VSphereBackend(vcsim_config(peer), password=lambda _cfg: VCSIM_PASSWORD)


@contextmanager
def vcsim_subject(clusters: int = 2, hosts: int = 3, vms: int = 24) -> Iterator[Subject]:
    with VcsimPeer(clusters=clusters, hosts=hosts, vms=vms, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        backend = vcsim_backend(peer)
        listed = peer.list_clusters()
        try:
            yield Subject(
                backend,
                peer.set_host_state,
                {c["name"]: c["vms"] for c in listed},
                {c["name"]: c["hosts"] for c in listed},
            )
        finally:
            backend.close()


@contextmanager
def sim_subject() -> Iterator[Subject]:
    estate = SimEstate("healthy")
    name = estate.vcenter_names()[0]
    vc = next(v for v in estate.layout.vcenters if v.name == name)
    hosts = [h for h in estate.layout.hosts if h.vcenter == name]
    yield Subject(
        SimVCenterBackend(estate, name),
        estate.set_host_state,
        {
            cname: sum(1 for vm in estate.layout.vms if any(h.moref == vm.host and h.cluster == moref for h in hosts))
            for moref, cname in vc.clusters.items()
        },
        {cname: sum(1 for h in hosts if h.cluster == moref) for moref, cname in vc.clusters.items()},
    )
