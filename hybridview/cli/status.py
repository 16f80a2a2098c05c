"""``hybridview status``: one full read through the monitor, then a report and an exit code."""

from __future__ import annotations

import argparse
import json

from hybridview.core.view import EstateView
from hybridview.service.monitor import EstateMonitor
from hybridview.service.wiring import Endpoints
from hybridview.views.status_report import status_document, status_lines


async def read_once(endpoints: Endpoints) -> EstateView:
    async with EstateMonitor(endpoints) as monitor:
        return await monitor.read_once()


async def run_status(args: argparse.Namespace, endpoints: Endpoints) -> int:
    view = await read_once(endpoints)
    if args.json:
        print(json.dumps(status_document(view), indent=2))
    else:
        for line in status_lines(view):
            print(line)
    return int(view.health.overall)
