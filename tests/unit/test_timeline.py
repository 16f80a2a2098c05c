"""The timeline (core), the observed-change history (service), the bounded instance-action reads, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridview.actions.audit import AuditLog
from hybridview.backends.nova import payloads
from hybridview.backends.nova.instance_actions import MAX_KEPT, worth_reading
from hybridview.core.model import (
    EndpointKind,
    Estate,
    InstanceAction,
    InstanceActionEvent,
    Migration,
    VSphereEvent,
)
from hybridview.core.timeline import Layer, Level, TimelineEvent, timeline
from hybridview.core.view import EstateView
from hybridview.service.history import HISTORY_ENV, History, history_path
from tests.unit.factories import T0, cloud, esxi, instance, kvm_node, ok, service, stale, vcenter, view_of
from tests.unit.test_cli_status import run_cli

HEARTBEAT = T0 - timedelta(minutes=4)


def _estate(
    *, kvm1: str = "up", esx: str = "connected", fresh: bool = True, forced: bool = False, at: datetime = T0
) -> EstateView:
    node1, node2 = kvm_node("kvm1", state=kvm1, forced_down=forced), kvm_node("kvm2")
    inst = instance("i-1", node1)
    beat = HEARTBEAT.replace(tzinfo=None).isoformat() if kvm1 == "down" else at.isoformat()
    services = (
        replace(service("kvm1", state=kvm1, forced_down=forced), updated_at=beat),
        replace(service("kvm2"), updated_at=at.isoformat()),
    )
    migration = Migration(
        "c1",
        "m1",
        "i-1",
        "evacuation",
        "failed",
        "kvm1",
        "kvm2",
        None,
        None,
        (T0 - timedelta(minutes=2)).isoformat(),
        (T0 - timedelta(minutes=1)).isoformat(),
    )
    action = InstanceAction(
        "c1",
        "i-1",
        "req-1",
        "evacuate",
        (T0 - timedelta(minutes=2)).isoformat(),
        "Error",
        "admin",
        None,
        (
            InstanceActionEvent(
                "compute_rebuild_instance",
                None,
                (T0 - timedelta(seconds=70)).isoformat(),
                "Error",
                "kvm2",
                "disk not found",
            ),
        ),
    )
    nova = replace(
        cloud("c1", (node1, node2), (inst,)),
        services=services,
        migrations=(migration,),
        instance_actions=(action,),
        taken_at=at,
    )
    host = esxi("host-1", connection=esx)
    event = VSphereEvent(T0 - timedelta(minutes=3), "host-1", "HostConnectionLostEvent", "Host host-1 lost")
    vc = replace(vcenter("vc1", hosts=(host, esxi("host-2"))), events=(event,), taken_at=at)
    endpoints = (
        ok("c1", EndpointKind.NOVA),
        ok("vc1", EndpointKind.VCENTER) if fresh else stale("vc1", EndpointKind.VCENTER),
    )
    return view_of(Estate((nova,), (vc,), endpoints))


def _kinds(events: tuple[TimelineEvent, ...]) -> list[tuple[str, str]]:
    return [(e.source, e.kind) for e in events]


def test_every_source_in_time_order() -> None:
    events = timeline(_estate(kvm1="down", esx="notResponding"), [], [])
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert _kinds(events) == [
        ("heartbeat", "compute service down"),
        ("events", "HostConnectionLostEvent"),
        ("os-instance-actions", "action evacuate"),
        ("os-migrations", "migration evacuation"),
        ("os-instance-actions", "event compute_rebuild_instance"),
        ("os-migrations", "migration evacuation"),
    ]
    down = events[0]
    assert (down.time, down.layer, down.object.label, down.level) == (HEARTBEAT, Layer.NOVA, "kvm1", Level.CRITICAL)
    assert "disk not found" in events[4].text
    assert events[1].object.ref == "host:vc1/host-1" and events[1].clusters == {"cluster1", "domain-c7"}


def test_filters_by_host_instance_cluster_and_layer() -> None:
    view = _estate(kvm1="down", esx="notResponding")
    by_host = timeline(view, [], [], host="KVM2")  # the evacuation's target; any case
    assert {e.source for e in by_host} == {"os-instance-actions", "os-migrations"}
    assert {e.object.label for e in timeline(view, [], [], instance="vm-i-1")} == {"vm-i-1"}
    assert [e.kind for e in timeline(view, [], [], cluster="Cluster1")] == ["HostConnectionLostEvent"]
    assert {e.layer for e in timeline(view, [], [], layer="vcenter")} == {Layer.VCENTER}
    assert timeline(view, [], [], since=T0 - timedelta(seconds=30)) == ()


def test_audit_entries_are_sent_and_finished_events(tmp_path: Path) -> None:
    clock = iter([T0, T0 + timedelta(seconds=5)])
    log = AuditLog(tmp_path / "audit.jsonl", clock=lambda: next(clock))
    entry = log.sent("c1", "force-down", "kvm1", {})
    log.finished(entry, ok=False, error="HTTP 409")
    log2 = AuditLog(tmp_path / "other.jsonl", clock=lambda: T0)
    log2.sent("elsewhere", "evacuate", "i-9", {})  # another estate's write: not this timeline's
    events = timeline(_estate(), [], [*log.entries(), *log2.entries()], layer=Layer.HYBRIDVIEW)
    assert [(e.kind, e.object.label, e.level) for e in events] == [
        ("sent force-down", "kvm1", Level.INFO),
        ("failed force-down", "kvm1", Level.CRITICAL),
    ]
    assert events[1].text.endswith("HTTP 409") and events[0].hosts >= {"kvm1"}


def test_history_records_changes_once_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    assert History(path).record(_estate()) == []  # all healthy: nothing written
    assert not path.exists()
    found = History(path).record(_estate(kvm1="down", esx="notResponding", at=T0 + timedelta(minutes=1)))
    assert {(c.label, c.state, c.basis) for c in found} == {
        ("kvm1", "down", "heartbeat"),
        ("host-1.example", "notResponding", "first seen"),
    }
    again = History(path)  # the next run: the file has it, nothing new is written
    assert again.record(_estate(kvm1="down", esx="notResponding", at=T0 + timedelta(minutes=2))) == []
    assert {c.label for c in again.changes()} == {"kvm1", "host-1.example"}
    back = again.record(_estate(at=T0 + timedelta(minutes=3)))
    assert {(c.label, c.state, c.before) for c in back} == {
        ("kvm1", "up", "down"),
        ("host-1.example", "connected", "notResponding"),
    }
    assert len(path.read_text().splitlines()) == 4
    events = timeline(_estate(), History(path).changes(), [], layer=Layer.NOVA, host="kvm1")
    assert [(e.source, e.kind, e.time) for e in events if e.source == "history"] == [
        ("history", "compute service down", HEARTBEAT),
        ("history", "compute service up", T0 + timedelta(minutes=3)),
    ]


def test_a_recorded_down_replaces_the_heartbeat_event() -> None:
    history = History(None)
    view = _estate(kvm1="down", forced=True)
    history.record(view)
    events = [e for e in timeline(view, history.changes(), []) if e.kind == "compute service down"]
    assert [(e.source, e.time) for e in events] == [("history", HEARTBEAT)]
    assert "forced down" in events[0].text


def test_stale_endpoints_are_no_observation() -> None:
    history = History(None)
    assert [c.label for c in history.record(_estate(esx="notResponding", fresh=False))] == []
    assert history.record(_estate(at=T0 + timedelta(minutes=1))) == []  # healthy, as it was taken to be


def test_a_change_seen_between_two_reads() -> None:
    history = History(None)
    history.record(_estate())
    later = T0 + timedelta(minutes=5)
    (change,) = history.record(_estate(esx="notResponding", at=later))
    assert (change.label, change.before, change.basis, change.time) == (
        "host-1.example",
        "connected",
        "observed",
        later,
    )


def test_unreadable_history_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    History(path).record(_estate(kvm1="down"))
    with path.open("a") as out:
        out.write("not json\n{}\n")
    assert [c.label for c in History(path).changes()] == ["kvm1"]


def test_history_path_env_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(HISTORY_ENV, str(tmp_path / "h.jsonl"))
    assert history_path() == tmp_path / "h.jsonl"
    monkeypatch.delenv(HISTORY_ENV)
    monkeypatch.setenv("HYBRIDVIEW_AUDIT_LOG", str(tmp_path / "a" / "audit.jsonl"))
    assert history_path() == tmp_path / "a" / "history.jsonl"


def test_instance_action_reads_are_bounded() -> None:
    node, dead = kvm_node("kvm1"), kvm_node("kvm9", state="down")
    many = tuple(instance(f"i-{n}", node) for n in range(30000))
    stranded = tuple(instance(f"s-{n}", dead) for n in range(300))
    busy = instance("busy", node, task_state="migrating")
    snap = replace(
        cloud("c1", (node, dead), (*many, *stranded, busy)),
        services=(service("kvm1"), service("kvm9", state="down")),
        migrations=(Migration("c1", "m", "i-7", "live-migration", "running", "kvm1", None, None, None, None, None),),
    )
    chosen = worth_reading(snap)
    assert len(chosen) == MAX_KEPT
    assert chosen[:2] == ["i-7", "busy"] and all(c.startswith("s-") for c in chosen[2:])


def test_instance_action_payload() -> None:
    raw = {
        "action": "evacuate",
        "instance_uuid": "i-1",
        "request_id": "req-1",
        "user_id": "admin",
        "project_id": "p",
        "start_time": "2026-01-01T00:00:00.000000",
        "updated_at": "2026-01-01T00:01:00.000000",
        "message": "Error",
        "events": [
            {
                "event": "compute_rebuild_instance",
                "result": "Error",
                "start_time": None,
                "finish_time": None,
                "host": "kvm2",
                "details": "boom",
            }
        ],
    }
    action = payloads.instance_action("c1", "i-1", raw)
    assert (action.action, action.message, action.events[0].details) == ("evacuate", "Error", "boom")
    with pytest.raises(payloads.MalformedPayload):
        payloads.instance_action("c1", "i-1", {"action": 3, "request_id": "r"})


def test_cli_timeline_on_the_demo(tmp_path: Path) -> None:
    env = {"HYBRIDVIEW_HISTORY": str(tmp_path / "h.jsonl"), "HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "a.jsonl")}
    done = run_cli("timeline", "--scenario", "evacuation-in-progress", "--json", env=env)
    assert done.returncode == 0, done.stderr
    items = [json.loads(line) for line in done.stdout.splitlines()]
    assert items and set(items[0]) >= {"time", "layer", "object", "kind", "text", "source"}
    times = [datetime.fromisoformat(i["time"]) for i in items]
    assert times == sorted(times) and all(t.tzinfo == UTC or t.utcoffset() == timedelta(0) for t in times)
    assert {"history", "os-migrations", "os-instance-actions"} <= {i["source"] for i in items}
    assert not (tmp_path / "h.jsonl").exists()  # the demo's changes are not the estate's
