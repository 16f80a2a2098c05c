"""What hybridview saw change, kept across runs: compute services and ESXi hosts going down, up, forced, disabled.

A JSON-lines file next to the audit log (``$HYBRIDVIEW_HISTORY`` overrides it), one
``ObservedChange`` a line, appended by every process that watches the estate: the window, ``watch``
(each publication) and ``status`` (its one read) through ``service.recording``, and the
``timeline`` command. ``record`` compares a view with the last state the file holds for each
service and host and appends what differs; a service or host first seen healthy writes nothing
(healthy is what an unrecorded one is taken to be), one first seen down is recorded at its last
heartbeat. Only endpoints read well are compared: stale data is no observation. A write that fails
(a read-only directory, a full disk) raises ``OSError`` and loses nothing: the changes stay in memory
and are written with the next record that can write. The file keeps the newest ``KEEP`` changes; a
process that sees the same change as another records it once more, and reading folds such repeats away.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hybridview.config import audit_log_path
from hybridview.core.identity import NodeRef
from hybridview.core.timeline import COMPUTE, ObservedChange, nova_time
from hybridview.core.view import EstateView

log = logging.getLogger(__name__)
HISTORY_ENV = "HYBRIDVIEW_HISTORY"
ESXI = "ESXi host"
HEALTHY_STATES = frozenset({"up", "connected"})
KEEP = 5000  # changes kept; the file is rewritten when it holds twice as many


def history_path() -> Path:
    """``$HYBRIDVIEW_HISTORY``, else ``history.jsonl`` beside the audit log (the user data dir)."""
    explicit = os.environ.get(HISTORY_ENV)
    return Path(explicit) if explicit else audit_log_path().with_name("history.jsonl")


@dataclass(frozen=True, slots=True)
class _Seen:
    """One service's or host's state in one view."""

    change: ObservedChange  # as it would be recorded (time: the read's; before: unset)
    heartbeat: datetime | None = None

    @property
    def text(self) -> str:
        return ", ".join((self.change.state, *self.change.flags))

    @property
    def healthy(self) -> bool:
        return self.change.state in HEALTHY_STATES and not self.change.flags


def seen_in(view: EstateView) -> dict[str, _Seen]:
    """Each compute service's and ESXi host's state, by identity text, of the endpoints read well."""
    fresh = {e.name for e in view.estate.endpoints if e.ok}
    seen: dict[str, _Seen] = {}
    for snap in view.estate.openstack:
        if snap.cloud not in fresh:
            continue
        node_of = {n.host: n for n in snap.nodes}
        for service in snap.services:
            if service.binary != "nova-compute":
                continue
            node = node_of.get(service.host)
            ref = (node.ref if node else NodeRef(snap.cloud, service.host)).text()
            flags = (("forced down",) if service.forced_down else ()) + (
                (f"disabled: {service.disabled_reason}" if service.disabled_reason else "disabled",)
                if service.status == "disabled"
                else ()
            )
            change = ObservedChange(snap.taken_at, snap.cloud, ref, service.host, COMPUTE, service.state, flags)
            seen[ref] = _Seen(change, nova_time(service.updated_at))
    for vc in view.estate.vcenters:
        if vc.vcenter not in fresh:
            continue
        clusters = {c.moref: c for c in vc.clusters}
        for host in vc.hosts:
            cluster = clusters.get(host.cluster_moref or "")
            names = (cluster.name, cluster.moref) if cluster else ()
            flags = ("maintenance",) if host.in_maintenance else ()
            ref = host.ref.text()
            change = ObservedChange(vc.taken_at, vc.vcenter, ref, host.name, ESXI, host.connection_state, flags)
            seen[ref] = _Seen(replace(change, clusters=names))
    return seen


def changes_between(last: dict[str, ObservedChange], seen: dict[str, _Seen]) -> list[ObservedChange]:
    """What differs from the last recorded state of each; a first sighting only when not healthy."""
    found = []
    for ref, now in seen.items():
        before = last.get(ref)
        before_text = ", ".join((before.state, *before.flags)) if before else None
        if before_text == now.text or (before is None and now.healthy):
            continue
        change = replace(now.change, before=before_text)
        heartbeat = now.heartbeat if now.change.state == "down" else None
        if heartbeat is not None and (before is None or before.time < heartbeat):
            # Nova marks a compute down a while after its last heartbeat: that is when it died.
            change = replace(change, time=heartbeat, basis="heartbeat" if before is None else "observed")
        elif before is None:
            change = replace(change, basis="first seen")
        found.append(change)
    return found


class History:
    """The observed changes, on disk (``path``) or, for the demo, in memory only (``path=None``)."""

    def __init__(self, path: Path | None, *, keep: int = KEEP) -> None:
        self.path = path
        self._keep = keep
        self._lock = threading.Lock()
        self._changes: list[ObservedChange] = []
        self._last: dict[str, ObservedChange] = {}  # per ref: its last change, or its healthy first sighting
        self._stamp: tuple[int, int] | None = None  # the file's (size, mtime) when it was read
        self._unwritten: list[ObservedChange] = []  # recorded, but the file could not take them yet

    def record(self, view: EstateView) -> list[ObservedChange]:
        """Compare ``view`` with the last states and append what changed (blocks: call it in a worker).

        Raises ``OSError`` when the file cannot be written; what changed is kept and written next time.
        """
        seen = seen_in(view)
        with self._lock:
            self._reload()
            found = changes_between(self._last, seen)
            for ref, now in seen.items():
                if ref not in self._last and now.healthy:
                    self._last[ref] = now.change  # healthy: remembered, not written
            for change in found:
                self._last[change.ref] = change
            self._changes += found
            if self.path is not None and (found or self._unwritten):
                waiting, self._unwritten = [*self._unwritten, *found], []
                try:
                    self._append(waiting)
                except OSError:
                    self._unwritten = waiting
                    raise
            return found

    def changes(self, since: datetime | None = None) -> list[ObservedChange]:
        with self._lock:
            self._reload()
            return [c for c in self._changes if since is None or c.time >= since]

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            found = self.path.stat()
        except OSError as exc:  # none yet, or its directory is not one: writing it will tell
            log.debug("history %s: %s", self.path, exc)
            return
        if not stat.S_ISREG(found.st_mode) or (found.st_size, found.st_mtime_ns) == self._stamp:
            return  # a device (/dev/full) holds no changes to read
        folded: dict[str, ObservedChange] = {}
        changes = []
        for change in self._read():
            last = folded.get(change.ref)
            if last is not None and (last.state, last.flags) == (change.state, change.flags):
                continue  # the same change seen by two processes
            folded[change.ref] = change
            changes.append(change)
        self._changes = changes + self._unwritten
        self._last = {**{r: c for r, c in self._last.items() if r not in folded}, **folded}
        self._last.update((c.ref, c) for c in self._unwritten)
        self._stamp = (found.st_size, found.st_mtime_ns)

    def _read(self) -> Iterator[ObservedChange]:
        assert self.path is not None
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            log.warning("history %s cannot be read: %s", self.path, exc)
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield _from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s line %d is not an observed change (%s); skipped", self.path, number, exc)

    def _append(self, found: list[ObservedChange]) -> None:
        assert self.path is not None
        data = "".join(json.dumps(_as_json(c), sort_keys=True) + "\n" for c in found).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            end = os.fstat(fd).st_size
            if end and os.pread(fd, 1, end - 1) != b"\n":
                data = b"\n" + data  # a write cut short before (a full disk): its part-line stays apart
            if os.write(fd, data) < len(data):  # one write: appends of two processes do not interleave
                raise OSError(errno.ENOSPC, "no space left on the device: a change was cut short")
        finally:
            os.close(fd)
        self._stamp = None  # read it again next time: another process may have appended too
        if len(self._changes) > 2 * self._keep:
            try:
                self._compact()
            except OSError as exc:  # written all the same; the file is only longer than it needs be
                log.warning("history %s not compacted: %s", self.path, exc)

    def _compact(self) -> None:
        """Keep the newest changes, written atomically."""
        assert self.path is not None
        self._changes = self._changes[-self._keep :]
        text = "".join(json.dumps(_as_json(c), sort_keys=True) + "\n" for c in self._changes)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".history-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise


def _as_json(change: ObservedChange) -> dict[str, Any]:
    return {
        "time": change.time.isoformat(),
        "endpoint": change.endpoint,
        "ref": change.ref,
        "label": change.label,
        "kind": change.kind,
        "state": change.state,
        "flags": list(change.flags),
        "before": change.before,
        "basis": change.basis,
        "clusters": list(change.clusters),
    }


def _from_json(raw: Any) -> ObservedChange:
    time = datetime.fromisoformat(raw["time"])
    if time.tzinfo is None:
        raise ValueError("time without a zone")
    return ObservedChange(
        time,
        str(raw["endpoint"]),
        str(raw["ref"]),
        str(raw["label"]),
        str(raw["kind"]),
        str(raw["state"]),
        tuple(str(f) for f in raw.get("flags") or ()),
        None if raw.get("before") is None else str(raw["before"]),
        str(raw.get("basis") or "observed"),
        tuple(str(c) for c in raw.get("clusters") or ()),
    )
