"""Real Nova API, in-process, served over a real socket for tests.

Runs under the peer venv (scripts/nova-peer-venv.sh), never the app venv.
It builds on Nova's own functional-test environment (sqlite, fake message
transport, in-process Placement, fake virt driver), serves the API wsgi app
on 127.0.0.1 and speaks a tiny JSON-lines control protocol:

stdout: one ``{"ready": true, "endpoint": ..., "keystone": ..., "computes": [...]}`` line,
        then one answer line per command.
stdin:  ``{"op": "boot" | "stop_compute" | "start_compute" | "computes" | "version_fault"
        | "live_migration_seconds" | "placement_fault" | "logins" | "login_requests" | "keystone_account"
        | "ping" | "quit", ...}``.

The API takes ``X-Auth-Token: user:project``; a minimal Keystone v3 under
``/identity/v3`` issues such tokens to password logins (keystone.py, which
also answers the ``logins``, ``login_requests`` and ``keystone_account`` ops).
Placement, the one the fixture runs in-process for Nova (same database), is served on the
same socket under ``/placement``, as devstack serves it.

Everything else (logs, warnings, stray prints) goes to stderr.
"""

# Must come first: applies eventlet monkey-patching for the whole process.
import nova.tests.functional  # noqa: F401  isort: skip

import argparse
import faulthandler
import json
import logging
import os
import signal
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TextIO
from unittest import mock
from urllib.parse import urlsplit
from wsgiref import simple_server

import wsgi_intercept
from eventlet.hubs import trampoline
from oslo_utils import versionutils

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers
from nova.tests.functional.api import client as api_client
from nova.virt import fake

# A sibling module: this file runs as a script, so its directory is on sys.path.
from keystone import (
    ADMIN_ROLES,
    PLACEMENT_PATH,
    UNAUTHORIZED,
    Keystone,
    forwarded_scheme,
    is_version_document,
    keystone_v3,
    roles_of,
    token_auth,
)

LOG = logging.getLogger("nova_peer")

VMWARE_HYPERVISOR_TYPE = "VMware vCenter Server"
# The project the control API and the clouds.yaml token both use, so that
# servers booted here show up in the SDK's own (non all_projects) listing.
PROJECT_ID: str = nova_fixtures.PROJECT_ID

Json = dict[str, Any]
WsgiApp = Callable[..., Any]
DriverFactory = Callable[[Any], Any]


# --------------------------------------------------------------------------
# Virt driver for a vCenter-backed compute (one cluster node)
# --------------------------------------------------------------------------
@dataclass
class LiveMigrationPace:
    """How long a live migration of a fake compute runs (0: done at once, as the fake driver does)."""

    seconds: float = 0.0


@dataclass(frozen=True)
class ComputeSize:
    """What a fake compute reports to the resource tracker, so to Placement (MediumFakeDriver's by default)."""

    vcpus: int = fake.MediumFakeDriver.vcpus
    memory_mb: int = fake.MediumFakeDriver.memory_mb


MIB = 1024 * 1024
PACE_STEP_SECONDS = 0.1


class PeerFakeDriver(fake.MediumFakeDriver):
    """MediumFakeDriver that answers the hypervisor uptime call and live-migrates at the set pace.

    While a paced live migration runs, its migration record's byte counters grow (as libvirt's monitor
    updates them); force-complete ends it at once, abort rolls it back to ``cancelled``.
    """

    def __init__(self, virtapi: Any, pace: LiveMigrationPace | None = None, size: ComputeSize | None = None) -> None:
        size = size or ComputeSize()
        self.vcpus, self.memory_mb = size.vcpus, size.memory_mb  # read by FakeDriver.__init__
        super().__init__(virtapi)
        self.host_status_base["hypervisor_type"] = "QEMU"  # what a libvirt/KVM compute reports
        self.pace = pace or LiveMigrationPace()
        self._ending: dict[str, str] = {}  # instance uuid -> "complete" | "abort"

    def get_host_uptime(self) -> str:
        return " 08:32:11 up 93 days, 18:25,  1 user,  load average: 0.20, 0.12, 0.08"

    def live_migration(
        self,
        context: Any,
        instance: Any,
        dest: str,
        post_method: Callable[..., Any],
        recover_method: Callable[..., Any],
        block_migration: bool = False,
        migrate_data: Any = None,
    ) -> None:
        seconds = self.pace.seconds
        if seconds <= 0:
            post_method(context, instance, dest, block_migration, migrate_data)
            return
        migration = migrate_data.migration
        total = int(instance.flavor.memory_mb) * MIB
        disk_total = int(instance.flavor.root_gb) * 1024 * MIB if block_migration else 0
        self._ending.pop(instance.uuid, None)
        started = time.monotonic()
        while (ending := self._ending.pop(instance.uuid, None)) is None:
            done = min(1.0, (time.monotonic() - started) / seconds)
            for part, size in (("memory", total), ("disk", disk_total)):
                moved = int(size * done)
                for count, value in (("total", size), ("processed", moved), ("remaining", size - moved)):
                    # Nova's response schema says minimum 1: a zero count is shown as null
                    setattr(migration, f"{part}_{count}", value or None)
            migration.save()
            if done >= 1.0:
                ending = "complete"
                break
            time.sleep(PACE_STEP_SECONDS)
        if ending == "abort":
            recover_method(context, instance, dest, migrate_data, migration_status="cancelled")
        else:
            post_method(context, instance, dest, block_migration, migrate_data)

    def live_migration_force_complete(self, instance: Any) -> None:
        self._ending[instance.uuid] = "complete"

    def live_migration_abort(self, instance: Any) -> None:
        self._ending[instance.uuid] = "abort"


class VMwareFakeDriver(fake.MediumFakeDriver):
    """Fake driver that reports a single vCenter cluster as its node.

    Like the real vmwareapi driver it does not implement get_host_uptime,
    so Nova logs a NotImplementedError and the API reports no uptime.
    """

    def __init__(self, virtapi: Any, nodename: str) -> None:
        super().__init__(virtapi)
        self.nodename = nodename
        self.host_status_base["hypervisor_type"] = VMWARE_HYPERVISOR_TYPE
        self.host_status_base["hypervisor_version"] = versionutils.convert_version_to_int("8.0.2")

    def init_host(self, host: str) -> None:
        super().init_host(host)
        self._set_nodes([self.nodename])


# --------------------------------------------------------------------------
# Fault hook: the version documents answer 401, 503 or a body that is not JSON
# --------------------------------------------------------------------------
def _json_error(status: str, key: str, message: str) -> tuple[str, str, bytes]:
    code = int(status.split()[0])
    return status, "application/json", json.dumps({key: {"code": code, "message": message}}).encode()


# fault name -> (status line, content type, body), shaped as Nova's own answers
VERSION_FAULTS: dict[str, tuple[str, str, bytes]] = {
    # keystonemiddleware's refusal, behind Nova's request-id middleware
    "401": _json_error("401 Unauthorized", "error", UNAUTHORIZED),
    # Nova's faultwrap for HTTP 503
    "503": _json_error(
        "503 Service Unavailable",
        "serviceUnavailable",
        "The server is currently unavailable. Please try again at a later time.",
    ),
    # a proxy's maintenance page in front of the API
    "not_json": ("200 OK", "text/html", b"<html><body><h1>Down for maintenance</h1></body></html>"),
}


@dataclass
class VersionFault:
    """The fault the version documents answer now (None: the real document), and its request id."""

    name: str | None = None
    request_id: str = ""  # set on error answers only, as Nova's request-id middleware does

    def set(self, name: str | None) -> str:
        if name is not None and name not in VERSION_FAULTS:
            raise ValueError(f"unknown version fault {name!r}; known: {sorted(VERSION_FAULTS)}")
        self.name = name
        is_error = name is not None and not VERSION_FAULTS[name][0].startswith("2")
        self.request_id = f"req-{uuid.uuid4()}" if is_error else ""
        return self.request_id


def version_faults(app: WsgiApp, fault: VersionFault) -> WsgiApp:
    """Answer every request for a version document (``/``, ``/v2``, ``/v2.1``) with the set fault."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        name = fault.name
        if name is None or not is_version_document(environ.get("PATH_INFO", "")):
            return app(environ, start_response)
        status, content_type, body = VERSION_FAULTS[name]
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if fault.request_id:
            headers += [("x-openstack-request-id", fault.request_id), ("x-compute-request-id", fault.request_id)]
        start_response(status, headers)
        return [body]

    return wrapped


# --------------------------------------------------------------------------
# Placement on the API's socket, under /placement, with a fault hook
# --------------------------------------------------------------------------
# fault name -> (status line, content type, body): "stopped" is haproxy's answer when no Placement is behind it
PLACEMENT_FAULTS: dict[str, tuple[str, str, bytes]] = {
    "stopped": (
        "503 Service Unavailable",
        "text/html",
        b"<html><body><h1>503 Service Unavailable</h1>\n"
        b"No server is available to handle this request.\n</body></html>\n",
    ),
}


@dataclass
class PlacementFault:
    """The fault every Placement request answers now; None: Placement answers itself."""

    name: str | None = None

    def set(self, name: str | None) -> None:
        if name is not None and name not in PLACEMENT_FAULTS:
            raise ValueError(f"unknown placement fault {name!r}; known: {sorted(PLACEMENT_FAULTS)}")
        self.name = name


def with_placement(api: WsgiApp, placement: WsgiApp, fault: PlacementFault) -> WsgiApp:
    """Serve ``placement`` under /placement, its token read as the compute API reads it (keystone.roles_of)."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path != PLACEMENT_PATH and not path.startswith(f"{PLACEMENT_PATH}/"):
            return api(environ, start_response)
        if fault.name is not None:
            status, content_type, body = PLACEMENT_FAULTS[fault.name]
            start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PLACEMENT_PATH
        environ["PATH_INFO"] = path[len(PLACEMENT_PATH) :] or "/"
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        if token:  # Placement's noauth middleware reads "user:project"; the roles come from the peer's rule
            user, _, rest = token.partition(":")
            environ["HTTP_X_AUTH_TOKEN"] = f"{user}:{rest.partition(':')[0] or PROJECT_ID}"
            environ["HTTP_X_ROLES"] = ",".join(roles_of(user))
        return placement(environ, start_response)

    return wrapped


# --------------------------------------------------------------------------
# HTTP server on a real socket
# --------------------------------------------------------------------------
class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http: %s", format % args)


def start_http(app: WsgiApp, host: str, port: int) -> _ThreadingWSGIServer:
    server = simple_server.make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    # A green thread: eventlet patched threading at import time.
    threading.Thread(target=server.serve_forever, daemon=True, name="nova-peer-http").start()
    return server


# --------------------------------------------------------------------------
# The Nova environment (a functional test case used as a long-lived env)
# --------------------------------------------------------------------------
@dataclass
class PeerOptions:
    computes: list[str] = field(default_factory=list)
    vmware_nodes: dict[str, str] = field(default_factory=dict)
    sizes: Mapping[str, ComputeSize] = field(default_factory=dict)  # compute host -> its size
    report_interval: int = 1
    service_down_time: int = 5
    api_paste_config: str = ""


class NovaEnvironment(integrated_helpers.ProviderUsageBaseTestCase):
    """API + conductor + scheduler + Placement + computes, kept running."""

    compute_driver = "fake.MediumFakeDriver"

    def __init__(self, options: PeerOptions) -> None:
        super().__init__("runTest")
        self.options = options
        self.drivers: dict[str, Any] = {}
        self.stopped: set[str] = set()
        self.live_migration_pace = LiveMigrationPace()

    def runTest(self) -> None:  # noqa: N802  (unittest's default name)
        pass

    def setUp(self) -> None:
        opts = self.options
        self.flags(report_interval=opts.report_interval, service_down_time=opts.service_down_time)
        self.flags(api_paste_config=opts.api_paste_config, group="wsgi")
        # Heartbeat from the first second so "up" is right after start.
        mock.patch("nova.servicegroup.api.INITIAL_REPORTING_DELAY", 0).start()
        self.addCleanup(mock.patch.stopall)
        super().setUp()
        self.admin = api_client.TestOpenStackClient(
            "admin", self.api_fixture.base_url, project_id=PROJECT_ID, roles=list(ADMIN_ROLES)
        )
        self.admin.microversion = "latest"
        for host in opts.computes:
            self.start_compute(host)
        for host, node in opts.vmware_nodes.items():
            self.start_compute(host, node)

    # ---- computes -------------------------------------------------------
    def _driver_factory(self, host: str, nodename: str | None) -> DriverFactory:
        """How to build host's virt driver."""
        if host in self.drivers:  # restart: keep the hypervisor's state
            old = self.drivers[host]
            return lambda virtapi: old
        if nodename is not None:
            return lambda virtapi: VMwareFakeDriver(virtapi, nodename)
        size = self.options.sizes.get(host)
        return lambda virtapi: PeerFakeDriver(virtapi, self.live_migration_pace, size)

    def start_compute(self, host: str, nodename: str | None = None) -> None:
        if host in self.computes and host not in self.stopped:
            raise ValueError(f"compute {host} is already running")
        factory = self._driver_factory(host, nodename)
        with mock.patch("nova.virt.driver.load_compute_driver") as load:
            load.side_effect = lambda virtapi, *_a: factory(virtapi)
            service = self._start_compute(host)
        self.drivers[host] = service.manager.driver
        self.stopped.discard(host)
        self.wait_service_state(host, "up")

    def stop_compute(self, host: str) -> None:
        """Stop the service (heartbeat included) and wait for "down"."""
        if host not in self.computes:
            raise ValueError(f"unknown compute {host}")
        if host in self.stopped:
            raise ValueError(f"compute {host} is already stopped")
        self.computes[host].stop()
        self.stopped.add(host)
        self.wait_service_state(host, "down")

    def compute_state(self, host: str) -> str | None:
        services = self.admin.get_services(binary="nova-compute", host=host)
        return services[0]["state"] if services else None

    def wait_service_state(self, host: str, state: str) -> None:
        """Poll os-services (the real API) until host's compute is state."""
        deadline = time.monotonic() + self.options.service_down_time + 15
        while self.compute_state(host) != state:
            if time.monotonic() > deadline:
                raise TimeoutError(f"compute {host} did not become {state}")
            time.sleep(0.25)

    def describe_computes(self) -> list[Json]:
        return [
            {
                "host": h["service"]["host"],
                "hypervisor_hostname": h["hypervisor_hostname"],
                "hypervisor_type": h["hypervisor_type"],
            }
            for h in self.admin.api_get("/os-hypervisors/detail").body["hypervisors"]
        ]

    # ---- servers --------------------------------------------------------
    def boot(self, name: str, host: str) -> str:
        network = nova_fixtures.NeutronFixture.network_1["id"]
        server = self._create_server(name=name, host=host, networks=[{"uuid": network}], api=self.admin)
        return str(server["id"])

    # ---- memory hygiene -------------------------------------------------
    def trim_memory(self) -> None:
        """Drop what the fixtures collect per operation."""
        self.notifier.reset()
        self.stdlog.delete_stored_logs()


def fixture_placement(env: NovaEnvironment) -> WsgiApp:
    """The Placement app the fixture intercepts for Nova in-process: the same database, so Nova's allocations show."""
    host = urlsplit(env.placement.fixture.endpoint).hostname
    create, _script_name = wsgi_intercept._wsgi_intercept[(host, 80)]
    app: WsgiApp = create()
    return app


# --------------------------------------------------------------------------
# Logging: fixtures capture logs in memory; send them to stderr instead
# --------------------------------------------------------------------------
def route_logs_to_stderr(captured: IO[str], level: int) -> None:
    """Point the handler writing into ``captured`` at stderr instead."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "stream", None) is captured:
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(sys.stderr)
            handler.setLevel(level)
    captured.seek(0)
    captured.truncate()


# --------------------------------------------------------------------------
# Control protocol
# --------------------------------------------------------------------------
def read_lines(fd: int) -> Iterator[str]:
    """Yield stdin lines, parking only this greenlet while waiting.

    eventlet's green select() misses pipes; trampoline() does not.
    """
    buf = b""
    while True:
        trampoline(fd, read=True)
        chunk = os.read(fd, 65536)
        if not chunk:
            if buf.strip():
                yield buf.decode()
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode()


@dataclass
class Hooks:
    """What the control ops change besides Nova itself."""

    version: VersionFault = field(default_factory=VersionFault)
    placement: PlacementFault = field(default_factory=PlacementFault)
    keystone: Keystone = field(default_factory=lambda: Keystone(PROJECT_ID))


def handle(env: NovaEnvironment, cmd: Json, hooks: Hooks) -> Json:
    answer = hooks.keystone.handle(cmd)
    if answer is not None:
        return answer
    op = cmd.get("op")
    if op == "version_fault":
        return {"ok": True, "request_id": hooks.version.set(cmd.get("fault"))}
    if op == "placement_fault":
        hooks.placement.set(cmd.get("fault"))
        return {"ok": True}
    if op == "boot":
        return {"ok": True, "id": env.boot(cmd["name"], cmd["host"])}
    if op == "stop_compute":
        env.stop_compute(cmd["host"])
        return {"ok": True}
    if op == "start_compute":
        env.start_compute(cmd["host"])
        return {"ok": True}
    if op == "computes":
        return {"ok": True, "computes": env.describe_computes()}
    if op == "live_migration_seconds":
        env.live_migration_pace.seconds = float(cmd["seconds"])
        return {"ok": True}
    if op == "ping":
        return {"ok": True}
    raise ValueError(f"unknown op {op!r}")


def serve_commands(env: NovaEnvironment, out: TextIO, hooks: Hooks) -> None:
    for line in read_lines(sys.stdin.fileno()):
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            if cmd.get("op") == "quit":
                emit(out, {"ok": True})
                return
            answer = handle(env, cmd, hooks)
        except Exception as exc:  # answer, never die on a bad command
            LOG.exception("command failed: %s", line)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        env.trim_memory()
        emit(out, answer)


def emit(out: TextIO, payload: Json) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def _compute_size(item: str) -> tuple[str, ComputeSize]:
    host, sep, size = item.partition("=")
    vcpus, colon, memory_mb = size.partition(":")
    if not (sep and colon and host and vcpus.isdigit() and memory_mb.isdigit()):
        raise argparse.ArgumentTypeError(f"wants HOST=VCPUS:MEMORY_MB: {item!r}")
    return host, ComputeSize(int(vcpus), int(memory_mb))


def _vmware_node(item: str) -> tuple[str, str]:
    host, sep, node = item.partition("=")
    if not sep or not host or not node:
        raise argparse.ArgumentTypeError(f"wants HOST=NODENAME: {item!r}")
    return host, node


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compute", action="append", default=[], metavar="HOST")
    p.add_argument("--vmware-node", action="append", default=[], type=_vmware_node, metavar="HOST=NODENAME")
    p.add_argument("--compute-size", action="append", default=[], type=_compute_size, metavar="HOST=VCPUS:MEMORY_MB")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--service-down-time", type=int, default=5)
    p.add_argument("--report-interval", type=int, default=1)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--api-paste-config", default=os.path.join(sys.prefix, "etc", "nova", "api-paste.ini"))
    return p.parse_args(argv)


def build_options(args: argparse.Namespace) -> PeerOptions:
    return PeerOptions(
        computes=list(args.compute),
        vmware_nodes=dict(args.vmware_node),
        sizes=dict(args.compute_size),
        report_interval=args.report_interval,
        service_down_time=args.service_down_time,
        api_paste_config=args.api_paste_config,
    )


def claim_stdout() -> TextIO:
    """Keep fd 1 for the protocol; point everything else at stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def main(argv: list[str] | None = None) -> int:
    out = claim_stdout()
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 PID: stack dump
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level)
    for var in ("OS_STDOUT_CAPTURE", "OS_STDERR_CAPTURE", "OS_TEST_TIMEOUT", "OS_LOG_CAPTURE", "OS_DEBUG"):
        os.environ[var] = "0"
    env = NovaEnvironment(build_options(args))
    started = time.monotonic()
    env.setUp()
    try:
        route_logs_to_stderr(env.stdlog.logger._output, logging.getLevelName(args.log_level))
        hooks = Hooks()
        api = version_faults(token_auth(env.api_fixture.app(), PROJECT_ID), hooks.version)
        api = with_placement(api, fixture_placement(env), hooks.placement)
        http = start_http(forwarded_scheme(keystone_v3(api, hooks.keystone)), args.host, args.port)
        port = http.server_address[1]
        base = f"http://{args.host}:{port}"
        LOG.warning("nova peer ready in %.1fs on port %d", time.monotonic() - started, port)
        emit(
            out,
            {
                "ready": True,
                "endpoint": f"{base}/v2.1",
                "placement": f"{base}{PLACEMENT_PATH}",
                "project_id": PROJECT_ID,
                "token": f"admin:{PROJECT_ID}",
                "keystone": hooks.keystone.describe(base),
                "computes": env.describe_computes(),
            },
        )
        env.trim_memory()
        serve_commands(env, out, hooks)
        http.shutdown()
        http.server_close()
    finally:
        logging.getLogger().setLevel(logging.WARNING)  # quiet teardown
        env.doCleanups()
    return 0


if __name__ == "__main__":
    sys.exit(main())
