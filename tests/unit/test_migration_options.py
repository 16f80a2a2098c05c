"""Which moves each instance really has, per hypervisor and host state."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.migration_options import move_options, summary
from hybridview.core.model import VMWARE_HYPERVISOR_TYPE, ComputeNode, Instance

KVM = ComputeNode("c", "1", "kvm1", "QEMU", "kvm1", "up", "enabled", None, False)
VMW = ComputeNode("c", "2", "domain-c7.uuid", VMWARE_HYPERVISOR_TYPE, "proxy", "up", "enabled", None, False)
INST = Instance("c", "i1", "web", "p", "ACTIVE", "active", None, 1, "kvm1", "kvm1", "m1", False)


def _by_action(node: ComputeNode, inst: Instance = INST) -> dict[str, bool]:
    return {o.action: o.available for o in move_options(inst, node)}


def test_healthy_kvm_host_live_and_cold_migrates_but_cannot_evacuate() -> None:
    assert _by_action(KVM) == {"live-migrate": True, "cold migrate": True, "evacuate": False}
    assert summary(move_options(INST, KVM)) == "live-migrate, cold migrate"


def test_down_kvm_host_evacuates_only_after_force_down() -> None:
    down = replace(KVM, state="down")
    assert _by_action(down) == {"evacuate": False, "live-migrate": False}
    assert summary(move_options(INST, down)) == "evacuate after fence + force-down"
    forced = replace(down, forced_down=True)
    assert _by_action(forced)["evacuate"] is True


def test_evacuation_note_tells_whether_data_survives() -> None:
    forced = replace(KVM, state="down", forced_down=True)
    local = next(o for o in move_options(INST, forced) if o.action == "evacuate")
    volume = next(o for o in move_options(replace(INST, boot_from_volume=True), forced) if o.action == "evacuate")
    assert "rebuilt from its image" in local.note
    assert "volume-backed: data survives" in volume.note


def test_vmware_instances_move_by_vmotion_and_never_evacuate() -> None:
    options = {o.action: o for o in move_options(INST, VMW, "Cluster1")}
    assert options["vMotion"].available and options["vMotion"].actor == "vsphere"
    assert "Cluster1" in options["vMotion"].note
    assert not options["evacuate"].available
    assert options["live-migrate"].available
    proxy_down = {o.action: o.available for o in move_options(INST, replace(VMW, state="down"))}
    assert proxy_down["live-migrate"] is False and proxy_down["vMotion"] is True


def test_unknown_node_has_no_options() -> None:
    assert summary(move_options(INST, None)) == "none now"
