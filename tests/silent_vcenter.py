"""A vCenter that never answers, and the settings entry that points a command at a vCenter."""

from __future__ import annotations

import socket
import threading

from tests.vcenters import VCSIM_USER

PASSWORD_ENV = "HV_TEST_VCSIM_PASSWORD"


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a hung vCenter."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


def vcenter_entry(name: str, port: int, verify: bool | str) -> dict[str, object]:
    """A ``vcenters:`` entry on 127.0.0.1; ``verify`` is a CA bundle path (or a bool)."""
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "user": VCSIM_USER,
        "password_env": PASSWORD_ENV,
        "verify": verify,
    }
