"""VMs vSphere HA left behind, and the restart plan's placement and refusals."""

from __future__ import annotations

import dataclasses

from hybridview.core.actions import Verb
from hybridview.core.compute_service import ServiceChange, plan_service_change
from hybridview.core.correlation import correlate
from hybridview.core.left_behind import RestartRequest, left_behind_vms, plan_vm_restarts
from hybridview.core.model import Alarm, Cluster, Datastore, Estate, VirtualMachine
from tests.unit.factories import esxi, vcenter, vm


def _vm(moref: str, host: str, uuid: str, ds: str = "ds-shared") -> VirtualMachine:
    return dataclasses.replace(
        vm(moref, host, uuid), vmx_path=f"[{ds}] {moref}/{moref}.vmx", datastores=(ds,), memory_mb=1024
    )


def _estate(*, ha: bool = False, alarms: tuple[Alarm, ...] = (), h3_connected: bool = True) -> Estate:
    hosts = (
        esxi("host-1", connection="notResponding"),
        dataclasses.replace(esxi("host-2"), memory_mb=65536, memory_used_mb=60000),
        dataclasses.replace(
            esxi("host-3", connection="connected" if h3_connected else "notResponding"),
            memory_mb=65536,
            memory_used_mb=1000,
        ),
        esxi("host-4", maintenance=True),
    )
    vms = (
        _vm("vm-1", "host-1", "u1"),
        _vm("vm-2", "host-1", "u2"),
        _vm("vm-3", "host-1", "u3", ds="ds-local-1"),
        dataclasses.replace(_vm("vm-4", "host-1", "u4"), power_state="poweredOff"),
        _vm("vm-5", "host-2", "u5"),
    )
    datastores = (
        Datastore("vc1", "ds-shared", "shared", True, ("host-1", "host-2", "host-3", "host-4")),
        Datastore("vc1", "ds-local-1", "local1", False, ("host-1",)),
    )
    cluster = Cluster("vc1", "domain-c7", "Cluster1", ha_enabled=ha, drs_enabled=True)
    snap = dataclasses.replace(vcenter(clusters=(cluster,), hosts=hosts, vms=vms), datastores=datastores, alarms=alarms)
    return Estate(vcenters=(snap,))


def test_ha_off_leaves_the_running_vms_of_a_dead_host_behind() -> None:
    estate = _estate()
    found = left_behind_vms(estate, correlate(estate))
    assert [v.vm_moref for v in found] == ["vm-1", "vm-2", "vm-3"]
    assert all("HA is off" in v.why for v in found)


def test_with_ha_on_only_a_reported_failed_restart_is_left_behind() -> None:
    assert left_behind_vms(_estate(ha=True), correlate(_estate(ha=True))) == []
    failed = (Alarm("vm-2", "vSphere HA virtual machine failover failed", "red"),)
    estate = _estate(ha=True, alarms=failed)
    assert [v.vm_moref for v in left_behind_vms(estate, correlate(estate))] == ["vm-2"]


def test_the_plan_places_on_the_least_loaded_host_that_mounts_the_datastore() -> None:
    estate = _estate()
    plan = plan_vm_restarts(estate, correlate(estate), RestartRequest("vc1", "host-1.example"))
    assert plan.needs_fencing and plan.refused is None
    by_vm = {s.parameters["vm_moref"]: s for s in plan.steps}
    assert all(s.key.verb is Verb.RESTART_VM for s in plan.steps)
    assert by_vm["vm-1"].parameters["host_moref"] == "host-3"  # host-2 is nearly full, host-4 in maintenance
    assert by_vm["vm-1"].key.target == "u1" and by_vm["vm-1"].parameters["instance_uuid"] == "u1"
    assert by_vm["vm-3"].blocked and "ds-local-1" in (by_vm["vm-3"].blocked_reason or "")


def test_a_connected_host_is_refused() -> None:
    estate = _estate()
    plan = plan_vm_restarts(estate, correlate(estate), RestartRequest("vc1", "host-2"))
    assert plan.refused and "vMotion" in plan.refused


def test_a_target_outside_the_usable_hosts_is_refused() -> None:
    estate = _estate()
    plan = plan_vm_restarts(estate, correlate(estate), RestartRequest("vc1", "host-1", target="host-4"))
    assert plan.refused and "host-4" in plan.refused


def test_service_changes_skip_what_is_already_so_and_forcing_down_needs_fencing() -> None:
    from tests.unit.test_evacuation_plan import _estate as nova_estate

    estate = nova_estate(forced=True)
    plan = plan_service_change(estate, ServiceChange("c1", "kvm1", enable=True, forced_down=False))
    assert [s.key.verb for s in plan.steps] == [Verb.UNSET_FORCE_DOWN] and not plan.needs_fencing
    plan = plan_service_change(estate, ServiceChange("c1", "kvm2", enable=False))
    assert plan.refused and "reason" in plan.refused
    plan = plan_service_change(estate, ServiceChange("c1", "kvm2", forced_down=True))
    assert plan.needs_fencing and [s.key.verb for s in plan.steps] == [Verb.FORCE_DOWN]
