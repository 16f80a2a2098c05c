"""A peer behind a fault proxy: how to put a proxy in front of it and point the app's backend at the proxy.

Both peers are reached over TLS through the proxy, which serves its own authority's leaf
(``main``) or, under the changed-certificate fault, another authority's (``other``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from hybridview.backends.base import OpenStackBackend, VCenterBackend
from hybridview.backends.nova import NovaBackend
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.identity import Ref
from hybridview.core.model import EndpointStatus
from hybridview.core.view import EstateView
from hybridview.service.wiring import Endpoints
from tests.faults.certs import Authority
from tests.faults.proxy import FaultProxy
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, vcsim_config

NOVA_CLOUD = "nova-peer"
VCENTER = "vcsim"
API_TIMEOUT_SECONDS = 2.0  # each HTTP call, Nova and vCenter alike: hang rows take about this long
LOGIN_PATH = "/identity/v3/auth/tokens"


@dataclass(frozen=True, slots=True)
class Authorities:
    main: Authority  # what the app trusts and pins
    other: Authority  # the changed certificate


@dataclass(slots=True)
class NovaSite:
    """The Nova peer (password auth through the peer's Keystone) with servers booted on its computes."""

    peer: NovaPeer
    authorities: Authorities
    workdir: Path
    computes: tuple[str, ...]
    servers: frozenset[str]
    name: str = NOVA_CLOUD
    peer_label: str = "Nova"

    def proxy(self) -> FaultProxy:
        upstream = urlsplit(self.peer.endpoint)
        assert upstream.hostname is not None and upstream.port is not None
        auth = self.authorities
        return FaultProxy((upstream.hostname, upstream.port), tls=auth.main, changed=auth.other, name="nova-proxy")

    def backend(self, proxy: FaultProxy, *, pinned: bool = False) -> NovaBackend:
        assert not pinned, "Nova has no certificate pinning"
        clouds = self.peer.write_clouds_yaml(
            self.workdir / f"clouds-{proxy.port}.yaml",
            self.name,
            auth="password",
            base_url=proxy.url,
            cacert=str(self.authorities.main.ca_file),
        )
        return NovaBackend(self.name, config_files=[str(clouds)], api_timeout=API_TIMEOUT_SECONDS)

    def endpoints(self, backend: OpenStackBackend | VCenterBackend) -> Endpoints:
        assert isinstance(backend, OpenStackBackend)
        return Endpoints(openstack=[backend], vcenters=[], refresh_seconds=3600)

    def logins(self, proxy: FaultProxy) -> int:
        return proxy.count(LOGIN_PATH)

    def items(self, view: EstateView) -> list[Ref]:
        return [node.ref for snap in view.estate.openstack for node in snap.nodes]

    def data_present(self, view: EstateView, *, missing: int = 0) -> bool:
        """Every compute node, and every booted server but ``missing``."""
        snaps = view.estate.openstack
        if not snaps:
            return False
        hosts = {node.host for node in snaps[0].nodes}
        instances = {i.id for i in snaps[0].instances} & self.servers
        return hosts == set(self.computes) and len(instances) == len(self.servers) - missing

    def taken_at(self, view: EstateView) -> float:
        return max((s.taken_at.timestamp() for s in view.estate.openstack), default=0.0)


@dataclass(slots=True)
class VcenterSite:
    """VMware's simulator; the app verifies the proxy's certificate against its CA, or pins its thumbprint."""

    peer: VcsimPeer
    authorities: Authorities
    name: str = VCENTER
    peer_label: str = "vCenter"

    def proxy(self) -> FaultProxy:
        auth = self.authorities
        return FaultProxy(
            (self.peer.host, self.peer.port),
            tls=auth.main,
            changed=auth.other,
            upstream_tls=self.peer.ssl_context(),
            name="vcenter-proxy",
        )

    def backend(self, proxy: FaultProxy, *, pinned: bool = False) -> VSphereBackend:
        main = self.authorities.main
        config = replace(
            vcsim_config(self.peer, self.name),
            port=proxy.port,
            verify=str(main.ca_file),
            thumbprint=main.thumbprint_sha256 if pinned else None,
        )
        return VSphereBackend(config, password=lambda _cfg: VCSIM_PASSWORD, timeout_seconds=API_TIMEOUT_SECONDS)

    def endpoints(self, backend: OpenStackBackend | VCenterBackend) -> Endpoints:
        assert isinstance(backend, VCenterBackend)
        return Endpoints(openstack=[], vcenters=[backend], refresh_seconds=3600)

    def logins(self, proxy: FaultProxy) -> int:
        return proxy.count("Login")

    def items(self, view: EstateView) -> list[Ref]:
        clusters: list[Ref] = [c.ref for snap in view.estate.vcenters for c in snap.clusters]
        return clusters + [h.ref for snap in view.estate.vcenters for h in snap.hosts]

    def data_present(self, view: EstateView, *, missing: int = 0) -> bool:
        """Every cluster and host, and every VM but ``missing``."""
        snaps = view.estate.vcenters
        if not snaps:
            return False
        snap = snaps[0]
        peer = self.peer
        return (len(snap.clusters), len(snap.hosts), len(snap.vms)) == (
            peer.cluster_count,
            peer.host_count,
            peer.vm_count - missing,
        )

    def taken_at(self, view: EstateView) -> float:
        return max((s.taken_at.timestamp() for s in view.estate.vcenters), default=0.0)


Site = NovaSite | VcenterSite


def endpoint_status(view: EstateView, name: str) -> EndpointStatus:
    status = view.estate.endpoint(name)
    assert status is not None, f"no endpoint {name} in the view"
    return status
