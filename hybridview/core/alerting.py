"""The alert state machine: which changes of the problems list deserve the operator's attention.

Fed the problems seen at each refresh (``observe``) and ticked between refreshes (``tick``), it
returns the history events of that step; an event with ``notify`` set is a desktop notification.

- An alert is raised when a problem appears, escalates (its severity rises) or clears, and never
  twice for the same state: the machine remembers the state it last alerted per problem.
- Damping: a new state must hold ``hold_seconds`` and ``hold_refreshes`` refreshes before it alerts;
  one that goes away inside that window never alerts.
- Flapping (Nagios-style): more than ``flap_changes`` state changes within ``flap_window_seconds``
  marks the problem flapping; it alerts once as such, then stays quiet until it settles (half as
  many changes in the window), when its settled state alerts if it differs from the last alerted.
- An acknowledgement is for a severity: while the problem is no worse it does not notify; worse,
  it alerts again and the acknowledgement is dropped, as is one whose problem cleared.
- A silence is for an item (all its problems): events are kept in the history but never notify.
- Acknowledgements and silences expire (``until``); their expiry is an event.
- An operator may lift one before then (``unacknowledge``, ``unsilence``): an event naming who and
  when. It is then as if it had expired: a problem still bad needs attention again at once (it is not
  notified a second time for a state already alerted), and its next change alerts as usual.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from hybridview.core.health import Severity


class EventKind(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    IMPROVED = "improved"  # kept in the history, not notified
    CLEARED = "cleared"
    FLAPPING = "flapping"
    SETTLED = "settled"  # stopped flapping
    ACKED = "acked"
    SILENCED = "silenced"
    EXPIRED = "expired"  # an acknowledgement or a silence ran out
    REMOVED = "removed"  # an acknowledgement or a silence taken back by hand


NOTIFYING = frozenset({EventKind.RAISED, EventKind.ESCALATED, EventKind.CLEARED, EventKind.FLAPPING})


@dataclass(frozen=True, slots=True)
class Policy:
    hold_seconds: float = 30.0  # a new state must last this long ...
    hold_refreshes: int = 1  # ... and be seen in this many refreshes
    flap_changes: int = 4  # more changes than this within the window is flapping
    flap_window_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class Observed:
    """One problem as a refresh saw it."""

    key: str  # the problem's id, as text
    item: str  # its item, as text: what a silence names
    severity: Severity
    title: str


@dataclass(frozen=True, slots=True)
class Ack:
    key: str
    severity: Severity  # acknowledged up to this severity
    who: str
    at: datetime
    comment: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Silence:
    item: str
    who: str
    at: datetime
    comment: str
    until: datetime


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    key: str  # a problem's id, or for a silence its item
    at: datetime
    title: str = ""
    severity: Severity | None = None  # the new state; None = clear
    previous: Severity | None = None
    notify: bool = False
    who: str = ""
    comment: str = ""
    until: datetime | None = None
    silenced: bool = False
    acked: bool = False


@dataclass(slots=True)
class _Track:
    item: str
    title: str
    shown: Severity | None = None  # the state last alerted
    raw: Severity | None = None  # the state last seen
    pending: Severity | None = None
    pending_since: datetime | None = None
    pending_refreshes: int = 0
    has_pending: bool = False
    changes: deque[datetime] = field(default_factory=deque)
    flapping: bool = False


class AlertMachine:
    def __init__(
        self,
        policy: Policy | None = None,
        acks: Iterable[Ack] = (),
        silences: Iterable[Silence] = (),
        shown: Mapping[str, tuple[str, Severity, str]] | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.acks: dict[str, Ack] = {a.key: a for a in acks}
        self.silences: dict[str, Silence] = {s.item: s for s in silences}
        self._tracks: dict[str, _Track] = {}
        for key, (item, severity, title) in (shown or {}).items():  # the states alerted before a restart
            self._tracks[key] = _Track(item, title, shown=severity, raw=severity)
        self._last: dict[str, Observed] = {}

    # -- what the view shows -------------------------------------------------------------------

    def ack_of(self, key: str) -> Ack | None:
        return self.acks.get(key)

    def silence_of(self, item: str) -> Silence | None:
        return self.silences.get(item)

    def is_flapping(self, key: str) -> bool:
        track = self._tracks.get(key)
        return track is not None and track.flapping

    def shown(self) -> dict[str, tuple[str, Severity, str]]:
        """The alerted states, to keep across restarts."""
        return {k: (t.item, t.shown, t.title) for k, t in self._tracks.items() if t.shown is not None}

    def attention(self) -> list[tuple[str, Severity, str]]:
        """The alerted problems neither acknowledged at their severity nor silenced: (key, severity, title)."""
        return [
            (k, t.shown, t.title)
            for k, t in self._tracks.items()
            if t.shown is not None and not self._acked(k, t.shown) and t.item not in self.silences
        ]

    # -- operator actions ----------------------------------------------------------------------

    def acknowledge(self, key: str, who: str, comment: str, now: datetime, duration: timedelta) -> AlertEvent | None:
        track = self._tracks.get(key)
        observed = self._last.get(key)
        severity = track.raw if track is not None and track.raw is not None else None
        if severity is None and observed is not None:
            severity = observed.severity
        if severity is None:
            return None  # nothing to acknowledge
        ack = Ack(key, severity, who, now, comment, now + duration)
        self.acks[key] = ack
        title = observed.title if observed else (track.title if track else "")
        return AlertEvent(EventKind.ACKED, key, now, title, severity, who=who, comment=comment, until=ack.until)

    def silence(
        self, item: str, who: str, comment: str, now: datetime, duration: timedelta, title: str = ""
    ) -> AlertEvent:
        silence = Silence(item, who, now, comment, now + duration)
        self.silences[item] = silence
        return AlertEvent(EventKind.SILENCED, item, now, title or item, who=who, comment=comment, until=silence.until)

    def unacknowledge(self, key: str, who: str, now: datetime) -> AlertEvent | None:
        """Lift the problem's acknowledgement now (None: it has none)."""
        ack = self.acks.pop(key, None)
        if ack is None:
            return None
        observed, track = self._last.get(key), self._tracks.get(key)
        title = observed.title if observed else (track.title if track else key)
        note = _lifted_note("acknowledged", ack.who, ack.at, ack.until)
        return AlertEvent(EventKind.REMOVED, key, now, title, ack.severity, who=who, comment=note)

    def unsilence(self, item: str, who: str, now: datetime, title: str = "") -> AlertEvent | None:
        """Lift the item's silence now (None: it has none)."""
        silence = self.silences.pop(item, None)
        if silence is None:
            return None
        note = _lifted_note("silenced", silence.who, silence.at, silence.until)
        return AlertEvent(EventKind.REMOVED, item, now, f"silence of {title or item}", who=who, comment=note)

    # -- steps ---------------------------------------------------------------------------------

    def observe(self, problems: Iterable[Observed], now: datetime) -> list[AlertEvent]:
        """One refresh's problems: every problem not listed has cleared."""
        self._last = {p.key: p for p in problems}
        return self._step(now, refresh=True)

    def tick(self, now: datetime) -> list[AlertEvent]:
        """Time passes with no refresh: holds ripen, acknowledgements and silences expire."""
        return self._step(now, refresh=False)

    def _step(self, now: datetime, refresh: bool) -> list[AlertEvent]:
        events = self._expire(now)
        for key in list(self._tracks.keys() | self._last.keys()):
            seen = self._last.get(key)
            track = self._tracks.get(key)
            if track is None:
                assert seen is not None
                track = self._tracks[key] = _Track(seen.item, seen.title)
            if seen is not None:
                track.title = seen.title
            events.extend(self._advance(key, track, seen.severity if seen else None, now, refresh))
            if track.shown is None and track.raw is None and not track.changes and not track.has_pending:
                del self._tracks[key]
        return events

    def _advance(self, key: str, t: _Track, state: Severity | None, now: datetime, refresh: bool) -> list[AlertEvent]:
        p = self.policy
        if state != t.raw:
            t.raw = state
            t.changes.append(now)
        while t.changes and (now - t.changes[0]).total_seconds() > p.flap_window_seconds:
            t.changes.popleft()
        if not t.flapping and len(t.changes) > p.flap_changes:
            t.flapping, t.has_pending = True, False
            return [self._event(EventKind.FLAPPING, key, t, now, state, t.shown)]
        if t.flapping:
            if len(t.changes) > p.flap_changes // 2:
                return []
            t.flapping = False
            events = [replace(self._event(EventKind.SETTLED, key, t, now, state, t.shown), notify=False)]
            return events + self._advance(key, t, state, now, refresh)
        if state == t.shown:
            t.has_pending = False
            return []
        if not t.has_pending or t.pending != state:
            t.pending, t.pending_since, t.pending_refreshes, t.has_pending = state, now, 0, True
        if refresh:
            t.pending_refreshes += 1
        assert t.pending_since is not None
        held = (now - t.pending_since).total_seconds() >= p.hold_seconds
        if not held or t.pending_refreshes < p.hold_refreshes:
            return []
        previous, t.shown, t.has_pending = t.shown, state, False
        if state is None:
            kind = EventKind.CLEARED
        elif previous is None:
            kind = EventKind.RAISED
        else:
            kind = EventKind.ESCALATED if state > previous else EventKind.IMPROVED
        event = self._event(kind, key, t, now, state, previous)
        ack = self.acks.get(key)
        if ack is not None and (state is None or state > ack.severity):
            del self.acks[key]  # cleared, or worse than what was acknowledged
        return [event]

    def _event(
        self, kind: EventKind, key: str, t: _Track, now: datetime, state: Severity | None, previous: Severity | None
    ) -> AlertEvent:
        silenced = t.item in self.silences
        acked = state is not None and self._acked(key, state)
        notify = kind in NOTIFYING and not silenced and not acked
        return AlertEvent(kind, key, now, t.title, state, previous, notify, silenced=silenced, acked=acked)

    def _acked(self, key: str, state: Severity) -> bool:
        ack = self.acks.get(key)
        return ack is not None and state <= ack.severity

    def _expire(self, now: datetime) -> list[AlertEvent]:
        events = []
        for key, ack in list(self.acks.items()):
            if ack.until <= now:
                del self.acks[key]
                events.append(AlertEvent(EventKind.EXPIRED, key, now, f"acknowledgement by {ack.who}", ack.severity))
        for item, silence in list(self.silences.items()):
            if silence.until <= now:
                del self.silences[item]
                events.append(AlertEvent(EventKind.EXPIRED, item, now, f"silence by {silence.who}"))
        return events


def _lifted_note(verb: str, who: str, at: datetime, until: datetime) -> str:
    """The history's comment on an acknowledgement or a silence lifted by hand: whose it was, for when."""
    return f"lifted; {verb} by {who} at {at:%Y-%m-%d %H:%M}, until {until:%Y-%m-%d %H:%M}"
