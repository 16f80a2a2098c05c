"""``hybridview timeline``: what happened when, across Nova, vCenter and hybridview's own writes, oldest first.

One read of every endpoint (as ``status``), the compute service and ESXi host changes it shows
recorded in the history, then the timeline of that view, the history and the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import TextIO

from hybridview import config as config_mod
from hybridview.actions.audit import AuditLog
from hybridview.cli.audit import since_time
from hybridview.cli.status import DEFAULT_TIMEOUT_SECONDS, read_once, warn_on_stderr
from hybridview.core.health import Overall
from hybridview.core.timeline import timeline
from hybridview.service.recording import HistoryRecorder, history_for
from hybridview.service.wiring import Endpoints
from hybridview.views.export import events_csv
from hybridview.views.timeline_rows import layer_choices, timeline_line


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[[argparse.ArgumentParser], None]
) -> None:
    parser = sub.add_parser(
        "timeline", help="what happened when: Nova instance actions and migrations, compute services, vCenter events"
    )
    common(parser)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object per event, one per line")
    form.add_argument("--csv", action="store_true", help="CSV with a header row, one line per event")
    parser.add_argument("--since", type=since_time, metavar="WHEN", help="only events since: 30m, 12h, 7d or ISO")
    parser.add_argument("--host", metavar="NAME", help="only events of this compute or ESXi host (name or moref)")
    parser.add_argument("--instance", metavar="NAME", help="only events of this instance or VM (name, id or UUID)")
    parser.add_argument("--cluster", metavar="NAME", help="only events of this vCenter cluster (name or moref)")
    parser.add_argument("--layer", choices=layer_choices(), help="only events of this layer")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="finish the read within this time (default: %(default)g)",
    )


async def run_timeline(args: argparse.Namespace, endpoints: Endpoints, started: float, out: TextIO) -> int:
    history = history_for(endpoints)  # the demo's changes are not the estate's: they stay in memory
    view = await read_once(endpoints, started + args.timeout, HistoryRecorder(history, warn_on_stderr))
    changes = await asyncio.to_thread(history.changes)
    entries = await asyncio.to_thread(AuditLog(config_mod.audit_log_path()).entries)
    events = timeline(
        view,
        changes,
        entries,
        since=args.since,
        host=args.host,
        instance=args.instance,
        cluster=args.cluster,
        layer=args.layer,
    )
    if args.csv:
        out.write(events_csv(events))
    else:
        for event in events:
            out.write((json.dumps(event.as_json(), sort_keys=True) if args.json else timeline_line(event)) + "\n")
    for endpoint in view.estate.endpoints:
        if not endpoint.ok:
            print(f"hybridview: {endpoint.name} not read ({endpoint.error}): its events are missing", file=sys.stderr)
    if not events and not (args.json or args.csv):
        out.write("no events\n")
    answered = any(e.ok for e in view.estate.endpoints)
    return 0 if answered else int(Overall.UNKNOWN)
