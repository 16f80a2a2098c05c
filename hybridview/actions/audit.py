"""The audit log: every write the app sends, recorded before it is sent and completed after.

A JSON-lines file, append-only, one event a line: ``sent`` is written and fsynced before
the call goes out, ``done`` or ``failed`` once its outcome is known. Reading folds the
events by entry id, so a process killed between the two leaves an entry that says "sent,
outcome unknown", never nothing. Parameters whose name looks like a secret are never
written. Several processes (the window and the CLI) may append to the same file: each
event is one ``write`` to a file opened for appending.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|credential|api[_-]?key|auth", re.IGNORECASE)
REDACTED = "[not recorded: a secret]"


class Outcome(StrEnum):
    SENT = "sent, outcome unknown"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    sent_at: datetime
    user: str
    endpoint: str
    verb: str
    target: str  # the identity text of what the call acts on
    parameters: Mapping[str, Any]
    outcome: Outcome = Outcome.SENT
    finished_at: datetime | None = None
    request_id: str | None = None  # Nova's request id or the vCenter task key
    result: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sent_at": self.sent_at.isoformat(),
            "user": self.user,
            "endpoint": self.endpoint,
            "verb": self.verb,
            "target": self.target,
            "parameters": dict(self.parameters),
            "outcome": self.outcome.value,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "request_id": self.request_id,
            "result": self.result,
            "error": self.error,
        }


def without_secrets(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as recorded: a value whose name looks like a secret is left out."""
    return {
        name: REDACTED if SECRET_NAME.search(name) else (without_secrets(v) if isinstance(v, Mapping) else v)
        for name, v in parameters.items()
    }


class AuditLog:
    def __init__(self, path: Path, *, clock: Any = None) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()

    def sent(self, endpoint: str, verb: str, target: str, parameters: Mapping[str, Any]) -> AuditEntry:
        """Record a call about to be sent; returns once the record is on disk (fsynced)."""
        entry = AuditEntry(
            id=uuid.uuid4().hex,
            sent_at=self._clock(),
            user=_os_user(),
            endpoint=endpoint,
            verb=verb,
            target=target,
            parameters=without_secrets(parameters),
        )
        event = entry.as_json()
        for unset in ("outcome", "finished_at", "request_id", "result", "error"):
            del event[unset]
        self._append({"event": "sent", **event})
        return entry

    def finished(
        self,
        entry: AuditEntry,
        *,
        ok: bool,
        result: str | None = None,
        error: str | None = None,
        request_id: str | None = None,
    ) -> AuditEntry:
        """Complete an entry with its outcome."""
        done = replace(
            entry,
            outcome=Outcome.DONE if ok else Outcome.FAILED,
            finished_at=self._clock(),
            request_id=request_id,
            result=result,
            error=error,
        )
        self._append(
            {
                "event": done.outcome.value,
                "id": done.id,
                "finished_at": done.finished_at.isoformat() if done.finished_at else None,
                "request_id": request_id,
                "result": result,
                "error": error,
            }
        )
        return done

    def accepted(self, entry: AuditEntry, request_id: str | None) -> AuditEntry:
        """The endpoint took the call (its request id or task key); the outcome is still to come."""
        self._append({"event": "accepted", "id": entry.id, "request_id": request_id})
        return replace(entry, request_id=request_id)

    def entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Every entry, oldest first; an unreadable line is skipped with a warning, never fatal."""
        folded: dict[str, AuditEntry] = {}
        for number, event in self._events():
            try:
                _fold(folded, event)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s line %d is not an audit event (%s); skipped", self.path, number, exc)
        entries = sorted(folded.values(), key=lambda e: e.sent_at)
        return [e for e in entries if since is None or e.sent_at >= since]

    def _events(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s line %d is not JSON (a write cut short?); skipped", self.path, number)
                continue
            if isinstance(event, dict):
                yield number, event

    def _append(self, event: Mapping[str, Any]) -> None:
        line = (json.dumps(event, sort_keys=True, default=str) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


def _fold(folded: dict[str, AuditEntry], event: Mapping[str, Any]) -> None:
    kind = event["event"]
    if kind == "sent":
        folded[event["id"]] = AuditEntry(
            id=event["id"],
            sent_at=datetime.fromisoformat(event["sent_at"]),
            user=str(event["user"]),
            endpoint=str(event["endpoint"]),
            verb=str(event["verb"]),
            target=str(event["target"]),
            parameters=dict(event.get("parameters") or {}),
        )
        return
    entry = folded.get(event["id"])
    if entry is None:
        raise ValueError(f"outcome of unknown entry {event['id']}")
    if kind == "accepted":
        folded[entry.id] = replace(entry, request_id=event.get("request_id"))
        return
    finished = event.get("finished_at")
    folded[entry.id] = replace(
        entry,
        outcome=Outcome(kind),
        finished_at=datetime.fromisoformat(finished) if finished else None,
        request_id=event.get("request_id") or entry.request_id,
        result=event.get("result"),
        error=event.get("error"),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no login name: still an entry
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
