"""FaultProxy itself, in front of a small local HTTP server: framing, keep-alive, every fault, no thread left."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pyVmomi import SoapStubAdapter, vim

from tests.faults import answers
from tests.faults.certs import Authority, make_authority
from tests.faults.fault import Fault, soap_methods
from tests.faults.proxy import FaultProxy

NAME = "unit-proxy"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "items": [{"id": 1}, {"id": 2}]}).encode()
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:10], body[10:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/until-close":  # no length: the body ends when the connection does
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, int]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> tuple[Authority, Authority]:
    directory: Path = tmp_path_factory.mktemp("unit-certs")
    return make_authority(directory, "a"), make_authority(directory, "b")


@pytest.fixture
def proxy(upstream: tuple[str, int], authorities: tuple[Authority, Authority]) -> Iterator[FaultProxy]:
    with FaultProxy(upstream, tls=authorities[0], changed=authorities[1], name=NAME) as running:
        yield running
    assert not [t.name for t in threading.enumerate() if t.name.startswith(NAME)]


def _client(proxy: FaultProxy, ca: Authority, timeout: float = 5.0) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(
        "127.0.0.1", proxy.port, timeout=timeout, context=ssl.create_default_context(cafile=ca.ca_file)
    )


def _get(conn: http.client.HTTPSConnection, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response, response.read()


def test_one_client_connection_carries_every_framing(
    proxy: FaultProxy, authorities: tuple[Authority, Authority]
) -> None:
    conn = _client(proxy, authorities[0])
    try:
        bodies = []
        for path in ("/plain", "/chunked", "/until-close", "/plain?again=1"):
            response, body = _get(conn, path)
            assert response.status == 200 and response.getheader("Content-Length") == str(len(body))
            bodies.append(json.loads(body)["path"])
            if path == "/plain":
                sock = conn.sock
        assert conn.sock is sock, "the proxy closed a keep-alive connection"
    finally:
        conn.close()
    assert bodies == ["/plain", "/chunked", "/until-close", "/plain?again=1"]
    assert proxy.count("/plain") == 2 and proxy.count("/chunked") == 1


def test_refused_until_cleared_then_the_same_port_again(
    proxy: FaultProxy, authorities: tuple[Authority, Authority]
) -> None:
    port = proxy.port
    proxy.inject(Fault.refuse())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    proxy.clear()
    conn = _client(proxy, authorities[0])
    try:
        assert proxy.port == port and _get(conn, "/plain")[0].status == 200
    finally:
        conn.close()


def test_a_hung_request_ends_when_cleared(proxy: FaultProxy, authorities: tuple[Authority, Authority]) -> None:
    fault = proxy.inject(Fault.hang(path="/plain"))
    conn = _client(proxy, authorities[0], timeout=0.5)
    with pytest.raises(TimeoutError):
        _get(conn, "/plain")
    conn.close()
    assert fault.hits == 1
    proxy.clear()
    deadline = time.monotonic() + 2
    while sum(t.name == f"{NAME}-conn" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.name == f"{NAME}-conn"]


def test_latency_then_the_real_answer(proxy: FaultProxy, authorities: tuple[Authority, Authority]) -> None:
    proxy.inject(Fault.latency(0.3, path="/plain"))
    conn = _client(proxy, authorities[0])
    try:
        started = time.monotonic()
        response, _body = _get(conn, "/plain")
        assert response.status == 200 and time.monotonic() - started >= 0.3
    finally:
        conn.close()


def test_a_nova_error_answers_once_with_a_request_id(
    proxy: FaultProxy, authorities: tuple[Authority, Authority]
) -> None:
    proxy.inject(Fault.answering(answers.nova_error(503), path="/plain", times=1))
    conn = _client(proxy, authorities[0])
    try:
        response, body = _get(conn, "/plain")
        assert response.status == 503
        assert json.loads(body)["serviceUnavailable"]["code"] == 503
        assert response.getheader("x-openstack-request-id") == proxy.request_ids[0]
        assert _get(conn, "/plain")[0].status == 200  # times=1: spent
    finally:
        conn.close()


def test_bodies_spoiled_cut_and_rewritten(proxy: FaultProxy, authorities: tuple[Authority, Authority]) -> None:
    def drop_first(body: dict[str, list[object]]) -> dict[str, list[object]]:
        body["items"].pop(0)
        return body

    conn = _client(proxy, authorities[0])
    try:
        proxy.inject(Fault.rewriting(drop_first, path="/plain"))
        assert json.loads(_get(conn, "/plain")[1])["items"] == [{"id": 2}]
        proxy.clear()
        proxy.inject(Fault.malformed(path="/chunked"))
        with pytest.raises(ValueError, match="Expecting"):
            json.loads(_get(conn, "/chunked")[1])
        proxy.clear()
        proxy.inject(Fault.truncated(path="/plain"))
        conn.request("GET", "/plain")
        with pytest.raises(http.client.IncompleteRead):
            conn.getresponse().read()
    finally:
        conn.close()


def test_a_changed_certificate_is_refused_by_the_old_ca(
    proxy: FaultProxy, authorities: tuple[Authority, Authority]
) -> None:
    old, new = authorities
    proxy.inject(Fault.changed_certificate())
    refused = _client(proxy, old)
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(refused, "/plain")
    refused.close()
    conn = _client(proxy, new)
    try:
        assert _get(conn, "/plain")[0].status == 200
        assert isinstance(conn.sock, ssl.SSLSocket)
        served = conn.sock.getpeercert(binary_form=True)
        assert served is not None and ssl.DER_cert_to_PEM_cert(served) in new.cert_file.read_text()
    finally:
        conn.close()
    proxy.clear()
    conn = _client(proxy, old)
    try:
        assert _get(conn, "/plain")[0].status == 200
    finally:
        conn.close()


def test_a_soap_fault_is_the_fault_pyvmomi_raises(proxy: FaultProxy, authorities: tuple[Authority, Authority]) -> None:
    proxy.inject(Fault.answering(answers.soap_fault(*answers.NOT_AUTHENTICATED), where=soap_methods("CurrentTime")))
    stub = SoapStubAdapter(
        host="127.0.0.1",
        port=proxy.port,
        version="vim.version.version9",
        sslContext=ssl.create_default_context(cafile=authorities[0].ca_file),
    )
    try:
        with pytest.raises(vim.fault.NotAuthenticated) as caught:
            vim.ServiceInstance("ServiceInstance", stub).CurrentTime()
    finally:
        stub.DropConnections()
    assert caught.value.msg == "The session is not authenticated."
    assert caught.value.privilegeId == "System.View"
    assert proxy.count("CurrentTime") == 1
