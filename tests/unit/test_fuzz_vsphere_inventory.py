"""Property-based tests of the vSphere mapping: pyVmomi values -> plain values -> core snapshot.

Seeds are what convert.py makes of real pyVmomi data objects; they are mutated (drop a
property, set one to any JSON value or to a value convert.py could not read), or replaced
by arbitrary JSON. Profiles: tests/conftest.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyVmomi import vim

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.convert import plain
from tests.unit.fuzz_strategies import SCALARS, JSON, assert_well_typed, mutated, parse_skip, with_each_type

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = (inv.CLUSTER, inv.HOST, inv.VM, inv.DATASTORE)


def _alarm(moref: str, status: str) -> Any:
    return vim.alarm.AlarmState(
        key=f"{moref}.host-1", alarm=vim.alarm.Alarm(moref), overallStatus=status, time=T0, acknowledged=False
    )


# Real pyVmomi values per property path, as a full read or the change feed returns them.
PYVMOMI: dict[str, list[dict[str, Any]]] = {
    inv.CLUSTER: [
        {
            "name": "Cluster1",
            "configurationEx": vim.cluster.ConfigInfoEx(
                dasConfig=vim.cluster.DasConfigInfo(enabled=True, admissionControlEnabled=True),
                drsConfig=vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="fullyAutomated"),
            ),
            "triggeredAlarmState": [_alarm("alarm-7", "yellow")],
        },
        {"name": "Lab", "configurationEx": vim.cluster.ConfigInfoEx(), "triggeredAlarmState": []},
    ],
    inv.HOST: [
        {
            "name": "esx1.example",
            "parent": vim.ClusterComputeResource("domain-c1"),
            "runtime.connectionState": vim.HostSystem.ConnectionState.connected,
            "runtime.powerState": vim.HostSystem.PowerState.poweredOn,
            "runtime.inMaintenanceMode": False,
            "runtime.dasHostState": vim.cluster.DasFdmHostState(state="master"),
            "summary.overallStatus": vim.ManagedEntity.Status.green,
            "summary.hardware": vim.host.Summary.HardwareSummary(cpuMhz=2400, numCpuCores=16, memorySize=64 << 30),
            "summary.quickStats": vim.host.Summary.QuickStats(overallCpuUsage=900, overallMemoryUsage=20480),
            "triggeredAlarmState": [_alarm("alarm-1", "red")],
        },
        {
            "name": "esx9.example",
            "parent": vim.ComputeResource("domain-s9"),  # a standalone host's own compute resource
            "runtime.connectionState": vim.HostSystem.ConnectionState.notResponding,
            "runtime.powerState": vim.HostSystem.PowerState.unknown,
            "runtime.inMaintenanceMode": True,
            "runtime.dasHostState": None,
            "summary.overallStatus": vim.ManagedEntity.Status.gray,
            "summary.hardware": None,
            "summary.quickStats": vim.host.Summary.QuickStats(),
            "triggeredAlarmState": [],
        },
    ],
    inv.VM: [
        {
            "name": "web-1",
            "config.instanceUuid": "0b8a7a30-64c0-4d6c-a4a2-ccf3e7e5d7a1",
            "config.hardware.numCPU": 2,
            "config.hardware.memoryMB": 4096,
            "config.files.vmPathName": "[shared-1] web-1/web-1.vmx",
            "runtime.host": vim.HostSystem("host-1"),
            "runtime.powerState": vim.VirtualMachine.PowerState.poweredOn,
            "runtime.connectionState": vim.VirtualMachine.ConnectionState.disconnected,
            "datastore": [vim.Datastore("datastore-1")],
        },
        {"name": "template", "config.instanceUuid": None, "runtime.host": None, "datastore": []},
    ],
    inv.DATASTORE: [
        {
            "name": "shared-1",
            "summary.multipleHostAccess": True,
            "summary.capacity": 2 << 40,
            "summary.freeSpace": 1 << 40,
            "summary.accessible": True,
            "host": [vim.Datastore.HostMount(key=vim.HostSystem(h)) for h in ("host-1", "host-2")],
        },
        {
            "name": "local-9",
            "summary.multipleHostAccess": None,
            "host": [vim.Datastore.HostMount(key=vim.HostSystem("host-9"))],
        },
    ],
}
SEEDS = {
    kind: [{path: plain(path, v) for path, v in props.items()} for props in rows] for kind, rows in PYVMOMI.items()
}
ALARM_KEYS = ("alarm", "status", "time")  # in triggeredAlarmState entries
# The keys each mapping reads, nested ones too, so that mutations hit them often.
READ_KEYS = {
    inv.CLUSTER: (
        *inv.PROPERTIES[inv.CLUSTER],
        *("ha_enabled", "drs_enabled", "drs_behavior", "admission_control"),
        *ALARM_KEYS,
    ),
    inv.HOST: (*inv.PROPERTIES[inv.HOST], "cpu_mhz", "cores", "memory_bytes", "memory_mb", *ALARM_KEYS),
    inv.VM: inv.PROPERTIES[inv.VM],
    inv.DATASTORE: inv.PROPERTIES[inv.DATASTORE],
}
VALUES = SCALARS | JSON | st.builds(inv.Unconvertible, st.text(max_size=6))
# Mutated seeds, or any values under the property paths read.
PROPS = {
    kind: mutated(SEEDS[kind], READ_KEYS[kind], VALUES) | st.dictionaries(st.sampled_from(inv.PROPERTIES[kind]), VALUES)
    for kind in KINDS
}
MOREFS = st.from_regex(r"[a-z]{1,6}-[0-9]{1,4}", fullmatch=True)
OBJECTS_OF = {kind: st.dictionaries(MOREFS, PROPS[kind], max_size=2) for kind in KINDS}  # moref -> properties


def test_the_seeds_are_what_convert_makes_of_real_values() -> None:
    cluster, host, vm, datastore = (SEEDS[k][0] for k in KINDS)
    assert cluster["configurationEx"] == {
        "ha_enabled": True,
        "admission_control": True,
        "drs_enabled": True,
        "drs_behavior": "fullyAutomated",
    }
    assert cluster["triggeredAlarmState"] == [{"alarm": "alarm-7", "status": "yellow", "time": T0.isoformat()}]
    assert (host["parent"], host["runtime.dasHostState"], host["summary.hardware"]["memory_bytes"]) == (
        "domain-c1",
        "master",
        64 << 30,
    )
    assert (vm["runtime.host"], vm["datastore"], datastore["host"]) == ("host-1", ["datastore-1"], ["host-1", "host-2"])
    snap = _snapshot({inv.CLUSTER: {"domain-c1": cluster}, inv.HOST: {"host-1": host}}).value
    assert snap.hosts[0].cluster_moref == "domain-c1"
    assert [a.name for a in snap.alarms] == ["alarm-7", "alarm-1"]


def test_a_vms_files_and_connection_and_a_datastores_mounts_are_mapped() -> None:
    web, template = SEEDS[inv.VM]
    shared, local = SEEDS[inv.DATASTORE]
    snap = _snapshot(
        {
            inv.VM: {"vm-1": web, "vm-2": template},
            inv.DATASTORE: {"datastore-1": shared, "datastore-9": local},
        }
    ).value
    vms = {vm.moref: vm for vm in snap.vms}
    assert (vms["vm-1"].vmx_path, vms["vm-1"].connection_state) == ("[shared-1] web-1/web-1.vmx", "disconnected")
    assert (vms["vm-2"].vmx_path, vms["vm-2"].connection_state) == (None, None)  # unset: not read
    datastores = {ds.moref: ds for ds in snap.datastores}
    assert (datastores["datastore-1"].host_morefs, datastores["datastore-1"].shared) == (("host-1", "host-2"), True)
    assert (datastores["datastore-1"].capacity_bytes, datastores["datastore-1"].free_bytes) == (2 << 40, 1 << 40)
    assert (datastores["datastore-9"].capacity_bytes, datastores["datastore-9"].accessible) == (None, True)
    assert (datastores["datastore-9"].host_morefs, datastores["datastore-9"].shared) == (("host-9",), False)


def test_the_vm_properties_read_include_the_files_and_the_connection() -> None:
    assert {"config.files.vmPathName", "runtime.connectionState"} <= set(inv.PROPERTIES[inv.VM])
    assert "host" in inv.PROPERTIES[inv.DATASTORE]


@pytest.mark.parametrize(
    ("path", "value", "cause"),
    [
        ("config.files.vmPathName", 7, "VirtualMachine 'config.files.vmPathName' is not a string"),
        ("runtime.connectionState", ["connected"], "VirtualMachine 'runtime.connectionState' is not a string"),
        (
            "config.files.vmPathName",
            inv.Unconvertible("x"),
            "VirtualMachine 'config.files.vmPathName' could not be read",
        ),
    ],
)
def test_a_vm_with_a_malformed_new_field_is_skipped_and_named(path: str, value: Any, cause: str) -> None:
    web = {**SEEDS[inv.VM][0], path: value}
    mapped = _snapshot({inv.VM: {"vm-1": web, "vm-2": SEEDS[inv.VM][1]}})
    assert [vm.moref for vm in mapped.value.vms] == ["vm-2"]
    (skip,) = map(parse_skip, mapped.warnings)
    assert skip.cause.startswith(cause) and skip.names == ("vm-1",)


def _snapshot(objects: dict[str, dict[str, inv.Props]]) -> Any:
    state = inv.InventoryState()
    for kind, rows in objects.items():
        state.replace_type(kind, rows)
    return inv.snapshot(state, "vc1", "uuid-1", T0)


def _mapped_morefs(snap: Any, kind: str) -> set[str]:
    items = {inv.CLUSTER: snap.clusters, inv.HOST: snap.hosts, inv.VM: snap.vms, inv.DATASTORE: snap.datastores}[kind]
    return {item.moref for item in items}


@pytest.mark.parametrize("kind", KINDS)
def test_each_property_holding_each_type_is_mapped_well_typed_or_skipped(kind: str) -> None:
    """The exhaustive grid beside the random search: every seed, every key read, one value of each type."""
    outcomes = {"mapped": 0, "skipped": 0}
    for seed in SEEDS[kind]:
        for props in [*with_each_type(seed, READ_KEYS[kind]), *({**seed, k: inv.Unconvertible("x")} for k in seed)]:
            mapped = _snapshot({kind: {"obj-1": props}})
            assert_well_typed(mapped.value)
            if _mapped_morefs(mapped.value, kind):
                outcomes["mapped"] += 1
                continue
            (skip,) = map(parse_skip, mapped.warnings)
            assert skip.cause.startswith(kind), skip.cause
            outcomes["skipped"] += 1
    assert outcomes["mapped"] and outcomes["skipped"], outcomes


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_an_object_is_mapped_well_typed_or_skipped_as_malformed(kind: str, data: st.DataObject) -> None:
    moref = data.draw(MOREFS, label="moref")
    props = data.draw(PROPS[kind], label="properties")
    mapped = _snapshot({kind: {moref: props}})
    assert_well_typed(mapped.value)
    skips = [parse_skip(w) for w in mapped.warnings]
    if _mapped_morefs(mapped.value, kind) == {moref}:
        assert not skips
        return
    assert [(s.count, s.kind, s.source) for s in skips] == [(1, kind, None)]
    assert skips[0].cause.startswith(kind), skips[0].cause  # a MalformedRecord, never an unexpected error
    assert skips[0].names == (moref,)


@given(data=st.data())
def test_every_object_is_either_shown_or_named_in_a_warning(data: st.DataObject) -> None:
    objects: dict[str, dict[str, inv.Props]] = {}
    good: dict[str, set[str]] = {}
    for kind in KINDS:
        seeds = {f"{kind}-seed-{i}": dict(props) for i, props in enumerate(SEEDS[kind])}
        drawn = data.draw(OBJECTS_OF[kind], label=f"{kind} objects")
        objects[kind] = {**seeds, **drawn}
        good[kind] = set(seeds)
    if "domain-c1" not in objects[inv.CLUSTER] and data.draw(st.booleans()):
        objects[inv.CLUSTER]["domain-c1"] = data.draw(PROPS[inv.CLUSTER], label="domain-c1")  # a seed host's parent

    mapped = _snapshot(objects)

    snap = mapped.value
    assert_well_typed(snap)
    skips = [parse_skip(w) for w in mapped.warnings]
    assert not [s.cause for s in skips if s.cause.startswith("unexpected")]
    for kind in KINDS:
        shown = _mapped_morefs(snap, kind)
        named = {n for s in skips if s.kind == kind for n in s.names}
        assert good[kind] <= shown
        assert shown | named == set(objects[kind])
        assert not shown & named
        assert sum(s.count for s in skips if s.kind == kind) == len(objects[kind]) - len(shown)
    clusters = _mapped_morefs(snap, inv.CLUSTER)
    assert all(h.cluster_moref is None or h.cluster_moref in clusters for h in snap.hosts)
    assert {a.entity_moref for a in snap.alarms} <= clusters | _mapped_morefs(snap, inv.HOST)


@given(kind=st.sampled_from(KINDS), props=PROPS[inv.HOST])
def test_alarm_morefs_never_fails_on_what_the_state_holds(kind: str, props: inv.Props) -> None:
    state = inv.InventoryState()
    state.enter(kind, "obj-1", props)
    assert all(isinstance(m, str) for m in state.alarm_morefs())


# --- convert.py: whatever pyVmomi hands over, it converts or marks Unconvertible -----------

ATTRIBUTES = (
    *("_moId", "dasConfig", "drsConfig", "enabled", "admissionControlEnabled", "alarm", "overallStatus", "time"),
    *("state", "key", "cpuMhz", "numCpuCores", "memorySize", "overallCpuUsage", "overallMemoryUsage"),
)
# Objects with any of the attributes the converters read, holding anything (or nothing).
OBJECTS: st.SearchStrategy[Any] = st.recursive(
    JSON | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.builds(
            lambda attrs: SimpleNamespace(**attrs), st.dictionaries(st.sampled_from(ATTRIBUTES), inner, max_size=5)
        )
    ),
    max_leaves=6,
)


PYVMOMI_VALUES = {kind: st.dictionaries(st.sampled_from(inv.PROPERTIES[kind]), OBJECTS) for kind in KINDS}


@given(data=st.data())
def test_convert_then_map_raises_nothing_but_skips(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    values = data.draw(PYVMOMI_VALUES[kind], label="pyVmomi values")
    props = {path: plain(path, value) for path, value in values.items()}
    mapped = _snapshot({kind: {"obj-1": props}})
    assert_well_typed(mapped.value)
    for skip in map(parse_skip, mapped.warnings):
        assert skip.cause.startswith(kind), skip.cause


# --- tasks: TaskManager.recentTask; only queued and running ones are shown -----------------

TASK_INFOS = [
    vim.TaskInfo(
        key="task-7",
        descriptionId="VirtualMachine.relocate",
        entity=vim.VirtualMachine("vm-1"),
        entityName="web-1",
        state=vim.TaskInfo.State.running,
        progress=40,
        cancelable=True,
        queueTime=T0,
        reason=vim.TaskReasonUser(userName="ops@vsphere.local"),
    ),
    vim.TaskInfo(key="task-8", descriptionId="HostSystem.enterMaintenanceMode", state="success", queueTime=T0),
]
TASK_SEEDS = [{"info": plain("info", info)} for info in TASK_INFOS]
TASK_KEYS = ("info", "key", "description_id", "entity", "entity_name", "state", "progress", "cancelable", "queued_at")
TASK_PROPS = mutated(TASK_SEEDS, TASK_KEYS, VALUES) | st.dictionaries(st.just("info"), VALUES)


def test_a_running_task_is_mapped_and_a_finished_one_left_out() -> None:
    snap = _snapshot({inv.TASK: {"task-7": TASK_SEEDS[0], "task-8": TASK_SEEDS[1]}}).value
    (task,) = snap.tasks
    assert (task.key, task.description_id, task.entity_moref, task.entity_name) == (
        "task-7",
        "VirtualMachine.relocate",
        "vm-1",
        "web-1",
    )
    assert (task.state, task.progress, task.cancelable, task.queued_at, task.user) == (
        "running",
        40,
        True,
        T0,
        "ops@vsphere.local",
    )


@given(props=TASK_PROPS)
def test_a_task_is_mapped_well_typed_skipped_or_left_out_as_ended(props: inv.Props) -> None:
    mapped = _snapshot({inv.TASK: {"task-1": props}})
    assert_well_typed(mapped.value)
    skips = [parse_skip(w) for w in mapped.warnings]
    if mapped.value.tasks:
        assert not skips and mapped.value.tasks[0].state in inv.RUNNING_TASK_STATES
    elif skips:
        assert [(s.kind, s.names) for s in skips] == [(inv.TASK, ("task-1",))]
        assert skips[0].cause.startswith(inv.TASK), skips[0].cause
    else:
        info = props.get("info") or {}
        assert isinstance(info, dict) and info.get("state") not in inv.RUNNING_TASK_STATES
