"""``hybridview status``: one full read through the monitor, then a report and an exit code.

The whole command keeps to its ``--timeout``: the reads get the budget but a share kept
for closing the connections, and an endpoint that has not answered by then is reported
stale; calls still stuck on it are abandoned at exit.
"""

from __future__ import annotations

import argparse
import json
import time

from hybridview.core.view import EstateView
from hybridview.service.monitor import EstateMonitor
from hybridview.service.wiring import Endpoints
from hybridview.views.status_report import status_document, status_lines

DEFAULT_TIMEOUT_SECONDS = 30.0
# Of what is left of the budget when the reads start, this share (at most the cap) is kept for closing.
CLOSE_SHARE = 0.15
CLOSE_RESERVE_MAX_SECONDS = 2.0


async def read_once(endpoints: Endpoints, deadline: float) -> EstateView:
    """Read every endpoint once and close, all before ``deadline`` (a ``time.monotonic()`` value)."""
    reserve = min(CLOSE_RESERVE_MAX_SECONDS, CLOSE_SHARE * max(0.0, deadline - time.monotonic()))
    monitor = EstateMonitor(endpoints)
    try:
        return await monitor.read_once(deadline - reserve)
    finally:
        # Half of what is left: the close may add up to as much again to log out what answers.
        await monitor.aclose(max(0.0, deadline - time.monotonic()) / 2)


async def run_status(args: argparse.Namespace, endpoints: Endpoints, deadline: float) -> int:
    view = await read_once(endpoints, deadline)
    if args.json:
        print(json.dumps(status_document(view), indent=2))
    else:
        for line in status_lines(view):
            print(line)
    return int(view.health.overall)
