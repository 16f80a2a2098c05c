"""Testing a vCenter before it is saved: reachable (TCP and TLS), login, version, privileges; then log out.

TLS and login are the backend's own (``session.ssl_context_for``, ``session.SessionKeeper``), so a
test passes exactly when the backend would connect. Privileges are asked of
``AuthorizationManager.HasPrivilegeOnEntities`` for this session: System.Read on the root folder,
and on each cluster every privilege a write of hybridview needs. Nothing is changed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from functools import partial
from typing import Any

from hybridview.backends.base import BackendError
from hybridview.backends.probing import Probe
from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.errors import translate_errors
from hybridview.backends.vsphere.session import Session, SessionKeeper, password_for, ssl_context_for
from hybridview.config import VCenterConfig

READ = "System.Read"
# What each write of hybridview needs on the VMs and hosts of a cluster (granted there or above).
WRITE_PRIVILEGES = {
    "VirtualMachine.Interact.PowerOn": "restarting VMs",
    "VirtualMachine.Inventory.Unregister": "restarting a dead host's VMs elsewhere",
    "VirtualMachine.Inventory.Register": "restarting a dead host's VMs elsewhere",
    "Resource.HotMigrate": "vMotion",
    "Resource.ColdMigrate": "moving powered-off VMs",
    "Host.Config.Maintenance": "maintenance mode",
}
NAMES_SHOWN = 3  # entities named per missing privilege; the rest are counted


def probe_vcenter(config: VCenterConfig, password: str | None, timeout_seconds: float) -> Probe:
    """Run the four steps; ``password`` None means the stored one (env var or keyring, as the backend reads it)."""
    probe = Probe(timeout_seconds)
    handshake = partial(_handshake, config, probe.remaining())
    if not probe.run("reachable", partial(translate_errors, config.name, handshake)):
        return probe
    given: Callable[[VCenterConfig], str] = password_for if password is None else (lambda _cfg: password)
    keeper = SessionKeeper(config, given, probe.remaining())
    try:
        _VCenterProbe(config, keeper, probe).run()
    finally:
        keeper.close()  # logs out
    return probe


def _handshake(config: VCenterConfig, timeout: float) -> str:
    """Connect and shake hands as the backend's login will: the same TLS context (CA, or the pin)."""
    context = ssl_context_for(config)
    with (
        socket.create_connection((config.host, config.port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=config.host),
    ):
        pass
    if config.thumbprint:
        tls = "the certificate is the pinned one"
    elif config.verify is False:
        tls = "the certificate is NOT verified (verify: false)"
    elif isinstance(config.verify, str):
        tls = f"the certificate is trusted by {config.verify}"
    else:
        tls = "the certificate is trusted by the system's CAs"
    return f"{config.host}:{config.port} answers over TLS; {tls}"


class _VCenterProbe:
    def __init__(self, config: VCenterConfig, keeper: SessionKeeper, probe: Probe) -> None:
        self.config = config
        self.keeper = keeper
        self.probe = probe

    def run(self) -> None:
        steps = {"authenticated": self.authenticated, "version": self.version, "privileges": self.privileges}
        for step, call in steps.items():
            if not self.probe.run(step, partial(self._in_session, call)):
                return

    def _in_session(self, call: Callable[[Session], str]) -> str:
        return translate_errors(self.config.name, lambda: self.keeper.run(call))

    def authenticated(self, session: Session) -> str:
        user = session.content.sessionManager.currentSession.userName
        return f"logged in as {user}"

    def version(self, session: Session) -> str:
        about = session.content.about
        self.probe.version = str(about.fullName)
        return f"{about.fullName} (API {about.apiVersion}, instance {about.instanceUuid})"

    def privileges(self, session: Session) -> str:
        content = session.content
        clusters = list(session.views[inv.CLUSTER].view)
        wanted = [READ, *WRITE_PRIVILEGES]
        answers = content.authorizationManager.HasPrivilegeOnEntities(
            entity=[content.rootFolder, *clusters], sessionId=content.sessionManager.currentSession.key, privId=wanted
        )
        # System.Read is needed everywhere; the writes where the VMs and hosts are (the root, if no cluster)
        needed = {content.rootFolder._moId: [READ] if clusters else wanted}
        missing: dict[str, list[Any]] = {}  # privilege -> the entities that lack it
        for answer in answers:
            for grant in answer.privAvailability:
                if not grant.isGranted and grant.privId in needed.get(answer.entity._moId, wanted):
                    missing.setdefault(grant.privId, []).append(answer.entity)
        where = f"the root folder and {len(clusters)} cluster{'s' if len(clusters) != 1 else ''}"
        if not missing:
            return f"all {len(wanted)} privileges hybridview uses are granted on {where}"
        raise BackendError(self.config.name, _missing_text(missing))


def _missing_text(missing: dict[str, list[Any]]) -> str:
    """One part per set of entities: ``missing on C1, C2: A, B (vMotion, maintenance mode refused)``."""
    by_entities: dict[tuple[str, ...], list[str]] = {}
    for privilege, entities in missing.items():
        by_entities.setdefault(tuple(e._moId for e in entities), []).append(privilege)
    parts = []
    for privileges in by_entities.values():
        refused = ", ".join(dict.fromkeys(WRITE_PRIVILEGES.get(p, "reading the inventory") for p in privileges))
        parts.append(f"missing on {_named(missing[privileges[0]])}: {', '.join(privileges)} ({refused} refused)")
    return "; ".join(parts)


def _named(entities: list[Any]) -> str:
    names = [str(e.name) for e in entities[:NAMES_SHOWN]]
    more = len(entities) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")
