"""The vSphere backend's inventory state: feed updates racing a full read, and full answers."""

from __future__ import annotations

from typing import Any

import pytest

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere import VSphereBackend
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
