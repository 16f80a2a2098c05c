"""vCenter failures on the wire read as one line an operator understands."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from xml.parsers.expat import ExpatError

import pytest

from hybridview.backends.base import BackendError
from hybridview.backends.vsphere.errors import translate_errors


def _raise(exc: BaseException) -> Callable[[], None]:
    def call() -> None:
        raise exc

    return call


@pytest.mark.parametrize(
    ("exc", "reads", "status"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "cannot reach vCenter: connection refused", None),
        (TimeoutError("The read operation timed out"), "no answer from vCenter in time (timed out)", None),
        (OSError(113, "No route to host"), "cannot reach vCenter: No route to host", None),
        (
            ExpatError("unclosed token: line 1, column 80"),
            "malformed vCenter answer: not well-formed XML (cut off or corrupted): unclosed token: line 1, column 80",
            None,
        ),
        (
            http.client.HTTPException("503 Service Unavailable"),
            "HTTP 503: Service Unavailable, not a SOAP answer (a proxy or load balancer in front of vCenter?)",
            503,
        ),
        (http.client.IncompleteRead(b"<soap", 900), "malformed vCenter answer: cut off before its end", None),
    ],
)
def test_wire_failures_read_plainly(exc: BaseException, reads: str, status: int | None) -> None:
    with pytest.raises(BackendError) as caught:
        translate_errors("vc-east", _raise(exc))
    assert str(caught.value) == reads
    assert caught.value.status_code == status
