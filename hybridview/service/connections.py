"""Connections managed in the app: list clouds.yaml's clouds, test a cloud or a vCenter, save them.

Qt-free. The window calls these through ``EstateMonitor.offload`` (a blocking test runs in the
monitor's workers, never on the GUI thread); a CLI could call them the same way.
CONTRACT: the signatures below are fixed; the bodies are being written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hybridview.config import CloudConfig, VCenterConfig
from hybridview.core.model import EndpointKind


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
    """The cloud names of clouds.yaml (openstacksdk's search path, or that file), sorted."""
    raise NotImplementedError


def test_cloud(cloud: CloudConfig, timeout_seconds: float = 15.0) -> ConnectionTest:
    """Blocking: connect with openstacksdk, authenticate, read the compute versions, probe admin reads."""
    raise NotImplementedError


def test_vcenter(vcenter: VCenterConfig, password: str | None, timeout_seconds: float = 15.0) -> ConnectionTest:
    """Blocking: TLS (verify, CA or pin), log in with ``password`` (None: the stored one), version, privileges."""
    raise NotImplementedError


def save_connections(
    path: Path,
    clouds: Sequence[CloudConfig],
    vcenters: Sequence[VCenterConfig],
    passwords: Mapping[str, str],
) -> None:
    """Write the clouds and vCenters to the config file atomically, keeping its other keys.

    ``passwords`` (vCenter name -> password) go to the system keyring, never to the file; a
    vCenter saved with a password gets ``keyring: true``. A vCenter removed from the list has its
    keyring entry deleted. Raises ``ConfigError`` naming the key when the result would not load.
    """
    raise NotImplementedError
