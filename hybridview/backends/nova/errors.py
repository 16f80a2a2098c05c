"""openstacksdk and keystoneauth failures -> the one-line BackendError an operator reads."""

from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import TypeVar

import keystoneauth1.exceptions as ks_exc
import openstack.exceptions as sdk_exc
import requests
import urllib3

from hybridview.backends.base import BackendError
from hybridview.backends.nova.payloads import MalformedPayload

log = logging.getLogger(__name__)
T = TypeVar("T")

# What version discovery raises once it has given up; the reason, if kept at all, is in the chain.
DISCOVERY_FAILURES = (ks_exc.DiscoveryFailure, sdk_exc.ServiceDiscoveryException)
# Failures that name their own cause: an HTTP answer, or no connection at all.
_CAUSES = (sdk_exc.HttpException, ks_exc.HttpError, ks_exc.ConnectionError)
# Every read of ours (hypervisors, services, all projects' servers, migrations) is admin-only in Nova's
# default policy, so a 403 on one of them means the token lacks the role, never a transient fault.
ROLE_NEEDED = "this check needs the admin role on the cloud (Nova's default policy)"


class PolicyRefusal(BackendError):
    """Nova's policy refused a read (HTTP 403): the operator reads which role the check needs."""

    def describe(self) -> str:
        return f"{super().describe()} — {ROLE_NEEDED}"


def translate_errors(endpoint: str, call: Callable[[], T]) -> T:
    """Run ``call``; whatever it raises leaves as a BackendError."""
    try:
        return call()
    except BackendError:
        raise
    except Exception as exc:  # a bug or an undocumented payload is still one line, never a traceback
        raise backend_error(endpoint, exc) from exc


def backend_error(endpoint: str, exc: Exception) -> BackendError:
    """The operator's view of one failure: HTTP status, the server's message and request id when known."""
    if isinstance(exc, DISCOVERY_FAILURES) and (cause := reported_cause(exc)) is not None:
        return backend_error(endpoint, cause)
    if isinstance(exc, sdk_exc.HttpException):
        return _http_error(endpoint, exc.details or exc.message, exc.status_code, exc.request_id)
    if isinstance(exc, ks_exc.HttpError):
        if (as_sdk := _as_sdk_error(exc.response)) is not None:  # read the body as later calls do
            return backend_error(endpoint, as_sdk)
        return _http_error(endpoint, exc.message, exc.http_status, exc.request_id)
    if isinstance(exc, ks_exc.ConnectionError):
        # a request that went out and lost its answer may have taken effect; one never connected did not
        lost = _answer_lost(exc)
        return BackendError(endpoint, _connection_failure(exc), outcome_unknown=lost)
    if isinstance(exc, ks_exc.DiscoveryFailure):
        return BackendError(endpoint, f"Nova API not reachable or not a compute endpoint: {first_line(str(exc))}")
    if isinstance(exc, sdk_exc.ConfigException):
        return BackendError(endpoint, f"clouds.yaml: {first_line(str(exc))}")
    if isinstance(exc, MalformedPayload):
        return BackendError(endpoint, f"malformed Nova response: {exc}")
    if isinstance(exc, ks_exc.ClientException | sdk_exc.SDKException):
        return BackendError(endpoint, first_line(str(exc)))
    log.debug("unexpected failure talking to %s", endpoint, exc_info=exc)
    return BackendError(endpoint, f"unexpected {type(exc).__name__}: {first_line(str(exc))}")


def _http_error(endpoint: str, message: str | None, status: int | None, request_id: str | None) -> BackendError:
    if status == 403:
        return PolicyRefusal(endpoint, first_line(message), status_code=status, request_id=request_id)
    # a gateway that gave up waiting for Nova: the request may have reached it
    return BackendError(
        endpoint, first_line(message), status_code=status, request_id=request_id, outcome_unknown=status == 504
    )


def _as_sdk_error(response: requests.Response | None) -> sdk_exc.HttpException | None:
    """keystoneauth reads only API-SIG error bodies; openstacksdk also reads Nova's ``{"badRequest": ...}``."""
    if response is None:
        return None
    try:
        sdk_exc.raise_from_response(response)
    except sdk_exc.HttpException as exc:
        return exc
    return None


ANSWER_LOST = frozenset({"cut off", "timed out", "connection reset by the server"})
_URL = re.compile(r"(?:connection to|connecting to|exception for|Request to) (https?://[^\s:/]+(?::\d+)?)")


def _connection_failure(exc: ks_exc.ConnectionError) -> str:
    """What went wrong on the wire, in words, not urllib3's object reprs; where, when the URL is known."""
    where = f" {url.group(1)}" if (url := _URL.search(str(exc))) else ""
    reason = _wire_reason(exc)
    if reason == "cut off":
        return f"the answer from{where} was cut off before its end (connection closed mid-body)"
    if isinstance(exc, ks_exc.ConnectTimeout) or reason == "timed out":
        return f"no answer from{where} in time (timed out)"
    return f"cannot connect to{where}: {reason or first_line(str(exc))}"


def _answer_lost(exc: BaseException) -> bool:
    """The request went out and its answer did not come back (keystoneauth calls every timeout ConnectTimeout)."""
    chain = list(_wire_chain(exc))
    if any(isinstance(c, requests.exceptions.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError) for c in chain):
        return False
    if any(isinstance(c, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError) for c in chain):
        return True
    return _wire_reason(exc) in ANSWER_LOST


def _wire_reason(exc: BaseException) -> str | None:
    for cause in _wire_chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {getattr(cause, 'verify_message', None) or cause}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failure: {getattr(cause, 'reason', None) or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"host name not found ({cause.strerror})"
        if isinstance(cause, http.client.IncompleteRead) or "IncompleteRead" in str(cause):
            return "cut off"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
    return None


def _wire_chain(exc: BaseException) -> Iterator[BaseException]:
    """Causes, contexts, and the exceptions requests and urllib3 keep in ``args`` and ``reason``."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(e for e in nested if isinstance(e, BaseException))


def reported_cause(exc: BaseException) -> Exception | None:
    """The HTTP error or lost connection behind ``exc``, if its chain still holds one."""
    return next((e for e in _chain(exc) if isinstance(e, _CAUSES)), None)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def first_line(text: str | None) -> str:
    return text.strip().splitlines()[0][:300] if text and text.strip() else "unknown error"
