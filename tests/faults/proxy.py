"""FaultProxy: a real HTTP(S) proxy on 127.0.0.1 in front of one upstream, with faults a test injects.

Each client connection gets a thread and its own upstream connection (kept alive while the
upstream allows). TLS, when asked for, ends at the proxy: it serves a leaf of its own
authority and speaks TLS or plain HTTP to the upstream. ``inject`` adds a fault, ``clear``
removes them all (listening again, the original certificate back, hung requests dropped,
delayed ones sent on at once);
``count`` tells how many requests the proxy saw per path, or per SOAP method, and ``exchanges``
what became of each one: how many times it went on to the upstream, and what the client was answered.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from tests.faults.answers import malformed_body
from tests.faults.certs import Authority
from tests.faults.fault import Fault, Kind
from tests.faults.wire import Request, Response, WireError, header, read_request, read_response

HANDSHAKE_SECONDS = 5.0
ACCEPT_POLL_SECONDS = 0.2
JOIN_SECONDS = 5.0
PROMISED_BODY = 2  # a truncated empty answer declares this many bytes and sends none


@dataclass(slots=True)
class Exchange:
    """One request the proxy read, and what became of it."""

    request: Request
    forwarded: int = 0  # times it was sent on to the upstream (a stale kept-alive connection: twice)
    status: int | None = None  # of the answer the client got, None when it got none
    request_id: str | None = None  # x-openstack-request-id of that answer
    cut: bool = False  # the answer's body was cut off

    def answered(self, response: Response, *, cut: bool = False) -> None:
        self.status, self.cut = response.status, cut
        self.request_id = header(response.headers, "x-openstack-request-id")


def _unblock(sock: socket.socket) -> None:
    """Wake the thread blocked on ``sock`` (an SSLSocket too: the plain shutdown touches only the fd)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Upstream:
    """The connection one client connection's requests go on to, reopened when the upstream closes it."""

    def __init__(self, proxy: FaultProxy) -> None:
        self._proxy = proxy
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def exchange(self, request: Request, record: Exchange) -> Response:
        data = request.encode(self._proxy.forwarded_headers)
        for attempt in range(2):
            fresh = self._sock is None
            if self._sock is None:
                self._sock = self._proxy.connect_upstream()
                self._reader = self._sock.makefile("rb")
            try:
                self._sock.sendall(data)
                record.forwarded += 1  # the upstream may act on it from here on
                response = read_response(self._reader, request.method)
            except (OSError, WireError):
                self.close()
                if fresh or attempt:
                    raise
                continue  # a kept-alive connection the upstream had closed meanwhile: once more
            if response.close:
                self.close()
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._reader.close()
            self._proxy.forget(sock)
            sock.close()


class FaultProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        tls: Authority | None = None,
        changed: Authority | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        upstream_timeout: float = 30.0,
        name: str = "proxy",
    ) -> None:
        self.upstream = upstream
        self.name = name
        self._tls, self._changed = tls, changed
        self._upstream_tls = upstream_tls
        self._upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._counts: Counter[str] = Counter()
        self._sockets: set[socket.socket] = set()
        self._clients: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._release = threading.Event()  # set: hung requests give up
        self._closing = threading.Event()
        self._context = tls.server_context() if tls else None
        self._listening: tuple[socket.socket, threading.Event, threading.Thread] | None = None
        self._port = 0
        self.request_ids: list[str] = []  # of the error answers the proxy made up, in order
        self.exchanges: list[Exchange] = []  # every request, in the order they were read

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._listen()
        return self

    def close(self) -> None:
        """Stop listening, drop every connection, wake every hung request, and wait for the threads."""
        self._closing.set()
        self._stop_listening()
        self._release.set()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            _unblock(sock)
        for thread in threads:
            thread.join(JOIN_SECONDS)
        lingering = [t.name for t in threads if t.is_alive()]
        if lingering:
            raise AssertionError(f"{self.name}: threads still running after close: {lingering}")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self._port}"

    @property
    def forwarded_headers(self) -> list[tuple[str, str]]:
        return [("X-Forwarded-Proto", "https")] if self._tls else []

    # -- faults ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        if fault.kind is Kind.REFUSE:
            self._stop_listening()
            self._drop_clients()
        elif fault.kind is Kind.CERTIFICATE:
            if self._changed is None:
                raise ValueError("a changed certificate needs the proxy built with changed=<Authority>")
            self._context = self._changed.server_context()
            self._drop_clients()  # a server gets a new certificate by restarting
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults = []
            release, self._release = self._release, threading.Event()
        release.set()
        self._context = self._tls.server_context() if self._tls else None
        if self._listening is None and not self._closing.is_set():
            self._listen()

    def count(self, key: str) -> int:
        """Requests seen for a path (no query) or a SOAP method name."""
        with self._lock:
            return self._counts[key]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _take(self, request: Request) -> tuple[Fault | None, Exchange]:
        record = Exchange(request)
        with self._lock:
            self._counts[request.soap_method or request.path] += 1
            self.exchanges.append(record)
            faults = list(self._faults)
        return next((f for f in faults if f.take(request)), None), record

    # -- listening -------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.create_server(("127.0.0.1", self._port))  # SO_REUSEADDR: the same port again
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self._port = listener.getsockname()[1]
        stop = threading.Event()
        thread = threading.Thread(target=self._accept, args=(listener, stop), name=f"{self.name}-accept", daemon=True)
        self._listening = (listener, stop, thread)
        thread.start()

    def _stop_listening(self) -> None:
        listening, self._listening = self._listening, None
        if listening is not None:
            listener, stop, thread = listening
            stop.set()
            listener.close()  # from here on, connect() is refused
            thread.join(JOIN_SECONDS)

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._spawn(self._serve, client, self._context)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._closing.is_set():
                for arg in args:
                    if isinstance(arg, socket.socket):
                        arg.close()
                return
            thread = threading.Thread(target=self._run, args=(target, *args), name=f"{self.name}-conn", daemon=True)
            self._threads.add(thread)
        thread.start()

    def _run(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _track(self, sock: socket.socket, *, client: bool) -> None:
        with self._lock:
            self._sockets.add(sock)
            if client:
                self._clients.add(sock)

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
            self._clients.discard(sock)

    def _drop_clients(self) -> None:
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            _unblock(sock)

    def connect_upstream(self) -> socket.socket:
        sock = socket.create_connection(self.upstream, timeout=self._upstream_timeout)
        if self._upstream_tls is not None:
            sock = self._upstream_tls.wrap_socket(sock, server_hostname=self.upstream[0])
        self._track(sock, client=False)
        return sock

    # -- one client connection -------------------------------------------------------------

    def _serve(self, client: socket.socket, context: ssl.SSLContext | None) -> None:
        upstream = _Upstream(self)
        self._track(client, client=True)
        try:
            if context is not None:
                client.settimeout(HANDSHAKE_SECONDS)
                tls = context.wrap_socket(client, server_side=True)  # client is detached into tls
                self.forget(client)
                client = tls
                self._track(client, client=True)
                client.settimeout(None)
            with client.makefile("rb") as reader:
                while not self._closing.is_set():
                    request = read_request(reader)
                    if request is None or not self._exchange(client, request, upstream):
                        return
        except (OSError, WireError, ValueError):
            return  # the client went away, refused our certificate, or spoke something else
        finally:
            upstream.close()
            self.forget(client)
            client.close()

    def _exchange(self, client: socket.socket, request: Request, upstream: _Upstream) -> bool:
        """Answer one request, faulted or not; False when the connection must end."""
        with self._lock:
            release = self._release  # set by clear() and close(); taken first, so a fault cleared meanwhile ends
        fault, record = self._take(request)
        kind = fault.kind if fault is not None else None
        forwarded = fault is not None and fault.forwarded
        if kind is Kind.HANG and not forwarded:
            release.wait()
            return False
        if fault is not None and kind is Kind.LATENCY and release.wait(fault.seconds) and self._closing.is_set():
            return False  # a cleared delay ends at once, and the request goes on
        if fault is not None and fault.answer is not None and not forwarded:
            response = self._made_up(fault, request)
        else:
            response = upstream.exchange(request, record)
            if kind is Kind.HANG:  # the upstream took it and answered; the client never hears
                release.wait()
                return False
            if fault is not None and fault.answer is not None:  # a gateway that gave up waiting for that answer
                response = self._made_up(fault, request)
        if kind is Kind.MALFORMED:
            response = response.with_body(malformed_body(request))
        elif kind is Kind.TRUNCATE:
            full = len(response.body)
            cut = response.with_body(response.body[: full // 2])
            record.answered(cut, cut=True)
            client.sendall(cut.encode(declared_length=full or PROMISED_BODY))
            return False
        elif fault is not None and fault.rewrite is not None:
            response = response.with_body(fault.rewritten(response.body))
        close = request.wants_close or kind is Kind.THEN
        record.answered(response)
        if fault is not None and kind is Kind.THEN and any(t.kind is Kind.REFUSE for t in fault.then):
            self._stop_listening()  # before the answer: the client's next connection must find nobody listening
        client.sendall(response.encode(close=close))
        if fault is not None and kind is Kind.THEN:
            for then in fault.then:
                self.inject(then)
        return not close

    def _made_up(self, fault: Fault, request: Request) -> Response:
        assert fault.answer is not None
        response = fault.answer(request)
        rid = header(response.headers, "x-openstack-request-id")
        if rid:
            with self._lock:
                self.request_ids.append(rid)
        return response
