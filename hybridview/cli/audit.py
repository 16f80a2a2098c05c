"""``hybridview audit``: every write the app sent, with its outcome, oldest first."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TextIO

from hybridview import config as config_mod
from hybridview.actions.audit import AuditEntry, AuditLog

_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since_time(text: str) -> datetime:
    """``30m``, ``12h``, ``7d`` ago, or an ISO date or time (UTC unless it says otherwise)."""
    if match := _AGO.match(text.strip()):
        return datetime.now(UTC) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (give 30m, 12h, 7d or 2026-12-01T03:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the writes hybridview sent (evacuations, moves, service changes)")
    audit.add_argument("--json", action="store_true", help="one JSON object per entry, one per line")
    audit.add_argument("--since", type=since_time, metavar="WHEN", help="only entries sent since: 30m, 12h, 7d or ISO")
    audit.add_argument("-v", "--verbose", action="store_true", help="log debug output to stderr")


def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    log = AuditLog(config_mod.audit_log_path())
    entries = log.entries(since=args.since)
    for entry in entries:
        out.write((json.dumps(entry.as_json(), sort_keys=True) if args.json else _line(entry)) + "\n")
    if not entries and not args.json:
        out.write(f"no audit entries in {log.path}\n")
    return 0


def _line(entry: AuditEntry) -> str:
    parameters = " ".join(f"{k}={v}" for k, v in sorted(entry.parameters.items()))
    outcome = entry.outcome.value + (f": {entry.error}" if entry.error else f": {entry.result}" if entry.result else "")
    request = f" [{entry.request_id}]" if entry.request_id else ""
    return (
        f"{entry.sent_at:%Y-%m-%d %H:%M:%S} {entry.user} {entry.endpoint} {entry.verb} {entry.target}"
        f"{' ' + parameters if parameters else ''} -> {outcome}{request}"
    )
