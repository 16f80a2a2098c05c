"""Logging in to vCenter: the password, the TLS context (CA or pinned thumbprint), the session and its renewal."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import ssl
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl
from pyVmomi.SoapAdapter import SoapStubAdapter

from hybridview.backends.base import BackendError
from hybridview.backends.vsphere.convert import MANAGED_TYPES
from hybridview.backends.vsphere.passwords import SERVICE, stored_password
from hybridview.config import VCenterConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
IDLE_CONNECTION_SECONDS = 60  # pooled connections idle longer are dropped, not reused half-dead


def password_for(config: VCenterConfig) -> str:
    if config.password_env:
        value = os.environ.get(config.password_env)
        if not value:
            raise BackendError(config.name, f"environment variable {config.password_env} is not set")
        return value
    value = stored_password(config.name)
    if not value:
        raise BackendError(
            config.name, f"no password in the system keyring for service {SERVICE!r}, user {config.name!r}"
        )
    return value


class ThumbprintMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one."""


class PinnedContext(ssl.SSLContext):
    """Accepts exactly one certificate, by SHA-256 thumbprint, on every connection it makes."""

    pinned_thumbprint = ""

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        tls = super().wrap_socket(*args, **kwargs)
        seen = sha256_thumbprint(tls.getpeercert(binary_form=True) or b"")
        if _bare(seen) != _bare(self.pinned_thumbprint):
            tls.close()
            raise ThumbprintMismatch(f"certificate thumbprint {seen} does not match the pinned one")
        return tls


def _bare(thumbprint: str) -> str:
    return thumbprint.replace(":", "").lower()


def sha256_thumbprint(der_certificate: bytes) -> str:
    digest = hashlib.sha256(der_certificate).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ssl_context_for(config: VCenterConfig) -> ssl.SSLContext:
    if config.thumbprint:
        pinned = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.check_hostname = False
        pinned.verify_mode = ssl.CERT_NONE  # identity comes from the pin, checked on each handshake
        pinned.pinned_thumbprint = config.thumbprint
        return pinned
    if config.verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # identity is checked by the pinned thumbprint, or deliberately not
        return context
    if isinstance(config.verify, str):
        return ssl.create_default_context(cafile=config.verify)
    return ssl.create_default_context()


@dataclass(slots=True)
class Session:
    """Everything bound to one login; rebuilt after the session expires."""

    si: Any
    content: Any
    instance_uuid: str
    version: str
    views: dict[str, Any]  # inventory kind -> ContainerView of every object of that type
    update_collector: Any | None = None
    update_version: str | None = None


class SessionKeeper:
    """A backend's one login: made on first use, renewed once when it expires, ended by close()."""

    def __init__(self, config: VCenterConfig, password: Callable[[VCenterConfig], str], timeout_seconds: float) -> None:
        self._config = config
        self._password = password
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._closed = False
        self.current: Session | None = None
        self.logins = 0

    def run(self, call: Callable[[Session], T]) -> T:
        """Run a call; an expired session is renewed once, transparently."""
        with self._lock:
            session = self.current or self._login()
        try:
            return call(session)
        except (vim.fault.NotAuthenticated, vmodl.fault.ManagedObjectNotFound) as exc:
            if not _session_lost(exc, session):
                raise
            log.info("vCenter %s session expired; logging in again", self._config.name)
        with self._lock:
            if self.current is session:  # another worker may have renewed it already
                self.current = None
                session.si._stub.DropConnections()
            session = self.current or self._login()
        try:
            return call(session)
        except vim.fault.NotAuthenticated as exc:
            raise BackendError(self._config.name, "session expired and logging in again did not help") from exc

    def _login(self) -> Session:
        cfg = self._config
        if self._closed:
            raise BackendError(cfg.name, "backend is closed")
        try:
            si = SmartConnect(
                host=cfg.host,
                port=cfg.port,
                user=cfg.user,
                pwd=self._password(cfg),
                sslContext=ssl_context_for(cfg),
                httpConnectionTimeout=self._timeout,
                connectionPoolTimeout=IDLE_CONNECTION_SECONDS,
            )
        except vim.fault.InvalidLogin as exc:
            raise BackendError(cfg.name, f"login refused for {cfg.user}: check the user and password") from exc
        try:
            content = si.RetrieveContent()
            views = {
                kind: content.viewManager.CreateContainerView(content.rootFolder, [mo_type], True)
                for kind, mo_type in MANAGED_TYPES.items()
            }
            about = content.about
        except BaseException:
            Disconnect(si)
            raise
        self.logins += 1
        session = Session(si, content, str(about.instanceUuid), f"{about.version} (build {about.build})", views)
        self.current = session
        return session

    def close(self) -> None:
        """Log out; later calls fail instead of logging in again."""
        with self._lock:
            self._closed = True
            session, self.current = self.current, None
        if session is not None:
            try:
                Disconnect(session.si)
            except (vmodl.MethodFault, OSError) as exc:
                log.debug("logout from %s failed: %s", self._config.name, exc)


def close_connections_left_in(exc: BaseException) -> None:
    """Close the connections a failed call left behind, now rather than at the next full GC.

    A refused login, a failed TLS check or an answer pyVmomi cannot parse leaves its connection
    neither pooled nor closed, held by pyVmomi's frames in a reference cycle (a local holds the
    traceback that holds the frame). Close what those frames hold, then clear them.
    """
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in frames:
        for value in list(frame.f_locals.values()):
            if isinstance(value, SoapStubAdapter):
                value.DropConnections()
            elif isinstance(value, http.client.HTTPConnection | http.client.HTTPResponse):
                value.close()  # an unread answer keeps its socket open through its file
    if exc.__traceback__ is not None:
        traceback.clear_frames(exc.__traceback__)


def _session_lost(exc: Exception, session: Session) -> bool:
    """NotAuthenticated, or one of this session's own views gone (they die with the session)."""
    if isinstance(exc, vim.fault.NotAuthenticated):
        return True
    gone = getattr(getattr(exc, "obj", None), "_moId", None)
    ours = [v._moId for v in session.views.values()]
    if session.update_collector is not None:
        ours.append(session.update_collector._moId)
    return gone in ours
