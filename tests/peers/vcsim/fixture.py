"""Start and drive the govmomi vCenter simulator peer from tests.

The peer binary is built by ``scripts/vcsim-build.sh``. It prints one JSON
ready line on stdout and then answers one JSON line per command on stdin.
"""

from __future__ import annotations

import json
import os
import queue
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO = Path(__file__).resolve().parents[3]
DEFAULT_BINARY = REPO / ".peers" / "vcsim" / "hybridview-vcsim"
READY_TIMEOUT = 60.0
COMMAND_TIMEOUT = 30.0


class VcsimPeerError(RuntimeError):
    """The peer could not start or a control command failed."""


def binary_path() -> Path:
    """Peer binary; HYBRIDVIEW_VCSIM_BIN overrides the default build output."""
    return Path(os.environ.get("HYBRIDVIEW_VCSIM_BIN", DEFAULT_BINARY))


class VcsimPeer:
    """One simulator process; use as a context manager or call close()."""

    url: str
    host: str
    port: int
    ca_file: str
    cert_file: str
    thumbprint_sha256: str
    instance_uuid: str
    datacenter_count: int
    datastore_count: int
    cluster_count: int
    host_count: int
    vm_count: int

    def __init__(
        self,
        *,
        datacenters: int = 1,
        clusters: int = 2,
        hosts: int = 3,
        standalone: int = 0,
        vms: int = 0,
        datastores: int = 1,
        username: str | None = None,
        password: str | None = None,
        cert_dir: str | os.PathLike[str] | None = None,
        listen: str = "127.0.0.1:0",
    ) -> None:
        self.username = username
        self.password = password
        self._args = [
            f"-datacenters={datacenters}",
            f"-clusters={clusters}",
            f"-hosts={hosts}",
            f"-standalone={standalone}",
            f"-vms={vms}",
            f"-datastores={datastores}",
            f"-listen={listen}",
        ]
        if username is not None:
            self._args.append(f"-username={username}")
        if password is not None:
            self._args.append(f"-password={password}")
        if cert_dir is not None:
            self._args.append(f"-cert-dir={os.fspath(cert_dir)}")
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._log: IO[bytes] | None = None
        self._pump: threading.Thread | None = None
        self.ready: dict[str, Any] = {}

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> VcsimPeer:
        """Launch the binary and wait for its ready line."""
        binary = binary_path()
        if not os.access(binary, os.X_OK):
            raise VcsimPeerError(f"vcsim peer binary not found at {binary}; run scripts/vcsim-build.sh")
        # stderr goes to an anonymous temp file: the simulator logs a lot, a
        # full pipe would stall it, and nothing is left behind if we are killed.
        self._log = tempfile.TemporaryFile(prefix="hybridview-vcsim-")
        self._proc = subprocess.Popen(
            [os.fspath(binary), *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self._pump = threading.Thread(target=self._pump_stdout, daemon=True)
        self._pump.start()
        try:
            self._apply_ready(self._next_line(READY_TIMEOUT, "ready line"))
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Ask the peer to quit, then escalate; never leaves a process behind."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._stop(proc)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> VcsimPeer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- control commands --------------------------------------------------

    def set_host_state(self, host: str, state: str) -> None:
        """Set runtime.connectionState (connected/disconnected/notResponding)."""
        self._command({"op": "set_host_state", "host": host, "connection_state": state})

    def list_hosts(self) -> list[dict[str, Any]]:
        """[{name, moref, cluster_moref, connection_state, in_maintenance, vms}], sorted by name."""
        return list(self._command({"op": "list_hosts"})["hosts"])

    def list_clusters(self) -> list[dict[str, Any]]:
        """[{name, moref, hosts, vms}], sorted by name."""
        return list(self._command({"op": "list_clusters"})["clusters"])

    def list_vms(self) -> list[dict[str, Any]]:
        """[{name, moref, instance_uuid, host, power_state, connection_state, vmx_path, datastores}], by name.

        ``host`` is the moref of ``runtime.host``; ``datastores`` the morefs of ``datastore``.
        """
        return list(self._command({"op": "list_vms"})["vms"])

    def set_cluster_ha(self, cluster: str, enabled: bool) -> None:
        """Set the cluster's (name or moref) configurationEx.dasConfig.enabled; only the flag, no HA agent."""
        self._command({"op": "set_cluster_ha", "cluster": cluster, "enabled": enabled})

    def set_cluster_drs(self, cluster: str, behavior: str, enabled: bool | None = None) -> None:
        """Set the cluster's configurationEx.drsConfig: defaultVmBehavior (manual, partiallyAutomated,
        fullyAutomated) and, when given, enabled. At start every cluster is DRS fullyAutomated."""
        command: dict[str, Any] = {"op": "set_cluster_drs", "cluster": cluster, "behavior": behavior}
        if enabled is not None:
            command["enabled"] = enabled
        self._command(command)

    def set_relocate_seconds(self, seconds: float) -> None:
        """How long a RelocateVM_Task runs from now on (progress rises meanwhile, CancelTask stops it);
        0, the default, ends it inside the call."""
        self._command({"op": "set_relocate_seconds", "seconds": seconds})

    def set_instance_uuid(self, vm: str, instance_uuid: str) -> None:
        """Give a VM (moref, or a name only it has) an instanceUuid, e.g. its Nova instance's id."""
        self._command({"op": "set_instance_uuid", "vm": vm, "instance_uuid": instance_uuid})

    def set_vm_usage(self, vm: str, *, memory_mb: int, cpu_mhz: int) -> None:
        """Set what a VM (moref, or a name only it has) uses now: summary.quickStats hostMemoryUsage (MB)
        and overallCpuUsage (MHz), which the simulator never sets on its own."""
        self._command({"op": "set_vm_usage", "vm": vm, "memory_mb": memory_mb, "cpu_mhz": cpu_mhz})

    def terminate_sessions(self) -> int:
        """Terminate every client session; returns how many were dropped."""
        return int(self._command({"op": "terminate_sessions"})["terminated"])

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the peer's throwaway CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- internals ---------------------------------------------------------

    def _apply_ready(self, line: str) -> None:
        data = self._decode(line)
        if not data.get("ready"):
            raise VcsimPeerError(f"vcsim peer failed to start: {data}")
        self.ready = data
        self.url = data["url"]
        self.host = data["host"]
        self.port = int(data["port"])
        self.ca_file = data["ca_file"]
        self.cert_file = data["cert_file"]
        self.thumbprint_sha256 = data["thumbprint_sha256"]
        self.instance_uuid = data["instance_uuid"]
        self.datacenter_count = int(data["datacenters"])
        self.cluster_count = int(data["clusters"])
        self.host_count = int(data["hosts"])
        self.vm_count = int(data["vms"])
        self.datastore_count = int(data["datastores"])

    def _command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise VcsimPeerError("vcsim peer is not running")
            try:
                proc.stdin.write(json.dumps(cmd) + "\n")
                proc.stdin.flush()
            except BrokenPipeError as exc:
                raise VcsimPeerError(f"vcsim peer died{self._log_tail()}") from exc
            answer = self._decode(self._next_line(COMMAND_TIMEOUT, cmd["op"]))
        if not answer.get("ok"):
            raise VcsimPeerError(f"{cmd['op']} failed: {answer.get('error')}")
        return answer

    def _pump_stdout(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # EOF marker

    def _next_line(self, timeout: float, what: str) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise VcsimPeerError(f"no {what} from vcsim peer within {timeout:.0f}s{self._log_tail()}") from None
        if line is None:
            raise VcsimPeerError(f"vcsim peer exited while waiting for {what}{self._log_tail()}")
        return line

    @staticmethod
    def _decode(line: str) -> dict[str, Any]:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VcsimPeerError(f"vcsim peer wrote non-JSON to stdout: {line!r}") from exc
        if not isinstance(data, dict):
            raise VcsimPeerError(f"unexpected vcsim peer output: {line!r}")
        return data

    def _stop(self, proc: subprocess.Popen[str]) -> None:
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write('{"op":"quit"}\n')
                proc.stdin.flush()
                proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        for escalate in (None, proc.terminate, proc.kill):
            if escalate is not None:
                escalate()
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        # The pump thread sees EOF once the process is gone.
        if self._pump is not None:
            self._pump.join(timeout=5)
            if not self._pump.is_alive() and proc.stdout is not None:
                proc.stdout.close()
            self._pump = None

    def _log_tail(self, limit: int = 2000) -> str:
        """Last bytes of the peer's stderr, for error messages."""
        if self._log is None:
            return ""
        fd = self._log.fileno()
        size = os.fstat(fd).st_size
        # pread leaves the offset the child shares with us untouched.
        text = os.pread(fd, limit, max(0, size - limit)).decode(errors="replace")
        return f"\n--- vcsim stderr (tail) ---\n{text}" if text else ""
