"""The vSphere backend's inventory state: feed updates racing a full read, full answers, malformed objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyVmomi import vim

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere import VSphereBackend
from hybridview.backends.vsphere.backend import later_than
from hybridview.backends.vsphere.convert import plain
from hybridview.config import VCenterConfig

CONFIG = VCenterConfig("vc", "127.0.0.1", "u", password_env="X", verify=False)


class _Session:
    instance_uuid = "uuid"
    version = "8.0"


def _backend(reads: dict[str, dict[str, inv.Props]], during_read: Any = None) -> VSphereBackend:
    backend = VSphereBackend(CONFIG, password=lambda _c: "p")

    def retrieve(_session: object, kind: str) -> dict[str, inv.Props]:
        if kind == inv.HOST and during_read is not None:
            during_read(backend)
        return reads.get(kind, {})

    backend._retrieve = retrieve  # type: ignore[method-assign]
    backend._refresh_alarm_names = lambda _s: None  # type: ignore[method-assign]
    backend._read_events = lambda _s: None  # type: ignore[method-assign]
    return backend


def test_a_feed_change_during_a_full_read_is_not_lost() -> None:
    stale_read = {inv.HOST: {"host-1": {"name": "esx1", "runtime.connectionState": "connected"}}}
    failure = (inv.HOST, "host-1", "modify", [("assign", "runtime.connectionState", "notResponding")])
    backend = _backend(stale_read, lambda b: b._absorb([failure], full_answer=False))
    snapshot = backend._fetch(_Session())  # type: ignore[arg-type]
    assert [h.connection_state for h in snapshot.hosts] == ["notResponding"]
    assert backend._journal is None


def test_a_full_answer_forgets_objects_it_does_not_mention() -> None:
    reads = {inv.VM: {"vm-1": {"name": "a"}, "vm-2": {"name": "b"}}}
    backend = _backend(reads)
    backend._fetch(_Session())  # type: ignore[arg-type]
    backend._absorb([(inv.VM, "vm-2", "enter", [("assign", "name", "b")])], full_answer=True)
    assert sorted(backend._state.objects[inv.VM]) == ["vm-2"]


def test_modify_and_leave_follow_the_feed() -> None:
    backend = _backend({inv.VM: {"vm-1": {"name": "a", "runtime.host": "host-1"}}})
    backend._fetch(_Session())  # type: ignore[arg-type]
    backend._absorb([(inv.VM, "vm-1", "modify", [("assign", "runtime.host", "host-2")])], full_answer=False)
    assert backend._state.objects[inv.VM]["vm-1"]["runtime.host"] == "host-2"
    backend._absorb([(inv.VM, "vm-1", "leave", [])], full_answer=False)
    assert backend._state.objects[inv.VM] == {}


def test_a_closed_backend_does_not_log_in_again() -> None:
    from hybridview.backends.base import BackendError

    backend = VSphereBackend(CONFIG, password=lambda _c: "p")
    backend.close()
    with pytest.raises(BackendError, match="closed"):
        backend.fetch()


# --- an object that cannot be mapped is skipped, and the backend says so ------------------

TLS_WARNING = "TLS verification is OFF for 127.0.0.1: anyone on the path can impersonate it"


def test_a_malformed_vm_is_skipped_and_warned_about_beside_the_tls_warning() -> None:
    reads = {inv.VM: {"vm-1": {"name": "a"}, "vm-123": {"name": "b", "config.hardware.numCPU": "four"}}}
    backend = _backend(reads)
    snapshot = backend._fetch(_Session())  # type: ignore[arg-type]
    assert [vm.moref for vm in snapshot.vms] == ["vm-1"]
    assert backend.warnings == (
        TLS_WARNING,
        "skipped 1 malformed VirtualMachine record(s): VirtualMachine 'config.hardware.numCPU' is not an integer "
        "(vm-123); those VMs are not shown",
    )


def test_the_hosts_of_a_skipped_cluster_are_shown_standalone() -> None:
    reads = {
        inv.CLUSTER: {"domain-c7": {"name": "C7", "configurationEx": {"ha_enabled": "yes"}}},
        inv.HOST: {"host-1": {"name": "esx1", "parent": "domain-c7", "runtime.connectionState": "notResponding"}},
    }
    backend = _backend(reads)
    snapshot = backend._fetch(_Session())  # type: ignore[arg-type]
    assert snapshot.clusters == ()
    assert [(h.moref, h.cluster_moref, h.connection_state) for h in snapshot.hosts] == [
        ("host-1", None, "notResponding")
    ]
    assert backend.warnings[1:] == (
        "skipped 1 malformed ClusterComputeResource record(s): ClusterComputeResource configurationEx "
        "'ha_enabled' is not a boolean (domain-c7); those clusters are not shown and their hosts show as standalone",
    )


def test_a_feed_change_that_breaks_an_object_warns_until_a_change_mends_it() -> None:
    backend = _backend({inv.HOST: {"host-1": {"name": "esx1"}, "host-2": {"name": "esx2"}}})
    backend._fetch(_Session())  # type: ignore[arg-type]
    assert backend.warnings == (TLS_WARNING,)
    broken = inv.Unconvertible("AttributeError on a HostSystem")
    backend._absorb(
        [(inv.HOST, "host-2", "modify", [("assign", "runtime.inMaintenanceMode", broken)])], full_answer=False
    )
    snapshot = backend._snapshot(_Session())  # type: ignore[arg-type]
    assert [h.moref for h in snapshot.hosts] == ["host-1"]
    assert backend.warnings[1:] == (
        "skipped 1 malformed HostSystem record(s): HostSystem 'runtime.inMaintenanceMode' could not be read "
        "(AttributeError on a HostSystem) (host-2); those ESXi hosts are not shown",
    )
    backend._absorb(
        [(inv.HOST, "host-2", "modify", [("assign", "runtime.inMaintenanceMode", True)])], full_answer=False
    )
    assert [h.in_maintenance for h in backend._snapshot(_Session()).hosts] == [False, True]  # type: ignore[arg-type]
    assert backend.warnings == (TLS_WARNING,)


def test_an_alarm_state_without_its_alarm_makes_its_host_malformed_not_the_read() -> None:
    state = plain("triggeredAlarmState", [vim.alarm.AlarmState(key="k", overallStatus="red")])
    assert isinstance(state, inv.Unconvertible)
    inventory = inv.InventoryState()
    inventory.enter(inv.HOST, "host-1", {"name": "esx1", "triggeredAlarmState": state})
    assert inventory.alarm_morefs() == set()
    mapped = inv.snapshot(inventory, "vc", "uuid", datetime(2026, 1, 1, tzinfo=UTC))
    assert mapped.value.hosts == ()
    (warning,) = mapped.warnings
    assert warning.startswith("skipped 1 malformed HostSystem record(s): HostSystem 'triggeredAlarmState' could not")


def test_snapshot_times_only_move_forward_even_when_the_clock_steps_back() -> None:
    first = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    stepped_back = first - timedelta(minutes=5)
    second = later_than(first, stepped_back)
    assert second > first
    assert later_than(second, first + timedelta(hours=1)) == first + timedelta(hours=1)
