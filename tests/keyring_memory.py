"""Keyring backends for tests: the real ``keyring`` API runs, the secrets stay out of the user's keyring.

Select one in-process with ``keyring.set_keyring(MemoryKeyring())`` (the ``memory_keyring`` fixture
below does that and puts the previous one back), or in a child process with
``PYTHON_KEYRING_BACKEND=tests.keyring_memory.FileKeyring`` and ``HYBRIDVIEW_TEST_KEYRING=<json file>``.
``LockedKeyring`` refuses every call, as a locked system keyring does. None of them is ever picked
by keyring's own detection (their priority raises unless chosen as above): importing this module
does not change the keyring of the process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from jaraco.classes.properties import classproperty  # keyring's own helper for a backend's priority

FILE_ENV = "HYBRIDVIEW_TEST_KEYRING"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Passwords in a dict, by (service, user)."""

    @classproperty
    def priority(cls) -> float:  # noqa: N805 (a class property)
        raise RuntimeError("a test keyring is only used when chosen with keyring.set_keyring")

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(f"no password for {username!r} in {service!r}")


class FileKeyring(MemoryKeyring):
    """A MemoryKeyring kept in the JSON file ``$HYBRIDVIEW_TEST_KEYRING``, so child processes share it."""

    @classproperty
    def priority(cls) -> float:  # noqa: N805 (a class property)
        if FILE_ENV not in os.environ:
            raise RuntimeError(f"{FILE_ENV} names no file")
        return 1.0

    def __init__(self) -> None:
        super().__init__()
        self.path = Path(os.environ[FILE_ENV])
        if self.path.exists():
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.passwords = {(service, user): pw for service, user, pw in stored}

    def _save(self) -> None:
        rows = [[service, user, pw] for (service, user), pw in sorted(self.passwords.items())]
        self.path.write_text(json.dumps(rows), encoding="utf-8")

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        self._save()

    def delete_password(self, service: str, username: str) -> None:
        super().delete_password(service, username)
        self._save()


class LockedKeyring(keyring.backend.KeyringBackend):
    """A keyring that is there but locked: every call raises ``KeyringLocked``."""

    @classproperty
    def priority(cls) -> float:  # noqa: N805 (a class property)
        raise RuntimeError("a test keyring is only used when chosen with keyring.set_keyring")

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty MemoryKeyring as the keyring for one test; the previous one comes back after it."""
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)
