"""What the fault proxy answers instead of the upstream: errors shaped as Nova and vCenter shape them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from xml.sax.saxutils import escape

from tests.faults.wire import Request, Response

Answer = Callable[[Request], Response]

REASONS = {
    401: "Unauthorized",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
# Nova's faultwrap (500, 503) and keystonemiddleware (401), each behind Nova's request-id middleware.
NOVA_ERRORS = {
    401: ("error", "The request you have made requires authentication."),
    500: (
        "computeFault",
        "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log "
        "if possible.\n<class 'oslo_db.exception.DBConnectionError'>",
    ),
    503: ("serviceUnavailable", "The server is currently unavailable. Please try again at a later time."),
}
SOAP_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    "<soapenv:Body>\n<soapenv:Fault>\n<faultcode>ServerFaultCode</faultcode>\n<faultstring>{message}</faultstring>\n"
    '<detail>\n<{fault}Fault xmlns="urn:vim25" xsi:type="{fault}">{detail}</{fault}Fault>\n</detail>\n'
    "</soapenv:Fault>\n</soapenv:Body>\n</soapenv:Envelope>"
)
# vCenter's SOAP faults as the simulator and a real vCenter write them (faultstring, then the typed detail).
NOT_AUTHENTICATED = (
    "NotAuthenticated",
    "The session is not authenticated.",
    '<object type="Folder">group-d1</object><privilegeId>System.View</privilegeId>',
)
INVALID_LOGIN = ("InvalidLogin", "Cannot complete login due to an incorrect user name or password.", "")
SYSTEM_ERROR = (
    "SystemError",
    "A general system error occurred: vpxd is restarting",
    "<reason>vpxd is restarting</reason>",
)
NOT_JSON = b"{'servers': [<html><body>upstream sent garbage</body></html>"
NOT_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope '
    b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body></soapenv:Envelope>'
)


def request_id() -> str:
    return f"req-{uuid.uuid4()}"


def nova_error(status: int) -> Answer:
    """Nova's JSON error body for ``status`` (401, 500, 503), with a fresh request id each time."""
    key, message = NOVA_ERRORS[status]

    def answer(_request: Request) -> Response:
        rid = request_id()
        body = json.dumps({key: {"code": status, "message": message}}).encode()
        headers = [("Content-Type", "application/json"), ("x-openstack-request-id", rid), ("x-compute-request-id", rid)]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Keystone uri="https://keystone.invalid/identity"'))
        return Response(status, REASONS[status], headers, body)

    return answer


# Placement's own answers: keystonemiddleware's 401, and its API-SIG error list (placement/wsgi_wrapper.py).
PLACEMENT_DETAILS = {
    500: "The server has either erred or is incapable of performing the requested operation.\n\n"
    " (pymysql.err.OperationalError) (2013, 'Lost connection to MySQL server during query')",
    503: "The server is currently unavailable. Please try again at a later time.",
}


def placement_error(status: int) -> Answer:
    """Placement's error body for ``status`` (401, 500, 503), with a fresh request id each time."""

    def answer(_request: Request) -> Response:
        rid = request_id()
        if status == 401:
            body = {"error": {"code": 401, "title": REASONS[401], "message": NOVA_ERRORS[401][1]}}
        else:
            body = {"errors": [{"status": status, "title": REASONS[status], "detail": PLACEMENT_DETAILS[status],
                                "request_id": rid}]}  # fmt: skip
        headers = [("Content-Type", "application/json"), ("x-openstack-request-id", rid)]
        return Response(status, REASONS[status], headers, json.dumps(body).encode())

    return answer


def soap_fault(fault: str, message: str, detail: str = "") -> Answer:
    """A vim25 SOAP fault (HTTP 500), e.g. ``soap_fault(*NOT_AUTHENTICATED)``."""
    body = SOAP_ENVELOPE.format(fault=fault, message=escape(message), detail=detail).encode()

    def answer(_request: Request) -> Response:
        return Response(500, REASONS[500], [("Content-Type", "text/xml; charset=utf-8")], body)

    return answer


def plain_error(status: int, text: str) -> Answer:
    """A bare HTTP error page, as a reverse proxy in front of the service answers it."""
    body = text.encode()

    def answer(_request: Request) -> Response:
        return Response(status, REASONS.get(status, "Error"), [("Content-Type", "text/plain")], body)

    return answer


def malformed_body(request: Request) -> bytes:
    """A body that is not what the request's protocol expects: not XML for SOAP, not JSON otherwise."""
    return NOT_XML if request.soap_method else NOT_JSON
