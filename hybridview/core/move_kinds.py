"""The moves an item may have and how each is stated: available or not, why, and to where.

``core.migration_options`` builds them and re-exports these types (its public API).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hybridview.core.model import Instance, VirtualMachine
from hybridview.core.move_targets import MoveTarget


class MoveKind(StrEnum):
    LIVE_MIGRATE = "live-migrate"
    COLD_MIGRATE = "cold-migrate"
    CONFIRM_RESIZE = "confirm-resize"
    REVERT_RESIZE = "revert-resize"
    ABORT = "abort-live-migration"
    FORCE_COMPLETE = "force-complete"
    EVACUATE = "evacuate"
    VMOTION = "vmotion"
    STORAGE_VMOTION = "storage-vmotion"

    @property
    def label(self) -> str:
        return LABELS.get(self, self.value)


LABELS = {MoveKind.VMOTION: "vMotion", MoveKind.STORAGE_VMOTION: "Storage vMotion"}


@dataclass(frozen=True, slots=True)
class MoveOption:
    kind: MoveKind
    actor: str  # "nova" | "vsphere"
    available: bool
    reason: str  # why not available, or what it does when it is
    after: str | None = None  # what must happen first for it to become available
    targets: tuple[MoveTarget, ...] = ()
    scheduler: bool = False  # Nova may choose the host itself (target "auto")

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "actor": self.actor,
            "available": self.available,
            "reason": self.reason,
            "after": self.after,
            "scheduler": self.scheduler,
            "targets": [t.as_json() for t in self.targets],
        }


@dataclass(frozen=True, slots=True)
class MoveOptions:
    subject: str  # "instance web-1 (uuid) on host kvm-03" / "VM vm-12 on esxi-4"
    instance: Instance | None
    vm: VirtualMachine | None
    options: tuple[MoveOption, ...]

    def option(self, kind: MoveKind) -> MoveOption | None:
        return next((o for o in self.options if o.kind is kind), None)

    def as_json(self) -> dict[str, object]:
        inst, vm = self.instance, self.vm
        return {
            "subject": self.subject,
            "instance": (
                {
                    "cloud": inst.cloud,
                    "id": inst.id,
                    "name": inst.name,
                    "host": inst.host,
                    "node": inst.node,
                    "status": inst.status,
                    "vm_state": inst.vm_state,
                    "task_state": inst.task_state,
                }
                if inst
                else None
            ),
            "vm": (
                {"vcenter": vm.vcenter, "moref": vm.moref, "name": vm.name, "host_moref": vm.host_moref} if vm else None
            ),
            "options": [o.as_json() for o in self.options],
        }
