"""VSphereBackend: one vCenter over pyVmomi. Every method blocks.

Full reads (reads.py) and the change feed (feed.py) meet in one InventoryState under
one lock; a feed update that lands during a full read is replayed over what it read.
Writes (actions.py) share the login, never that lock or the state: what they change
reaches the state the way any change does, through the feed or the next full read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from hybridview.backends.base import TaskProgress, VmPlacement, WriteReceipt
from hybridview.backends.vsphere import actions, feed, moves, reads
from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.convert import FOLLOWED_TYPES
from hybridview.backends.vsphere.errors import translate_errors
from hybridview.backends.vsphere.feed import PlainUpdate
from hybridview.backends.vsphere.session import Session, SessionKeeper, password_for
from hybridview.config import VCenterConfig
from hybridview.core.model import VCenterSnapshot, VSphereEvent

T = TypeVar("T")
PAGE_SIZE = 1000
EVENT_REFRESH_SECONDS = 5.0
USAGE_SAMPLE_SECONDS = 60.0  # how old a VM's quickStats get between full reads (inventory.SAMPLED)


class VSphereBackend:
    def __init__(
        self,
        config: VCenterConfig,
        *,
        password: Callable[[VCenterConfig], str] = password_for,
        timeout_seconds: float = 30.0,
        page_size: int = PAGE_SIZE,
        task_timeout_seconds: float = actions.TASK_TIMEOUT_SECONDS,
        usage_sample_seconds: float = USAGE_SAMPLE_SECONDS,
    ) -> None:
        self.config = config
        self._page_size = page_size
        self._usage_sample_seconds = usage_sample_seconds
        self._task_timeout = task_timeout_seconds
        self._sessions = SessionKeeper(config, password, timeout_seconds)
        self._state = inv.InventoryState()
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()  # one write at a time; reads and the feed go on beside it
        self._tasks = moves.StartedTasks()
        self._events: tuple[VSphereEvent, ...] = ()
        self._journal: list[PlainUpdate] | None = None
        self._events_read_at = 0.0
        self._usage_read_at = 0.0
        self._skipped: tuple[str, ...] = ()  # the objects the last snapshot had to skip
        self._taken_at = datetime.min.replace(tzinfo=UTC)  # the last snapshot's time
        self.round_trips = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def logins(self) -> int:
        return self._sessions.logins

    @property
    def warnings(self) -> tuple[str, ...]:
        tls: tuple[str, ...] = ()
        if self.config.verify is False and not self.config.thumbprint:
            tls = (f"TLS verification is OFF for {self.config.host}: anyone on the path can impersonate it",)
        return tls + self._skipped  # no lock: the event loop reads this, and one attribute read is atomic

    # -- full reads ----------------------------------------------------------------------

    def fetch(self) -> VCenterSnapshot:
        return translate_errors(self.name, lambda: self._sessions.run(self._fetch))

    def _fetch(self, session: Session) -> VCenterSnapshot:
        with self._lock:
            self._journal = []  # feed updates that land while we read, replayed over the read
        self._usage_read_at = time.monotonic()  # the read takes the sampled paths too
        try:
            rows = {kind: self._retrieve(session, kind) for kind in FOLLOWED_TYPES}
            with self._lock:
                for kind, objects in rows.items():
                    self._state.replace_type(kind, objects)
                for update in self._journal or ():
                    feed.apply(self._state, update)
        finally:
            with self._lock:
                self._journal = None
        self._refresh_alarm_names(session)
        self._read_events(session)
        return self._snapshot(session)

    def _retrieve(self, session: Session, kind: str) -> dict[str, inv.Props]:
        rows, round_trips = reads.retrieve(session, kind, self._page_size)
        self.round_trips += round_trips
        return rows

    def _snapshot(self, session: Session) -> VCenterSnapshot:
        with self._lock:
            self._taken_at = later_than(self._taken_at, datetime.now(UTC))
            mapped = inv.snapshot(
                self._state,
                self.name,
                session.instance_uuid,
                self._taken_at,
                version=session.version,
                events=self._events,
            )
            self._skipped = mapped.warnings
        return mapped.value

    def _refresh_alarm_names(self, session: Session) -> None:
        """Name newly triggered alarms; the lookups run outside the lock the change feed needs."""
        with self._lock:
            missing = self._state.alarm_morefs() - set(self._state.alarm_names)
        names = {moref: reads.alarm_name(session.si._stub, moref) for moref in missing}
        with self._lock:
            self._state.alarm_names.update(names)

    def _read_events(self, session: Session) -> None:
        found = reads.recent_events(session, self.name)
        if found is not None:  # unreadable events keep the last ones read
            self._events = found
        self._events_read_at = time.monotonic()

    # -- change feed ---------------------------------------------------------------------

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        return translate_errors(self.name, lambda: self._sessions.run(lambda s: self._wait(s, max_wait_seconds)))

    def _wait(self, session: Session, max_wait_seconds: float) -> VCenterSnapshot | None:
        answer = feed.wait(session, max_wait_seconds)
        sampled = self._sample_usage(session)
        if answer is None:
            return self._snapshot(session) if sampled else None
        plain, full_answer = answer
        self._absorb(plain, full_answer=full_answer)
        self._refresh_alarm_names(session)
        if time.monotonic() - self._events_read_at > EVENT_REFRESH_SECONDS:
            self._read_events(session)
        # A first answer (also after a re-login) may hold changes missed while no collector listened.
        return self._snapshot(session)

    def _sample_usage(self, session: Session) -> bool:
        """The sampled properties (VM quickStats) read again once they are USAGE_SAMPLE_SECONDS old."""
        if time.monotonic() - self._usage_read_at < self._usage_sample_seconds:
            return False
        self._usage_read_at = time.monotonic()
        for kind, paths in inv.SAMPLED.items():
            rows, round_trips = reads.retrieve(session, kind, self._page_size, paths)
            self.round_trips += round_trips
            with self._lock:
                self._state.sample(kind, rows)
        return True

    def _absorb(self, plain: list[PlainUpdate], *, full_answer: bool) -> None:
        """Apply feed updates; a full read in progress replays them over what it read."""
        with self._lock:
            for update in plain:
                feed.apply(self._state, update)
            if full_answer:  # a new collector's first answer is everything: what it omits is gone
                for kind in FOLLOWED_TYPES:
                    self._state.retain(kind, {moref for k, moref, _op, _v in plain if k == kind})
            if self._journal is not None:
                self._journal.extend(plain)

    # -- writes (actions.py) ----------------------------------------------------------------

    def restart_vm(
        self, vm_moref: str, *, vmx_path: str, name: str, instance_uuid: str | None, host_moref: str
    ) -> WriteReceipt:
        def restart(session: Session) -> WriteReceipt:
            return actions.restart_vm(
                session,
                self.name,
                vm_moref,
                vmx_path=vmx_path,
                name=name,
                instance_uuid=instance_uuid,
                host_moref=host_moref,
                task_timeout=self._task_timeout,
            )

        return self._write(restart)  # one at a time: a second restart of the same VM sees what the first did

    def find_vm(self, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
        return self._call(lambda s: actions.find_vm(s, instance_uuid, vmx_path))

    # -- moves (moves.py): each returns once its task exists; task_progress follows it ------

    def vm_placement(self, vm_moref: str) -> VmPlacement | None:
        return self._call(lambda s: moves.vm_placement(s, vm_moref))

    def relocate_vm(self, vm_moref: str, *, host_moref: str | None, datastore_moref: str | None) -> WriteReceipt:
        return self._write(
            lambda s: moves.relocate_vm(
                s, self.name, self._tasks, vm_moref, host_moref=host_moref, datastore_moref=datastore_moref
            )
        )

    def enter_maintenance(self, host_moref: str, *, timeout_seconds: int, evacuate_powered_off: bool) -> WriteReceipt:
        return self._write(
            lambda s: moves.enter_maintenance(
                s, self.name, self._tasks, host_moref, timeout_seconds=timeout_seconds, evacuate=evacuate_powered_off
            )
        )

    def exit_maintenance(self, host_moref: str, *, timeout_seconds: int) -> WriteReceipt:
        return self._write(
            lambda s: moves.exit_maintenance(s, self.name, self._tasks, host_moref, timeout_seconds=timeout_seconds)
        )

    def task_progress(self, task_key: str) -> TaskProgress:
        return self._call(lambda s: moves.task_progress(s, self.name, self._tasks, task_key))

    def cancel_task(self, task_key: str) -> WriteReceipt:
        return self._write(lambda s: moves.cancel_task(s, self.name, self._tasks, task_key))

    def _call(self, call: Callable[[Session], T]) -> T:
        return translate_errors(self.name, lambda: self._sessions.run(call))

    def _write(self, call: Callable[[Session], T]) -> T:
        with self._write_lock:
            return self._call(call)

    def close(self) -> None:
        self._sessions.close()


def later_than(previous: datetime, now: datetime) -> datetime:
    """A snapshot's time: the clock's, but always after the one before it.

    The refresher keeps the later of a full read and a feed update by this time; every
    snapshot is made from the same state under one lock, so the last one made is the newest
    even when the wall clock steps back (NTP, a VM resumed).
    """
    return max(now, previous + timedelta(microseconds=1))
