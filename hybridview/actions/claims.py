"""Never twice: an action key is held while its action runs, in this process and across processes.

Within a process a set of held keys refuses a second submission at once. Across
processes (the window and a CLI run at the same time) each key is an exclusive
``flock`` on a small file: the kernel releases it when its process dies, so a crash
never leaves a key held.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from hybridview.core.actions import ActionKey


class AlreadyRunning(Exception):
    def __init__(self, keys: Iterable[ActionKey]) -> None:
        self.keys = tuple(keys)
        names = "; ".join(str(k) for k in self.keys[:3]) + (" …" if len(self.keys) > 3 else "")
        super().__init__(f"already running, not sent again: {names}")


class Claims:
    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._held: dict[ActionKey, int | None] = {}  # key -> its lock file descriptor
        self._lock = threading.Lock()

    def held(self, key: ActionKey) -> bool:
        return key in self._held

    def claim(self, keys: Iterable[ActionKey]) -> None:
        """Hold every key, or none of them and raise AlreadyRunning naming those held elsewhere."""
        keys = list(dict.fromkeys(keys))
        with self._lock:
            busy = [k for k in keys if k in self._held]
            taken: dict[ActionKey, int | None] = {}
            if not busy:
                for key in keys:
                    fd = self._lock_file(key)
                    if fd == -1:
                        busy.append(key)
                        continue
                    taken[key] = fd
            if busy:
                for fd in taken.values():
                    _close(fd)
                raise AlreadyRunning(busy)
            self._held.update(taken)

    def release(self, key: ActionKey) -> None:
        with self._lock:
            fd = self._held.pop(key, None)
        _close(fd)

    def _lock_file(self, key: ActionKey) -> int | None:
        """The locked descriptor, None without a directory, -1 when another process holds it."""
        if self._directory is None:
            return None
        self._directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(f"{key.endpoint}\0{key.verb}\0{key.target}".encode()).hexdigest()[:32]
        fd = os.open(self._directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return -1
        return fd


def _close(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)  # closing the descriptor releases its flock
