"""Nova errors keep their cause at first contact: version discovery reports what a later call would.

No network: the translation is checked on real keystoneauth/openstacksdk exceptions, and
the whole first contact runs through a real Connection whose requests transport is a
canned HTTP answer per path.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import keystoneauth1.exceptions as ks_exc
import openstack
import openstack.connection
import openstack.exceptions as sdk_exc
import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from hybridview.backends.base import BackendError
from hybridview.backends.nova import NovaBackend
from hybridview.backends.nova.errors import backend_error, reported_cause

ENDPOINT = "http://nova.invalid:8774/v2.1"
REQUEST_ID = "req-5e1f0a62-6c0c-4d6e-9a43-0f6f1b2f2c11"
UNAVAILABLE = "The server is currently unavailable. Please try again at a later time."
# (status, headers, body) for one request
Answer = tuple[int, Mapping[str, str], bytes]


def _json(status: int, body: Any, request_id: str | None = REQUEST_ID) -> Answer:
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["x-openstack-request-id"] = request_id
    return status, headers, json.dumps(body).encode()


NOVA_503 = _json(503, {"serviceUnavailable": {"code": 503, "message": UNAVAILABLE}})
NOVA_401 = _json(401, {"error": {"code": 401, "message": "The request you have made requires authentication."}})
POLICY = "Policy doesn't allow os_compute_api:os-hypervisors:list to be performed."
NOVA_403 = _json(403, {"forbidden": {"code": 403, "message": POLICY}})
ROLE_403 = (
    f"HTTP 403: {POLICY} (request id {REQUEST_ID})"
    " — this check needs the admin role on the cloud (Nova's default policy)"
)
HTML_200: Answer = (200, {"Content-Type": "text/html"}, b"<html><body>maintenance</body></html>")
VERSION = _json(
    200,
    {
        "version": {
            "id": "v2.1",
            "status": "CURRENT",
            "version": "2.100",
            "min_version": "2.1",
            "links": [{"rel": "self", "href": f"{ENDPOINT}/"}],
        }
    },
)

# path -> collection key, for an estate with nothing in it
EMPTY_LISTS = {
    "/v2.1/os-services": "services",
    "/v2.1/os-hypervisors/detail": "hypervisors",
    "/v2.1/servers/detail": "servers",
    "/v2.1/os-migrations": "migrations",
}


def _response(answer: Answer, url: str = ENDPOINT) -> requests.Response:
    status, headers, body = answer
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response.headers = CaseInsensitiveDict(headers)
    response.raw = io.BytesIO(body)
    response.url = url
    return response


class _Transport(requests.adapters.BaseAdapter):
    """Answers each request from ``route(path)``; a route returning None refuses the connection."""

    def __init__(self, route: Callable[[str], Answer | None]) -> None:
        super().__init__()
        self.route = route
        self.paths: list[str] = []

    def send(self, request: requests.PreparedRequest, *_args: Any, **_kwargs: Any) -> requests.Response:
        path = urlsplit(str(request.url)).path.rstrip("/")
        self.paths.append(path)
        answer = self.route(path)
        if answer is None:
            raise requests.exceptions.ConnectionError(f"connection refused: {request.url}")
        response = _response(answer, str(request.url))
        response.request = request
        return response

    def close(self) -> None:
        pass


def _backend(route: Callable[[str], Answer | None]) -> tuple[NovaBackend, _Transport]:
    transport = _Transport(route)

    def connect() -> openstack.connection.Connection:
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

    return NovaBackend("c1", connect=connect), transport


def _fetch_error(route: Callable[[str], Answer | None]) -> BackendError:
    backend, _transport = _backend(route)
    try:
        with pytest.raises(BackendError) as caught:
            backend.fetch()
    finally:
        backend.close()
    return caught.value


def _later_call_error(answer: Answer) -> BackendError:
    """The same answer met one call after discovery, on the first listing."""
    return _fetch_error(lambda path: VERSION if path.endswith("/v2.1") else answer)


# -- translation on real exception objects -----------------------------------------------


def _ks_http_error(answer: Answer) -> ks_exc.HttpError:
    error = ks_exc.from_response(_response(answer), "GET", ENDPOINT)
    assert isinstance(error, ks_exc.HttpError)
    return error


def _discovery_failure_from(cause: Exception) -> ks_exc.DiscoveryFailure:
    try:
        try:
            raise cause
        except Exception as exc:
            raise ks_exc.DiscoveryFailure("Unable to find a version discovery document") from exc
    except ks_exc.DiscoveryFailure as failure:
        return failure


def test_a_discovery_failure_reports_the_http_error_in_its_chain() -> None:
    failure = _discovery_failure_from(_ks_http_error(NOVA_503))
    assert isinstance(reported_cause(failure), ks_exc.ServiceUnavailable)
    error = backend_error("c1", failure)
    assert (error.status_code, error.request_id) == (503, REQUEST_ID)
    assert str(error) == f"HTTP 503: {UNAVAILABLE} (request id {REQUEST_ID})"


def test_keystoneauth_and_openstacksdk_errors_read_the_same() -> None:
    with pytest.raises(sdk_exc.HttpException) as sdk_error:
        sdk_exc.raise_from_response(_response(NOVA_503))
    assert str(backend_error("c1", _ks_http_error(NOVA_503))) == str(backend_error("c1", sdk_error.value))


def test_a_discovery_failure_found_in_the_context_chain_too() -> None:
    failure = ks_exc.DiscoveryFailure("gave up")
    failure.__context__ = ks_exc.ConnectFailure("Unable to establish connection to http://nova.invalid")
    assert str(backend_error("c1", failure)).startswith("cannot connect to http://nova.invalid: Unable to establish")


def test_a_discovery_failure_without_a_cause_keeps_its_own_words() -> None:
    error = backend_error("c1", ks_exc.DiscoveryFailure("Unable to find a version discovery document"))
    assert str(error) == "Nova API not reachable or not a compute endpoint: Unable to find a version discovery document"
    assert reported_cause(ks_exc.DiscoveryFailure("x")) is None


def test_a_policy_refusal_says_which_role_the_check_needs() -> None:
    with pytest.raises(sdk_exc.ForbiddenException) as sdk_error:
        sdk_exc.raise_from_response(_response(NOVA_403))
    error = backend_error("c1", sdk_error.value)
    assert str(error) == error.describe() == ROLE_403
    assert (error.status_code, error.request_id, error.message) == (403, REQUEST_ID, POLICY)
    assert str(backend_error("c1", _ks_http_error(NOVA_403))) == ROLE_403


def test_other_http_errors_carry_no_role_hint() -> None:
    with pytest.raises(sdk_exc.HttpException) as sdk_error:
        sdk_exc.raise_from_response(_response(NOVA_503))
    assert "role" not in str(backend_error("c1", sdk_error.value))


# -- first contact through a real Connection ----------------------------------------------


def test_503_at_discovery_reads_like_503_one_call_later() -> None:
    first_contact = _fetch_error(lambda _path: NOVA_503)
    assert str(first_contact) == f"HTTP 503: {UNAVAILABLE} (request id {REQUEST_ID})"
    assert str(first_contact) == str(_later_call_error(NOVA_503))
    assert (first_contact.status_code, first_contact.request_id) == (503, REQUEST_ID)


def test_401_at_discovery_names_the_status_and_the_message() -> None:
    error = _fetch_error(lambda _path: NOVA_401)
    assert str(error) == f"HTTP 401: The request you have made requires authentication. (request id {REQUEST_ID})"
    assert str(error) == str(_later_call_error(NOVA_401))


def test_a_403_on_a_listing_reaches_the_operator_with_the_role_it_needs() -> None:
    assert str(_later_call_error(NOVA_403)) == ROLE_403


def test_a_version_document_that_is_not_json_says_so() -> None:
    error = _fetch_error(lambda _path: HTML_200)
    assert error.status_code == 200
    assert str(error) == f"HTTP 200: compute version document at {ENDPOINT} is not JSON"


def test_an_unreachable_endpoint_still_cannot_connect() -> None:
    error = _fetch_error(lambda _path: None)
    assert str(error).startswith("cannot connect to ")
    assert error.status_code is None


def test_a_version_document_without_microversions_cannot_negotiate() -> None:
    # the legacy v2.0 API announces no microversions at all
    bare = _json(
        200,
        {
            "version": {
                "id": "v2.0",
                "status": "SUPPORTED",
                "version": "",
                "min_version": "",
                "links": [{"rel": "self", "href": f"{ENDPOINT}/"}],
            }
        },
    )
    error = _fetch_error(lambda _path: bare)
    assert str(error) == "cannot negotiate a compute microversion: version discovery failed"


def test_discovery_succeeds_once_the_fault_clears() -> None:
    answers = {"fault": True}

    def route(path: str) -> Answer:
        if answers["fault"]:
            return NOVA_503
        if path.endswith("/v2.1"):
            return VERSION
        if path not in EMPTY_LISTS:  # the capacity reads: none here (admin_token sends Placement's to Nova too)
            return _json(404, {"itemNotFound": {"code": 404, "message": f"{path} not found"}})
        return _json(200, {EMPTY_LISTS[path]: []})

    backend, transport = _backend(route)
    try:
        with pytest.raises(BackendError, match="HTTP 503"):
            backend.fetch()
        answers["fault"] = False
        assert backend.fetch().microversion == "2.100"
    finally:
        backend.close()
    assert "/v2.1/os-services" in transport.paths
