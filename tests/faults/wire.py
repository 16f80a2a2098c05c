"""HTTP/1.1 messages as the fault proxy reads and writes them: whole bodies, so they can be rewritten.

Requests carry Content-Length bodies (what requests and pyVmomi send). Responses may be
Content-Length, chunked or read until the connection closes; they are always written back
with a Content-Length, so a client's keep-alive connection survives an HTTP/1.0 upstream.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO

MAX_LINE = 65536
# Headers that describe one hop; the proxy sets its own framing.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
_SOAP_METHOD = re.compile(rb"<(?:[\w-]+:)?Body\b[^>]*>\s*<(?:[\w-]+:)?(\w+)")


class WireError(Exception):
    """The peer on the other end spoke something that is not HTTP/1.x."""


Headers = list[tuple[str, str]]


def header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _tokens(headers: Headers, name: str) -> set[str]:
    return {t.strip().lower() for key, value in headers if key.lower() == name for t in value.split(",")}


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str
    headers: Headers
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def soap_method(self) -> str | None:
        """The SOAP operation (``RetrievePropertiesEx``, ``WaitForUpdatesEx``…) of a SOAP request."""
        found = _SOAP_METHOD.search(self.body[:4096]) if self.body else None
        return found.group(1).decode() if found else None

    @property
    def wants_close(self) -> bool:
        tokens = _tokens(self.headers, "connection")
        return "close" in tokens or (self.version == "HTTP/1.0" and "keep-alive" not in tokens)

    def encode(self, extra: Sequence[tuple[str, str]] = ()) -> bytes:
        kept = [(k, v) for k, v in self.headers if k.lower() not in HOP_BY_HOP]
        framing = [("Content-Length", str(len(self.body)))] if self.body or self.method in ("POST", "PUT") else []
        return _head(f"{self.method} {self.target} HTTP/1.1", [*kept, *extra, *framing]) + self.body


@dataclass(slots=True)
class Response:
    status: int
    reason: str
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    close: bool = False  # the sender closes the connection after this message

    def with_body(self, body: bytes) -> Response:
        return replace(self, body=body)

    def encode(self, *, close: bool = False, declared_length: int | None = None) -> bytes:
        """HTTP/1.1 with a Content-Length (``declared_length`` may lie: a truncated body)."""
        kept = [(k, v) for k, v in self.headers if k.lower() not in HOP_BY_HOP]
        length = len(self.body) if declared_length is None else declared_length
        framing = [("Content-Length", str(length))] + ([("Connection", "close")] if close else [])
        return _head(f"HTTP/1.1 {self.status} {self.reason}", [*kept, *framing]) + self.body


def _head(start: str, headers: Headers) -> bytes:
    lines = [start, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _line(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise WireError("line too long")
    return line


def _headers(stream: BinaryIO) -> Headers:
    headers: Headers = []
    while True:
        line = _line(stream)
        if not line:
            raise WireError("connection closed inside the headers")
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise WireError(f"bad header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))


def _exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WireError(f"body cut short: {len(data)} of {size} bytes")
    return data


def _chunked(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = _line(stream).split(b";", 1)[0].strip()
        if not size_line:
            raise WireError("connection closed inside a chunked body")
        size = int(size_line, 16)
        if size == 0:
            _headers(stream)  # trailers, dropped
            return b"".join(parts)
        parts.append(_exactly(stream, size))
        _line(stream)  # the CRLF after each chunk


def read_request(stream: BinaryIO) -> Request | None:
    """The next request on a connection, or None when the client closed it between requests."""
    line = _line(stream)
    while line in (b"\r\n", b"\n"):  # stray CRLF between requests is allowed
        line = _line(stream)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise WireError(f"bad request line {line[:80]!r}")
    headers = _headers(stream)
    if "chunked" in _tokens(headers, "transfer-encoding"):
        body = _chunked(stream)
    else:
        body = _exactly(stream, int(header(headers, "content-length") or 0))
    return Request(parts[0], parts[1], parts[2], headers, body)


def read_response(stream: BinaryIO, method: str) -> Response:
    line = _line(stream)
    if not line:
        raise WireError("connection closed before the status line")
    version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise WireError(f"bad status line {line[:80]!r}")
    status = int(code)
    headers = _headers(stream)
    tokens = _tokens(headers, "connection")
    close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if method == "HEAD" or status < 200 or status in (204, 304):
        body = b""
    elif "chunked" in _tokens(headers, "transfer-encoding"):
        body = _chunked(stream)
    elif (length := header(headers, "content-length")) is not None:
        body = _exactly(stream, int(length))
    else:
        body, close = stream.read(), True
    return Response(status, reason, headers, body, close)
