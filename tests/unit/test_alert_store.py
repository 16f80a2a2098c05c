"""The alert store keeps an acknowledgement or a silence lifted by hand: gone after a restart, its lifting
in the history with who and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hybridview.core.alerting import AlertMachine, EventKind, Observed, Policy
from hybridview.core.health import Severity
from hybridview.service.alert_store import AlertStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DOWN = Observed("node node:c/kvm1", "node:c/kvm1", Severity.CRITICAL, "kvm1: down")
STALE = Observed("node node:c/kvm2", "node:c/kvm2", Severity.WARNING, "kvm2: stale")


def _saved(store: AlertStore, m: AlertMachine) -> None:
    store.save(m.acks.values(), m.silences.values(), m.shown())


def test_a_lifted_acknowledgement_and_silence_stay_lifted_across_a_restart(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.json")
    m = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1))
    events = m.observe([DOWN, STALE], T0)
    ack = m.acknowledge(DOWN.key, "ana", "ticket 7", T0, timedelta(hours=8))
    silence = m.silence(STALE.item, "ana", "", T0, timedelta(hours=1), "kvm2")
    assert ack is not None
    store.append([*events, ack, silence])
    _saved(store, m)
    assert len(AlertStore(store.path).load()[0].acks) == 1

    later = T0 + timedelta(minutes=5)
    lifted = [m.unacknowledge(DOWN.key, "bo", later), m.unsilence(STALE.item, "bo", later, "kvm2")]
    store.append([e for e in lifted if e is not None])
    _saved(store, m)

    standing, history = AlertStore(store.path).load()
    assert standing.acks == () and standing.silences == ()
    removed = [e for e in history if e.kind is EventKind.REMOVED]
    assert [(e.key, e.who, e.at) for e in removed] == [(DOWN.key, "bo", later), (STALE.item, "bo", later)]
    assert removed[0].severity is Severity.CRITICAL and "acknowledged by ana" in removed[0].comment
    again = AlertMachine(Policy(hold_seconds=0, hold_refreshes=1), standing.acks, standing.silences, standing.shown)
    assert {k for k, _s, _t in again.attention()} == {DOWN.key, STALE.key}, "both need attention after the restart"
    assert again.observe([DOWN, STALE], later) == [], "their states were alerted before: not again"
