"""The simulated estate behind the same backend protocols as the real clouds."""

from __future__ import annotations

import time

from hybridview.backends.base import BackendError
from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot
from hybridview.sim.estate import SimEstate


class SimNovaBackend:
    def __init__(self, estate: SimEstate, cloud: str) -> None:
        self._estate = estate
        self._cloud = cloud

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def fetch(self) -> OpenStackSnapshot:
        self._estate.catch_up()
        if self._cloud in self._estate.broken_endpoints:
            raise BackendError(self._cloud, "simulated outage: connection refused")
        return self._estate.openstack_snapshot(self._cloud)

    def close(self) -> None:
        return None


class SimVCenterBackend:
    def __init__(self, estate: SimEstate, vcenter: str, poll_seconds: float = 0.1) -> None:
        self._estate = estate
        self._vcenter = vcenter
        self._poll_seconds = poll_seconds
        self._seen_version = -1

    @property
    def name(self) -> str:
        return self._vcenter

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def fetch(self) -> VCenterSnapshot:
        self._estate.catch_up()
        if self._vcenter in self._estate.broken_endpoints:
            raise BackendError(self._vcenter, "simulated outage: connection refused")
        self._seen_version = self._estate.version
        return self._estate.vcenter_snapshot(self._vcenter)

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        deadline = time.monotonic() + max_wait_seconds
        while time.monotonic() < deadline:
            self._estate.catch_up()
            if self._estate.version != self._seen_version:
                return self.fetch()
            time.sleep(min(self._poll_seconds, max(0.0, deadline - time.monotonic())))
        return None

    def close(self) -> None:
        return None


def demo_backends(estate: SimEstate) -> tuple[list[SimNovaBackend], list[SimVCenterBackend]]:
    return (
        [SimNovaBackend(estate, c) for c in estate.cloud_names()],
        [SimVCenterBackend(estate, v) for v in estate.vcenter_names()],
    )
