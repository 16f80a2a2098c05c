"""Which ways of moving an instance really exist, per Nova's virt driver support matrix."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.model import ComputeNode, Instance


@dataclass(frozen=True, slots=True)
class MoveOption:
    action: str
    actor: str  # "nova" | "vsphere"
    available: bool
    note: str
    after: str | None = None  # what must happen first for it to become available


def move_options(
    instance: Instance, node: ComputeNode | None, cluster_name: str | None = None
) -> tuple[MoveOption, ...]:
    if node is None:
        return (MoveOption("none", "nova", False, "instance is not on a known compute node"),)
    if node.is_vmware:
        return _vmware_options(node, cluster_name)
    return _libvirt_options(instance, node)


def _vmware_options(node: ComputeNode, cluster_name: str | None) -> tuple[MoveOption, ...]:
    where = f"cluster {cluster_name}" if cluster_name else "its cluster"
    proxy_up = node.state == "up" and not node.forced_down
    return (
        MoveOption("vMotion", "vsphere", True, f"between ESXi hosts of {where}; Nova cannot start it"),
        MoveOption("Storage vMotion", "vsphere", True, "between datastores; a vSphere action"),
        MoveOption(
            "live-migrate",
            "nova",
            proxy_up,
            "to another vmwareapi node (another cluster) only" + ("" if proxy_up else "; proxy nova-compute is down"),
        ),
        MoveOption("evacuate", "nova", False, "not supported by the vmwareapi driver; vSphere HA restarts VMs"),
    )


def _libvirt_options(instance: Instance, node: ComputeNode) -> tuple[MoveOption, ...]:
    host_failed = node.state == "down" or node.forced_down
    data_note = (
        "volume-backed: data survives"
        if instance.boot_from_volume
        else "data survives only with shared instance storage; otherwise rebuilt from its image"
    )
    if host_failed:
        evac_note = (
            f"host is forced down: {data_note}"
            if node.forced_down
            else f"fence the host and force-down its service first; {data_note}"
        )
        prerequisite = None if node.forced_down else "fence + force-down"
        return (
            MoveOption("evacuate", "nova", node.forced_down, evac_note, prerequisite),
            MoveOption("live-migrate", "nova", False, "source host is down"),
        )
    return (
        MoveOption("live-migrate", "nova", True, "to another libvirt host"),
        MoveOption("cold migrate", "nova", True, "instance is stopped and moved"),
        MoveOption("evacuate", "nova", False, "only when the host has failed"),
    )


def summary(options: tuple[MoveOption, ...]) -> str:
    usable = [o.action + (" (vSphere)" if o.actor == "vsphere" else "") for o in options if o.available]
    if usable:
        return ", ".join(usable)
    pending = next((o for o in options if o.after), None)
    return f"{pending.action} after {pending.after}" if pending else "none now"
