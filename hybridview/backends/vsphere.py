"""The real vCenter backend over pyVmomi. The only module that imports pyVmomi.

Reads go through one ContainerView and one RetrievePropertiesEx per object type
(paged with ContinueRetrievePropertiesEx); changes are followed with a
PropertyCollector filter and WaitForUpdatesEx. Every method blocks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from hybridview.backends import vsphere_inventory as inv
from hybridview.backends.base import BackendError
from hybridview.config import VCenterConfig
from hybridview.core.model import VCenterSnapshot, VSphereEvent

log = logging.getLogger(__name__)
T = TypeVar("T")
PC = vmodl.query.PropertyCollector
PAGE_SIZE = 1000
IDLE_CONNECTION_SECONDS = 60  # pooled connections idle longer are dropped, not reused half-dead
EVENT_REFRESH_SECONDS = 5.0
EVENT_WINDOW = timedelta(hours=6)
EVENT_TYPES = (
    "HostConnectionLostEvent",
    "HostDisconnectedEvent",
    "HostConnectedEvent",
    "HostReconnectionFailedEvent",
    "DasHostFailedEvent",
    "VmRestartedOnAlternateHostEvent",
    "EnteredMaintenanceModeEvent",
    "ExitMaintenanceModeEvent",
    "VmMigratedEvent",
    "DrsVmMigratedEvent",
)
# (object type, moref, "enter" | "modify" | "leave", [(op, property path, plain value)])
PlainUpdate = tuple[str, str, str, list[tuple[str, str, Any]]]
_TYPES: dict[str, type] = {
    inv.CLUSTER: vim.ClusterComputeResource,
    inv.HOST: vim.HostSystem,
    inv.VM: vim.VirtualMachine,
    inv.DATASTORE: vim.Datastore,
}


def password_for(config: VCenterConfig) -> str:
    if config.password_env:
        value = os.environ.get(config.password_env)
        if not value:
            raise BackendError(config.name, f"environment variable {config.password_env} is not set")
        return value
    import keyring

    value = keyring.get_password("hybridview", config.name)
    if not value:
        raise BackendError(
            config.name, f"no password in the system keyring for service 'hybridview', user {config.name!r}"
        )
    return str(value)


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
class _Session:
    """Everything bound to one login; rebuilt after the session expires."""

    si: Any
    content: Any
    instance_uuid: str
    version: str
    views: dict[str, Any]
    update_collector: Any | None = None
    update_version: str | None = None


class VSphereBackend:
    def __init__(
        self,
        config: VCenterConfig,
        *,
        password: Callable[[VCenterConfig], str] = password_for,
        timeout_seconds: float = 30.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.config = config
        self._password = password
        self._timeout = timeout_seconds
        self._page_size = page_size
        self._session: _Session | None = None
        self._state = inv.InventoryState()
        self._lock = threading.RLock()
        self._events: tuple[VSphereEvent, ...] = ()
        self._journal: list[PlainUpdate] | None = None
        self._events_read_at = 0.0
        self._closed = False
        self.round_trips = 0
        self.logins = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.config.verify is False and not self.config.thumbprint:
            return (f"TLS verification is OFF for {self.config.host}: anyone on the path can impersonate it",)
        return ()

    # -- sessions ----------------------------------------------------------------------

    def _login(self) -> _Session:
        cfg = self.config
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
                for kind, mo_type in _TYPES.items()
            }
            about = content.about
        except BaseException:
            Disconnect(si)
            raise
        self.logins += 1
        session = _Session(si, content, str(about.instanceUuid), f"{about.version} (build {about.build})", views)
        self._session = session
        return session

    def _with_session(self, call: Callable[[_Session], T]) -> T:
        """Run a call; an expired session is renewed once, transparently."""
        with self._lock:
            session = self._session or self._login()
        try:
            return call(session)
        except (vim.fault.NotAuthenticated, vmodl.fault.ManagedObjectNotFound) as exc:
            if not _session_lost(exc, session):
                raise
            log.info("vCenter %s session expired; logging in again", self.name)
        with self._lock:
            if self._session is session:  # another worker may have renewed it already
                self._session = None
                session.si._stub.DropConnections()
            session = self._session or self._login()
        try:
            return call(session)
        except vim.fault.NotAuthenticated as exc:
            raise BackendError(self.name, "session expired and logging in again did not help") from exc

    # -- reads -------------------------------------------------------------------------

    def fetch(self) -> VCenterSnapshot:
        return _translate_errors(self.name, lambda: self._with_session(self._fetch))

    def _fetch(self, session: _Session) -> VCenterSnapshot:
        with self._lock:
            self._journal = []  # feed updates that land while we read, replayed over the read
        try:
            rows = {kind: self._retrieve(session, kind) for kind in _TYPES}
            with self._lock:
                for kind, objects in rows.items():
                    self._state.replace_type(kind, objects)
                for update in self._journal or ():
                    self._apply(update)
        finally:
            with self._lock:
                self._journal = None
        self._refresh_alarm_names(session)
        self._read_events(session)
        return self._snapshot(session)

    def _snapshot(self, session: _Session) -> VCenterSnapshot:
        with self._lock:
            return inv.snapshot(
                self._state,
                self.name,
                session.instance_uuid,
                datetime.now(UTC),
                version=session.version,
                events=self._events,
            )

    def _filter_spec(self, session: _Session, kind: str) -> Any:
        traverse = PC.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
        return PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=session.views[kind], skip=True, selectSet=[traverse])],
            propSet=[PC.PropertySpec(type=_TYPES[kind], pathSet=list(inv.PROPERTIES[kind]))],
        )

    def _retrieve(self, session: _Session, kind: str) -> dict[str, inv.Props]:
        collector = session.content.propertyCollector
        self.round_trips += 1
        result = collector.RetrievePropertiesEx(
            [self._filter_spec(session, kind)], PC.RetrieveOptions(maxObjects=self._page_size)
        )
        rows: dict[str, inv.Props] = {}
        while result is not None:
            for content in result.objects:
                rows[content.obj._moId] = {prop.name: _plain(prop.name, prop.val) for prop in content.propSet}
            if not result.token:
                break
            self.round_trips += 1
            result = collector.ContinueRetrievePropertiesEx(result.token)
        return rows

    def _refresh_alarm_names(self, session: _Session) -> None:
        """Name newly triggered alarms; the lookups run outside the lock the change feed needs."""
        with self._lock:
            missing = self._state.alarm_morefs() - set(self._state.alarm_names)
        names = {moref: _alarm_name(session.si._stub, moref) for moref in missing}
        with self._lock:
            self._state.alarm_names.update(names)

    def _recent_events(self, session: _Session) -> tuple[VSphereEvent, ...]:
        spec = vim.event.EventFilterSpec(
            time=vim.event.EventFilterSpec.ByTime(beginTime=datetime.now(UTC) - EVENT_WINDOW),
            eventTypeId=list(EVENT_TYPES),
        )
        try:
            found = session.content.eventManager.QueryEvents(spec) or []
        except vmodl.MethodFault as exc:
            log.debug("events of %s unavailable: %s", self.name, exc.msg)
            return self._events
        return tuple(_event(e) for e in sorted(found, key=lambda e: e.createdTime)[-200:])

    # -- change feed -------------------------------------------------------------------

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        return _translate_errors(self.name, lambda: self._with_session(lambda s: self._wait(s, max_wait_seconds)))

    def _wait(self, session: _Session, max_wait_seconds: float) -> VCenterSnapshot | None:
        if session.update_collector is None:
            collector = session.content.propertyCollector.CreatePropertyCollector()
            for kind in _TYPES:
                collector.CreateFilter(self._filter_spec(session, kind), partialUpdates=False)
            session.update_collector = collector
            session.update_version = ""
        options = PC.WaitOptions(maxWaitSeconds=max(1, int(max_wait_seconds)))
        updates = session.update_collector.WaitForUpdatesEx(session.update_version, options)
        if updates is None:
            return None
        full_answer = session.update_version == ""
        session.update_version = updates.version
        plain = [
            update
            for filter_update in updates.filterSet or ()
            for change in filter_update.objectSet or ()
            if (update := _plain_update(change)) is not None
        ]
        self._absorb(plain, full_answer=full_answer)
        self._refresh_alarm_names(session)
        if time.monotonic() - self._events_read_at > EVENT_REFRESH_SECONDS:
            self._read_events(session)
        # A first answer (also after a re-login) may hold changes missed while no collector listened.
        return self._snapshot(session)

    def _absorb(self, plain: list[PlainUpdate], *, full_answer: bool) -> None:
        """Apply feed updates; a full read in progress replays them over what it read."""
        with self._lock:
            for update in plain:
                self._apply(update)
            if full_answer:  # a new collector's first answer is everything: what it omits is gone
                for kind in _TYPES:
                    self._state.retain(kind, {moref for k, moref, _op, _v in plain if k == kind})
            if self._journal is not None:
                self._journal.extend(plain)

    def _apply(self, update: PlainUpdate) -> None:
        kind, moref, update_kind, values = update
        if update_kind == "leave":
            self._state.leave(kind, moref)
        elif update_kind == "enter":
            self._state.enter(kind, moref, {name: value for _op, name, value in values})
        else:
            self._state.modify(kind, moref, values)

    def _read_events(self, session: _Session) -> None:
        self._events = self._recent_events(session)
        self._events_read_at = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            session, self._session = self._session, None
        if session is not None:
            try:
                Disconnect(session.si)
            except (vmodl.MethodFault, OSError) as exc:
                log.debug("logout from %s failed: %s", self.name, exc)


def _session_lost(exc: Exception, session: _Session) -> bool:
    """NotAuthenticated, or one of this session's own views gone (they die with the session)."""
    if isinstance(exc, vim.fault.NotAuthenticated):
        return True
    gone = getattr(getattr(exc, "obj", None), "_moId", None)
    ours = [v._moId for v in session.views.values()]
    if session.update_collector is not None:
        ours.append(session.update_collector._moId)
    return gone in ours


# -- value conversion --------------------------------------------------------------------


def _alarm_name(stub: Any, moref: str) -> str:
    try:
        return str(vim.alarm.Alarm(moref, stub).info.name)
    except vmodl.MethodFault:
        return moref


def _plain_update(change: Any) -> PlainUpdate | None:
    kind = _kind_of(change.obj)
    if kind is None:
        return None
    values = [(c.op, c.name, _plain(c.name, c.val)) for c in change.changeSet or ()]
    return kind, change.obj._moId, str(change.kind), values


def _kind_of(obj: Any) -> str | None:
    return next((kind for kind, mo_type in _TYPES.items() if isinstance(obj, mo_type)), None)


def _moref(value: Any) -> str | None:
    return value._moId if value is not None else None


def _cluster_config(value: Any) -> dict[str, Any]:
    das = getattr(value, "dasConfig", None)
    drs = getattr(value, "drsConfig", None)
    return {
        "ha_enabled": bool(das and das.enabled),
        "admission_control": das.admissionControlEnabled if das else None,
        "drs_enabled": bool(drs and drs.enabled),
    }


def _alarm_states(value: Any) -> list[dict[str, Any]]:
    return [
        {"alarm": s.alarm._moId, "status": str(s.overallStatus), "time": s.time.isoformat() if s.time else None}
        for s in value or ()
    ]


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "parent": _moref,
    "runtime.host": _moref,
    "datastore": lambda v: [m._moId for m in v or ()],
    "host": lambda v: [m.key._moId for m in v or ()],
    "configurationEx": _cluster_config,
    "triggeredAlarmState": _alarm_states,
    "runtime.dasHostState": lambda v: str(v.state) if v is not None else None,
    "summary.hardware": lambda v: (
        {"cpu_mhz": v.cpuMhz, "cores": v.numCpuCores, "memory_bytes": v.memorySize} if v else {}
    ),
    "summary.quickStats": lambda v: {"cpu_mhz": v.overallCpuUsage, "memory_mb": v.overallMemoryUsage} if v else {},
}


def _plain(path: str, value: Any) -> Any:
    converter = _CONVERTERS.get(path)
    if converter is not None:
        return converter(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def _event(event: Any) -> VSphereEvent:
    entity = None
    for attr in ("host", "vm", "computeResource"):  # EntityEventArgument holders, most specific first
        holder = getattr(event, attr, None)
        ref = getattr(holder, attr, None) if holder is not None else None
        if ref is not None:
            entity = ref._moId
            break
    created = event.createdTime if event.createdTime.tzinfo else event.createdTime.replace(tzinfo=UTC)
    return VSphereEvent(created, entity, type(event).__name__.rsplit(".", 1)[-1], str(event.fullFormattedMessage or ""))


def sha256_thumbprint(der_certificate: bytes) -> str:
    digest = hashlib.sha256(der_certificate).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _translate_errors(endpoint: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except BackendError:
        raise
    except ThumbprintMismatch as exc:
        raise BackendError(endpoint, f"{exc.args[0]}: refusing to log in") from exc
    except ssl.SSLCertVerificationError as exc:
        raise BackendError(endpoint, f"TLS certificate not trusted: {exc.verify_message}") from exc
    except ssl.SSLError as exc:
        raise BackendError(endpoint, f"TLS failure: {exc.reason or exc}") from exc
    except vim.fault.SSLVerifyFault as exc:
        raise BackendError(endpoint, "server certificate does not match the pinned thumbprint") from exc
    except vmodl.MethodFault as exc:
        raise BackendError(endpoint, f"{type(exc).__name__.rsplit('.', 1)[-1]}: {exc.msg}") from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise BackendError(endpoint, f"cannot reach vCenter: {exc}") from exc
    except Exception as exc:  # pyVmomi raises bare Exceptions for HTTP and pinning failures
        raise BackendError(endpoint, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
