"""Instance actions (``GET /servers/{id}/os-instance-actions``) of a bounded set of instances.

Nova has no estate-wide list of actions, and asking each of 30,000 instances every refresh is
out of the question. So each read picks the instances worth it (``worth_reading``), most
telling first: those of a migration running or changed in the migrations window, those with a
task state or in ERROR, those on a compute host whose service is down or forced down. At most
``MAX_KEPT`` of them have their actions in the snapshot, and at most ``MAX_READS`` are asked per
read: an instance's list is kept ``KEEP_SECONDS`` and asked again after (at once while it has a
task state: its action is running). A failed action's events (``GET .../{request_id}``, which
say which step failed and why) are asked once each, ``MAX_EVENT_READS`` per read. One page of
``PAGE`` newest actions per instance. An instance gone since (404) is skipped; another refusal
is one warning line, and the snapshot keeps what was read. An endpoint that does not answer (a
timeout, a connection refused or cut) is asked nothing more in that read: one warning, not one
timeout per instance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote

import keystoneauth1.exceptions as ks_exc
import openstack.exceptions as sdk_exc

from hybridview.backends.nova import payloads
from hybridview.backends.nova.errors import backend_error, first_line
from hybridview.backends.nova.session import ComputeSession
from hybridview.core.model import InstanceAction, OpenStackSnapshot

MICROVERSION_KEY = "instance-actions"
MAX_KEPT = 200
MAX_READS = 40
MAX_EVENT_READS = 10
KEEP_SECONDS = 300.0
PAGE = 20
FAILED_MESSAGES = frozenset({"error"})


def worth_reading(snapshot: OpenStackSnapshot) -> list[str]:
    """Instance ids, most telling first: migrations (running, then newest), task states and ERROR, failed hosts."""
    exists = {i.id for i in snapshot.instances}
    recent = sorted(snapshot.migrations, key=lambda m: m.updated_at or "", reverse=True)
    running = [m.instance_id for m in recent if m.in_progress]
    busy = [i.id for i in snapshot.instances if i.task_state or i.status == "ERROR"]
    failed_hosts = {s.host for s in snapshot.services if s.state == "down" or s.forced_down}
    stranded = [i.id for i in snapshot.instances if i.host in failed_hosts]
    ordered = dict.fromkeys(i for i in (*running, *busy, *(m.instance_id for m in recent), *stranded) if i in exists)
    return list(ordered)[:MAX_KEPT]


class ActionReader:
    """Keeps what it read per instance between reads; one per backend, used by its read worker."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, tuple[InstanceAction, ...]]] = {}
        self._events: dict[tuple[str, str], InstanceAction] = {}  # (instance, request id) -> with its events
        self._event_reads = 0  # show calls made in this read

    def read(self, session: ComputeSession, snapshot: OpenStackSnapshot) -> tuple[OpenStackSnapshot, tuple[str, ...]]:
        """The snapshot with the chosen instances' actions, and a warning for what could not be read."""
        with self._lock:
            return self._read(session, snapshot)

    def _read(self, session: ComputeSession, snapshot: OpenStackSnapshot) -> tuple[OpenStackSnapshot, tuple[str, ...]]:
        self._event_reads = 0
        chosen = worth_reading(snapshot)
        busy = {i.id for i in snapshot.instances if i.task_state}
        now = self._clock()
        due = [i for i in chosen if i in busy or now - self._kept.get(i, (-KEEP_SECONDS, ()))[0] >= KEEP_SECONDS]
        refused: list[str] = []
        for instance_id in due[:MAX_READS]:
            try:
                self._kept[instance_id] = (now, self._list(session, snapshot.cloud, instance_id))
            except sdk_exc.NotFoundException:
                self._kept[instance_id] = (now, ())
            except sdk_exc.HttpException as exc:
                refused.append(f"HTTP {exc.status_code}: {first_line(str(exc.details or exc.message))}")
            except payloads.MalformedPayload as exc:
                refused.append(str(exc))
            except ks_exc.ConnectionError as exc:
                refused.append(backend_error(snapshot.cloud, exc).describe())
                self._event_reads = MAX_EVENT_READS  # and no event read either
                break
        kept = set(chosen)
        self._kept = {i: v for i, v in self._kept.items() if i in kept}
        self._events = {k: v for k, v in self._events.items() if k[0] in kept}
        actions = [self._with_events(session, a) for i in chosen for a in self._kept.get(i, (0.0, ()))[1]]
        warnings: tuple[str, ...] = ()
        if refused:
            warnings = (
                f"instance actions of {len(refused)} instance(s) could not be read ({refused[0]});"
                " the timeline lacks them",
            )
        return replace(snapshot, instance_actions=tuple(actions)), warnings

    def _list(self, session: ComputeSession, cloud: str, instance_id: str) -> tuple[InstanceAction, ...]:
        path = f"/servers/{quote(instance_id, safe='')}/os-instance-actions"
        params = {"limit": str(PAGE)} if session.at_least(MICROVERSION_KEY, "2.58") else {}
        body = self._get(session, path, params)
        return tuple(payloads.instance_action(cloud, instance_id, r) for r in payloads.items(body, "instanceActions"))

    def _with_events(self, session: ComputeSession, action: InstanceAction) -> InstanceAction:
        """A failed action with its events, asked once (a finished action does not change)."""
        key = (action.instance_id, action.request_id)
        if key in self._events:
            return self._events[key]
        if (action.message or "").lower() not in FAILED_MESSAGES or self._event_reads >= MAX_EVENT_READS:
            return action
        self._event_reads += 1
        path = f"/servers/{quote(action.instance_id, safe='')}/os-instance-actions/{quote(action.request_id, safe='')}"
        try:
            body = self._get(session, path, {})
            raw = body.get("instanceAction") if isinstance(body, dict) else None
            shown = payloads.instance_action(action.cloud, action.instance_id, raw or {})
        except ks_exc.ConnectionError:
            self._event_reads = MAX_EVENT_READS  # the endpoint does not answer: ask no more events this read
            return action
        except (sdk_exc.HttpException, payloads.MalformedPayload):
            return action
        self._events[key] = replace(action, events=shown.events)
        return self._events[key]

    @staticmethod
    def _get(session: ComputeSession, path: str, params: dict[str, str]) -> payloads.Payload:
        response = session.conn.compute.get(
            path, params=params, microversion=session.microversion(MICROVERSION_KEY), raise_exc=False
        )
        sdk_exc.raise_from_response(response)
        try:
            body: payloads.Payload = response.json()
        except ValueError as exc:
            raise payloads.MalformedPayload(f"{path} did not return JSON") from exc
        return body
