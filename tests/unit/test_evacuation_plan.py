"""The evacuation plan: the fencing gate, storage and data outcome, microversion rules, targets."""

from __future__ import annotations

import dataclasses

import pytest

from hybridview.core.actions import Verb
from hybridview.core.evacuation import (
    DataOutcome,
    EvacuationRequest,
    evacuation_targets,
    pending_evacuations,
    plan_evacuation,
)
from hybridview.core.model import ComputeService, Estate, Migration, OpenStackSnapshot, Storage
from tests.unit.factories import T0, instance, kvm_node, vmware_node


def _service(host: str, *, state: str = "up", forced: bool = False, status: str = "enabled") -> ComputeService:
    return ComputeService("c1", f"svc-{host}", "nova-compute", host, "nova", state, status, None, forced, None)


def _estate(
    *,
    down: str = "kvm1",
    forced: bool = False,
    microversion: str | None = "2.100",
    migrations: tuple[Migration, ...] = (),
) -> Estate:
    dead = kvm_node(down, state="down", forced_down=forced)
    nodes = (dead, kvm_node("kvm2"), kvm_node("kvm3", status="disabled"), vmware_node("domain-c7.x", host="proxy1"))
    services = (
        _service(down, state="down", forced=forced),
        _service("kvm2"),
        _service("kvm3", status="disabled"),
        _service("proxy1"),
    )
    instances = (
        instance("a", dead),
        instance("b", dead, bfv=True),
        instance("c", dead, task_state="rebuilding"),
        instance("d", nodes[1]),
    )
    snap = OpenStackSnapshot("c1", T0, nodes, services, instances, migrations, write_microversion=microversion)
    return Estate(openstack=(snap,), storage_rules={"c1": (("kvm1", Storage.LOCAL),)})


def test_a_host_whose_compute_is_up_is_refused_before_anything() -> None:
    plan = plan_evacuation(_estate(), EvacuationRequest("c1", "kvm2"))
    assert plan.refused and "is up" in plan.refused
    assert plan.sendable == ()


def test_a_down_host_needs_fencing_and_lists_storage_and_data_outcome() -> None:
    plan = plan_evacuation(_estate(), EvacuationRequest("c1", "kvm1", force_down=True))
    assert plan.refused is None and plan.needs_fencing
    verbs = [s.key.verb for s in plan.steps]
    assert verbs == [Verb.FORCE_DOWN, Verb.EVACUATE, Verb.EVACUATE, Verb.EVACUATE]
    by_id = {s.key.target: s for s in plan.steps[1:]}
    assert by_id["a"].parameters["storage"] == "local" and by_id["a"].parameters["data_outcome"] == "rebuilt-from-image"
    assert by_id["b"].parameters["storage"] == "volume" and by_id["b"].parameters["data_outcome"] == "preserved"
    assert by_id["c"].blocked and "rebuilding" in (by_id["c"].blocked_reason or "")
    assert "stopped (SHUTOFF)" in " ".join(plan.notes)


def test_a_forced_down_host_gets_no_second_force_down() -> None:
    plan = plan_evacuation(_estate(forced=True), EvacuationRequest("c1", "kvm1", force_down=True))
    assert Verb.FORCE_DOWN not in [s.key.verb for s in plan.steps]


def test_unknown_storage_stays_unknown_and_blocks_only_where_the_body_needs_it() -> None:
    estate = dataclasses.replace(_estate(microversion="2.13"), storage_rules={})
    pending = {p.instance_id: p for p in pending_evacuations(estate)}
    assert pending["a"].storage is Storage.UNKNOWN and pending["a"].data_outcome is DataOutcome.UNKNOWN
    assert not pending["a"].evacuable and "2.13" in (pending["a"].blocked_reason or "")
    assert pending["b"].evacuable  # volume-backed: onSharedStorage is false, known
    modern = {p.instance_id: p for p in pending_evacuations(dataclasses.replace(estate, openstack=_estate().openstack))}
    assert modern["a"].evacuable and modern["a"].storage is Storage.UNKNOWN


def test_a_running_evacuation_is_not_planned_twice() -> None:
    running = Migration("c1", "9", "a", "evacuation", "pre-migrating", "kvm1", "kvm2", None, None, None, None)
    plan = plan_evacuation(_estate(migrations=(running,)), EvacuationRequest("c1", "kvm1"))
    step = next(s for s in plan.steps if s.key.target == "a")
    assert step.blocked and "already being evacuated" in (step.blocked_reason or "")


def test_targets_are_up_enabled_hosts_of_the_same_type() -> None:
    snap = _estate().openstack[0]
    assert [t.host for t in evacuation_targets(snap, "kvm1")] == ["kvm2"]
    plan = plan_evacuation(_estate(), EvacuationRequest("c1", "kvm1", target="kvm3"))
    assert plan.refused and "kvm3" in plan.refused


def test_vmware_instances_are_blocked_with_the_vsphere_reason() -> None:
    dead = vmware_node("domain-c7.x", host="proxy1", state="down")
    snap = OpenStackSnapshot(
        "c1", T0, (dead,), (_service("proxy1", state="down"),), (instance("v", dead),), (), write_microversion="2.100"
    )
    plan = plan_evacuation(Estate(openstack=(snap,)), EvacuationRequest("c1", "proxy1"))
    assert plan.sendable == ()
    assert "vmwareapi" in (plan.steps[0].blocked_reason or "")
    assert pending_evacuations(Estate(openstack=(snap,))) == []


@pytest.mark.parametrize("ids", [("a",), ("a", "b")])
def test_a_selection_plans_only_those(ids: tuple[str, ...]) -> None:
    plan = plan_evacuation(_estate(), EvacuationRequest("c1", "kvm1", ids))
    assert {s.key.target for s in plan.steps} == set(ids)


def test_an_instance_not_on_the_host_is_refused() -> None:
    plan = plan_evacuation(_estate(), EvacuationRequest("c1", "kvm1", ("d",)))
    assert plan.refused and "d" in plan.refused
