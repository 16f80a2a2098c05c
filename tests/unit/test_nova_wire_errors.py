"""A connection failure names what happened on the wire and where, not urllib3's object reprs."""

from __future__ import annotations

import http.client
import ssl

import keystoneauth1.exceptions as ks_exc
import pytest
import requests
import urllib3.exceptions

from hybridview.backends.nova.errors import backend_error

URL = "https://nova.example:8774/v2.1/os-services"
REPR_NOISE = "HTTPSConnectionPool(host='nova.example', port=8774): Max retries exceeded (Caused by <object at 0x7f>)"


def _chained(outer: ks_exc.ConnectionError, *inner: BaseException) -> ks_exc.ConnectionError:
    """outer <- requests error <- urllib3 error (args/reason) <- socket/TLS error, as requests builds them."""
    wire = inner[-1]
    pool = urllib3.exceptions.MaxRetryError(None, URL, reason=wire)  # type: ignore[arg-type]
    outer.__cause__ = requests.exceptions.ConnectionError(pool)
    return outer


def _failure(kind: type[ks_exc.ConnectionError], wire: BaseException) -> str:
    if kind is ks_exc.UnknownConnectionError:  # keystoneauth keeps the original exception beside its words
        outer: ks_exc.ConnectionError = ks_exc.UnknownConnectionError(
            f"Unexpected exception for {URL}: {REPR_NOISE}", wire
        )
    else:
        outer = kind(f"Unable to establish connection to {URL}: {REPR_NOISE}")
    return str(backend_error("prod", _chained(outer, wire)))


@pytest.mark.parametrize(
    ("kind", "wire", "reads"),
    [
        (
            ks_exc.ConnectFailure,
            ConnectionRefusedError(111, "Connection refused"),
            "cannot connect to https://nova.example:8774: connection refused",
        ),
        (
            ks_exc.SSLError,
            ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]"),
            "cannot connect to https://nova.example:8774: TLS certificate not trusted: ",
        ),
        (
            ks_exc.UnknownConnectionError,
            http.client.IncompleteRead(b"{", 100),
            "the answer from https://nova.example:8774 was cut off",
        ),
        (
            ks_exc.ConnectTimeout,
            TimeoutError("timed out"),
            "no answer from https://nova.example:8774 in time (timed out)",
        ),
        (
            ks_exc.ConnectFailure,
            ConnectionResetError(104, "reset"),
            "cannot connect to https://nova.example:8774: connection reset",
        ),
    ],
)
def test_the_wire_reason_is_named(kind: type[ks_exc.ConnectionError], wire: BaseException, reads: str) -> None:
    text = _failure(kind, wire)
    assert text.startswith(reads)
    assert "0x7f" not in text and "HTTPSConnectionPool" not in text


def test_an_unknown_reason_keeps_the_libraries_words() -> None:
    text = _failure(ks_exc.ConnectFailure, OSError("something odd"))
    assert text.startswith(f"cannot connect to https://nova.example:8774: Unable to establish connection to {URL}")
