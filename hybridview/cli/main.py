"""Entry point: the GUI by default, ``status`` and ``screenshot`` headless."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from hybridview import config as config_mod
from hybridview.core.health import Overall
from hybridview.core.view import EstateView
from hybridview.service.refresh import EstateRefresher
from hybridview.views.status_report import status_document, status_lines
from hybridview.sim import SCENARIOS, SimSize
from hybridview.service.wiring import Endpoints, configured_endpoints, demo_endpoints

EXIT_UNKNOWN = int(Overall.UNKNOWN)


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
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridview", description="Nova compute nodes beside the vCenter clusters they proxy."
    )
    sub = parser.add_subparsers(dest="command")
    gui = sub.add_parser("gui", help="open the window (the default)")
    _common(gui)
    status = sub.add_parser(
        "status", help="one refresh, then a report; exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    shot = sub.add_parser("screenshot", help="render the main window offscreen to a PNG after the first refresh")
    _common(shot)
    shot.add_argument("out", metavar="OUT.png")
    shot.add_argument("--size", default="1600x1000", help="window size WxH")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    if not args or args[0] not in ("gui", "status", "screenshot", "-h", "--help"):
        args.insert(0, "gui")
    return build_parser().parse_args(args)


def endpoints_for(args: argparse.Namespace) -> tuple[Endpoints, str | None]:
    """The endpoints to use and, when falling back to the demo, why."""
    size = SimSize.large() if args.estate_size == "large" else None
    if args.demo or args.scenario:
        return demo_endpoints(args.scenario or "healthy", size), None
    cfg = config_mod.load(args.config)
    if not cfg.has_endpoints:
        where = cfg.path or config_mod.default_path()
        return demo_endpoints("healthy", size), f"no endpoints configured in {where}: showing the demo estate"
    return configured_endpoints(cfg), None


async def refresh_once(endpoints: Endpoints) -> EstateView:
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="hv-io") as pool:
        refresher = EstateRefresher(endpoints.openstack, endpoints.vcenters, pool, node_map=endpoints.node_map)
        try:
            return await refresher.refresh()
        finally:
            refresher.close()


def run_status(args: argparse.Namespace, endpoints: Endpoints) -> int:
    view = asyncio.run(refresh_once(endpoints))
    if args.json:
        print(json.dumps(status_document(view), indent=2))
    else:
        for line in status_lines(view):
            print(line)
    return int(view.health.overall)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        endpoints, fallback_note = endpoints_for(args)
    except config_mod.ConfigError as exc:
        print(f"hybridview: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    if fallback_note:
        print(f"hybridview: {fallback_note}", file=sys.stderr)
    if args.command == "status":
        return run_status(args, endpoints)
    from hybridview.ui.app import run_gui, run_screenshot

    if args.command == "screenshot":
        return run_screenshot(endpoints, args.out, args.size)
    return run_gui(endpoints, fallback_note)


if __name__ == "__main__":
    sys.exit(main())
