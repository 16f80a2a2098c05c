"""Smoke test: openstacksdk (app venv) against the real Nova API peer.

Run from the repo root:
    bash scripts/nova-peer-venv.sh
    .venv/bin/python -m pytest tests/peers/nova -p no:cacheprovider \
        -o markers=nova_peer

NOVA_PEER_CAPTURE=1 also refreshes the raw JSON in captured/ (the Placement and aggregate answers
in test_placement_is_served_beside_the_api_and_counts_novas_allocations).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keystoneauth1.exceptions as ks_exc
import openstack
import pytest

from tests.peers.nova.fixture import NovaPeer

pytestmark = [
    pytest.mark.nova_peer,
    # openstacksdk 4.22 itself emits "removed in SDK 5/6" warnings on its
    # normal paths (InfluxDB config, proxy cache keys, _compute_attributes);
    # the repo's filterwarnings=error would turn them into failures.
    pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning"),
]

VCENTER_NODE = "domain-c7.8b2e4f1a-3c5d-4e6f-9a0b-1c2d3e4f5a6b"
PLACEMENT = "1.14"  # what hybridview reads Placement at (backends/nova/capacity.py)
CAPTURED = Path(__file__).with_name("captured")
# The microversions openstacksdk 4.x caps these resources at.
CAPTURES = {
    "hypervisors_detail": ("/os-hypervisors/detail", "2.88"),
    "services": ("/os-services", "2.69"),
    "servers_detail_all_tenants": ("/servers/detail?all_tenants=1", "2.100"),
    "migrations": ("/os-migrations", "2.80"),
}


@pytest.fixture(scope="module")
def peer() -> Iterator[NovaPeer]:
    with NovaPeer(computes=["host1", "host2", "host3"], vmware_nodes={"vc1": VCENTER_NODE}) as running:
        yield running


@pytest.fixture(scope="module")
def conn(peer: NovaPeer, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = peer.write_clouds_yaml(tmp_path_factory.mktemp("nova-peer") / "clouds.yaml")
    config = openstack.config.OpenStackConfig(config_files=[str(path)])
    return openstack.connection.Connection(config=config.get_one(cloud="nova-peer"))


def _capture(conn: Any) -> None:
    CAPTURED.mkdir(exist_ok=True)
    for name, (url, microversion) in CAPTURES.items():
        body = conn.compute.get(url, microversion=microversion).json()
        (CAPTURED / f"{name}.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def test_sdk_sees_computes_servers_and_down_service(peer: NovaPeer, conn: Any) -> None:
    ids = {peer.boot("vm1", "host1"), peer.boot("vm2", "vc1")}

    hypervisors = {h.name: h for h in conn.compute.hypervisors(details=True)}
    assert set(hypervisors) == {"host1", "host2", "host3", VCENTER_NODE}
    assert hypervisors[VCENTER_NODE].hypervisor_type == "VMware vCenter Server"

    computes = {s.host: s for s in conn.compute.services() if s.binary == "nova-compute"}
    assert set(computes) == {"host1", "host2", "host3", "vc1"}
    assert all(s.state == "up" for s in computes.values())

    servers = {s.id: s for s in conn.compute.servers(all_projects=True)}
    assert set(servers) == ids
    assert {s.status for s in servers.values()} == {"ACTIVE"}
    assert {s.compute_host for s in servers.values()} == {"host1", "vc1"}

    assert list(conn.compute.migrations()) == []

    if os.environ.get("NOVA_PEER_CAPTURE") == "1":
        _capture(conn)

    peer.stop_compute("host1")
    states = {s.host: s.state for s in conn.compute.services() if s.binary == "nova-compute"}
    assert states == {"host1": "down", "host2": "up", "host3": "up", "vc1": "up"}

    peer.start_compute("host1")
    assert next(conn.compute.services(host="host1")).state == "up"


def _password_connection(path: Path, **auth: str) -> Any:
    """A Connection from the password cloud at ``path``, ``auth`` overriding its credentials."""
    config = openstack.config.OpenStackConfig(config_files=[str(path)])
    cloud = config.get_one(cloud="nova-peer")
    return openstack.connection.Connection(config=config.get_one(cloud="nova-peer", auth={**cloud.auth, **auth}))


def test_password_login_through_the_peers_keystone(peer: NovaPeer, tmp_path: Path) -> None:
    path = peer.write_clouds_yaml(tmp_path / "clouds.yaml", auth="password")
    conn = _password_connection(path)
    before = peer.logins()
    try:
        first = conn.session.get_token()
        assert {s.host for s in conn.compute.services()} >= {"host1", "host2", "host3"}  # via the catalog
        assert conn.session.invalidate()  # what keystoneauth does on a 401
        second = conn.session.get_token()
    finally:
        conn.close()
    assert first != second
    assert peer.logins() == before + 2

    refused = _password_connection(path, password="nope")
    try:
        with pytest.raises(ks_exc.Unauthorized):
            refused.session.get_token()
    finally:
        refused.close()
    assert peer.logins() == before + 2


def test_an_account_of_the_test_s_own_gets_its_token_and_every_login_body_is_kept(
    peer: NovaPeer, tmp_path: Path
) -> None:
    token = f"viewer:{peer.ready['project_id']}:smoke"  # reader and member, no admin
    peer.set_keystone_account("smoke", "smoke-password", token=token)
    path = peer.write_clouds_yaml(tmp_path / "clouds.yaml", auth="password")
    seen = len(peer.login_requests())
    conn = _password_connection(path, username="smoke", password="smoke-password")
    refused = _password_connection(path, username="smoke", password="wrong-password")
    try:
        assert conn.session.get_token() == token
        list(conn.compute.servers())  # Nova takes the token
        with pytest.raises(openstack.exceptions.ForbiddenException):
            list(conn.compute.services())  # an admin-only call
        with pytest.raises(ks_exc.Unauthorized):
            refused.session.get_token()
    finally:
        conn.close()
        refused.close()
    users = [body["auth"]["identity"]["password"]["user"] for body in peer.login_requests(seen)]
    assert [(u["name"], u["password"]) for u in users] == [("smoke", "smoke-password"), ("smoke", "wrong-password")]


def _placement(conn: Any, path: str) -> Any:
    return conn.placement.get(path, microversion=PLACEMENT).json()


def _usages(conn: Any, name: str) -> dict[str, int]:
    uuid = next(p["uuid"] for p in _placement(conn, "/resource_providers")["resource_providers"] if p["name"] == name)
    return dict(_placement(conn, f"/resource_providers/{uuid}/usages")["usages"])


def test_placement_is_served_beside_the_api_and_counts_novas_allocations(
    peer: NovaPeer, conn: Any, tmp_path: Path
) -> None:
    providers = _placement(conn, "/resource_providers")["resource_providers"]
    assert {p["name"] for p in providers} == {"host1", "host2", "host3", VCENTER_NODE}
    assert all(p["root_provider_uuid"] == p["uuid"] for p in providers)
    host2 = next(p for p in providers if p["name"] == "host2")
    inventories = _placement(conn, f"/resource_providers/{host2['uuid']}/inventories")
    assert {rc: inv["total"] for rc, inv in inventories["inventories"].items()} == {
        "VCPU": 10,
        "MEMORY_MB": 8192,
        "DISK_GB": 1028,
    }  # MediumFakeDriver's
    before = _usages(conn, "host2")
    peer.boot("placed", "host2")  # m1.tiny-like flavor of Nova's functional tests: 1 vCPU, 512 MiB
    after = _usages(conn, "host2")
    assert (after["VCPU"] - before["VCPU"], after["MEMORY_MB"] - before["MEMORY_MB"]) == (1, 512)

    if os.environ.get("NOVA_PEER_CAPTURE") == "1":
        aggregate = conn.compute.create_aggregate(name="capture-aggregate", availability_zone="az-capture")
        conn.compute.add_host_to_aggregate(aggregate, "host3")  # no instance: Nova refuses to move one's AZ
        _capture_capacity(conn, host2["uuid"])

    peer.set_placement_fault("stopped")
    try:
        stopped = conn.placement.get("/resource_providers", microversion=PLACEMENT, raise_exc=False)
    finally:
        peer.set_placement_fault(None)
    assert stopped.status_code == 503 and "No server is available" in stopped.text
    assert conn.placement.get("/resource_providers", microversion=PLACEMENT, raise_exc=False).status_code == 200


def _capture_capacity(conn: Any, uuid: str) -> None:
    answers = {
        "placement_resource_providers": _placement(conn, "/resource_providers"),
        "placement_inventories": _placement(conn, f"/resource_providers/{uuid}/inventories"),
        "placement_usages": _placement(conn, f"/resource_providers/{uuid}/usages"),
        "aggregates": conn.compute.get("/os-aggregates", microversion="2.41").json(),
    }
    for name, body in answers.items():
        (CAPTURED / f"{name}.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def test_placement_is_in_the_token_catalog_and_refuses_a_non_admin(peer: NovaPeer, tmp_path: Path) -> None:
    path = peer.write_clouds_yaml(tmp_path / "clouds.yaml", auth="password")
    conn = _password_connection(path)
    peer.set_keystone_account("viewer", "viewer-password")  # tokens "viewer:<project>:<n>": reader, member
    viewer = _password_connection(path, username="viewer", password="viewer-password")
    peer.set_keystone_account("no-placement", "np-password", token=peer.token, catalog=("compute",))
    uncatalogued = _password_connection(path, username="no-placement", password="np-password")
    try:
        listed = conn.placement.get("/resource_providers", microversion=PLACEMENT).json()["resource_providers"]
        assert len(listed) == 4  # through the endpoint the token's catalog names
        refused = viewer.placement.get("/resource_providers", microversion=PLACEMENT, raise_exc=False)
        assert refused.status_code == 403 and "placement:resource_providers:list" in refused.text
        assert {s.host for s in uncatalogued.compute.services()} >= {"host1", "host2", "host3"}
        with pytest.raises(openstack.exceptions.ServiceDisabledException):
            uncatalogued.placement.get("/resource_providers")
    finally:
        for connection in (conn, viewer, uncatalogued):
            connection.close()
