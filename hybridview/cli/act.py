"""``evacuate``, ``restart-vms`` and ``service``: thin callers of the action layer.

Each reads the estate once, builds its plan in core, prints it (``--dry-run`` stops
there), then hands it to the runner, which refuses or sends it. Exit codes: 0 every item
succeeded, 1 some item failed or its outcome is unknown, 2 refused (nothing was sent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from hybridview import config as config_mod
from hybridview.actions.claims import AlreadyRunning
from hybridview.actions.desk import ActionDesk
from hybridview.actions.operation import ItemStatus, Operation
from hybridview.actions.runner import ActionRefused
from hybridview.core.actions import Plan
from hybridview.core.compute_service import ServiceChange
from hybridview.core.evacuation import EvacuationRequest
from hybridview.core.left_behind import RestartRequest
from hybridview.core.view import EstateView
from hybridview.service.monitor import EstateMonitor
from hybridview.service.wiring import Endpoints

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
READ_SECONDS = 60.0
WRITE_COMMANDS = ("evacuate", "restart-vms", "service")
Planner = Callable[[ActionDesk, EstateView, argparse.Namespace], Plan]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[..., None]) -> None:
    evacuate = sub.add_parser("evacuate", help="evacuate the instances of a failed libvirt/KVM compute host")
    common(evacuate)
    evacuate.add_argument("--cloud", metavar="NAME", help="the cloud (needed when more than one is configured)")
    evacuate.add_argument("--host", required=True, metavar="HOST", help="the failed compute host")
    evacuate.add_argument("--instance", action="append", default=[], metavar="ID", help="only these (repeatable)")
    evacuate.add_argument("--target", default="auto", metavar="HOST|auto", help="destination; auto: the scheduler")
    evacuate.add_argument("--force-down", action="store_true", help="mark its nova-compute forced down first")
    evacuate.add_argument("--start-after", action="store_true", help="start servers Nova leaves stopped (>= 2.95)")
    add_concurrency(evacuate, "evacuations at once (default 3)")
    write_flags(evacuate, fencing=True)
    restart = sub.add_parser("restart-vms", help="register and power on the VMs vSphere HA left on a dead ESXi host")
    common(restart)
    restart.add_argument("--vcenter", metavar="NAME", help="the vCenter (needed when more than one is configured)")
    restart.add_argument("--host", required=True, metavar="ESXI_HOST", help="the failed ESXi host (name or moref)")
    restart.add_argument("--target", default="auto", metavar="ESXI_HOST|auto", help="auto: least loaded of the cluster")
    write_flags(restart, fencing=True)
    service = sub.add_parser("service", help="enable or disable a nova-compute service, set or clear forced-down")
    common(service)
    service.add_argument("--cloud", metavar="NAME", help="the cloud (needed when more than one is configured)")
    service.add_argument("--host", required=True, metavar="HOST")
    state = service.add_mutually_exclusive_group()
    state.add_argument("--enable", action="store_true")
    state.add_argument("--disable", action="store_true")
    service.add_argument("--reason", metavar="TEXT", help="why it is disabled (required with --disable)")
    service.add_argument("--forced-down", choices=("yes", "no"), help="set or clear forced-down")
    write_flags(service, fencing=True)


def write_flags(parser: argparse.ArgumentParser, *, fencing: bool) -> None:
    if fencing:
        parser.add_argument("--i-have-fenced", action="store_true", help="confirm the host is powered off or isolated")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; send nothing")
    parser.add_argument("--json", action="store_true", help="machine-readable plan and per-item results")


def add_concurrency(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--concurrency", type=_concurrency, metavar="N", help=help_text)


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= config_mod.MAX_ACTION_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {config_mod.MAX_ACTION_CONCURRENCY}")
    return value


def _only(names: list[str], given: str | None, what: str) -> str:
    if given:
        return given
    if len(names) == 1:
        return names[0]
    raise ActionRefused(f"name the {what} with --{what.replace(' ', '-')} (one of: {', '.join(names) or 'none'})")


def _cloud(view: EstateView, args: argparse.Namespace) -> str:
    """The named cloud, else the only one, else the only one with a nova-compute on ``--host``."""
    having = [s.cloud for s in view.estate.openstack if any(sv.host == args.host for sv in s.services)]
    if not args.cloud and len(having) == 1:
        return having[0]
    return _only([s.cloud for s in view.estate.openstack], args.cloud, "cloud")


def _evacuation(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    cloud = _cloud(view, args)
    request = EvacuationRequest(
        cloud,
        args.host,
        tuple(args.instance),
        None if args.target == "auto" else args.target,
        force_down=args.force_down,
        start_after=args.start_after,
    )
    return desk.evacuation(view, request)


def _restarts(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    having = [v.vcenter for v in view.estate.vcenters if any(args.host in (h.name, h.moref) for h in v.hosts)]
    vcenter = (
        having[0]
        if not args.vcenter and len(having) == 1
        else _only([v.vcenter for v in view.estate.vcenters], args.vcenter, "vcenter")
    )
    return desk.vm_restarts(view, RestartRequest(vcenter, args.host, None if args.target == "auto" else args.target))


def _service(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    cloud = _cloud(view, args)
    enable = True if args.enable else False if args.disable else None
    forced = None if args.forced_down is None else args.forced_down == "yes"
    return desk.service_change(view, ServiceChange(cloud, args.host, enable, args.reason, forced))


PLANNERS: dict[str, Planner] = {"evacuate": _evacuation, "restart-vms": _restarts, "service": _service}


def plan_lines(plan: Plan) -> list[str]:
    lines = [plan.title]
    if plan.refused:
        return [*lines, f"  REFUSED: {plan.refused}"]
    lines += [f"  ! {note}" for note in plan.notes]
    for number, step in enumerate(plan.steps, start=1):
        head = f"  {number:>3}. {'BLOCKED ' if step.blocked else ''}{step.summary}"
        lines.append(head + (f": {step.blocked_reason}" if step.blocked else ""))
        if step.consequence and not step.blocked:
            lines.append(f"       {step.consequence}")
    lines.append(f"  {len(plan.sendable)} to send, {len(plan.blocked)} blocked")
    return lines


def _item_line(item: ItemStatus) -> str:
    request = f" [{item.request_id}]" if item.request_id else ""
    return f"{item.state.value:>15}  {item.step.label or item.step.key.target}: {item.message}{request}"


async def run_write(
    args: argparse.Namespace, endpoints: Endpoints, planners: Mapping[str, Planner], out: TextIO = sys.stdout
) -> int:
    monitor = EstateMonitor(endpoints)
    desk = ActionDesk(endpoints, config_mod.audit_log_path(), read_only=True if args.read_only else None)
    try:
        view = await monitor.read_once(time.monotonic() + READ_SECONDS)
        return await _plan_and_send(args, desk, view, planners[args.command], out)
    finally:
        await desk.aclose()
        await monitor.aclose()


async def _plan_and_send(
    args: argparse.Namespace, desk: ActionDesk, view: EstateView, planner: Planner, out: TextIO
) -> int:
    try:
        plan = planner(desk, view, args)
    except ActionRefused as exc:
        return _refused(args, None, str(exc), out)
    stale = [e.name for e in view.estate.endpoints if not e.ok]
    if plan.refused:
        if not args.json:
            _print_plan(args, plan, out, stale)
        return _refused(args, plan, plan.refused, out)
    if args.dry_run:
        _print_plan(args, plan, out, stale)
        return EXIT_OK
    if not args.json:
        _print_plan(args, plan, out, stale)
    try:
        operation = desk.runner.submit(
            plan, fenced=getattr(args, "i_have_fenced", False), concurrency=args_concurrency(args)
        )
    except (ActionRefused, AlreadyRunning) as exc:
        return _refused(args, plan, str(exc), out)
    if not args.json:
        operation.listen(lambda _op, item: print(_item_line(item), file=sys.stderr) if item.state.finished else None)
    await operation.finished.wait()
    _print_results(args, operation, out)
    return EXIT_OK if operation.ok else EXIT_FAILED


def args_concurrency(args: argparse.Namespace) -> int | None:
    return getattr(args, "concurrency", None)


def _print_plan(args: argparse.Namespace, plan: Plan, out: TextIO, stale: list[str]) -> None:
    if args.json:
        out.write(json.dumps({"plan": plan.as_json(), "stale_endpoints": stale, "sent": False}, indent=2) + "\n")
        return
    for line in plan_lines(plan):
        out.write(line + "\n")
    if stale:
        out.write(f"  ! planned from stale data of: {', '.join(stale)}\n")


def _refused(args: argparse.Namespace, plan: Plan | None, why: str, out: TextIO) -> int:
    if args.json:
        document = {"plan": plan.as_json() if plan else None, "refused": why, "sent": False, "ok": False}
        out.write(json.dumps(document, indent=2) + "\n")
    print(f"hybridview: {why}", file=sys.stderr)
    return EXIT_REFUSED


def _print_results(args: argparse.Namespace, operation: Operation, out: TextIO) -> None:
    if args.json:
        document = {
            "plan": operation.plan.as_json(),
            "sent": True,
            "ok": operation.ok,
            "items": [item.as_json() for item in operation.items],
        }
        out.write(json.dumps(document, indent=2) + "\n")
        return
    for item in operation.items:
        out.write(_item_line(item) + "\n")
    out.write(operation.summary() + "\n")
