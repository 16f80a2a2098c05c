"""What the operator typed -> the one instance, VM or ESXi host it names; LookupError says why not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from hybridview.core.identity import InstanceRef, RefError, VmRef, parse_ref
from hybridview.core.model import EsxiHost, Instance, OpenStackSnapshot, VCenterSnapshot, VirtualMachine
from hybridview.core.view import EstateView

SHOWN = 5  # ambiguous matches named in the error
T = TypeVar("T")
R = TypeVar("R", InstanceRef, VmRef)


def _one(found: Sequence[T], text: str, what: str, where: str, hint: str, name: Callable[[T], str]) -> T:
    if not found:
        raise LookupError(f"no {what} {text!r} in {where}")
    if len(found) > 1:
        names = ", ".join(name(f) for f in found[:SHOWN])
        raise LookupError(f"{text!r} matches {len(found)} {what}s ({names}): {hint}")
    return found[0]


def find_instance(view: EstateView, text: str) -> Instance:
    """By id in any cloud, by identity text (``instance:cloud/id``), or by a name that is unique."""
    text = text.strip()
    ref = _parsed(text, InstanceRef)
    if ref is not None:
        return instance_by_ref(view, ref)[1]
    every = [i for s in view.estate.openstack for i in s.instances]
    by_id = [i for i in every if i.id.lower() == text.lower()]
    found = by_id or [i for i in every if i.name == text]

    def label(i: Instance) -> str:
        return f"{i.id} in {i.cloud}"

    return _one(found, text, "instance", "any cloud", "use the id" if not by_id else "name the cloud", label)


def instance_by_ref(view: EstateView, ref: InstanceRef) -> tuple[OpenStackSnapshot, Instance]:
    snap = next((s for s in view.estate.openstack if s.cloud == ref.cloud), None)
    if snap is None:
        raise LookupError(f"no cloud named {ref.cloud!r} is being read")
    inst = next((i for i in snap.instances if i.id == ref.id), None)
    if inst is None:
        raise LookupError(f"no instance {ref.id!r} in cloud {ref.cloud}")
    return snap, inst


def find_vm(view: EstateView, text: str) -> VirtualMachine:
    """By moref, name or instanceUuid in any vCenter, identity text (``vm:vc/moref``), or a Nova instance."""
    text = text.strip()
    ref = _parsed(text, VmRef)
    if ref is not None:
        return vm_by_ref(view, ref)[1]
    every = [vm for vc in view.estate.vcenters for vm in vc.vms]
    found = (
        [vm for vm in every if vm.moref == text]
        or [vm for vm in every if vm.instance_uuid and vm.instance_uuid.lower() == text.lower()]
        or [vm for vm in every if vm.name == text]
    )
    if found:
        return _one(
            found, text, "VM", "any vCenter", "use the moref and the vCenter", lambda v: f"{v.moref} in {v.vcenter}"
        )
    try:
        inst = find_instance(view, text)
    except LookupError:
        raise LookupError(f"no VM or Nova instance {text!r} in any vCenter or cloud") from None
    vm = view.health.correlation.vm_by_instance.get(inst.ref)
    if vm is None:
        raise LookupError(f"instance {inst.name} ({inst.id}) has no VM in any vCenter being read")
    return vm


def vm_by_ref(view: EstateView, ref: VmRef) -> tuple[VCenterSnapshot, VirtualMachine]:
    vc = next((v for v in view.estate.vcenters if v.vcenter == ref.vcenter), None)
    if vc is None:
        raise LookupError(f"no vCenter named {ref.vcenter!r} is being read")
    vm = next((v for v in vc.vms if v.moref == ref.moref), None)
    if vm is None:
        raise LookupError(f"no VM {ref.moref!r} in vCenter {ref.vcenter}")
    return vc, vm


def find_esxi_host(view: EstateView, vcenter: str | None, text: str) -> tuple[VCenterSnapshot, EsxiHost]:
    """By name or moref, in the named vCenter or in any."""
    text = text.strip()
    vcenters = [v for v in view.estate.vcenters if vcenter is None or v.vcenter == vcenter]
    if vcenter is not None and not vcenters:
        raise LookupError(f"no vCenter named {vcenter!r} is being read")
    pairs = [(vc, h) for vc in vcenters for h in vc.hosts]
    found = [p for p in pairs if p[1].moref == text] or [p for p in pairs if p[1].name == text]
    where = f"vCenter {vcenter}" if vcenter else "any vCenter"
    return _one(found, text, "ESXi host", where, "name the vCenter", lambda p: f"{p[1].moref} in {p[0].vcenter}")


def _parsed(text: str, kind: type[R]) -> R | None:
    if not text.startswith(f"{kind.KIND}:"):
        return None
    try:
        ref = parse_ref(text)
    except RefError as exc:
        raise LookupError(str(exc)) from None
    return ref if isinstance(ref, kind) else None
