"""vSphere capacity: HA admission control policies and VM reservations and usage, from pyVmomi values to core.

Plain pyVmomi data objects go through convert.plain (as a full read or the change feed delivers
them) and inventory.snapshot; the sampled VM quickStats are kept across the feed's whole-object
updates. No network: the backend's sampling read runs over a fake retrieve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyVmomi import vim

from hybridview.backends.vsphere import VSphereBackend, reads
from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.convert import plain
from hybridview.config import VCenterConfig
from hybridview.core.model import Cluster, VirtualMachine
from tests.unit.fuzz_strategies import JSON

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cluster(das: Any) -> Cluster:
    config = vim.cluster.ConfigInfoEx(dasConfig=das) if das is not None else vim.cluster.ConfigInfoEx()
    props = {"name": "C1", "configurationEx": plain("configurationEx", config)}
    mapped = inv.snapshot(state({inv.CLUSTER: {"domain-c1": props}}), "vc", "uuid", T0)
    assert mapped.warnings == ()
    return mapped.value.clusters[0]


def state(objects: dict[str, dict[str, inv.Props]]) -> inv.InventoryState:
    found = inv.InventoryState()
    for kind, rows in objects.items():
        found.replace_type(kind, rows)
    return found


def ha(policy: Any, *, admission: bool = True) -> Any:
    return vim.cluster.DasConfigInfo(enabled=True, admissionControlEnabled=admission, admissionControlPolicy=policy)


def admission(c: Cluster) -> tuple[Any, ...]:
    return (
        c.admission_control,
        c.admission_policy,
        c.admission_failover_hosts,
        c.admission_cpu_percent,
        c.admission_memory_percent,
    )


def test_host_failures_tolerated() -> None:
    policy = vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=2)
    assert admission(cluster(ha(policy))) == (True, "failover-level", 2, None, None)


def test_percentage_of_cpu_and_memory_kept_for_failover() -> None:
    policy = vim.cluster.FailoverResourcesAdmissionControlPolicy(
        cpuFailoverResourcesPercent=25, memoryFailoverResourcesPercent=33
    )
    assert admission(cluster(ha(policy))) == (True, "percentage", None, 25, 33)


def test_dedicated_failover_hosts_are_counted() -> None:
    policy = vim.cluster.FailoverHostAdmissionControlPolicy(
        failoverHosts=[vim.HostSystem("host-1"), vim.HostSystem("host-2")]
    )
    assert admission(cluster(ha(policy))) == (True, "failover-hosts", 2, None, None)


def test_a_policy_while_admission_control_is_off_is_not_shown() -> None:
    policy = vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=1)
    assert admission(cluster(ha(policy, admission=False))) == (False, None, None, None, None)
    assert admission(cluster(None)) == (None, None, None, None, None)


def test_another_kind_of_policy_leaves_admission_control_on_without_a_policy() -> None:
    assert admission(cluster(ha(vim.cluster.DasAdmissionControlPolicy()))) == (True, None, None, None, None)


@pytest.mark.parametrize(
    ("config", "cause"),
    [
        ({"admission_cpu_percent": 120}, "'admission_cpu_percent' is not a percentage"),
        ({"admission_memory_percent": -1}, "'admission_memory_percent' is not a percentage"),
        ({"admission_failover_hosts": -1}, "'admission_failover_hosts' is not a host count"),
        ({"admission_failover_hosts": "2"}, "'admission_failover_hosts' is not an integer"),
        ({"admission_policy": 3}, "'admission_policy' is not a string"),
    ],
)
def test_a_malformed_admission_policy_skips_the_cluster_and_says_why(config: dict[str, Any], cause: str) -> None:
    props = {"name": "C1", "configurationEx": {"ha_enabled": True, "admission_control": True, **config}}
    mapped = inv.snapshot(state({inv.CLUSTER: {"domain-c1": props}}), "vc", "uuid", T0)
    assert mapped.value.clusters == ()
    (warning,) = mapped.warnings
    assert f"ClusterComputeResource configurationEx {cause}" in warning and "(domain-c1)" in warning


ADMISSION_KEYS = ("admission_policy", "admission_failover_hosts", "admission_cpu_percent", "admission_memory_percent")


@given(config=st.dictionaries(st.sampled_from(ADMISSION_KEYS), JSON, max_size=4))
def test_any_admission_values_map_to_their_types_or_skip_the_cluster(config: dict[str, Any]) -> None:
    props = {"name": "C1", "configurationEx": {"ha_enabled": True, "admission_control": True, **config}}
    mapped = inv.snapshot(state({inv.CLUSTER: {"domain-c1": props}}), "vc", "uuid", T0)
    if not mapped.value.clusters:
        assert len(mapped.warnings) == 1
        return
    (c,) = mapped.value.clusters
    assert c.admission_policy is None or isinstance(c.admission_policy, str)
    for percent in (c.admission_cpu_percent, c.admission_memory_percent):
        assert percent is None or (type(percent) is int and 0 <= percent <= 100)
    assert c.admission_failover_hosts is None or (
        type(c.admission_failover_hosts) is int and c.admission_failover_hosts >= 0
    )


# --- VMs: reservations and usage --------------------------------------------------------------

VM_PROPS = {
    "name": "web",
    "config.memoryAllocation.reservation": 2048,
    "config.cpuAllocation.reservation": 1000,
    "summary.quickStats.hostMemoryUsage": 1500,
    "summary.quickStats.overallCpuUsage": 320,
}


def vm(props: inv.Props) -> VirtualMachine:
    mapped = inv.snapshot(state({inv.VM: {"vm-1": props}}), "vc", "uuid", T0)
    (found,) = mapped.value.vms
    return found


def test_a_vms_reservations_and_what_it_uses_now_are_mapped() -> None:
    found = vm({path: plain(path, value) for path, value in VM_PROPS.items()})
    assert (found.memory_reservation_mb, found.cpu_reservation_mhz, found.memory_used_mb, found.cpu_used_mhz) == (
        2048,
        1000,
        1500,
        320,
    )


def test_a_vm_without_them_has_none() -> None:
    found = vm({"name": "template"})
    assert (found.memory_reservation_mb, found.cpu_reservation_mhz, found.memory_used_mb, found.cpu_used_mhz) == (
        None,
        None,
        None,
        None,
    )


def test_a_reservation_that_is_not_a_number_skips_the_vm() -> None:
    mapped = inv.snapshot(
        state({inv.VM: {"vm-1": {**VM_PROPS, "config.cpuAllocation.reservation": "1 GHz"}}}), "vc", "u", T0
    )
    assert mapped.value.vms == ()
    assert "VirtualMachine 'config.cpuAllocation.reservation' is not an integer" in mapped.warnings[0]


def test_the_feed_follows_everything_but_the_sampled_quickstats() -> None:
    followed = inv.followed(inv.VM)
    assert {"config.memoryAllocation.reservation", "config.cpuAllocation.reservation"} <= set(followed)
    assert not set(inv.SAMPLED[inv.VM]) & set(followed)
    assert set(followed) | set(inv.SAMPLED[inv.VM]) == set(inv.PROPERTIES[inv.VM])
    assert inv.followed(inv.HOST) == inv.PROPERTIES[inv.HOST]


def test_a_whole_object_from_the_feed_keeps_the_sampled_values_and_a_sample_reaches_known_vms_only() -> None:
    known = state({inv.VM: {"vm-1": dict(VM_PROPS)}})
    known.enter(inv.VM, "vm-1", {"name": "web-renamed", "config.cpuAllocation.reservation": 0})
    known.sample(inv.VM, {"vm-1": {"summary.quickStats.overallCpuUsage": 99}, "vm-9": {"name": "not yet entered"}})
    assert known.objects[inv.VM] == {
        "vm-1": {
            "name": "web-renamed",
            "config.cpuAllocation.reservation": 0,
            "summary.quickStats.hostMemoryUsage": 1500,
            "summary.quickStats.overallCpuUsage": 99,
        }
    }


class _Session:
    instance_uuid = "uuid"
    version = "8.0"


def test_the_feed_samples_vm_usage_once_due_and_publishes_it_without_a_feed_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = VCenterConfig("vc", "127.0.0.1", "u", password_env="X", verify=False)
    backend = VSphereBackend(config, password=lambda _c: "p", usage_sample_seconds=0.0)
    backend._state.replace_type(inv.VM, {"vm-1": dict(VM_PROPS)})
    asked: list[tuple[str, tuple[str, ...] | None]] = []

    def retrieve(_s: object, kind: str, _page: int, paths: tuple[str, ...] | None = None) -> tuple[dict[str, Any], int]:
        asked.append((kind, paths))
        return {"vm-1": {"summary.quickStats.hostMemoryUsage": 1800, "summary.quickStats.overallCpuUsage": 50}}, 1

    monkeypatch.setattr(reads, "retrieve", retrieve)
    monkeypatch.setattr("hybridview.backends.vsphere.feed.wait", lambda _s, _w: None)  # nothing changed in time
    snap = backend._wait(_Session(), 1.0)  # type: ignore[arg-type]
    assert asked == [(inv.VM, inv.SAMPLED[inv.VM])]
    assert snap is not None and (snap.vms[0].memory_used_mb, snap.vms[0].cpu_used_mhz) == (1800, 50)
    backend._usage_sample_seconds = 3600.0
    assert backend._wait(_Session(), 1.0) is None  # type: ignore[arg-type]
    assert len(asked) == 1
