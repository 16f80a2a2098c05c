"""A demo VM as the core's record, as vCenter reports it: its reservations and its sampled usage."""

from __future__ import annotations

import zlib

from hybridview.core.model import VirtualMachine
from hybridview.sim.layout import MHZ, SimVM


def vm_usage(vm: SimVM, connected: bool) -> tuple[int | None, int | None]:
    """(host memory MB, CPU MHz) in use: a steady share of its size per VM; none once its host stops answering."""
    if not connected:
        return None, None
    if vm.power_state != "poweredOn":
        return 0, 0
    spread = zlib.crc32(vm.moref.encode())
    return vm.memory_mb * (50 + spread % 41) // 100, vm.vcpus * MHZ * (5 + spread % 16) // 100


def vm_record(vm: SimVM, connection_state: str) -> VirtualMachine:
    """Its record now; ``connection_state`` is its runtime.connectionState (its usage is known only connected)."""
    memory_used, cpu_used = vm_usage(vm, connection_state == "connected")
    return VirtualMachine(
        vm.vcenter,
        vm.moref,
        vm.name,
        vm.instance_uuid,
        vm.host,
        vm.power_state,
        vm.datastores,
        vm.vcpus,
        vm.memory_mb,
        vm.vmx_path,
        connection_state,
        vm.memory_reservation_mb,
        vm.cpu_reservation_mhz,
        memory_used,
        cpu_used,
    )
