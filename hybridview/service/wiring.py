"""Builds the backends for a run: the demo estate, or what the config names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hybridview.backends.base import OpenStackBackend, VCenterBackend
from hybridview.config import Config
from hybridview.core.model import Storage, StorageRules
from hybridview.core.identity import ClusterSelector
from hybridview.core.alerting import Policy
from hybridview.service.alert_store import policy_of
from hybridview.sim import SimEstate, SimSize
from hybridview.sim.backends import demo_backends


@dataclass(slots=True)
class Endpoints:
    openstack: list[OpenStackBackend]
    vcenters: list[VCenterBackend]
    node_map: Mapping[str, ClusterSelector] = field(default_factory=dict)
    demo: SimEstate | None = None
    refresh_seconds: float = 30.0
    storage_rules: StorageRules = field(default_factory=dict)  # per cloud, from the config
    read_only: bool = False
    action_concurrency: int = 3
    alert_policy: Policy = field(default_factory=Policy)  # when a problem alerts, from the config


# What a demo operator declared: the failing hosts' local disks, the rest of one cloud on shared storage;
# the other cloud declares nothing, so its storage stays unknown.
DEMO_STORAGE: StorageRules = {"demo-cloud": (("kvm-1003", Storage.LOCAL), ("kvm-*", Storage.SHARED))}


def demo_endpoints(scenario: str = "healthy", size: SimSize | None = None, tick_seconds: float = 5.0) -> Endpoints:
    estate = SimEstate(scenario, size=size, tick_seconds=tick_seconds)
    nova, vcenters = demo_backends(estate)
    return Endpoints(list(nova), list(vcenters), demo=estate, refresh_seconds=5.0, storage_rules=DEMO_STORAGE)


def configured_endpoints(config: Config) -> Endpoints:
    from hybridview.backends.nova import NovaBackend

    openstack: list[OpenStackBackend] = [
        NovaBackend(c.name, config_files=[c.clouds_yaml] if c.clouds_yaml else None) for c in config.clouds
    ]
    vcenters: list[VCenterBackend] = []
    if config.vcenters:
        from hybridview.backends.vsphere import VSphereBackend

        vcenters = [VSphereBackend(v) for v in config.vcenters]
    return Endpoints(
        openstack,
        vcenters,
        dict(config.node_map),
        refresh_seconds=config.refresh_seconds,
        storage_rules={c.name: c.instance_storage for c in config.clouds if c.instance_storage},
        read_only=config.read_only,
        action_concurrency=config.action_concurrency,
        alert_policy=policy_of(config),
    )
