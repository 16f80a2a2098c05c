"""Why version discovery (of the compute API, or Placement) failed, when keystoneauth kept no reason.

keystoneauth logs and drops the HTTP error of each version document it tries
(``discover.EndpointData._run_discovery``), and ``openstack.utils.
maximum_supported_microversion`` turns a failure into None. To tell the operator
what the endpoint said, GET its version document once more, the way discovery did.
"""

from __future__ import annotations

import openstack.connection
import openstack.exceptions as sdk_exc
import requests

from hybridview.backends.base import BackendError

_ACCEPT_JSON = {"Accept": "application/json"}


def raise_version_document_fault(
    conn: openstack.connection.Connection, endpoint: str, service: str = "compute"
) -> None:
    """Raise what the service's version document answers, if it is no version document; else return.

    Raises ``openstack.exceptions.HttpException`` for an HTTP error, keystoneauth's
    ``ConnectionError`` when nothing answers, and BackendError for a body that is not JSON.
    """
    url = conn.config.get_session_client(service).get_endpoint(skip_discovery=True)
    if not url:
        return
    response = _get(conn, url, authenticated=False)
    if response.status_code == 401:  # discovery asks again with the token, so do we
        response = _get(conn, url, authenticated=True)
    sdk_exc.raise_from_response(response)
    try:
        response.json()
    except ValueError:
        raise BackendError(
            endpoint,
            f"{service} version document at {url} is not JSON",
            status_code=response.status_code,
            request_id=response.headers.get("x-openstack-request-id"),
        ) from None


def _get(conn: openstack.connection.Connection, url: str, *, authenticated: bool) -> requests.Response:
    return conn.session.get(url, headers=_ACCEPT_JSON, authenticated=authenticated, raise_exc=False)
