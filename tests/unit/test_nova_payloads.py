"""Nova API JSON -> core snapshots, checked against the real samples from the Nova tree.

The samples are an unchanged copy of Nova's ``doc/api_samples`` kept in the repository
(``tests/data/nova-api-samples``, see its README), so a fresh clone runs every test here.
A missing sample fails the test that needs it; nothing is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridview.backends.nova import NovaBackend, reads
from hybridview.backends.nova import payloads as p
from hybridview.backends.records import Collection, RecordSkips
from hybridview.core.identity import NodeRef
from hybridview.core.model import ComputeService
from tests.unit.fuzz_strategies import FakeComputeSession

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "nova-api-samples"


def load(rel: str) -> Any:
    path = SAMPLES / rel
    assert path.is_file(), (
        f"Nova API sample {rel!r} is missing: expected {path}. "
        "Copy it unchanged from Nova's doc/api_samples (see tests/data/nova-api-samples/README.md)."
    )
    return json.loads(path.read_text(encoding="utf-8"))


# --- os-services -------------------------------------------------------------

SERVICES_ROOT = "os-services/services-list-get-resp.json"
SERVICES_211 = "os-services/v2.11/services-list-get-resp.json"
SERVICES_253 = "os-services/v2.53/services-list-get-resp.json"
SERVICES_269 = "os-services/v2.69/services-list-get-resp.json"


@pytest.mark.parametrize(
    ("rel", "compute_ids"),
    [
        (SERVICES_ROOT, ("2", "4")),
        (SERVICES_211, ("2", "4")),
        (SERVICES_253, ("e81d66a4-ddd3-4aba-8a84-171d1cb4d339", "13aa304e-5340-45a7-a7fb-b6d6e914d272")),
    ],
    ids=["root", "v2.11", "v2.53"],
)
def test_services_map_every_documented_field(rel: str, compute_ids: tuple[str, str]) -> None:
    services = [p.service("c1", raw) for raw in p.items(load(rel), "services")]
    assert len(services) == 4
    assert all(isinstance(s.id, str) for s in services)
    computes = [s for s in services if s.binary == "nova-compute"]
    assert [s.id for s in computes] == list(compute_ids)
    host1, host2 = computes
    assert host1 == ComputeService(
        cloud="c1",
        id=compute_ids[0],
        binary="nova-compute",
        host="host1",
        zone="nova",
        state="up",
        status="disabled",
        disabled_reason="test2",
        forced_down=False,
        updated_at="2012-10-29T13:42:05.000000",
    )
    assert (host2.host, host2.state, host2.status, host2.disabled_reason) == ("host2", "down", "disabled", "test4")
    scheduler = services[2]
    assert (scheduler.binary, scheduler.zone, scheduler.state, scheduler.status, scheduler.disabled_reason) == (
        "nova-scheduler",
        "internal",
        "down",
        "enabled",
        None,
    )


def test_services_before_2_11_have_no_forced_down_and_map_to_false() -> None:
    raw = p.items(load(SERVICES_ROOT), "services")
    assert all("forced_down" not in r for r in raw)
    assert not any(p.service("c1", r).forced_down for r in raw)


def test_service_forced_down_true_is_kept() -> None:
    raw = dict(p.items(load(SERVICES_211), "services")[3], forced_down=True)
    assert p.service("c1", raw).forced_down is True


def test_services_2_69_down_cell_entries_are_accepted() -> None:
    """Nova 2.69 lists services of an unreachable cell with only binary, host and status.

    That is a documented shape; rejecting it (``service has no 'id'``) makes the whole
    Nova fetch fail because one cell is down.
    """
    raws = p.items(load(SERVICES_269), "services")
    assert all("id" not in r and "state" not in r for r in raws)
    services = [p.service("c1", r) for r in raws]
    assert [(s.binary, s.host) for s in services] == [("nova-compute", "host1"), ("nova-compute", "host2")]
    for s in services:
        assert s.status == "unknown"
        assert s.state == "unknown"
        assert isinstance(s.id, str)
        assert s.id
    assert services[0].id != services[1].id


# --- os-hypervisors ----------------------------------------------------------

HYPERVISOR_CASES = [
    # rel, id, hypervisor_hostname, host (service.host), service id, host_ip, next marker
    (
        "os-hypervisors/hypervisors-detail-resp.json",
        "1",
        "fake-mini",
        "e6a37ee802d74863ab8b91ade8f12a67",
        "2",
        "1.1.1.1",
        None,
    ),
    (
        "os-hypervisors/v2.28/hypervisors-detail-resp.json",
        "1",
        "fake-mini",
        "e6a37ee802d74863ab8b91ade8f12a67",
        "2",
        "1.1.1.1",
        None,
    ),
    ("os-hypervisors/v2.33/hypervisors-detail-resp.json", "2", "host1", "host1", "6", "1.1.1.1", "2"),
    (
        "os-hypervisors/v2.53/hypervisors-detail-resp.json",
        "1bb62a04-c576-402c-8147-9e89757a09e3",
        "host2",
        "host1",
        "62f62f6e-a713-4cbe-87d3-3ecf8a1e0f8d",
        "1.1.1.1",
        "1bb62a04-c576-402c-8147-9e89757a09e3",
    ),
    (
        "os-hypervisors/v2.88/hypervisors-detail-resp.json",
        "f6d28711-9c10-470e-8b31-c03f498b0032",
        "host2",
        "host2",
        "21bbb5fb-ec98-48b3-89cf-c94402c55611",
        "192.168.1.135",
        "f6d28711-9c10-470e-8b31-c03f498b0032",
    ),
]


@pytest.mark.parametrize(
    ("rel", "ident", "hostname", "host", "service_id", "host_ip", "marker"),
    HYPERVISOR_CASES,
    ids=["root", "v2.28", "v2.33", "v2.53", "v2.88"],
)
def test_hypervisors_detail(
    rel: str, ident: str, hostname: str, host: str, service_id: str, host_ip: str, marker: str | None
) -> None:
    body = load(rel)
    (raw,) = p.items(body, "hypervisors")
    node = p.compute_node("c1", raw, [])
    assert node.id == ident
    assert isinstance(node.id, str)
    assert node.hypervisor_hostname == hostname
    assert node.host == host  # from hypervisor.service.host, not the hostname
    assert node.service_id == service_id
    assert node.host_ip == host_ip
    assert node.hypervisor_type == "fake"
    assert (node.state, node.status, node.disabled_reason, node.forced_down) == ("up", "enabled", None, False)
    assert node.ref == NodeRef("c1", hostname)
    assert not node.is_vmware
    if marker is None:
        assert p.next_page_params(body, "hypervisors") is None
    else:
        assert p.next_page_params(body, "hypervisors") == {"limit": "1", "marker": marker}


def test_hypervisor_takes_forced_down_from_its_nova_compute_service() -> None:
    (raw,) = p.items(load("os-hypervisors/v2.53/hypervisors-detail-resp.json"), "hypervisors")
    services = [
        ComputeService("c1", "s-sched", "nova-scheduler", "host1", "internal", "up", "enabled", None, True, None),
        ComputeService("c1", "s-comp", "nova-compute", "host1", "nova", "down", "enabled", None, True, None),
    ]
    node = p.compute_node("c1", raw, services)
    assert node.forced_down is True
    assert node.host == "host1"


def test_hypervisor_without_state_falls_back_to_service() -> None:
    (raw,) = p.items(load("os-hypervisors/v2.88/hypervisors-detail-resp.json"), "hypervisors")
    raw = {k: v for k, v in raw.items() if k not in ("state", "status", "service")}
    svc = ComputeService("c1", "9", "nova-compute", "host2", "nova", "down", "disabled", "maint", False, None)
    node = p.compute_node("c1", raw, [svc])
    assert (node.host, node.state, node.status, node.disabled_reason, node.service_id) == (
        "host2",
        "down",
        "disabled",
        "maint",
        "9",
    )


def test_vmware_hypervisor_type_is_recognised() -> None:
    (raw,) = p.items(load("os-hypervisors/v2.88/hypervisors-detail-resp.json"), "hypervisors")
    raw = dict(raw, hypervisor_type="VMware vCenter Server", hypervisor_hostname="domain-c7.abc")
    assert p.compute_node("c1", raw, []).is_vmware


# --- servers -----------------------------------------------------------------

# Every servers/**/servers-details-resp.json of Nova's tree, listed rather than globbed so
# that missing data fails these tests instead of leaving an empty (skipped) parameter set.
SERVER_DIRS = (
    ".",
    *(f"v2.{v}" for v in (3, 9, 16, 19, 47, 52, 63, 69, 73, 90, 94, 96, 98, 100)),
)


def _microversion(directory: str) -> int:
    return 0 if directory == "." else int(directory.removeprefix("v2."))


def test_every_servers_detail_sample_is_covered() -> None:
    servers = SAMPLES / "servers"
    assert servers.is_dir(), f"Nova API samples folder is missing: expected {servers}"
    found = {f.parent.relative_to(servers).as_posix() for f in servers.rglob("servers-details-resp.json")}
    assert found == set(SERVER_DIRS), (
        f"servers-details-resp.json samples under {servers} differ from SERVER_DIRS: "
        f"missing {sorted(set(SERVER_DIRS) - found)}, unlisted {sorted(found - set(SERVER_DIRS))}"
    )


@pytest.mark.parametrize("directory", SERVER_DIRS)
def test_servers_detail(directory: str) -> None:
    body = load(f"servers/{directory}/servers-details-resp.json")
    raws = p.items(body, "servers")
    assert raws
    for raw in raws:
        inst = p.instance("c1", raw)
        assert inst.id == raw["id"]
        assert inst.status == raw["status"]
        assert inst.project_id == "6f70656e737461636b20342065766572"
        if directory == "v2.69":  # a server in a down cell: only id, status, tenant, created, links
            assert inst.status == "UNKNOWN"
            assert (inst.host, inst.node, inst.flavor, inst.name) == (None, None, None, "")
            continue
        assert inst.name == "new-server-test"
        assert inst.vm_state == "active"
        assert inst.power_state == 1
        assert inst.task_state is None
        assert inst.availability_zone == raw["OS-EXT-AZ:availability_zone"]
        assert inst.boot_from_volume is False  # every sample boots from an image
        assert inst.host == raw.get("OS-EXT-SRV-ATTR:host")
        assert inst.node == raw.get("OS-EXT-SRV-ATTR:hypervisor_hostname")
        if _microversion(directory) >= 47:
            assert inst.flavor == raw["flavor"]["original_name"]
            assert inst.flavor in ("m1.tiny", "m1.tiny.specs")
            assert (inst.vcpus, inst.memory_mb) == (1, 512)  # the embedded flavor's vcpus and ram
        else:
            assert inst.flavor == "1"  # flavor id before 2.47
            assert (inst.vcpus, inst.memory_mb) == (None, None)  # a flavor link only: its size is unknown
    expected_links = "servers_links" in body
    params = p.next_page_params(body, "servers")
    if expected_links:
        assert params is not None
        assert params["limit"] == "1"
        assert params["marker"] == raws[-1]["id"]
    else:
        assert params is None


def test_server_sample_values_exact() -> None:
    (raw,) = p.items(load("servers/v2.47/servers-details-resp.json"), "servers")
    inst = p.instance("c1", raw)
    assert (inst.id, inst.host, inst.node, inst.flavor, inst.availability_zone) == (
        "764e369e-a874-4401-b7ce-43e4760888da",
        "compute",
        "fake-mini",
        "m1.tiny.specs",
        "us-west",
    )
    (raw,) = p.items(load("servers/servers-details-resp.json"), "servers")
    inst = p.instance("c1", raw)
    assert (inst.host, inst.flavor) == ("c3f14e9812ad496baf92ccfb3c61e15f", "1")


@pytest.mark.parametrize(("key", "value"), [("vcpus", "1"), ("ram", 512.0), ("ram", True)])
def test_an_embedded_flavor_size_of_the_wrong_type_makes_the_server_malformed(key: str, value: Any) -> None:
    (raw,) = p.items(load("servers/v2.47/servers-details-resp.json"), "servers")
    with pytest.raises(p.MalformedPayload, match=rf"^server flavor '{key}' is not an integer$"):
        p.instance("c1", {**raw, "flavor": {**raw["flavor"], key: value}})


def test_volume_backed_server_has_empty_image() -> None:
    (raw,) = p.items(load("servers/v2.100/servers-details-resp.json"), "servers")
    assert p.instance("c1", dict(raw, image="")).boot_from_volume is True
    assert p.instance("c1", raw).boot_from_volume is False


def test_down_cell_server_is_not_claimed_volume_backed() -> None:
    """A 2.69 down-cell server has no ``image`` key at all: that is unknown, not volume-backed.

    Claiming it volume-backed makes the move options promise "data survives".
    """
    (raw,) = p.items(load("servers/v2.69/servers-details-resp.json"), "servers")
    assert "image" not in raw
    assert p.instance("c1", raw).boot_from_volume is False


def test_server_with_project_id_instead_of_tenant_id() -> None:
    raw = {"id": "x", "status": "ACTIVE", "project_id": "p1", "image": {"id": "i"}}
    assert p.instance("c1", raw).project_id == "p1"


# --- os-migrations -----------------------------------------------------------

MIGRATION_CASES = [
    "os-migrations/migrations-get.json",
    *(f"os-migrations/v2.{v}/migrations-get.json" for v in (23, 59, 66, 80)),
]


@pytest.mark.parametrize("rel", MIGRATION_CASES, ids=["root", "v2.23", "v2.59", "v2.66", "v2.80"])
def test_migrations(rel: str) -> None:
    raws = p.items(load(rel), "migrations")
    migs = [p.migration("c1", r) for r in raws]
    assert len(migs) == len(raws) >= 2
    for raw, mig in zip(raws, migs, strict=True):
        assert isinstance(mig.id, str)
        if "uuid" in raw:
            assert mig.id == raw["uuid"]  # uuid preferred over the integer id (2.59+)
        else:
            assert mig.id == str(raw["id"])
        assert mig.instance_id == raw["instance_uuid"]
        assert mig.status == raw["status"]
        assert mig.migration_type == raw.get("migration_type", "unknown")
        assert (mig.source_compute, mig.dest_compute, mig.source_node, mig.dest_node) == (
            raw["source_compute"],
            raw["dest_compute"],
            raw["source_node"],
            raw["dest_node"],
        )
        assert mig.in_progress == (raw["status"] in ("running", "migrating"))


def test_migration_exact_values() -> None:
    root = [p.migration("c1", r) for r in p.items(load("os-migrations/migrations-get.json"), "migrations")]
    assert [(m.id, m.migration_type, m.status, m.in_progress) for m in root] == [
        ("1234", "unknown", "done", False),
        ("5678", "unknown", "done", False),
    ]
    v259 = p.migration("c1", p.items(load("os-migrations/v2.59/migrations-get.json"), "migrations")[0])
    assert (v259.id, v259.migration_type, v259.status, v259.in_progress) == (
        "42341d4b-346a-40d0-83c6-5f4f6892b650",
        "resize",
        "migrating",
        True,
    )
    v223 = [p.migration("c1", r) for r in p.items(load("os-migrations/v2.23/migrations-get.json"), "migrations")]
    assert [m.migration_type for m in v223] == ["live-migration", "live-migration", "resize", "resize"]


@pytest.mark.parametrize("version", ["59", "66", "80"])
def test_migrations_links_next_page(version: str) -> None:
    body = load(f"os-migrations/v2.{version}/migrations-get-with-limit.json")
    assert p.next_page_params(body, "migrations") == {
        "limit": "1",
        "marker": "42341d4b-346a-40d0-83c6-5f4f6892b650",
    }
    assert p.next_page_params(load(f"os-migrations/v2.{version}/migrations-get.json"), "migrations") is None


# --- paging and malformed shapes --------------------------------------------


def test_next_page_params_ignores_non_next_links() -> None:
    body = {"servers": [], "servers_links": [{"rel": "prev", "href": "http://x/?marker=a"}, "junk", {"rel": "next"}]}
    assert p.next_page_params(body, "servers") is None
    assert p.next_page_params({"servers": []}, "servers") is None
    assert p.next_page_params({"servers": [], "servers_links": None}, "servers") is None


def test_missing_hypervisor_hostname_is_malformed() -> None:
    (raw,) = p.items(load("os-hypervisors/v2.88/hypervisors-detail-resp.json"), "hypervisors")
    raw = {k: v for k, v in raw.items() if k != "hypervisor_hostname"}
    with pytest.raises(p.MalformedPayload, match="hypervisor_hostname"):
        p.compute_node("c1", raw, [])


def test_null_hypervisor_id_is_malformed() -> None:
    (raw,) = p.items(load("os-hypervisors/v2.88/hypervisors-detail-resp.json"), "hypervisors")
    with pytest.raises(p.MalformedPayload, match="'id'"):
        p.compute_node("c1", dict(raw, id=None), [])


@pytest.mark.parametrize(
    "body",
    [{"hypervisors": {"id": 1}}, {"hypervisors": None}, {}, [], "hypervisors", None, {"servers": []}],
    ids=["dict", "null", "missing", "list-body", "string-body", "none-body", "other-collection"],
)
def test_collection_not_a_list_is_malformed(body: Any) -> None:
    with pytest.raises(p.MalformedPayload, match="hypervisors"):
        p.items(body, "hypervisors")


@pytest.mark.parametrize(
    "mapper",
    [
        lambda raw: p.service("c1", raw),
        lambda raw: p.compute_node("c1", raw, []),
        lambda raw: p.instance("c1", raw),
        lambda raw: p.migration("c1", raw),
    ],
    ids=["service", "hypervisor", "server", "migration"],
)
@pytest.mark.parametrize("raw", ["a string", ["a", "list"], 42], ids=["str", "list", "int"])
def test_non_object_items_are_malformed(mapper: Any, raw: Any) -> None:
    with pytest.raises(p.MalformedPayload, match="not an object"):
        mapper(raw)


def test_server_without_status_and_migration_without_instance_are_malformed() -> None:
    with pytest.raises(p.MalformedPayload, match="status"):
        p.instance("c1", {"id": "x"})
    with pytest.raises(p.MalformedPayload, match="instance_uuid"):
        p.migration("c1", {"id": 1, "status": "done"})
    with pytest.raises(p.MalformedPayload, match="'id'"):
        p.migration("c1", {"instance_uuid": "u", "status": "done"})
    assert issubclass(p.MalformedPayload, ValueError)


# --- a read skips a malformed record, names it, and keeps the rest -----------------------

SERVER = p.items(load("servers/v2.100/servers-details-resp.json"), "servers")[0]
BAD_ID = "7f3c2a9e-5b1d-4c8e-9f60-2d4b8a1c3e57"


def _read(records: dict[str, list[Any]], **session: Any) -> Any:
    return reads.read_snapshot(FakeComputeSession(records, **session), 1000)


def test_a_malformed_server_is_skipped_and_named_and_the_others_are_read() -> None:
    servers = [dict(SERVER, id="good-1"), dict(SERVER, id=BAD_ID, status=None), dict(SERVER, id="good-2")]
    read = _read({"/servers/detail": servers}, page_size=2)
    assert [i.id for i in read.value.instances] == ["good-1", "good-2"]
    assert read.warnings == (
        f"skipped 1 malformed server record(s) in /servers/detail: server has no 'status' (id {BAD_ID}); "
        "those instances are not shown",
    )


def test_one_warning_per_cause_names_three_records_and_counts_the_rest() -> None:
    no_status = [dict(SERVER, id=f"s{i}", status=None) for i in range(5)]
    not_an_object = ["junk"]
    no_id = [{k: v for k, v in SERVER.items() if k != "id"}]
    read = _read({"/servers/detail": [*no_status, *not_an_object, *no_id, SERVER]})
    assert read.value.instances == (p.instance("c1", SERVER),)
    assert read.warnings == (
        "skipped 5 malformed server record(s) in /servers/detail: server has no 'status' (id s0, id s1, id s2 and 2 "
        "more); those instances are not shown",
        "skipped 1 malformed server record(s) in /servers/detail: server is not an object (record 6); "
        "those instances are not shown",
        "skipped 1 malformed server record(s) in /servers/detail: server has no 'id' (record 7); "
        "those instances are not shown",
    )


def test_a_record_name_from_the_payload_stays_one_short_line() -> None:
    servers = [dict(SERVER, id="two\nlines", status=1), dict(SERVER, id="x" * 100, status=1)]
    (warning,) = _read({"/servers/detail": servers}).warnings
    assert "server 'status' is not a string (id two lines, id " + "x" * 56 + "…)" in warning
    assert "\n" not in warning


def test_a_skipped_service_leaves_its_node_down_and_says_forced_down_is_unknown() -> None:
    services = p.items(load(SERVICES_253), "services")
    broken = [dict(s, binary=None) if s.get("host") == "host1" else s for s in services]
    (hypervisor,) = p.items(load("os-hypervisors/v2.53/hypervisors-detail-resp.json"), "hypervisors")
    read = _read({"/os-services": broken, "/os-hypervisors/detail": [dict(hypervisor, state="down")]})
    (node,) = read.value.nodes
    assert (node.host, node.state, node.forced_down) == ("host1", "down", False)
    assert len(read.value.services) == len(services) - 2
    (warning,) = read.warnings
    assert warning.startswith("skipped 2 malformed service record(s) in /os-services: service has no 'binary' (id ")
    assert warning.endswith("; the forced-down flag of their compute nodes is unknown")


@pytest.mark.parametrize(
    ("second_page", "error"),
    [
        ({"servers": {"id": "x"}}, "response has no 'servers' list"),
        (ValueError("Expecting value"), "/servers/detail did not return JSON"),
        ({"servers": [], "servers_links": "next"}, "'servers_links' is not a list"),
        (
            {"servers": [SERVER], "servers_links": [{"rel": "next", "href": "http://nova.invalid/?marker=p1"}]},
            "paging loops on marker p1",
        ),
    ],
    ids=["not-a-list", "not-json", "links-not-a-list", "paging-loop"],
)
def test_a_page_that_is_not_the_documented_shape_still_fails_the_read(second_page: Any, error: str) -> None:
    servers = [dict(SERVER, id="a"), dict(SERVER, id="b")]
    with pytest.raises(p.MalformedPayload, match=error):
        _read({"/servers/detail": servers}, page_size=1, second_pages={"/servers/detail": second_page})


def test_nova_backend_warns_about_the_last_read_only() -> None:
    backend = NovaBackend("c1")
    backend._session = FakeComputeSession({"/servers/detail": [SERVER, {"id": BAD_ID}]})  # type: ignore[assignment]
    assert len(backend.fetch().instances) == 1
    (warning,) = backend.warnings
    assert "malformed server record(s)" in warning
    assert BAD_ID in warning
    backend._session = FakeComputeSession({"/servers/detail": [SERVER]})  # type: ignore[assignment]
    backend.fetch()
    assert backend.warnings == ()


def test_a_mapper_bug_skips_the_record_too_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    skips = RecordSkips(p.MalformedPayload)
    collection = Collection("server", "those instances are not shown", "/servers/detail")
    mapped = skips.map(collection, [{"n": 1}, {}, {}, {"n": 4}], lambda raw: raw["n"], p.record_name)
    assert mapped == [1, 4]
    assert skips.warnings() == (
        "skipped 2 malformed server record(s) in /servers/detail: unexpected KeyError (a bug in hybridview; see its "
        "log) (record 2, record 3); those instances are not shown",
    )
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].exc_info is not None
