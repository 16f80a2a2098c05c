"""Drive the in-process Nova peer (server.py) from the app's test venv.

Example pytest fixture (wire it into tests/conftest.py as you like)::

    import pytest
    from tests.peers.nova.fixture import NovaPeer

    @pytest.fixture(scope="session")
    def nova_peer(tmp_path_factory):
        with NovaPeer(computes=["host1", "host2", "host3"],
                      vmware_nodes={"vc1": "domain-c7.8b2e..."}) as peer:
            peer.write_clouds_yaml(
                tmp_path_factory.mktemp("nova") / "clouds.yaml")
            yield peer

    def test_something(nova_peer):
        conn = nova_peer.connect()          # openstack.connection.Connection
        server_id = nova_peer.boot("vm1", "host1")
        ...
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[3]
PEER_VENV = Path(os.environ.get("NOVA_PEER_VENV", REPO_ROOT / ".peers" / "nova-venv"))
SERVER = Path(__file__).with_name("server.py")
VENV_SCRIPT = REPO_ROOT / "scripts" / "nova-peer-venv.sh"

READY_TIMEOUT = 60.0
COMMAND_TIMEOUT = 90.0


class NovaPeerError(RuntimeError):
    """The peer failed to start or a control command failed."""


def peer_python() -> Path:
    """The peer venv's interpreter; fail loudly when it is missing."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        raise NovaPeerError(f"Nova peer venv not found at {PEER_VENV}. Create it with: bash {VENV_SCRIPT}")
    return python


def _pump_lines(stream: IO[str], sink: queue.Queue[str | None]) -> None:
    """Move the peer's stdout lines into a queue (None marks EOF)."""
    for line in stream:
        sink.put(line)
    sink.put(None)


class NovaPeer:
    """A running Nova API (real code, fake hypervisors) on 127.0.0.1."""

    def __init__(
        self,
        computes: list[str] | None = None,
        vmware_nodes: dict[str, str] | None = None,
        service_down_time: int = 5,
        stderr: IO[Any] | int | None = None,
        compute_sizes: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        self.computes = list(computes or [])
        self.vmware_nodes = dict(vmware_nodes or {})
        # compute host -> (vCPUs, MiB of RAM) its fake driver reports (others: 10 vCPUs, 8192 MiB)
        self.compute_sizes = dict(compute_sizes or {})
        self.service_down_time = service_down_time
        self._stderr = stderr  # None: inherit (pytest shows it on failure)
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self.ready: dict[str, Any] = {}

    # ---- lifecycle --------------------------------------------------------
    def _command_line(self) -> list[str]:
        cmd = [str(peer_python()), str(SERVER), "--service-down-time", str(self.service_down_time)]
        for host in self.computes:
            cmd += ["--compute", host]
        for host, node in self.vmware_nodes.items():
            cmd += ["--vmware-node", f"{host}={node}"]
        for host, (vcpus, memory_mb) in self.compute_sizes.items():
            cmd += ["--compute-size", f"{host}={vcpus}:{memory_mb}"]
        return cmd

    def start(self) -> NovaPeer:
        self._proc = subprocess.Popen(
            self._command_line(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        assert self._proc.stdout is not None
        threading.Thread(target=_pump_lines, daemon=True, args=(self._proc.stdout, self._lines)).start()
        try:
            self.ready = self._next_message(READY_TIMEOUT)
        except Exception:
            self.close()
            raise
        if not self.ready.get("ready"):
            self.close()
            raise NovaPeerError(f"unexpected first line: {self.ready}")
        return self

    def close(self) -> None:
        """Ask the peer to quit; terminate, then kill, if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin:
                proc.stdin.close()  # EOF on stdin: the peer exits cleanly
            proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, OSError):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> NovaPeer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- protocol ---------------------------------------------------------
    def _next_message(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise NovaPeerError(f"Nova peer gave no answer within {timeout:.0f}s") from None
        if line is None:
            code = self._proc.poll() if self._proc else None
            raise NovaPeerError(f"Nova peer exited (code {code}); see its stderr")
        return dict(json.loads(line))

    def command(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one control command and return its answer."""
        if self._proc is None or self._proc.stdin is None:
            raise NovaPeerError("Nova peer is not running")
        with self._lock:
            self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self._proc.stdin.flush()
            answer = self._next_message(COMMAND_TIMEOUT)
        if not answer.get("ok"):
            raise NovaPeerError(f"{op} failed: {answer.get('error')}")
        return answer

    def boot(self, name: str, host: str) -> str:
        """Boot a server on host, wait for ACTIVE; return its id."""
        return str(self.command("boot", name=name, host=host)["id"])

    def stop_compute(self, host: str) -> None:
        """Stop host's nova-compute; returns once the API says "down"."""
        self.command("stop_compute", host=host)

    def start_compute(self, host: str) -> None:
        """Restart host's nova-compute; returns once the API says "up"."""
        self.command("start_compute", host=host)

    def set_live_migration_seconds(self, seconds: float) -> None:
        """Live migrations between the fake computes started from now on take ``seconds`` (0: done at once).

        Meanwhile Nova shows them ``running`` with growing byte counters; force-complete and abort end them.
        """
        self.command("live_migration_seconds", seconds=seconds)

    def set_version_fault(self, fault: str | None) -> str:
        """Make the compute API's version documents (``/``, ``/v2``, ``/v2.1``) fail; None restores them.

        ``fault`` is "401" or "503" (Nova's JSON error body with an
        ``x-openstack-request-id`` header) or "not_json" (200 with an HTML page).
        Returns the request id the error answers carry ("" for "not_json" and None).
        Every other path answers as usual.
        """
        return str(self.command("version_fault", fault=fault)["request_id"])

    def set_placement_fault(self, fault: str | None) -> None:
        """Make every Placement request answer ``fault`` ("stopped": haproxy's 503 page); None restores it.

        Only the app's requests meet it: Nova's own services reach Placement in-process.
        """
        self.command("placement_fault", fault=fault)

    # ---- client side ------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return str(self.ready["endpoint"])

    @property
    def placement_endpoint(self) -> str:
        return str(self.ready["placement"])

    @property
    def token(self) -> str:
        return str(self.ready["token"])

    @property
    def keystone(self) -> dict[str, str]:
        """The peer's Keystone v3 and its default account: ``auth_url``, ``username``, ``password``, ``domain``."""
        return dict(self.ready["keystone"])

    def logins(self) -> int:
        """How many password logins the peer's Keystone accepted."""
        return int(self.command("logins")["logins"])

    def login_requests(self, since: int = 0) -> list[Any]:
        """The bodies of the login requests the peer's Keystone received, accepted or refused, from ``since`` on."""
        return list(self.command("login_requests", since=since)["requests"])

    def set_keystone_account(
        self, username: str, password: str, *, token: str | None = None, catalog: tuple[str, ...] | None = None
    ) -> None:
        """Let ``username`` log in with ``password`` (replacing an account of that name).

        Each login gets ``token`` (``admin:...`` has the admin role, see ``keystone.token_auth``),
        or a new ``<username>:<project>:<n>`` when it is None, and a catalog of the service types in
        ``catalog`` ("compute", "placement"; None: both).
        """
        self.command("keystone_account", username=username, password=password, token=token, catalog=catalog)

    def clouds_config(
        self,
        cloud_name: str = "nova-peer",
        *,
        auth: str = "token",
        base_url: str | None = None,
        cacert: str | None = None,
    ) -> dict[str, Any]:
        """clouds.yaml content.

        ``auth="token"``: a static token, the compute and placement endpoints pinned (keystoneauth cannot
        renew it).
        ``auth="password"``: a Keystone v3 password login; the compute endpoint comes from the
        token's catalog, and a 401 makes keystoneauth log in again once.
        ``base_url`` (``scheme://host:port``) is where the client reaches the peer, a proxy say;
        ``cacert`` is the CA bundle that client trusts for it.
        """
        peer_base = self.endpoint.removesuffix("/v2.1")
        base = (base_url or peer_base).rstrip("/")
        cloud: dict[str, Any]
        if auth == "token":
            cloud = {
                "auth_type": "admin_token",
                "auth": {"token": self.token, "endpoint": f"{base}/v2.1"},
                "compute_endpoint_override": f"{base}/v2.1",
                "placement_endpoint_override": f"{base}/placement",
            }
        elif auth == "password":
            keystone = self.keystone
            cloud = {
                "auth_type": "password",
                "auth": {
                    "auth_url": keystone["auth_url"].replace(peer_base, base, 1),
                    "username": keystone["username"],
                    "password": keystone["password"],
                    "project_id": self.ready["project_id"],
                    "user_domain_name": keystone["domain"],
                },
                "identity_api_version": "3",
            }
        else:
            raise ValueError(f"auth is 'token' or 'password', not {auth!r}")
        if cacert is not None:
            cloud["cacert"] = cacert
        return {"clouds": {cloud_name: {**cloud, "region_name": "RegionOne"}}}

    def write_clouds_yaml(self, path: str | os.PathLike[str], cloud_name: str = "nova-peer", **options: Any) -> Path:
        """Write ``clouds_config(cloud_name, **options)`` to ``path``."""
        import yaml

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.clouds_config(cloud_name, **options)))
        return target

    def connect(self, cloud_name: str = "nova-peer") -> Any:
        """An openstacksdk Connection to the peer (no clouds.yaml needed)."""
        import openstack

        cloud = self.clouds_config(cloud_name)["clouds"][cloud_name]
        return openstack.connect(load_yaml_config=False, load_envvars=False, **cloud)
