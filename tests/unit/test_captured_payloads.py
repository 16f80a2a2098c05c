"""The mapping on what the real Nova peer returned at openstacksdk's microversions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hybridview.backends.nova import payloads
from hybridview.core.correlation import split_vmware_nodename

CAPTURED = Path(__file__).resolve().parents[1] / "peers" / "nova" / "captured"


def _load(name: str) -> Any:
    return json.loads((CAPTURED / f"{name}.json").read_text())


def test_captured_hypervisors_services_and_servers_map_together() -> None:
    services = [payloads.service("c", raw) for raw in payloads.items(_load("services"), "services")]
    computes = [s for s in services if s.binary == "nova-compute"]
    nodes = [
        payloads.compute_node("c", raw, services) for raw in payloads.items(_load("hypervisors_detail"), "hypervisors")
    ]
    servers = [payloads.instance("c", raw) for raw in payloads.items(_load("servers_detail_all_tenants"), "servers")]
    assert {n.host for n in nodes} == {s.host for s in computes}
    assert all(n.service_id in {s.id for s in computes} for n in nodes)
    vmware = [n for n in nodes if n.is_vmware]
    assert vmware and all(split_vmware_nodename(n.hypervisor_hostname) for n in vmware)
    node_names = {n.hypervisor_hostname for n in nodes}
    assert servers and all(s.node in node_names and s.host for s in servers)
    assert all(s.flavor for s in servers)  # 2.47+: the embedded flavor's original_name
