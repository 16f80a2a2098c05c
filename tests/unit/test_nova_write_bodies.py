"""Nova writes without a network: the bodies per microversion, which call each write makes, Nova's messages.

Also the hypervisor capacity an evacuation needs room for (read below 2.88).

The bodies are checked against the rules of Nova's own request schemas (``nova/api/openstack/compute/
schemas/evacuate.py``, ``services.py``). The calls go through a real openstacksdk Connection whose
requests transport answers from a table, so the wire request (path, body, microversion header) is
what openstacksdk really sends.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openstack
import openstack.connection
import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from hybridview.backends.base import BackendError, NovaWrites, WriteReceipt
from hybridview.backends.nova import NovaBackend
from hybridview.backends.nova import payloads as p
from hybridview.backends.nova.actions import (
    ServiceUpdate,
    WriteNotPossible,
    enabled_update,
    evacuate_body,
    forced_down_update,
    nova_error_message,
)

ENDPOINT = "http://nova.invalid:8774/v2.1"
KEYSTONE = "http://nova.invalid:5000/v3"
REQUEST_ID = "req-0b6e8f0e-2a51-4c1e-9f57-1d0cb7a3c1aa"
SERVICE_ID = "b9f5080c-971c-4672-a29d-d6e218b35d64"
SERVER_ID = "35381e7d-8de5-4e52-ad27-660565818a78"
IN_USE = "Compute service of host1 is still in use."


def _mv(minor: int) -> str:
    return f"2.{minor}"


# -- evacuate bodies, against Nova's schema ---------------------------------------------------


def _nova_evacuate_schema(minor: int) -> tuple[set[str], set[str]]:
    """(allowed keys, required keys) of the ``evacuate`` object, as Nova's schemas/evacuate.py says."""
    allowed = {"host", "adminPass"}
    if minor <= 13:
        return allowed | {"onSharedStorage"}, {"onSharedStorage"}
    if 29 <= minor <= 67:
        return allowed | {"force"}, set()
    return allowed, set()


@pytest.mark.parametrize("minor", [1, 13, 14, 29, 67, 68, 95, 100])
@pytest.mark.parametrize("target_host", [None, "host3"])
@pytest.mark.parametrize("on_shared_storage", [True, False])
def test_an_evacuate_body_is_valid_for_nova_at_its_microversion(
    minor: int, target_host: str | None, on_shared_storage: bool
) -> None:
    body = evacuate_body(_mv(minor), target_host, on_shared_storage)
    allowed, required = _nova_evacuate_schema(minor)
    assert required <= set(body) <= allowed
    assert "force" not in body and "adminPass" not in body
    assert body.get("host") == target_host
    if minor <= 13:
        assert body["onSharedStorage"] is on_shared_storage


@pytest.mark.parametrize("minor", range(1, 101))
def test_every_microversion_gets_a_valid_body_or_a_clear_refusal(minor: int) -> None:
    _allowed, required = _nova_evacuate_schema(minor)
    if required:
        with pytest.raises(WriteNotPossible, match=r"onSharedStorage.*nothing was sent"):
            evacuate_body(_mv(minor), "host2", None)
    else:
        assert evacuate_body(_mv(minor), "host2", None) == {"host": "host2"}
        assert evacuate_body(_mv(minor), None, None) == {}


def test_on_shared_storage_is_dropped_after_2_13_where_nova_finds_out_itself() -> None:
    assert evacuate_body("2.13", None, True) == {"onSharedStorage": True}
    assert evacuate_body("2.14", None, True) == {}


# -- os-services calls per microversion -------------------------------------------------------


@pytest.mark.parametrize("minor", [1, 10])
def test_forcing_down_is_refused_before_2_11_which_has_no_such_call(minor: int) -> None:
    with pytest.raises(WriteNotPossible, match=r"needs compute microversion 2\.11 or later; .* go at 2\.1"):
        forced_down_update(_mv(minor), "host1", True)


@pytest.mark.parametrize("minor", [11, 52])
@pytest.mark.parametrize("forced_down", [True, False])
def test_forcing_down_before_2_53_names_host_and_binary(minor: int, forced_down: bool) -> None:
    update = forced_down_update(_mv(minor), "host1", forced_down)
    assert update == ServiceUpdate(
        {"host": "host1", "binary": "nova-compute", "forced_down": forced_down}, "force-down"
    )
    assert update.path(None) == "/os-services/force-down"


@pytest.mark.parametrize("minor", [53, 69, 100])
def test_forcing_down_from_2_53_is_by_service_id(minor: int) -> None:
    update = forced_down_update(_mv(minor), "host1", True)
    assert update == ServiceUpdate({"forced_down": True})
    assert update.path(SERVICE_ID) == f"/os-services/{SERVICE_ID}"


NAMED = {"host": "host1", "binary": "nova-compute"}
# (enabled, reason) -> (update before 2.53, update from 2.53)
ENABLE_CASES: dict[tuple[bool, str | None], tuple[ServiceUpdate, ServiceUpdate]] = {
    (True, None): (ServiceUpdate(NAMED, "enable"), ServiceUpdate({"status": "enabled"})),
    (True, "ignored"): (ServiceUpdate(NAMED, "enable"), ServiceUpdate({"status": "enabled"})),
    (False, None): (ServiceUpdate(NAMED, "disable"), ServiceUpdate({"status": "disabled"})),
    (False, ""): (ServiceUpdate(NAMED, "disable"), ServiceUpdate({"status": "disabled"})),
    (False, "fencing"): (
        ServiceUpdate({**NAMED, "disabled_reason": "fencing"}, "disable-log-reason"),
        ServiceUpdate({"status": "disabled", "disabled_reason": "fencing"}),
    ),
}


@pytest.mark.parametrize(("enabled", "reason"), list(ENABLE_CASES))
@pytest.mark.parametrize("minor", [1, 11, 52, 53, 100])
def test_enabling_and_disabling_per_microversion(minor: int, enabled: bool, reason: str | None) -> None:
    old, by_id = ENABLE_CASES[(enabled, reason)]
    assert enabled_update(_mv(minor), "host1", enabled, reason) == (by_id if minor >= 53 else old)


# -- Nova's error messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"badRequest": {"code": 400, "message": IN_USE}}, IN_USE),
        (
            {"itemNotFound": {"code": 404, "message": "Instance x could not be found."}},
            "Instance x could not be found.",
        ),
        ({"conflictingRequest": {"code": 409, "message": "Cannot 'evacuate'\nwhile busy"}}, "Cannot 'evacuate'"),
        ({"error": {"code": 401, "title": "Unauthorized", "message": "Authenticate."}}, "Authenticate."),
        ({"errors": [{"status": 503, "title": "Unavailable", "detail": "Try later."}]}, "Try later."),
        ({"errors": [{"title": "Unavailable"}]}, "Unavailable"),
        ({"badRequest": {"code": 400, "message": "  "}}, None),
        ({"badRequest": "text"}, None),
        ({"errors": []}, None),
        ([], None),
        ("<html>", None),
        (None, None),
    ],
)
def test_nova_error_message_reads_novas_own_words(body: Any, message: str | None) -> None:
    assert nova_error_message(body) == message


# -- through a real Connection ----------------------------------------------------------------

Answer = tuple[int, Mapping[str, str], bytes]


def _json(
    status: int, body: Any, request_id: str | None = REQUEST_ID, header: str = "x-openstack-request-id"
) -> Answer:
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers[header] = request_id
    return status, headers, json.dumps(body).encode()


def _version(maximum: str) -> Answer:
    links = [{"rel": "self", "href": f"{ENDPOINT}/"}]
    return _json(
        200, {"version": {"id": "v2.1", "status": "CURRENT", "version": maximum, "min_version": "2.1", "links": links}}
    )


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    microversion: str | None


Route = Callable[[Sent], Answer | Exception]


@dataclass
class Transport(requests.adapters.BaseAdapter):
    """Answers each request from ``route``; records every request but the version document's."""

    route: Route
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, *_args: Any, **_kwargs: Any) -> requests.Response:
        url = urlsplit(str(request.url))
        body = json.loads(request.body) if request.body else None
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        version = request.headers.get("OpenStack-API-Version")
        sent = Sent(str(request.method), url.path.rstrip("/"), query, body, version)
        if not sent.path.endswith(("/v2.1", "/v3")):
            self.sent.append(sent)
        answer = self.route(sent)
        if isinstance(answer, Exception):
            raise answer
        status, headers, content = answer
        response = requests.Response()
        response.status_code, response.reason = status, HTTPStatus(status).phrase
        response.headers = CaseInsensitiveDict(headers)
        response.raw, response.url, response.request = io.BytesIO(content), str(request.url), request
        return response

    def close(self) -> None:
        pass


# path -> collection key, for an estate with nothing in it
EMPTY_LISTS = {
    "/os-services": "services",
    "/os-hypervisors/detail": "hypervisors",
    "/servers/detail": "servers",
    "/os-migrations": "migrations",
}


def _routes(maximum: str, answers: Mapping[tuple[str, str], Answer | Exception]) -> Route:
    """The version document announcing ``maximum``, ``answers`` by (method, path), else empty lists or 200 {}."""

    def route(sent: Sent) -> Answer | Exception:
        if sent.path.endswith("/v2.1"):
            return _version(maximum)
        path = sent.path.removeprefix("/v2.1")
        empty = _json(200, {EMPTY_LISTS[path]: []} if sent.method == "GET" and path in EMPTY_LISTS else {})
        return answers.get((sent.method, path), empty)

    return route


@pytest.fixture
def connect() -> Iterator[Callable[..., tuple[NovaBackend, Transport]]]:
    backends: list[NovaBackend] = []

    def make(route: Route, **kwargs: Any) -> tuple[NovaBackend, Transport]:
        transport = Transport(route)

        def connection() -> openstack.connection.Connection:
            conn = openstack.connect(
                load_yaml_config=False,
                load_envvars=False,
                auth_type="admin_token",
                auth={"token": "admin:p", "endpoint": ENDPOINT},
                compute_endpoint_override=ENDPOINT,
                region_name="RegionOne",
            )
            conn.session.session.mount("http://", transport)
            return conn

        backend = NovaBackend("c1", connect=connection, **kwargs)
        backends.append(backend)
        return backend, transport

    yield make
    for backend in backends:
        backend.close()


SERVICES = _json(200, {"services": [{"id": SERVICE_ID, "host": "host1", "binary": "nova-compute"}]})


def test_nova_backend_is_a_nova_writes() -> None:
    assert isinstance(NovaBackend("c1"), NovaWrites)


def test_a_write_cap_outside_what_we_build_bodies_for_is_refused() -> None:
    for cap in ("2.101", "3.0", "2", "2.0", "latest"):
        with pytest.raises(ValueError, match="write microversion cap"):
            NovaBackend("c1", write_microversion_cap=cap)


def test_forcing_down_at_the_maximum_finds_the_service_id_then_puts_by_id(connect: Any) -> None:
    backend, transport = connect(_routes("2.104", {("GET", "/os-services"): SERVICES}))
    assert backend.set_forced_down("host1", True) == WriteReceipt(request_id=REQUEST_ID)
    lookup, put = transport.sent
    assert (lookup.method, lookup.path, lookup.query) == ("GET", "/v2.1/os-services", NAMED)
    assert (put.method, put.path, put.body, put.microversion) == (
        "PUT",
        f"/v2.1/os-services/{SERVICE_ID}",
        {"forced_down": True},
        "compute 2.100",
    )
    assert backend.fetch().write_microversion == "2.100"


def test_below_2_53_the_old_calls_go_without_a_lookup(connect: Any) -> None:
    backend, transport = connect(_routes("2.104", {}), write_microversion_cap="2.52")
    backend.set_forced_down("host1", False)
    backend.set_service_enabled("host1", False, "fencing")
    backend.set_service_enabled("host1", True)
    assert [(s.method, s.path, s.body, s.microversion) for s in transport.sent] == [
        ("PUT", "/v2.1/os-services/force-down", {**NAMED, "forced_down": False}, "compute 2.52"),
        ("PUT", "/v2.1/os-services/disable-log-reason", {**NAMED, "disabled_reason": "fencing"}, "compute 2.52"),
        ("PUT", "/v2.1/os-services/enable", NAMED, "compute 2.52"),
    ]


def test_the_write_microversion_is_the_clouds_maximum_when_lower_than_the_cap(connect: Any) -> None:
    backend, transport = connect(_routes("2.60", {}))
    backend.evacuate(SERVER_ID, target_host="host2", on_shared_storage=None)
    backend.start_server(SERVER_ID)
    assert [(s.path, s.body, s.microversion) for s in transport.sent] == [
        (f"/v2.1/servers/{SERVER_ID}/action", {"evacuate": {"host": "host2"}}, "compute 2.60"),
        (f"/v2.1/servers/{SERVER_ID}/action", {"os-start": None}, "compute 2.60"),
    ]


def test_at_2_13_an_evacuation_without_on_shared_storage_sends_nothing(connect: Any) -> None:
    backend, transport = connect(_routes("2.104", {}), write_microversion_cap="2.13")
    with pytest.raises(BackendError, match=r"^evacuating at compute microversion 2\.13 needs .*onSharedStorage"):
        backend.evacuate(SERVER_ID, target_host=None, on_shared_storage=None)
    assert transport.sent == []
    backend.evacuate(SERVER_ID, target_host=None, on_shared_storage=False)
    assert transport.sent[0].body == {"evacuate": {"onSharedStorage": False}}


def test_novas_refusal_reaches_the_operator_with_status_message_and_request_id(connect: Any) -> None:
    refusal = _json(400, {"badRequest": {"code": 400, "message": IN_USE}})
    backend, _ = connect(_routes("2.104", {("POST", f"/servers/{SERVER_ID}/action"): refusal}))
    with pytest.raises(BackendError) as caught:
        backend.evacuate(SERVER_ID, target_host=None, on_shared_storage=None)
    assert (caught.value.status_code, caught.value.request_id, caught.value.message) == (400, REQUEST_ID, IN_USE)
    assert str(caught.value) == f"HTTP 400: {IN_USE} (request id {REQUEST_ID})"


def test_the_compute_request_id_header_serves_when_the_openstack_one_is_missing(connect: Any) -> None:
    accepted = _json(202, None, header="x-compute-request-id")
    backend, _ = connect(_routes("2.104", {("POST", f"/servers/{SERVER_ID}/action"): accepted}))
    assert backend.start_server(SERVER_ID).request_id == REQUEST_ID


def test_an_error_page_that_is_not_json_gives_the_http_reason(connect: Any) -> None:
    page: Answer = (502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>")
    backend, _ = connect(_routes("2.104", {("POST", f"/servers/{SERVER_ID}/action"): page}))
    with pytest.raises(BackendError, match=r"^HTTP 502: Bad Gateway$"):
        backend.start_server(SERVER_ID)


def test_a_host_without_a_compute_service_is_named(connect: Any) -> None:
    backend, transport = connect(_routes("2.104", {("GET", "/os-services"): _json(200, {"services": []})}))
    with pytest.raises(BackendError, match=r"^Nova has no nova-compute service on host 'host9'$"):
        backend.set_service_enabled("host9", False)
    assert [s.method for s in transport.sent] == ["GET"]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused")),
            r"^cannot connect to http://nova\.invalid:8774: connection refused$",
        ),
        (
            requests.exceptions.ConnectTimeout("timed out"),
            r"^no answer from http://nova\.invalid:8774 in time \(timed out\)$",
        ),
    ],
)
def test_a_write_lost_on_the_wire_reads_like_a_lost_read(connect: Any, failure: Exception, message: str) -> None:
    backend, _ = connect(_routes("2.104", {("POST", f"/servers/{SERVER_ID}/action"): failure}))
    with pytest.raises(BackendError, match=message):
        backend.start_server(SERVER_ID)


SERVER = {
    "id": SERVER_ID,
    "status": "ERROR",
    "OS-EXT-STS:vm_state": "error",
    "OS-EXT-STS:task_state": None,
    "OS-EXT-SRV-ATTR:host": "host2",
    "fault": {"code": 500, "message": "No valid host was found."},
}


def _migration(ident: int, status: str, created: str, dest: str) -> dict[str, Any]:
    return {
        "id": ident,
        "instance_uuid": SERVER_ID,
        "status": status,
        "source_compute": "host1",
        "dest_compute": dest,
        "created_at": created,
        "updated_at": created,
    }


def test_server_progress_gives_the_server_and_its_newest_evacuation(connect: Any) -> None:
    migrations = [_migration(1, "failed", "2026-01-01T10:00:00.000000", "host3")]
    migrations.append(_migration(2, "done", "2026-01-02T10:00:00.000000", "host2"))
    answers = {("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": SERVER})}
    answers["GET", "/os-migrations"] = _json(200, {"migrations": migrations})
    backend, transport = connect(_routes("2.58", answers))  # no changes-since before 2.59
    progress = backend.server_progress(SERVER_ID)
    assert (progress.status, progress.vm_state, progress.task_state, progress.host) == ("ERROR", "error", None, "host2")
    assert progress.fault == "No valid host was found."
    assert (progress.evacuation_id, progress.evacuation_status, progress.evacuation_dest) == ("2", "done", "host2")
    assert transport.sent[-1].query == {"instance_uuid": SERVER_ID, "migration_type": "evacuation"}
    later = backend.server_progress(SERVER_ID, since=datetime(2026, 1, 3, tzinfo=UTC))
    assert later.evacuation_id is None  # filtered on our side below 2.59
    assert "changes-since" not in transport.sent[-1].query


def test_from_2_59_nova_filters_the_evacuations_by_changes_since(connect: Any) -> None:
    answers = {("GET", f"/servers/{SERVER_ID}"): _json(200, {"server": SERVER})}
    backend, transport = connect(_routes("2.104", answers))
    progress = backend.server_progress(SERVER_ID, since=datetime(2026, 1, 3, 4, 5, 6))  # naive: UTC
    assert progress.evacuation_id is None
    assert transport.sent[-1].query["changes-since"] == "2026-01-03T04:05:06Z"


# -- a 401 makes keystoneauth log in again, as on reads --------------------------------------


def _keystone_token(token: str) -> Answer:
    endpoint = {"id": "n", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": ENDPOINT}
    body = {
        "token": {
            "methods": ["password"],
            "user": {"id": "admin", "name": "admin", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p", "name": "admin", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "admin", "name": "admin"}],
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "issued_at": "2026-01-01T00:00:00.000000Z",
            "catalog": [{"type": "compute", "name": "nova", "id": "nova", "endpoints": [endpoint]}],
        }
    }
    status, headers, content = _json(201, body)
    return status, {**headers, "X-Subject-Token": token}, content


def test_a_401_on_a_write_logs_in_again_and_the_write_goes_through() -> None:
    tokens: list[str] = []
    refused: list[str] = []

    def route(sent: Sent) -> Answer:
        if sent.path.endswith("/v3"):
            links = [{"rel": "self", "href": f"{KEYSTONE}/"}]
            return _json(200, {"version": {"id": "v3.14", "status": "stable", "links": links}})
        if sent.path.endswith("/auth/tokens"):
            tokens.append(f"admin:p:{len(tokens) + 1}")
            return _keystone_token(tokens[-1])
        if sent.path.endswith("/v2.1"):
            return _version("2.104")
        if not refused:  # the first token has expired by the time of the write
            refused.append(sent.path)
            return _json(401, {"error": {"code": 401, "message": "The request you have made requires authentication."}})
        return _json(202, None)

    transport = Transport(route)

    def connection() -> openstack.connection.Connection:
        conn = openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            auth_type="password",
            auth={"auth_url": KEYSTONE, "username": "admin", "password": "pw", "project_id": "p"},
            identity_api_version="3",
            region_name="RegionOne",
        )
        conn.session.session.mount("http://", transport)
        return conn

    backend = NovaBackend("c1", connect=connection)
    try:
        assert backend.start_server(SERVER_ID).request_id == REQUEST_ID
    finally:
        backend.close()
    assert tokens == ["admin:p:1", "admin:p:2"]
    assert [s.path for s in transport.sent if s.path.endswith("/action")] == [f"/v2.1/servers/{SERVER_ID}/action"] * 2


# -- hypervisor capacity ------------------------------------------------------------------------

HYPERVISOR_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "nova-api-samples" / "os-hypervisors"


def _hypervisor(version: str) -> dict[str, Any]:
    body = json.loads((HYPERVISOR_SAMPLES / version / "hypervisors-detail-resp.json").read_text())
    return dict(p.items(body, "hypervisors")[0])


def test_capacity_is_mapped_below_2_88_and_unknown_from_it() -> None:
    node = p.compute_node("c1", _hypervisor("v2.53"), [])
    assert (node.vcpus, node.vcpus_used, node.memory_mb, node.memory_mb_used) == (2, 0, 8192, 512)
    node = p.compute_node("c1", _hypervisor("v2.88"), [])
    assert (node.vcpus, node.vcpus_used, node.memory_mb, node.memory_mb_used) == (None, None, None, None)


@pytest.mark.parametrize("key", ["vcpus", "vcpus_used", "memory_mb", "memory_mb_used"])
@pytest.mark.parametrize("value", ["8", 8.0, True])
def test_a_capacity_of_the_wrong_type_makes_the_record_malformed(key: str, value: Any) -> None:
    with pytest.raises(p.MalformedPayload, match=rf"^hypervisor '{key}' is not an integer$"):
        p.compute_node("c1", {**_hypervisor("v2.53"), key: value}, [])
