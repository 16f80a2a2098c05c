"""Acknowledgements, silences and the alert history, kept across restarts beside the audit log.

``alerts.json`` holds the standing state (acknowledgements, silences, the states last alerted so a
restart does not notify them again), replaced atomically on each change; ``alerts-history.jsonl``
beside it takes one line per event, appended. ``$HYBRIDVIEW_ALERTS`` names the first (tests).
Both are blocking file I/O: the window calls ``save`` and ``append`` from a worker thread.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from hybridview.config import Config
from hybridview.core.alerting import Ack, AlertEvent, EventKind, Policy, Silence
from hybridview.core.health import Severity

ALERTS_ENV = "HYBRIDVIEW_ALERTS"
MAX_HISTORY = 5000  # lines read back at start


def alerts_path() -> Path:
    """``$HYBRIDVIEW_ALERTS``, else ``alerts.json`` in the user data dir, beside the audit log."""
    explicit = os.environ.get(ALERTS_ENV)
    return Path(explicit) if explicit else Path(platformdirs.user_data_dir("hybridview")) / "alerts.json"


def policy_of(config: Config) -> Policy:
    return Policy(
        config.alert_hold_seconds,
        config.alert_hold_refreshes,
        config.alert_flap_changes,
        config.alert_flap_window_seconds,
    )


@dataclass(frozen=True, slots=True)
class Standing:
    acks: tuple[Ack, ...] = ()
    silences: tuple[Silence, ...] = ()
    shown: Mapping[str, tuple[str, Severity, str]] | None = None


class AlertStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or alerts_path()
        self.history_path = self.path.with_name(self.path.stem + "-history.jsonl")
        self._lock = threading.Lock()

    def load(self) -> tuple[Standing, list[AlertEvent]]:
        """What was kept; a missing or unreadable file is an empty start (a bad line is skipped)."""
        standing = Standing()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            standing = Standing(
                tuple(_ack(a) for a in data.get("acks", ())),
                tuple(_silence(s) for s in data.get("silences", ())),
                {k: (v[0], Severity[v[1]], v[2]) for k, v in data.get("shown", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        events: list[AlertEvent] = []
        try:
            lines = self.history_path.read_text(encoding="utf-8").splitlines()[-MAX_HISTORY:]
        except OSError:
            lines = []
        for line in lines:
            try:
                events.append(_event(json.loads(line)))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return standing, events

    def save(
        self, acks: Iterable[Ack], silences: Iterable[Silence], shown: Mapping[str, tuple[str, Severity, str]]
    ) -> None:
        data = {
            "acks": [_ack_json(a) for a in acks],
            "silences": [_silence_json(s) for s in silences],
            "shown": {k: [item, severity.name, title] for k, (item, severity, title) in shown.items()},
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)

    def append(self, events: Iterable[AlertEvent]) -> None:
        lines = "".join(json.dumps(_event_json(e)) + "\n" for e in events)
        if not lines:
            return
        with self._lock:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
            with self.history_path.open("a", encoding="utf-8") as f:
                f.write(lines)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _sev(value: str | None) -> Severity | None:
    return None if value is None else Severity[value]


def _ack_json(a: Ack) -> dict[str, Any]:
    return {"key": a.key, "severity": a.severity.name, "who": a.who, "at": a.at.isoformat(),
            "comment": a.comment, "until": a.until.isoformat()}  # fmt: skip


def _ack(d: Mapping[str, Any]) -> Ack:
    return Ack(d["key"], Severity[d["severity"]], d["who"], _time(d["at"]), d["comment"], _time(d["until"]))


def _silence_json(s: Silence) -> dict[str, Any]:
    return {"item": s.item, "who": s.who, "at": s.at.isoformat(), "comment": s.comment, "until": s.until.isoformat()}


def _silence(d: Mapping[str, Any]) -> Silence:
    return Silence(d["item"], d["who"], _time(d["at"]), d["comment"], _time(d["until"]))


def _event_json(e: AlertEvent) -> dict[str, Any]:
    return {
        "kind": e.kind.value, "key": e.key, "at": e.at.isoformat(), "title": e.title,
        "severity": e.severity.name if e.severity is not None else None,
        "previous": e.previous.name if e.previous is not None else None,
        "notify": e.notify, "who": e.who, "comment": e.comment,
        "until": e.until.isoformat() if e.until else None, "silenced": e.silenced, "acked": e.acked,
    }  # fmt: skip


def _event(d: Mapping[str, Any]) -> AlertEvent:
    return AlertEvent(
        EventKind(d["kind"]), d["key"], _time(d["at"]), d.get("title", ""), _sev(d.get("severity")),
        _sev(d.get("previous")), bool(d.get("notify")), d.get("who", ""), d.get("comment", ""),
        _time(d["until"]) if d.get("until") else None, bool(d.get("silenced")), bool(d.get("acked")),
    )  # fmt: skip


DEFAULT_ACK = timedelta(hours=8)
