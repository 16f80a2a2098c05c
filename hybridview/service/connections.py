"""Connections managed in the app: list clouds.yaml's clouds, test a cloud or a vCenter, save them.

Qt-free. The window calls these through ``EstateMonitor.offload`` (a blocking test runs in the
monitor's workers, never on the GUI thread); a CLI could call them the same way. The SDK work is
the backends' (``backends/nova/probe.py``, ``backends/vsphere/probe.py``, the keyring in
``backends/vsphere/passwords.py``), the file's ``config_write``; the backends are imported on first
use, as ``wiring`` does, so the window starts without them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridview import config_write
from hybridview.config import CloudConfig, ConfigError, VCenterConfig
from hybridview.core.model import EndpointKind

if TYPE_CHECKING:
    from hybridview.backends.probing import Probe


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """The outcome of one step of a test: reachable, authenticated, version, privileges."""

    step: str  # "reachable" | "authenticated" | "version" | "privileges"
    ok: bool
    text: str  # one line: what was found, or why it failed


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    name: str
    kind: EndpointKind
    checks: tuple[ConnectionCheck, ...]  # in order; a failed step ends the test (the later ones are absent)
    version: str | None = None  # e.g. "compute 2.96" or "VMware vCenter Server 8.0.2"
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Reachable and authenticated; missing privileges are shown, not fatal."""
        return any(c.step == "authenticated" and c.ok for c in self.checks) and all(
            c.ok for c in self.checks if c.step in ("reachable", "authenticated")
        )


def cloud_names(clouds_yaml: str | None = None) -> tuple[str, ...]:
    """The cloud names of clouds.yaml (openstacksdk's search path, or that file), sorted.

    () when the search path has no clouds.yaml; ValueError (one line) when the named file does not load.
    """
    from hybridview.backends.base import BackendError
    from hybridview.backends.nova import session

    try:
        return session.cloud_names([clouds_yaml] if clouds_yaml else None)
    except BackendError as exc:
        raise ValueError(exc.message) from None


def test_cloud(cloud: CloudConfig, timeout_seconds: float = 15.0) -> ConnectionTest:  # noqa: PT028 (no pytest test)
    """Blocking: connect with openstacksdk, authenticate, read the compute versions, probe admin reads."""
    from hybridview.backends.nova.probe import probe_cloud

    started = time.monotonic()
    probe = probe_cloud(cloud.name, [cloud.clouds_yaml] if cloud.clouds_yaml else None, timeout_seconds)
    return _result(cloud.name, EndpointKind.NOVA, probe, started)


def test_vcenter(
    vcenter: VCenterConfig,
    password: str | None,
    timeout_seconds: float = 15.0,  # noqa: PT028 (no pytest test)
) -> ConnectionTest:
    """Blocking: TLS (verify, CA or pin), log in with ``password`` (None: the stored one), version, privileges.

    The stored password is the one the backend would use: ``password_env``, else the keyring. An empty
    password means the stored one too (as in ``save_connections``). The session is logged out at the end.
    """
    from hybridview.backends.vsphere.probe import probe_vcenter

    started = time.monotonic()
    probe = probe_vcenter(vcenter, password or None, timeout_seconds)
    return _result(vcenter.name, EndpointKind.VCENTER, probe, started)


# Not pytest tests, though named like them: a test module that imports them must not collect them.
test_cloud.__test__ = False  # type: ignore[attr-defined]
test_vcenter.__test__ = False  # type: ignore[attr-defined]


def _result(name: str, kind: EndpointKind, probe: Probe, started: float) -> ConnectionTest:
    checks = tuple(ConnectionCheck(o.step, o.ok, o.text) for o in probe.outcomes)
    return ConnectionTest(name, kind, checks, probe.version, time.monotonic() - started)


def save_connections(
    path: Path,
    clouds: Sequence[CloudConfig],
    vcenters: Sequence[VCenterConfig],
    passwords: Mapping[str, str],
) -> None:
    """Write the clouds and vCenters to the config file atomically, keeping its other keys.

    ``passwords`` (vCenter name -> password) go to the system keyring, never to the file; a
    vCenter saved with a password gets ``keyring: true`` (and loses ``password_env``, which the
    backend would read first). An empty password keeps the stored one. A vCenter removed from the
    list that had ``keyring: true`` has its keyring entry deleted. Raises ``ConfigError`` naming the
    key when the result would not load. The keyring is changed first, then the file: a keyring
    that fails (none, locked) raises ConfigError and the file is not touched; a file write that
    fails after the keyring changed says what the keyring now holds.
    """
    from hybridview.backends.vsphere.passwords import KeyringUnavailable, forget_password, store_password

    given = {name: password for name, password in passwords.items() if password}
    keys = {v.name: f"vcenters[{i}]" for i, v in enumerate(vcenters)}
    for name in given:
        if name not in keys:
            raise ConfigError(path, "vcenters", f"a password was given for {name!r}, which is not in the list")
    saved = [replace(v, keyring=True, password_env=None) if v.name in given else v for v in vcenters]
    removed = [name for name in _keyring_names(config_write.read_mapping(path)) if name not in keys]
    config_write.check_endpoints(path, clouds, saved)  # a bad result touches neither the keyring nor the file
    changed: list[str] = []
    name = ""
    try:
        for name, password in given.items():
            store_password(name, password)
            changed.append(f"stored the password of {name!r}")
        for name in removed:
            if forget_password(name):
                changed.append(f"deleted the password of {name!r}")
    except KeyringUnavailable as exc:
        before = f" (before it: {', '.join(changed)})" if changed else ""
        problem = f"{exc.message}; nothing was written to the file{before}"
        raise ConfigError(path, keys.get(name, "vcenters"), problem) from exc
    try:
        config_write.save_endpoints(path, clouds, saved)
    except ConfigError as exc:
        if not changed:
            raise
        problem = f"{exc.problem}; the system keyring was changed: {', '.join(changed)}"
        raise ConfigError(exc.path, exc.key, problem) from exc


def _keyring_names(data: Mapping[str, Any]) -> list[str]:
    """The vCenters of a settings mapping whose password is in the keyring."""
    entries = data.get("vcenters")
    if not isinstance(entries, list):
        return []
    return [str(e["name"]) for e in entries if isinstance(e, Mapping) and e.get("keyring") is True and e.get("name")]
