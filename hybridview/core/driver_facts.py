"""What each Nova virt driver can do for a move, as data checked against Nova's support matrix.

Each fact names its key in ``nova/doc/source/user/support-matrix.ini`` (a copy is in
``tests/data``); ``tests/unit/test_driver_facts.py`` parses it and fails when a fact
disagrees, unless the fact carries an ``override`` citing the driver code that wins.
The matrix has no cold-migrate row: a cold migration is a resize to the same flavor
(``migrate_disk_and_power_off``), so it is checked against ``operation.resize``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hybridview.core.model import VMWARE_HYPERVISOR_TYPE, ComputeNode


class Operation(StrEnum):
    LIVE_MIGRATE = "live-migrate"
    COLD_MIGRATE = "cold-migrate"
    RESIZE = "resize"
    EVACUATE = "evacuate"
    ABORT_LIVE_MIGRATION = "abort-live-migration"
    FORCE_COMPLETE = "force-complete"


MATRIX_KEY = {
    Operation.LIVE_MIGRATE: "operation.live-migrate",
    Operation.COLD_MIGRATE: "operation.resize",
    Operation.RESIZE: "operation.resize",
    Operation.EVACUATE: "operation.evacuate",
    Operation.ABORT_LIVE_MIGRATION: "operation.abort-in-progress-live-migration",
    Operation.FORCE_COMPLETE: "operation.force-live-migration-to-complete",
}

# The compute microversion each API needs (Nova's api-ref and microversion history).
FORCE_COMPLETE_SINCE = "2.22"
ABORT_SINCE = "2.24"  # of a running live migration
BLOCK_MIGRATION_AUTO_SINCE = "2.25"
MIGRATE_TO_HOST_SINCE = "2.56"
ABORT_QUEUED_SINCE = "2.65"  # of a queued or preparing one, whatever the driver


class Family(StrEnum):
    LIBVIRT = "libvirt"
    VMWAREAPI = "vmwareapi"
    IRONIC = "ironic"


@dataclass(frozen=True, slots=True)
class Fact:
    operation: Operation
    supported: bool  # what hybridview offers
    matrix: str  # what the support matrix says: complete | partial | missing | unknown
    reason: str  # its scope when supported, why not otherwise
    override: str | None = None  # why ``supported`` differs from the matrix: the driver code that says so

    @property
    def matrix_key(self) -> str:
        return MATRIX_KEY[self.operation]


@dataclass(frozen=True, slots=True)
class DriverFacts:
    driver: str  # the matrix's driver key, e.g. "driver.libvirt-kvm-x86"
    family: Family
    facts: tuple[Fact, ...]

    def fact(self, operation: Operation) -> Fact:
        return next(f for f in self.facts if f.operation is operation)

    def supports(self, operation: Operation) -> bool:
        return self.fact(operation).supported


LIBVIRT_KVM = DriverFacts(
    "driver.libvirt-kvm-x86",
    Family.LIBVIRT,
    (
        Fact(Operation.LIVE_MIGRATE, True, "complete", "to another libvirt host; block migration for local disks"),
        Fact(Operation.COLD_MIGRATE, True, "complete", "stops the instance, moves it, waits at VERIFY_RESIZE"),
        Fact(Operation.RESIZE, True, "complete", "to another flavor, then VERIFY_RESIZE"),
        Fact(Operation.EVACUATE, True, "complete", "rebuilds the instances of a failed, forced-down host elsewhere"),
        Fact(Operation.ABORT_LIVE_MIGRATION, True, "complete", "the instance stays on its source host"),
        Fact(
            Operation.FORCE_COMPLETE,
            True,
            "complete",
            "pauses the guest, or switches to post-copy, until the copy ends (libvirt >= 1.3.3, qemu >= 2.5.0)",
        ),
    ),
)

VMWARE = DriverFacts(
    "driver.vmware",
    Family.VMWAREAPI,
    (
        Fact(
            Operation.LIVE_MIGRATE,
            True,
            "complete",
            "only to another vmwareapi node (cluster) of the same vCenter: the driver relocates the VM "
            "inside its own vCenter session (vmops.live_migration)",
        ),
        Fact(Operation.COLD_MIGRATE, True, "complete", "to a cluster of the same vCenter, then VERIFY_RESIZE"),
        Fact(Operation.RESIZE, True, "complete", "to another flavor, then VERIFY_RESIZE"),
        Fact(
            Operation.EVACUATE,
            False,
            "unknown",
            "the vmwareapi driver does not support evacuate: Nova would put the instance in ERROR. "
            "vSphere HA restarts the VMs of a failed ESXi host; a dead nova-compute proxy only needs a restart",
            # nova/virt/vmwareapi/driver.py: VMwareVCDriver.capabilities "supports_evacuate": False, and
            # nova/compute/manager.py _do_rebuild_instance raises InstanceEvacuateNotSupported for it,
            # inside _error_out_instance_on_exception (vm_state ERROR).
            override="nova/virt/vmwareapi/driver.py: capabilities supports_evacuate False; the evacuation fails "
            "with InstanceEvacuateNotSupported and the instance goes to ERROR",
        ),
        Fact(
            Operation.ABORT_LIVE_MIGRATION,
            False,
            "missing",
            "the vmwareapi driver cannot abort a running live migration (no live_migration_abort)",
        ),
        Fact(
            Operation.FORCE_COMPLETE,
            False,
            "missing",
            "the vmwareapi driver cannot force a live migration to complete (no live_migration_force_complete)",
        ),
    ),
)

IRONIC = DriverFacts(
    "driver.ironic",
    Family.IRONIC,
    (
        Fact(Operation.LIVE_MIGRATE, False, "missing", "a bare-metal node cannot be live-migrated"),
        Fact(Operation.COLD_MIGRATE, False, "missing", "a bare-metal node cannot be migrated"),
        Fact(Operation.RESIZE, False, "missing", "a bare-metal node cannot be resized"),
        Fact(
            Operation.EVACUATE,
            False,
            "unknown",
            "the ironic driver does not support evacuate",
            # nova/virt/ironic/driver.py: IronicDriver.capabilities "supports_evacuate": False.
            override="nova/virt/ironic/driver.py: capabilities supports_evacuate False",
        ),
        Fact(Operation.ABORT_LIVE_MIGRATION, False, "missing", "no live migration to abort"),
        Fact(Operation.FORCE_COMPLETE, False, "missing", "no live migration to complete"),
    ),
)

ALL_DRIVERS = (LIBVIRT_KVM, VMWARE, IRONIC)
LIBVIRT_HYPERVISOR_TYPES = frozenset({"QEMU", "KVM"})  # what libvirt reports as hypervisor_type


def facts_for_type(hypervisor_type: str) -> DriverFacts | None:
    """The driver behind a hypervisor type; libvirt is taken as KVM on x86 (the API does not say the arch)."""
    if hypervisor_type == VMWARE_HYPERVISOR_TYPE:
        return VMWARE
    if hypervisor_type.lower() == "ironic":
        return IRONIC
    if hypervisor_type.upper() in LIBVIRT_HYPERVISOR_TYPES:
        return LIBVIRT_KVM
    return None


def facts_for(node: ComputeNode) -> DriverFacts | None:
    return facts_for_type(node.hypervisor_type)
