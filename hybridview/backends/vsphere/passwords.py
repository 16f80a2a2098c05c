"""vCenter passwords in the system keyring: service "hybridview", user = the vCenter's name in the config.

Every keyring failure (none installed, locked, refused) leaves as ``KeyringUnavailable``, one line.
``keyring`` is imported on first use: importing it takes about 0.1 s, which startup need not pay.
"""

from __future__ import annotations

from typing import Any

from hybridview.backends.base import BackendError

SERVICE = "hybridview"


class KeyringUnavailable(BackendError):
    """The system keyring could not be read or written; nothing was stored or deleted."""


def stored_password(name: str) -> str | None:
    """The password kept for vCenter ``name``, or None when there is none."""
    import keyring
    import keyring.errors

    try:
        value = keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise _unavailable(name, "read", exc) from exc
    return str(value) if value else None


def store_password(name: str, password: str) -> None:
    import keyring
    import keyring.errors

    if not password:
        raise ValueError(f"an empty password for {name!r} is not stored")
    try:
        keyring.set_password(SERVICE, name, password)
    except keyring.errors.KeyringError as exc:
        raise _unavailable(name, "store", exc) from exc


def forget_password(name: str) -> bool:
    """Delete the password kept for ``name``; False when there was none."""
    import keyring
    import keyring.errors

    try:
        if keyring.get_password(SERVICE, name) is None:
            return False
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False  # gone meanwhile
    except keyring.errors.KeyringError as exc:
        raise _unavailable(name, "delete", exc) from exc
    return True


def _unavailable(name: str, verb: str, exc: Any) -> KeyringUnavailable:
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        why = "no system keyring is available (install or unlock one, or use password_env)"
    elif isinstance(exc, keyring.errors.KeyringLocked):
        why = "the system keyring is locked (unlock it and try again)"
    else:
        text = str(exc).strip()
        why = f"the system keyring refused: {text.splitlines()[0] if text else type(exc).__name__}"
    return KeyringUnavailable(name, f"cannot {verb} the password of {name!r}: {why}")
