"""``hybridview watch``: the headless face of the monitor, one line per health change.

At start it reports every node, cluster, ESXi host and endpoint that is not OK, and the
overall health; then each transition as it happens. Lines are flushed at once (it is
meant for pipes). Each view it reads is recorded in the history too, in the monitor's workers
after its lines are out (``service.recording``), so a later ``timeline`` shows what it saw; a
history that cannot be written is one warning on stderr. SIGINT or SIGTERM closes every
connection and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from hybridview.cli.status import warn_on_stderr
from hybridview.service.monitor import EstateMonitor
from hybridview.service.publication import Subscription, Update
from hybridview.service.recording import HistoryRecorder, history_for
from hybridview.service.tasks import install_exception_hooks, spawn
from hybridview.service.transitions import Kind, States, Transition, transitions
from hybridview.service.wiring import Endpoints

EXIT_FAILED = 3
# How long the first report waits for every endpoint's first answer; a slower one is reported STALE.
FIRST_REPORT_GRACE_SECONDS = 3.0
# At a stop, how long the last observed view may take to reach the history.
RECORD_AT_STOP_SECONDS = 2.0


def format_line(change: Transition, now: datetime, as_json: bool) -> str:
    stamp = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if as_json:
        return json.dumps(
            {
                "time": stamp,
                "kind": change.kind.value,
                "ref": change.ref,
                "name": change.name,
                "from": change.before,
                "to": change.after,
                "reason": change.reason,
            }
        )
    was = change.before or "new"
    return f"{stamp} {change.kind.value:8} {change.name} ({change.ref}): {was} -> {change.after}: {change.reason}"


class OutputClosed(Exception):
    """The reader of the lines went away (``watch | head``): a normal way to stop."""


def _silence(out: TextIO) -> None:
    """Point a closed pipe at /dev/null, so the flush at exit does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    except (OSError, ValueError):
        pass


class LinePrinter:
    def __init__(self, out: TextIO, as_json: bool) -> None:
        self._out = out
        self._as_json = as_json
        self._printed: States | None = None

    def report(self, states: States) -> None:
        changes = transitions(self._printed, states)
        self._printed = states
        now = datetime.now(UTC)
        # Items first, the overall health last: it sums them up.
        try:
            for change in sorted(changes, key=lambda c: c.kind is Kind.OVERALL):
                print(format_line(change, now, self._as_json), file=self._out, flush=True)
        except BrokenPipeError:
            _silence(self._out)
            raise OutputClosed from None


async def _first_update(subscription: Subscription, grace_seconds: float) -> Update:
    """The first view worth reporting: every endpoint answered, or the grace ran out."""
    updates = aiter(subscription)
    update = await anext(updates)
    deadline = asyncio.get_running_loop().time() + grace_seconds
    while not update.view.estate.every_endpoint_answered:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            break
        try:
            update = await asyncio.wait_for(anext(updates), remaining)
        except TimeoutError:
            break
    return update


async def follow(
    monitor: EstateMonitor, printer: LinePrinter, grace_seconds: float, recorder: HistoryRecorder | None = None
) -> None:
    """Print the changes of each update, then have ``recorder`` record its view in the workers."""
    subscription = monitor.subscribe()
    monitor.start()

    def take(update: Update) -> None:
        printer.report(update.publication.states)
        if recorder is not None:
            recorder.observe(update.view, monitor.offload)

    try:
        take(await _first_update(subscription, grace_seconds))
        async for update in subscription:
            take(update)
    except OutputClosed:
        return
    finally:
        subscription.close()


def _stop_on_signals(stop: asyncio.Event, signals: Iterable[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)


async def run_watch(args: argparse.Namespace, endpoints: Endpoints, out: TextIO) -> int:
    install_exception_hooks(asyncio.get_running_loop())
    if args.interval is not None:
        endpoints.refresh_seconds = args.interval
    stop = asyncio.Event()
    _stop_on_signals(stop, (signal.SIGINT, signal.SIGTERM))
    async with EstateMonitor(endpoints) as monitor:
        printer = LinePrinter(out, args.json)
        recorder = HistoryRecorder(history_for(endpoints), warn_on_stderr)
        following = spawn(follow(monitor, printer, FIRST_REPORT_GRACE_SECONDS, recorder), name="watch: print changes")
        stopping = spawn(stop.wait(), name="watch: wait for a stop signal")
        await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
        failed = following.done() and not following.cancelled() and following.exception() is not None
        following.cancel()
        stopping.cancel()
        await asyncio.gather(following, stopping, return_exceptions=True)
        await recorder.aclose(RECORD_AT_STOP_SECONDS)
    return EXIT_FAILED if failed else 0
