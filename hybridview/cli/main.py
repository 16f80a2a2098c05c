"""Entry point: the window by default; ``status``, ``watch``, ``screenshot``, ``audit`` and the writes headless."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import math
import sys
import time
from collections.abc import Coroutine, Sequence
from typing import Any, NoReturn

from hybridview import config as config_mod
from hybridview.cli import act, audit, moves
from hybridview.cli import timeline as timeline_cli
from hybridview.cli.endpoints import NoEndpoints, configured_for, demo_for, demo_requested
from hybridview.core.health import Overall
from hybridview.service.wiring import Endpoints
from hybridview.service.workers import abandoned_workers
from hybridview.sim import SCENARIOS

EXIT_UNKNOWN = int(Overall.UNKNOWN)
WRITE_COMMANDS = (*act.WRITE_COMMANDS, *moves.MOVE_COMMANDS)
WRITE_PLANNERS = {**act.PLANNERS, **moves.PLANNERS}
COMMANDS = ("gui", "status", "watch", "screenshot", "audit", "timeline", "options", *WRITE_COMMANDS)
STATUS_TIMEOUT_SECONDS = 30.0
log = logging.getLogger("hybridview")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="use the built-in simulated estate")
    parser.add_argument("--scenario", choices=SCENARIOS, default=None, help="demo scenario (implies --demo)")
    parser.add_argument(
        "--estate-size",
        choices=("demo", "large"),
        default="demo",
        help="demo estate size; large = 1,000 compute nodes and 30,000 instances",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="settings file (default: $HYBRIDVIEW_CONFIG, then the platform config dir)"
    )
    parser.add_argument(
        "--read-only", action="store_true", help="offer and send no write (also the config's read_only: true)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output to stderr")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 1 <= value <= config_mod.MAX_REFRESH_SECONDS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {config_mod.MAX_REFRESH_SECONDS} seconds")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _look(parser: argparse.ArgumentParser, theme: str) -> None:
    parser.add_argument("--wall", action="store_true", help="wall mode: full screen, dark, large type, read-only")
    parser.add_argument(
        "--theme", choices=("light", "dark", "high-contrast", "system"), default=theme, help="default: %(default)s"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridview", description="Nova compute nodes beside the vCenter clusters they proxy."
    )
    parser.add_argument(
        "--version", action="store_true", help="print the versions of hybridview, Qt, openstacksdk, pyVmomi and Python"
    )
    sub = parser.add_subparsers(dest="command")
    gui = sub.add_parser("gui", help="open the window (the default)")
    _common(gui)
    _look(gui, "system")
    status = sub.add_parser(
        "status", help="one refresh, then a report; exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=STATUS_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="finish within this time; an endpoint with no answer by then is stale (default: %(default)g)",
    )
    watch = sub.add_parser("watch", help="follow every endpoint and print one line per health change until stopped")
    _common(watch)
    watch.add_argument("--json", action="store_true", help="JSON lines")
    watch.add_argument(
        "--interval", type=_seconds, metavar="SECONDS", help="periodic full read interval (default: the config's)"
    )
    shot = sub.add_parser("screenshot", help="render the main window offscreen to a PNG after the first refresh")
    _common(shot)
    shot.add_argument("out", metavar="OUT.png")
    shot.add_argument("--size", default="1600x1000", help="window size WxH")
    _look(shot, "light")
    audit.add_parser(sub)
    timeline_cli.add_parser(sub, _common)
    act.add_parsers(sub, _common)
    moves.add_parsers(sub, _common)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    if not args or args[0] not in (*COMMANDS, "-h", "--help", "--version"):
        args.insert(0, "gui")
    return build_parser().parse_args(args)


def _run_headless(job: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(job)
    except Exception as exc:
        log.critical("internal error", exc_info=exc)
        print(f"hybridview: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN


def entry() -> NoReturn:
    """The process entry: ``main``, then an exit that does not wait for calls stuck on a silent endpoint.

    Only a process of its own may end this way; ``main`` called in-process (tests, embedding) just returns.
    """
    code = main()
    if abandoned_workers():  # interpreter exit would wait for their sockets to time out
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _endpoints(args: argparse.Namespace) -> tuple[Endpoints, str | None]:
    """The endpoints to read; only the window falls back to the demo (and says why)."""
    if demo_requested(args):
        return demo_for(args), None
    try:
        return configured_for(args), None
    except NoEndpoints as exc:
        if args.command in ("status", "watch", "timeline", "options", *WRITE_COMMANDS):
            raise
        return demo_for(args), f"{exc}: showing the demo estate"


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:  # QtCore only: no display, no platform plugin
        from hybridview.ui.about import about_lines

        print("\n".join(about_lines()))
        return 0
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "audit":  # reads the local log only: no endpoint, no demo
        return audit.run_audit(args, sys.stdout)
    if args.command == "gui":
        from hybridview.cli.gui import no_display

        if problem := no_display():  # before the demo fallback's note: one line that says what to run
            print(problem, file=sys.stderr)
            return EXIT_UNKNOWN
    try:
        endpoints, fallback_note = _endpoints(args)
    except (config_mod.ConfigError, NoEndpoints) as exc:
        print(f"hybridview: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    if fallback_note:
        print(f"hybridview: {fallback_note}", file=sys.stderr)
    if args.read_only:
        endpoints = dataclasses.replace(endpoints, read_only=True)
    if args.command == "status":
        from hybridview.cli.status import run_status

        deadline = started + args.timeout
        return _run_headless(run_status(args, endpoints, deadline))
    if args.command == "timeline":
        job = timeline_cli.run_timeline(args, endpoints, started, sys.stdout)
        return _run_headless(job)
    if args.command in WRITE_COMMANDS:
        return _run_headless(act.run_write(args, endpoints, WRITE_PLANNERS))
    if args.command == "options":
        return _run_headless(moves.run_options(args, endpoints))
    if args.command == "watch":
        from hybridview.cli.watch import run_watch

        return _run_headless(run_watch(args, endpoints, sys.stdout))
    from hybridview.cli.gui import run_gui, run_screenshot

    if args.command == "screenshot":
        return run_screenshot(endpoints, args.out, args.size, args.wall, args.theme)
    return run_gui(endpoints, fallback_note, args.wall, args.theme)


if __name__ == "__main__":
    entry()
