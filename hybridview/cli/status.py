"""``hybridview status``: one full read through the monitor, then a report and an exit code.

The whole command keeps to its ``--timeout``: the reads get the budget but a share kept
for closing the connections, and an endpoint that has not answered by then is reported
stale; calls still stuck on it are abandoned at exit. What the read shows changed is recorded
in the history (``service.recording``), in the monitor's workers, within half of the share kept
for closing; a history that cannot be written is one warning on stderr and changes no exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from hybridview.core.view import EstateView
from hybridview.service.monitor import EstateMonitor
from hybridview.service.recording import HistoryRecorder, history_for
from hybridview.service.wiring import Endpoints
from hybridview.views.status_report import status_document, status_lines

DEFAULT_TIMEOUT_SECONDS = 30.0
# Of what is left of the budget when the reads start, this share (at most the cap) is kept for closing.
CLOSE_SHARE = 0.15
CLOSE_RESERVE_MAX_SECONDS = 2.0


def warn_on_stderr(text: str) -> None:
    """A headless command's warning: one line on stderr."""
    print(f"hybridview: warning: {text}", file=sys.stderr, flush=True)


async def read_once(endpoints: Endpoints, deadline: float, recorder: HistoryRecorder | None = None) -> EstateView:
    """Read every endpoint once, have ``recorder`` record the view, and close, all before ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value; the record gets half of the share kept for closing.
    """
    reserve = min(CLOSE_RESERVE_MAX_SECONDS, CLOSE_SHARE * max(0.0, deadline - time.monotonic()))
    monitor = EstateMonitor(endpoints)
    try:
        view = await monitor.read_once(deadline - reserve)
        if recorder is not None:
            await recorder.record_within(view, monitor.offload, reserve / 2)
        return view
    finally:
        # Half of what is left: the close may add up to as much again to log out what answers.
        await monitor.aclose(max(0.0, deadline - time.monotonic()) / 2)


async def run_status(args: argparse.Namespace, endpoints: Endpoints, deadline: float) -> int:
    view = await read_once(endpoints, deadline, HistoryRecorder(history_for(endpoints), warn_on_stderr))
    if args.json:
        print(json.dumps(status_document(view), indent=2))
    else:
        for line in status_lines(view):
            print(line)
    return int(view.health.overall)
