"""Host maintenance plans: a KVM compute host through Nova, an ESXi host through vSphere, a vmwareapi proxy."""

from __future__ import annotations

from dataclasses import replace

from hybridview.core.actions import ActionKey, Verb
from hybridview.core.drain import DEFAULT_DRAIN_REASON, DrainRequest, plan_drain
from hybridview.core.model import Cluster, Estate, EsxiHost, VirtualMachine
from hybridview.core.view import EstateView
from tests.unit.factories import esxi, instance, kvm_node, vcenter, view_of, vm
from tests.unit.move_estates import WEB, kvm_view, sized, vmware_estate

# --- KVM ------------------------------------------------------------------------------------------


def _kvm_drain_view() -> EstateView:
    node = kvm_node("kvm1")
    stopped = replace(instance("b", node), status="SHUTOFF", vm_state="stopped")
    busy = instance("c", node, task_state="rebooting")
    elsewhere = instance("d", kvm_node("kvm2"))
    return kvm_view(WEB, stopped, busy, elsewhere)


def test_a_kvm_drain_disables_then_live_then_cold_migrates_and_lists_what_cannot_move() -> None:
    plan = plan_drain(_kvm_drain_view(), DrainRequest("c1", "kvm1", reason="disk swap"))
    assert plan.refused is None
    assert [(s.key.verb, s.label, s.blocked) for s in plan.steps] == [
        (Verb.DISABLE_SERVICE, "kvm1", False),
        (Verb.LIVE_MIGRATE, "vm-web", False),
        (Verb.COLD_MIGRATE, "vm-b", False),
        (Verb.LIVE_MIGRATE, "vm-c", True),
    ]
    disable, live, cold, blocked = plan.steps
    assert disable.parameters == {"host": "kvm1", "enabled": False, "reason": "disk swap"}
    assert live.parameters == {
        "instance_id": WEB.id,
        "source_host": "kvm1",
        "target_host": None,
        "block_migration": "auto",
    }
    assert cold.parameters == {"instance_id": "b", "source_host": "kvm1", "target_host": None, "confirm": True}
    assert cold.consequence and "SHUTOFF" in cold.consequence
    assert blocked.blocked_reason and "task state rebooting" in blocked.blocked_reason
    assert any("1 instance(s) can move neither way" in n for n in plan.notes)


def test_without_cold_fallback_what_cannot_live_migrate_is_blocked_not_skipped() -> None:
    plan = plan_drain(_kvm_drain_view(), DrainRequest("c1", "kvm1", cold_fallback=False))
    assert plan.steps[0].parameters["reason"] == DEFAULT_DRAIN_REASON
    blocked = {s.label: s.blocked_reason for s in plan.blocked}
    assert set(blocked) == {"vm-b", "vm-c"} and "cold fallback is off" in str(blocked["vm-b"])


def test_undo_reenables_and_unknown_or_down_hosts_are_refused() -> None:
    disabled = kvm_view(WEB)  # kvm5 is disabled
    (step,) = plan_drain(disabled, DrainRequest("c1", "kvm5", undo=True)).steps
    assert step.key == ActionKey("c1", Verb.ENABLE_SERVICE, "kvm5") and step.parameters["enabled"] is True
    assert plan_drain(disabled, DrainRequest("c1", "kvm1", undo=True)).steps == ()
    assert plan_drain(disabled, DrainRequest("c1", "kvm-x")).refused == "compute host 'kvm-x' is not in cloud c1"
    down = plan_drain(disabled, DrainRequest("c1", "kvm4")).refused
    assert down and down.startswith("nova-compute on kvm4 is down")
    assert (
        plan_drain(disabled, DrainRequest("nowhere", "kvm1")).refused
        == "no cloud or vCenter named 'nowhere' is being read"
    )


def test_draining_a_vmwareapi_proxy_is_refused_naming_the_per_host_vsphere_drains() -> None:
    view, _, _ = vmware_estate()
    refused = plan_drain(view, DrainRequest("c1", "proxy1")).refused
    assert refused and "the whole cluster" in refused
    assert "hybridview drain --vcenter vc1 --host host-1.example" in refused
    assert "hybridview drain --vcenter vc1 --host host-2.example" in refused


# --- ESXi -----------------------------------------------------------------------------------------


def _esxi_view(drs: str | None, *, big_vm_mb: int = 4096) -> EstateView:
    hosts: tuple[EsxiHost, ...] = (
        sized(esxi("h1")),
        sized(esxi("h2"), memory_used_mb=40000),
        sized(esxi("h3"), memory_used_mb=20000),
        sized(esxi("h4", maintenance=True)),
    )
    vms: tuple[VirtualMachine, ...] = (
        replace(vm("vm-a", "h1"), memory_mb=big_vm_mb),
        replace(vm("vm-b", "h1"), memory_mb=16000),
        replace(vm("vm-c", "h1"), memory_mb=8000),
        replace(vm("vm-off", "h1"), power_state="poweredOff", memory_mb=1000),
        replace(vm("vm-z", "h2"), memory_mb=1000),
    )
    cluster = Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=True, drs_enabled=drs is not None, drs_behavior=drs)
    return view_of(Estate(vcenters=(vcenter(clusters=(cluster,), hosts=hosts, vms=vms),)))


def test_without_full_drs_hybridview_places_each_vm_on_the_least_loaded_host_with_room() -> None:
    plan = plan_drain(_esxi_view("manual"), DrainRequest("vc1", "h1.example", timeout_seconds=600))
    assert plan.refused is None and not plan.blocked
    moves = [(s.label, s.parameters["host_moref"]) for s in plan.steps if s.key.verb is Verb.RELOCATE_VM]
    # largest first: 16000 MB -> h3 (least used), then 8000 -> h3 still least loaded (36000 < 40000), then 4096 -> h2
    assert moves == [("name-vm-b", "h3"), ("name-vm-c", "h3"), ("name-vm-a", "h2")]
    assert "to h3.example" in plan.steps[0].summary and "to h2.example" in plan.steps[2].summary
    enter = plan.steps[-1]
    assert enter.key == ActionKey("vc1", Verb.ENTER_MAINTENANCE, "h1")
    assert enter.parameters == {
        "host_moref": "h1",
        "host_name": "h1.example",
        "timeout_seconds": 600,
        "evacuate_powered_off": False,
    }
    assert any("1 powered-off VM(s) stay registered" in n for n in plan.notes)


def test_a_vm_that_fits_nowhere_blocks_it_and_entering_maintenance() -> None:
    plan = plan_drain(_esxi_view(None, big_vm_mb=60000), DrainRequest("vc1", "h1"))
    blocked = {s.label: s.blocked_reason for s in plan.blocked}
    assert set(blocked) == {"name-vm-a", "h1.example"}
    assert "no host of the cluster can take it" in str(blocked["name-vm-a"])
    assert "would wait for them until the timeout" in str(blocked["h1.example"])
    assert len(plan.sendable) == 2  # the VMs that fit still move


def test_fully_automated_drs_moves_the_vms_itself() -> None:
    plan = plan_drain(_esxi_view("fullyAutomated"), DrainRequest("vc1", "h1", move_powered_off=True))
    assert [s.key.verb for s in plan.steps] == [Verb.ENTER_MAINTENANCE]
    assert plan.steps[0].parameters["evacuate_powered_off"] is True
    assert any("DRS on cluster Cluster1 is fully automated" in n for n in plan.notes)


def test_moving_powered_off_vms_too_and_undo_exits_maintenance() -> None:
    plan = plan_drain(_esxi_view("partiallyAutomated"), DrainRequest("vc1", "h1", move_powered_off=True))
    assert "name-vm-off" in {s.label for s in plan.steps if s.key.verb is Verb.RELOCATE_VM}
    (step,) = plan_drain(_esxi_view("manual"), DrainRequest("vc1", "h4", undo=True)).steps
    assert step.key.verb is Verb.EXIT_MAINTENANCE and step.parameters == {
        "host_moref": "h4",
        "host_name": "h4.example",
        "timeout_seconds": 1800,
    }
    assert plan_drain(_esxi_view("manual"), DrainRequest("vc1", "h4")).steps == ()
    assert plan_drain(_esxi_view("manual"), DrainRequest("vc1", "hx")).refused == "no ESXi host 'hx' in vCenter vc1"


def test_a_not_responding_esxi_host_cannot_enter_maintenance() -> None:
    view = _esxi_view("manual")
    vc = view.estate.vcenters[0]
    dead = replace(vc, hosts=(replace(vc.hosts[0], connection_state="notResponding"), *vc.hosts[1:]))
    refused = plan_drain(view_of(Estate(vcenters=(dead,))), DrainRequest("vc1", "h1")).refused
    assert refused == "h1.example is notResponding: vCenter cannot put it in maintenance"
