"""The Connections dialog's parts without Qt: the entries (what is in the file, what changed here, each
latest test), what they say in a few words, and the checks of a vCenter form's fields."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from hybridview.config import CloudConfig, Config, VCenterConfig, load
from hybridview.service import connections
from hybridview.service.connections import ConnectionTest

Endpoint = CloudConfig | VCenterConfig
STEPS = ("reachable", "authenticated", "version", "privileges")
FATAL_STEPS = ("reachable", "authenticated")  # the others are shown, not fatal (ConnectionTest.ok)
CHECK_WORDS = {"ok": "ok", "critical": "FAILED", "warning": "lacking"}
MARKS = {"ok": "✔ ", "critical": "✖ ", "warning": "⚠ ", "stale": ""}  # where no icon is: a sign with the words
_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}")
_HEX = re.compile(r"[0-9A-Fa-f]{64}")


class TlsMode(StrEnum):
    SYSTEM = "Verify with the system's CA certificates"
    CA = "Verify with a CA bundle"
    PIN = "Pin the certificate's SHA-256 thumbprint"
    OFF = "Do not verify (insecure)"


# -- checks (plain functions of the typed text) -----------------------------------------------------


def name_problem(name: str, taken: Collection[str]) -> str | None:
    """A name every endpoint, cloud or vCenter, has to itself (status and staleness are keyed by it)."""
    if not name:
        return "a name is required"
    if name != name.strip():
        return "no spaces at the start or the end"
    if "/" in name:
        return "no '/' (node_map names a cluster as <vcenter name>/<cluster>)"
    if name in taken:
        return f"{name!r} is already the name of another cloud or vCenter"
    return None


def host_problem(host: str) -> str | None:
    if not host:
        return "a host name or address is required"
    if "://" in host or "/" in host:
        return "the host name or address only, without https:// or a path"
    if any(c.isspace() for c in host):
        return "no spaces in a host name"
    return None


def port_problem(text: str) -> str | None:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        return "a TCP port number from 1 to 65535"
    return None


def thumbprint_problem(text: str) -> str | None:
    if not (_HEX.fullmatch(text) or _HEX_PAIRS.fullmatch(text)):
        return "a SHA-256 thumbprint: 64 hex digits, or 32 pairs joined by ':' (AB:CD:…)"
    return None


def normal_thumbprint(text: str) -> str:
    """AB:CD:… in capitals, as the backend writes a certificate's thumbprint."""
    bare = text.replace(":", "").upper()
    return ":".join(bare[i : i + 2] for i in range(0, len(bare), 2))


def tls_mode_of(vcenter: VCenterConfig) -> TlsMode:
    if vcenter.thumbprint:
        return TlsMode.PIN
    if vcenter.verify is False:
        return TlsMode.OFF
    return TlsMode.CA if isinstance(vcenter.verify, str) else TlsMode.SYSTEM


@dataclass(frozen=True, slots=True)
class VCenterFields:
    """The vCenter form as typed."""

    name: str
    host: str
    port: str
    user: str
    password: str
    tls: TlsMode
    ca_file: str = ""
    thumbprint: str = ""


def vcenter_problems(fields: VCenterFields, taken: Collection[str], password_needed: bool) -> dict[str, str]:
    """Field name -> what is wrong with it; empty when the form can be taken."""
    found = {
        "name": name_problem(fields.name, taken),
        "host": host_problem(fields.host),
        "port": port_problem(fields.port),
        "user": None if fields.user.strip() else "a user name is required",
        "password": "a password is required" if password_needed and not fields.password else None,
        "ca_file": "the CA bundle's path is required" if fields.tls is TlsMode.CA and not fields.ca_file else None,
        "thumbprint": thumbprint_problem(fields.thumbprint) if fields.tls is TlsMode.PIN else None,
    }
    return {field: problem for field, problem in found.items() if problem}


def vcenter_config(fields: VCenterFields, current: VCenterConfig | None, new_password: bool) -> VCenterConfig:
    """The entry the form describes; a new password goes to the keyring (``keyring: true``), never the file."""
    verify: bool | str = False if fields.tls is TlsMode.OFF else (fields.ca_file if fields.tls is TlsMode.CA else True)
    base = current or VCenterConfig(name=fields.name, host=fields.host, user=fields.user)
    made = replace(
        base,
        name=fields.name,
        host=fields.host,
        port=int(fields.port),
        user=fields.user.strip(),
        verify=verify,
        thumbprint=normal_thumbprint(fields.thumbprint) if fields.tls is TlsMode.PIN else None,
    )
    return replace(made, keyring=True, password_env=None) if new_password else made


@dataclass(frozen=True, slots=True)
class Entry:
    config: Endpoint
    saved: Endpoint | None = None  # as in the file; None: added here
    password: str | None = None  # typed here; it goes to the keyring on save
    outcome: ConnectionTest | str | None = None  # the latest test, or why it could not run
    tested: tuple[Endpoint, str | None] | None = None  # what that test ran on

    @property
    def kind(self) -> str:
        return "cloud" if isinstance(self.config, CloudConfig) else "vCenter"

    @property
    def changed(self) -> bool:
        return self.saved != self.config or self.password is not None

    @property
    def test_is_current(self) -> bool:
        return self.tested == (self.config, self.password)

    @property
    def passed(self) -> bool:
        return isinstance(self.outcome, ConnectionTest) and self.outcome.ok and self.test_is_current


def read_config(path: Path) -> Config:
    """In a worker: the file's settings; none yet when there is no file."""
    return load(str(path)) if path.exists() else Config(path=None)


def run_test(config: Endpoint, password: str | None) -> ConnectionTest:
    """In a worker: the test of one entry."""
    if isinstance(config, CloudConfig):
        return connections.test_cloud(config)
    return connections.test_vcenter(config, password)


def endpoint_text(config: Endpoint) -> str:
    if isinstance(config, CloudConfig):
        return f"clouds.yaml: {config.clouds_yaml or 'search path'}"
    tls = {
        TlsMode.SYSTEM: "system CAs",
        TlsMode.CA: f"CA {config.verify}",
        TlsMode.PIN: f"pinned {(config.thumbprint or '')[:11]}…",
        TlsMode.OFF: "NOT VERIFIED",
    }[tls_mode_of(config)]
    return f"{config.user} @ {config.host}:{config.port} · TLS: {tls}"


def outcome_text(entry: Entry) -> tuple[str, str]:
    """The latest test in a few words, and its icon's name."""
    outcome = entry.outcome
    if outcome is None:
        return "not tested", "stale"
    if isinstance(outcome, str):
        return f"could not run: {outcome}", "critical"
    if not entry.test_is_current:
        return "changed since the test: test again", "stale"
    failed = next((c for c in outcome.checks if not c.ok), None)
    if not outcome.ok:
        return (f"failed: {failed.step}: {failed.text}" if failed else "failed"), "critical"
    if failed is not None:
        return f"passed; {failed.step}: {failed.text}", "warning"
    return f"passed ({outcome.version})" if outcome.version else "passed", "ok"


def check_rows(outcome: ConnectionTest) -> list[tuple[str, str, str]]:
    """(icon name, step, text) for every step, in order; those after a failed step were not run."""
    done = {c.step: c for c in outcome.checks}
    rows = []
    for step in STEPS:
        check = done.get(step)
        if check is None:
            rows.append(("stale", f"{step}: not run", "an earlier step failed"))
        else:
            level = "ok" if check.ok else ("critical" if step in FATAL_STEPS else "warning")
            rows.append((level, f"{step}: {CHECK_WORDS[level]}", check.text))
    return rows


def keyring_name(entry: Entry) -> str | None:
    """The name the system keyring holds this entry's saved password under, if it does."""
    saved = entry.saved
    return saved.name if isinstance(saved, VCenterConfig) and saved.keyring and not saved.password_env else None


def saved_test(entry: Entry) -> tuple[Endpoint, str | None] | None:
    """After saving, a test of what was saved still holds (the password now being the stored one)."""
    return (entry.config, None) if entry.test_is_current else entry.tested


def change_text(entry: Entry) -> str:
    if not entry.changed:
        return "saved"
    return "added, not saved" if entry.saved is None else "edited, not saved"


def removal_text(entry: Entry) -> str:
    """What removing ``entry`` removes besides its lines in the file."""
    config, stored = entry.config, keyring_name(entry)
    if entry.saved is None:
        return "It was added here and never saved."
    if isinstance(config, CloudConfig):
        return "hybridview stops watching it from its next start; clouds.yaml itself is not changed."
    if stored:
        return f"Its password in the system keyring (service “hybridview”, user “{stored}”) is deleted too."
    return f"Its password stays in ${config.password_env}, which is yours to unset."


def saved_text(path: Path, clouds: int, vcenters: int, with_passwords: list[str]) -> str:
    stored = (
        f"; the password of {', '.join(with_passwords)} is in the system keyring, not the file"
        if with_passwords
        else ""
    )
    return (
        f"✔ Wrote {clouds} cloud(s) and {vcenters} vCenter(s) to {path}{stored}. "
        "The window keeps watching what it started with; it watches the saved connections from its next start."
    )
