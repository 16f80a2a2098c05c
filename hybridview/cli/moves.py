"""``migrate``, ``vmotion``, ``drain`` and ``options``: moves through the same action layer as the recovery writes.

The planners resolve what the operator named (an instance id or name, a VM, an ESXi host) in the
estate read once, and build the plan in core; ``act.run_write`` prints, refuses or sends it.
``options`` only reads: it prints every way the item can move now, and why the others cannot.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from hybridview.actions.desk import ActionDesk
from hybridview.actions.runner import ActionRefused
from hybridview.cli.act import EXIT_OK, EXIT_REFUSED, Planner, add_concurrency, write_flags
from hybridview.core import lookup
from hybridview.core.actions import Plan
from hybridview.core.drain import DEFAULT_MAINTENANCE_TIMEOUT_SECONDS, DrainRequest
from hybridview.core.migration_options import MoveKind, MoveOptions, instance_move_options, vm_move_options
from hybridview.core.model import VirtualMachine
from hybridview.core.view import EstateView
from hybridview.service.monitor import EstateMonitor
from hybridview.service.wiring import Endpoints
from hybridview.views.move_options_text import options_text

T = TypeVar("T")
MOVE_COMMANDS = ("migrate", "vmotion", "drain")
READ_SECONDS = 60.0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[..., None]) -> None:
    migrate = sub.add_parser("migrate", help="live or cold migrate a Nova instance; confirm, revert, abort")
    common(migrate)
    migrate.add_argument("instance", metavar="INSTANCE_ID", help="the instance's id (or its name, when unique)")
    how = migrate.add_mutually_exclusive_group()
    how.add_argument("--live", action="store_true", help="live migration (the default)")
    how.add_argument("--cold", action="store_true", help="cold migration: the instance is stopped and moved")
    migrate.add_argument("--target", default="auto", metavar="HOST|auto", help="destination; auto: the scheduler")
    decide = migrate.add_mutually_exclusive_group()
    decide.add_argument("--confirm", action="store_true", help="confirm at VERIFY_RESIZE (with --cold: once there)")
    decide.add_argument("--revert", action="store_true", help="revert a migration waiting at VERIFY_RESIZE")
    decide.add_argument("--abort", action="store_true", help="abort the instance's running live migration")
    decide.add_argument("--force-complete", action="store_true", help="force its running live migration to complete")
    write_flags(migrate, fencing=False)
    vmotion = sub.add_parser("vmotion", help="vMotion / Storage vMotion a VM inside its cluster (a vSphere action)")
    common(vmotion)
    vmotion.add_argument("vm", metavar="VM_OR_INSTANCE", help="VM name, moref, instanceUuid, or a Nova instance id")
    vmotion.add_argument("--host", metavar="ESXI_HOST|auto", help="target ESXi host; auto: least loaded of the cluster")
    vmotion.add_argument("--datastore", metavar="DS", help="target datastore (Storage vMotion)")
    write_flags(vmotion, fencing=False)
    drain = sub.add_parser("drain", help="empty a host for maintenance: a KVM compute host or an ESXi host")
    common(drain)
    where = drain.add_mutually_exclusive_group(required=True)
    where.add_argument("--cloud", metavar="NAME", help="the cloud of a Nova compute host")
    where.add_argument("--vcenter", metavar="NAME", help="the vCenter of an ESXi host")
    drain.add_argument("--host", required=True, metavar="HOST", help="compute host, or ESXi host name or moref")
    drain.add_argument("--undo", action="store_true", help="enable the service again / exit maintenance mode")
    drain.add_argument("--reason", metavar="TEXT", help="the disabled reason Nova keeps (KVM)")
    drain.add_argument("--move-powered-off", action="store_true", help="ESXi: move powered-off VMs too")
    drain.add_argument("--no-cold", action="store_true", help="KVM: list what cannot live-migrate, do not cold-migrate")
    drain.add_argument(
        "--timeout", type=int, default=DEFAULT_MAINTENANCE_TIMEOUT_SECONDS, metavar="S", help="maintenance mode timeout"
    )
    add_concurrency(drain, "moves at once (default 3)")
    write_flags(drain, fencing=False)
    options = sub.add_parser("options", help="every way an instance or VM can move now, and why the others cannot")
    common(options)
    options.add_argument("item", metavar="INSTANCE_OR_VM")
    options.add_argument("--json", action="store_true", help="machine-readable")


def _target(text: str | None) -> str | None:
    return None if text in (None, "auto") else text


def _migration(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    ref = _found(lookup.find_instance, view, args.instance).ref
    if args.abort or args.force_complete:
        return desk.live_migration_control(view, ref, abort=args.abort)
    if (args.confirm or args.revert) and not args.cold:
        return desk.resize_decision(view, ref, confirm=args.confirm)
    if args.cold:
        return desk.cold_migration(view, ref, _target(args.target), confirm=args.confirm)
    return desk.live_migration(view, ref, _target(args.target))


def _vmotion(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    vm = _found(lookup.find_vm, view, args.vm)
    host = _vmotion_host(view, vm, args.host) if args.host or not args.datastore else None
    datastore = _datastore(view, vm, args.datastore) if args.datastore else None
    return desk.relocation(view, vm.ref, host_moref=host, datastore_moref=datastore)


def _vmotion_host(view: EstateView, vm: VirtualMachine, text: str | None) -> str:
    if text is not None and text != "auto":
        return _found(lambda v, t: lookup.find_esxi_host(v, vm.vcenter, t), view, text)[1].moref
    option = vm_move_options(view, vm).option(MoveKind.VMOTION)
    usable = [t for t in option.targets if t.usable] if option else []
    if option is None or not option.available or not usable:
        raise ActionRefused(f"no host to vMotion {vm.name} to: {option.reason if option else 'no vMotion option'}")
    return usable[0].ident


def _datastore(view: EstateView, vm: VirtualMachine, text: str) -> str:
    snapshot = next(v for v in view.estate.vcenters if v.vcenter == vm.vcenter)
    match = [d for d in snapshot.datastores if text in (d.name, d.moref)]
    if not match:
        raise ActionRefused(f"no datastore {text!r} in vCenter {vm.vcenter}")
    return match[0].moref


def _drain(desk: ActionDesk, view: EstateView, args: argparse.Namespace) -> Plan:
    request = DrainRequest(
        args.cloud or args.vcenter,
        args.host,
        undo=args.undo,
        reason=args.reason,
        move_powered_off=args.move_powered_off,
        timeout_seconds=args.timeout,
        cold_fallback=not args.no_cold,
    )
    return desk.drain(view, request)


def _found(find: Callable[[EstateView, str], T], view: EstateView, text: str) -> T:
    try:
        return find(view, text)
    except LookupError as exc:
        raise ActionRefused(str(exc.args[0]) if exc.args else str(exc)) from None


PLANNERS: dict[str, Planner] = {"migrate": _migration, "vmotion": _vmotion, "drain": _drain}


async def run_options(args: argparse.Namespace, endpoints: Endpoints, out: TextIO = sys.stdout) -> int:
    monitor = EstateMonitor(endpoints)
    try:
        view = await monitor.read_once(time.monotonic() + READ_SECONDS)
    finally:
        await monitor.aclose()
    try:
        options = _options_of(view, args.item)
    except LookupError as exc:
        print(f"hybridview: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_REFUSED
    stale = [e.name for e in view.estate.endpoints if not e.ok]
    if args.json:
        out.write(json.dumps({**options.as_json(), "stale_endpoints": stale}, indent=2) + "\n")
    else:
        out.write(options_text(options) + "\n")
        if stale:
            out.write(f"  ! from stale data of: {', '.join(stale)}\n")
    return EXIT_OK


def _options_of(view: EstateView, text: str) -> MoveOptions:
    try:
        return instance_move_options(view, lookup.find_instance(view, text))
    except LookupError as not_instance:
        try:
            return vm_move_options(view, lookup.find_vm(view, text))
        except LookupError:
            raise not_instance from None
