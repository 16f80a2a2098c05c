"""The alert state machine: damping by time and by refreshes, flapping, acknowledgement and escalation,
silences and their expiry, never twice for one state; and the store that keeps them across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hybridview.core.alerting import AlertEvent, AlertMachine, EventKind, Observed, Policy
from hybridview.core.health import Severity
from hybridview.service.alert_store import AlertStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOST = Observed("node node:c/kvm1", "node:c/kvm1", Severity.CRITICAL, "kvm1: down")
WARN = Observed("node node:c/kvm1", "node:c/kvm1", Severity.WARNING, "kvm1: stale")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def notified(events: list[AlertEvent]) -> list[tuple[EventKind, Severity | None]]:
    return [(e.kind, e.severity) for e in events if e.notify]


def test_a_problem_alerts_once_when_it_appears_and_once_when_it_clears() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    assert notified(m.observe([HOST], at(0))) == [(EventKind.RAISED, Severity.CRITICAL)]
    for n in range(1, 5):
        assert m.observe([HOST], at(n * 10)) == []  # the same state: nothing again
        assert m.tick(at(n * 10 + 5)) == []
    assert notified(m.observe([], at(60))) == [(EventKind.CLEARED, None)]
    assert m.observe([], at(70)) == []


def test_damping_by_time_a_problem_that_clears_within_the_hold_never_alerts() -> None:
    m = AlertMachine(Policy(hold_seconds=30, hold_refreshes=1))
    assert m.observe([HOST], at(0)) == []
    assert m.observe([HOST], at(10)) == []
    assert m.observe([], at(20)) == []  # gone within 30 s: never alerted
    assert m.tick(at(100)) == []
    assert m.observe([HOST], at(200)) == []
    assert m.tick(at(215)) == []
    assert notified(m.tick(at(230))) == [(EventKind.RAISED, Severity.CRITICAL)]  # held 30 s, no refresh needed


def test_damping_by_refreshes() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=3))
    assert m.observe([HOST], at(0)) == []
    assert m.tick(at(500)) == []  # ticks are not refreshes
    assert m.observe([HOST], at(501)) == []
    assert m.observe([], at(502)) == []  # cleared at the third refresh: never alerted
    for n in range(3):
        events = m.observe([HOST], at(600 + n))
    assert notified(events) == [(EventKind.RAISED, Severity.CRITICAL)]


def test_a_flapping_problem_alerts_once_as_flapping_then_its_settled_state() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1, flap_changes=4, flap_window_seconds=100))
    kinds = []
    for n in range(12):  # up, down, up, down ... every 5 s
        kinds += notified(m.observe([HOST] if n % 2 == 0 else [], at(n * 5)))
    assert kinds.count((EventKind.FLAPPING, None)) + kinds.count((EventKind.FLAPPING, Severity.CRITICAL)) == 1
    assert len(kinds) == 5  # raised, cleared, raised, cleared, then flapping once: no alert per change after it
    assert m.is_flapping(HOST.key)
    events = []
    for n in range(12, 40):
        events += m.observe([HOST], at(n * 5))  # it stays down: settles once the window empties
    assert not m.is_flapping(HOST.key)
    # the last alert before flapping was a clear: the settled state (down) alerts, once
    assert [(e.kind, e.notify) for e in events] == [(EventKind.SETTLED, False), (EventKind.RAISED, True)]


def test_an_acknowledged_problem_is_quiet_until_it_gets_worse() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    assert notified(m.observe([WARN], at(0))) == [(EventKind.RAISED, Severity.WARNING)]
    ack = m.acknowledge(WARN.key, "ana", "on it", at(1), timedelta(hours=8))
    assert ack is not None and ack.kind is EventKind.ACKED and ack.severity is Severity.WARNING
    assert m.attention() == []
    assert m.observe([WARN], at(10)) == []
    events = m.observe([HOST], at(20))
    assert notified(events) == [(EventKind.ESCALATED, Severity.CRITICAL)]
    assert events[0].previous is Severity.WARNING
    assert m.ack_of(WARN.key) is None  # the acknowledgement was for a WARNING
    assert [s for _k, s, _t in m.attention()] == [Severity.CRITICAL]


def test_an_acknowledgement_expires_and_a_clear_removes_it() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    m.observe([HOST], at(0))
    m.acknowledge(HOST.key, "ana", "", at(1), timedelta(minutes=10))
    assert [e.kind for e in m.tick(at(601))] == [EventKind.EXPIRED]
    assert m.ack_of(HOST.key) is None
    m.acknowledge(HOST.key, "ana", "", at(602), timedelta(hours=1))
    assert notified(m.observe([], at(603))) == [(EventKind.CLEARED, None)]
    assert m.ack_of(HOST.key) is None


def test_a_silenced_item_never_notifies_but_its_events_are_kept_and_the_silence_expires() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    m.silence(HOST.item, "bo", "maintenance window", at(0), timedelta(minutes=30))
    events = m.observe([HOST], at(1))
    assert [(e.kind, e.notify, e.silenced) for e in events] == [(EventKind.RAISED, False, True)]
    assert m.attention() == []
    assert [e.kind for e in m.tick(at(1801))] == [EventKind.EXPIRED]
    assert m.observe([HOST], at(1802)) == []  # the state was recorded while silenced: not again
    assert [s for _k, s, _t in m.attention()] == [Severity.CRITICAL]


def test_the_store_keeps_acks_silences_history_and_alerted_states_across_restarts(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.json")
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    events = m.observe([WARN], at(0))
    ack = m.acknowledge(WARN.key, "ana", "ticket 42", at(1), timedelta(hours=8))
    silence = m.silence("vm:x/1", "bo", "", at(2), timedelta(hours=1))
    assert ack is not None
    store.append([*events, ack, silence])
    store.save(m.acks.values(), m.silences.values(), m.shown())
    standing, history = AlertStore(tmp_path / "alerts.json").load()
    assert [e.kind for e in history] == [EventKind.RAISED, EventKind.ACKED, EventKind.SILENCED]
    assert history[1].comment == "ticket 42" and history[1].until == at(1) + timedelta(hours=8)
    again = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1), standing.acks, standing.silences, standing.shown)
    assert again.ack_of(WARN.key) is not None and again.silence_of("vm:x/1") is not None
    assert again.observe([WARN], at(10)) == []  # alerted before the restart: not again
    assert notified(again.observe([HOST], at(20))) == [(EventKind.ESCALATED, Severity.CRITICAL)]


def test_a_missing_or_damaged_store_is_an_empty_start(tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    assert AlertStore(path).load()[1] == []
    path.write_text("{not json", encoding="utf-8")
    (tmp_path / "alerts-history.jsonl").write_text("garbage\n", encoding="utf-8")
    standing, history = AlertStore(path).load()
    assert standing.acks == () and history == []


def test_the_config_keys_have_defaults_and_are_checked(tmp_path: Path) -> None:
    import pytest

    from hybridview.config import ConfigError, parse
    from hybridview.service.alert_store import policy_of

    assert policy_of(parse(tmp_path, {})) == Policy()
    config = parse(tmp_path, {"alert_hold_seconds": 0, "alert_hold_refreshes": 2, "alert_flap_changes": 6})
    assert policy_of(config) == Policy(hold_seconds=0, hold_refreshes=2, flap_changes=6)
    for bad in ({"alert_hold_seconds": -1}, {"alert_hold_refreshes": 0}, {"alert_flap_window_seconds": True}):
        with pytest.raises(ConfigError):
            parse(tmp_path, bad)


def test_an_acknowledgement_lifted_by_hand_needs_attention_again_and_its_next_change_alerts() -> None:
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    m.observe([WARN], at(0))
    m.acknowledge(WARN.key, "ana", "on it", at(1), timedelta(hours=8))
    assert m.attention() == []
    lifted = m.unacknowledge(WARN.key, "bo", at(2))
    assert lifted is not None and lifted.kind is EventKind.REMOVED and not lifted.notify
    assert (lifted.who, lifted.at, lifted.severity, lifted.title) == ("bo", at(2), Severity.WARNING, WARN.title)
    assert "acknowledged by ana" in lifted.comment
    assert m.ack_of(WARN.key) is None
    assert [(k, s) for k, s, _t in m.attention()] == [(WARN.key, Severity.WARNING)], "back in the tray at once"
    assert m.observe([WARN], at(10)) == [], "a state already alerted is not notified twice"
    assert m.unacknowledge(WARN.key, "bo", at(11)) is None, "nothing left to lift"


def test_lifting_an_acknowledgement_before_its_hold_ripens_lets_the_problem_alert_as_usual() -> None:
    def run(lift: bool) -> list[tuple[EventKind, Severity | None]]:
        m = AlertMachine(Policy(hold_seconds=60, hold_refreshes=1))
        assert m.observe([HOST], at(0)) == []  # listed, not yet alerted
        assert m.acknowledge(HOST.key, "ana", "", at(1), timedelta(hours=1)) is not None
        if lift:
            m.unacknowledge(HOST.key, "ana", at(2))
        return notified(m.observe([HOST], at(61)))

    assert run(lift=False) == [], "acknowledged while pending: it never notifies"
    assert run(lift=True) == [(EventKind.RAISED, Severity.CRITICAL)]


def test_a_silence_lifted_by_hand_lets_the_item_notify_again() -> None:
    def run(lift: bool) -> list[tuple[EventKind, Severity | None]]:
        m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
        m.silence(WARN.item, "bo", "maintenance", at(0), timedelta(hours=4), "kvm1")
        assert notified(m.observe([WARN], at(1))) == []
        if lift:
            event = m.unsilence(WARN.item, "ana", at(2), "kvm1")
            assert event is not None and event.kind is EventKind.REMOVED and (event.who, event.at) == ("ana", at(2))
            assert event.title == "silence of kvm1" and "silenced by bo" in event.comment
            assert m.silence_of(WARN.item) is None and m.unsilence(WARN.item, "ana", at(3)) is None
            assert [s for _k, s, _t in m.attention()] == [Severity.WARNING]
        return notified(m.observe([HOST], at(10))) + notified(m.observe([], at(20)))

    assert run(lift=False) == []
    assert run(lift=True) == [(EventKind.ESCALATED, Severity.CRITICAL), (EventKind.CLEARED, None)]
