"""Typed identities of the objects the app names, each with one text form.

Text is ``<kind>:<scope>/<local>`` (``node:prod/cmp-001``, ``host:vc-east/host-12``), with each
part percent-encoded so a name holding ``/`` or ``:`` still round-trips. ``ref_text`` writes
it, ``parse_ref`` reads it back; no other module builds or splits key strings.
``parse_cluster_selector`` reads the config's ``node_map`` targets the same way, once, at the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import quote, unquote


class RefError(ValueError):
    """Text that is not the written form of any identity."""


def _part(text: str) -> str:
    return quote(text, safe="")


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unpart(part: str, text: str) -> str:
    if _BAD_ESCAPE.search(part):
        raise RefError(f"bad percent-escape in {text!r} (a literal % is written %25)")
    try:
        return unquote(part, errors="strict")
    except UnicodeDecodeError as exc:
        raise RefError(f"percent-escapes in {text!r} are not UTF-8") from exc


@dataclass(frozen=True, slots=True, order=True)
class EndpointRef:
    """A Nova cloud or a vCenter, by its configured name (unique across both)."""

    KIND: ClassVar[str] = "endpoint"
    name: str

    def text(self) -> str:
        return f"{self.KIND}:{_part(self.name)}"

    @property
    def endpoint(self) -> EndpointRef:
        """Itself: every identity names the endpoint that reports it."""
        return self


@dataclass(frozen=True, slots=True, order=True)
class _Scoped:
    KIND: ClassVar[str] = ""
    scope: str  # the cloud or vCenter name
    local: str  # hypervisor_hostname, instance id or managed object id

    def text(self) -> str:
        return f"{self.KIND}:{_part(self.scope)}/{_part(self.local)}"

    @property
    def endpoint(self) -> EndpointRef:
        return EndpointRef(self.scope)


@dataclass(frozen=True, slots=True, order=True)
class NodeRef(_Scoped):
    """A Nova compute node: ``(cloud, hypervisor_hostname)``."""

    KIND: ClassVar[str] = "node"

    @property
    def cloud(self) -> str:
        return self.scope

    @property
    def hypervisor_hostname(self) -> str:
        return self.local


@dataclass(frozen=True, slots=True, order=True)
class InstanceRef(_Scoped):
    """A Nova instance: ``(cloud, server id)``."""

    KIND: ClassVar[str] = "instance"

    @property
    def cloud(self) -> str:
        return self.scope

    @property
    def id(self) -> str:
        return self.local


@dataclass(frozen=True, slots=True, order=True)
class _VSphereObject(_Scoped):
    @property
    def vcenter(self) -> str:
        return self.scope

    @property
    def moref(self) -> str:
        return self.local


@dataclass(frozen=True, slots=True, order=True)
class ClusterRef(_VSphereObject):
    """A vCenter cluster: ``(vcenter, moref)``."""

    KIND: ClassVar[str] = "cluster"


@dataclass(frozen=True, slots=True, order=True)
class HostRef(_VSphereObject):
    """An ESXi host: ``(vcenter, moref)``."""

    KIND: ClassVar[str] = "host"


@dataclass(frozen=True, slots=True, order=True)
class VmRef(_VSphereObject):
    """A vSphere VM: ``(vcenter, moref)``."""

    KIND: ClassVar[str] = "vm"


@dataclass(frozen=True, slots=True, order=True)
class AggregateRef(_Scoped):
    """A Nova host aggregate: ``(cloud, aggregate id)``. No tree row: selecting it selects nothing."""

    KIND: ClassVar[str] = "aggregate"

    @property
    def cloud(self) -> str:
        return self.scope


@dataclass(frozen=True, slots=True, order=True)
class ZoneRef(_Scoped):
    """A Nova availability zone: ``(cloud, zone name)``. No tree row: selecting it selects nothing."""

    KIND: ClassVar[str] = "zone"

    @property
    def cloud(self) -> str:
        return self.scope


HostGroupRef = AggregateRef | ZoneRef  # a group of Nova compute hosts judged for headroom
Ref = EndpointRef | NodeRef | InstanceRef | ClusterRef | HostRef | VmRef | AggregateRef | ZoneRef
_SCOPED: dict[str, type[NodeRef | InstanceRef | ClusterRef | HostRef | VmRef | AggregateRef | ZoneRef]] = {
    cls.KIND: cls for cls in (NodeRef, InstanceRef, ClusterRef, HostRef, VmRef, AggregateRef, ZoneRef)
}


def ref_text(ref: Ref) -> str:
    return ref.text()


def parse_ref(text: str) -> Ref:
    """The identity a ``ref_text`` wrote; RefError for anything else."""
    kind, sep, rest = text.partition(":")
    if not sep or not rest:
        raise RefError(f"not an identity: {text!r} (expected <kind>:<name>)")
    if kind == EndpointRef.KIND:
        if "/" in rest:
            raise RefError(f"not an endpoint identity: {text!r}")
        return EndpointRef(_unpart(rest, text))
    cls = _SCOPED.get(kind)
    if cls is None:
        raise RefError(f"unknown identity kind {kind!r} in {text!r}")
    scope, sep, local = rest.partition("/")
    if not sep or not scope or not local or "/" in local:
        raise RefError(f"not a {kind} identity: {text!r} (expected {kind}:<scope>/<id>)")
    return cls(_unpart(scope, text), _unpart(local, text))


@dataclass(frozen=True, slots=True)
class ClusterSelector:
    """A configured ``node_map`` target: a cluster of one vCenter, by its name or its moref.

    Not an identity: it names a cluster the way an operator wrote it; correlation resolves it
    to that cluster's ``ClusterRef`` when the vCenter has such a cluster.
    """

    vcenter: str
    cluster: str  # cluster name or moref


def parse_cluster_selector(text: str) -> ClusterSelector:
    """``"<vcenter name>/<cluster name or moref>"`` (plain text, split at the first ``/``)."""
    vcenter, sep, cluster = text.partition("/")
    if not sep or not vcenter or not cluster:
        raise RefError(f"not a cluster selector: {text!r} (expected <vcenter name>/<cluster name or moref>)")
    return ClusterSelector(vcenter, cluster)
