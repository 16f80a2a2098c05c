"""One fault the proxy applies, what it matches, and how many times."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tests.faults.answers import Answer
from tests.faults.wire import Request

Rewrite = Callable[[Any], Any]  # over the decoded JSON body, or the body text
Predicate = Callable[[Request], bool]


class Kind(Enum):
    REFUSE = "refuse"  # stop listening: connect() is refused, open connections are dropped
    CERTIFICATE = "certificate"  # serve the other authority's leaf on new handshakes
    LATENCY = "latency"  # wait before forwarding
    HANG = "hang"  # never answer, until cleared or closed
    ANSWER = "answer"  # answer in the upstream's place (HTTP errors, SOAP faults)
    MALFORMED = "malformed"  # the upstream's answer with a body that does not parse
    TRUNCATE = "truncate"  # the upstream's answer, cut short under its full Content-Length
    REWRITE = "rewrite"  # the upstream's answer, its body (JSON or text) passed through a function
    THEN = "then"  # the upstream's answer, the connection closed after it, and then ``then`` injected

    @property
    def per_connection(self) -> bool:
        return self in (Kind.REFUSE, Kind.CERTIFICATE)


@dataclass(eq=False)
class Fault:
    """Matches requests by path prefix, a body substring (a SOAP method name, say) and/or a predicate.

    ``times`` limits how many requests it hits (None: until cleared); ``hits`` counts them.
    ``forwarded`` (HANG and ANSWER only): the request goes on to the upstream first, which acts on it,
    and its answer is then withheld or replaced: a write that took effect while its answer was lost.
    """

    kind: Kind
    path: str | None = None
    body: str | None = None
    where: Predicate | None = None
    times: int | None = None
    seconds: float = 0.0
    answer: Answer | None = None
    rewrite: Rewrite | None = None
    rewrite_json: bool = True
    forwarded: bool = False
    then: tuple[Fault, ...] = ()
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the faults ------------------------------------------------------------------------

    @classmethod
    def refuse(cls) -> Fault:
        return cls(Kind.REFUSE)

    @classmethod
    def changed_certificate(cls) -> Fault:
        return cls(Kind.CERTIFICATE)

    @classmethod
    def latency(cls, seconds: float, **match: Any) -> Fault:
        return cls(Kind.LATENCY, seconds=seconds, **match)

    @classmethod
    def hang(cls, *, forwarded: bool = False, **match: Any) -> Fault:
        """No answer until cleared; ``forwarded``: the upstream gets the request and answers, the client never hears."""
        return cls(Kind.HANG, forwarded=forwarded, **match)

    @classmethod
    def answering(cls, answer: Answer, *, forwarded: bool = False, **match: Any) -> Fault:
        """``answer`` in the upstream's place; ``forwarded``: after the upstream took the request (a gateway's 504)."""
        return cls(Kind.ANSWER, answer=answer, forwarded=forwarded, **match)

    @classmethod
    def malformed(cls, **match: Any) -> Fault:
        return cls(Kind.MALFORMED, **match)

    @classmethod
    def truncated(cls, **match: Any) -> Fault:
        """The upstream's answer (the request forwarded) cut off: half its body, or a promised body for an empty one."""
        return cls(Kind.TRUNCATE, **match)

    @classmethod
    def rewriting(cls, rewrite: Rewrite, **match: Any) -> Fault:
        """The decoded JSON body through ``rewrite``."""
        return cls(Kind.REWRITE, rewrite=rewrite, **match)

    @classmethod
    def rewriting_text(cls, rewrite: Callable[[str], str], **match: Any) -> Fault:
        """The body text (an XML answer, say) through ``rewrite``."""
        return cls(Kind.REWRITE, rewrite=rewrite, rewrite_json=False, **match)

    @classmethod
    def then_inject(cls, then: tuple[Fault, ...], **match: Any) -> Fault:
        """The upstream's answer, with ``Connection: close``; once it is sent, ``then`` goes in.

        A fault between two calls of one backend method: ``then_inject((Fault.refuse(),), ...)`` on
        the call before the write leaves the client's next connection refused, as a vCenter that
        went down between them would.
        """
        return cls(Kind.THEN, then=then, **match)

    # -- matching --------------------------------------------------------------------------

    def matches(self, request: Request) -> bool:
        if self.path is not None and not request.path.startswith(self.path):
            return False
        if self.body is not None and self.body.encode() not in request.body:
            return False
        return self.where is None or self.where(request)

    def rewritten(self, body: bytes) -> bytes:
        assert self.rewrite is not None
        if self.rewrite_json:
            return json.dumps(self.rewrite(json.loads(body))).encode()
        return str(self.rewrite(body.decode())).encode()

    def take(self, request: Request) -> bool:
        """Whether this fault hits ``request`` (and count it); a spent fault hits nothing."""
        if self.kind.per_connection or not self.matches(request):
            return False
        with self._lock:
            if self.times is not None and self.hits >= self.times:
                return False
            self.hits += 1
            return True


def http(method: str, path: str, *, query: str | None = None) -> Predicate:
    """Matches ``method`` on exactly ``path`` (no prefix), and ``query`` in the query string when given."""

    def matches(request: Request) -> bool:
        _, _, found = request.target.partition("?")
        return request.method == method and request.path == path and (query is None or query in found)

    return matches


def soap_methods(*names: str) -> Predicate:
    """Matches SOAP requests for these methods."""
    wanted = frozenset(names)
    return lambda request: request.soap_method in wanted


def soap_methods_except(*names: str) -> Predicate:
    """Matches SOAP requests for any other method."""
    spared = frozenset(names)
    return lambda request: request.soap_method is not None and request.soap_method not in spared
