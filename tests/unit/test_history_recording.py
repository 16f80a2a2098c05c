"""Recording observed changes in the history (``service.recording``): one way for the window, ``watch`` and ``status``.

The recorder over real history files (a full disk is /dev/full), the headless commands on the demo
(whose changes are not the estate's), and the window's timeline build. The commands over a real
Nova API are in tests/integration/test_history_recording_peers.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hybridview.core.model import EndpointKind, Estate
from hybridview.core.view import EstateView
from hybridview.service.history import HISTORY_ENV, History
from hybridview.service.recording import MAX_WAITING, HistoryRecorder, history_for
from hybridview.service.wiring import demo_endpoints
from tests.unit.factories import T0, cloud, kvm_node, ok, service, stale, view_of
from tests.unit.test_cli_status import run_cli

FULL_DISK = Path("/dev/full")  # every write: ENOSPC


def kvm1_view(kvm1: str = "up", *, at: datetime = T0, fresh: bool = True) -> EstateView:
    """One cloud, kvm1 and kvm2; kvm1's compute service in ``kvm1`` state."""
    nodes = (kvm_node("kvm1", state=kvm1), kvm_node("kvm2"))
    services = (
        replace(service("kvm1", state=kvm1), updated_at=(at - timedelta(minutes=3)).isoformat()),
        replace(service("kvm2"), updated_at=at.isoformat()),
    )
    nova = replace(cloud("c1", nodes), services=services, taken_at=at)
    status = ok("c1", EndpointKind.NOVA) if fresh else stale("c1", EndpointKind.NOVA)
    return view_of(Estate((nova,), (), (status,)))


def _states(history: History) -> list[tuple[str, str]]:
    return [(c.label, c.state) for c in history.changes()]


class _Warnings(list[str]):
    def __call__(self, text: str) -> None:
        self.append(text)


def test_the_recorder_writes_what_changed_and_stale_data_is_no_observation(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    warnings = _Warnings()
    recorder = HistoryRecorder(History(path), warnings)
    assert recorder.record(kvm1_view()) == []  # healthy: nothing to write
    assert recorder.record(kvm1_view("down", fresh=False, at=T0 + timedelta(minutes=1))) == []  # stale
    (down,) = recorder.record(kvm1_view("down", at=T0 + timedelta(minutes=2)))
    assert (down.label, down.state, down.before, down.basis) == ("kvm1", "down", "up", "observed")
    assert _states(History(path)) == [("kvm1", "down")]  # another process reads it back
    assert (warnings, recorder.failure) == ([], None)


def test_an_unwritable_history_warns_once_and_loses_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the history's directory should be\n")
    path = blocker / "history.jsonl"
    warnings = _Warnings()
    recorder = HistoryRecorder(History(path), warnings)
    recorder.record(kvm1_view())
    assert recorder.record(kvm1_view("down", at=T0 + timedelta(minutes=1))) == []  # not written
    assert recorder.record(kvm1_view("up", at=T0 + timedelta(minutes=2))) == []
    assert len(warnings) == 1 and str(path) in warnings[0], warnings
    assert recorder.failure is not None and str(path) in recorder.failure
    assert _states(recorder.history) == [("kvm1", "down"), ("kvm1", "up")]  # kept in memory, shown

    blocker.unlink()  # the directory can be made now: what waited is written with the next record
    recorder.record(kvm1_view("up", at=T0 + timedelta(minutes=3)))
    assert recorder.failure is None and len(warnings) == 1
    assert _states(History(path)) == [("kvm1", "down"), ("kvm1", "up")]


def test_a_full_disk_is_one_warning_and_is_never_read() -> None:
    warnings = _Warnings()
    recorder = HistoryRecorder(History(FULL_DISK), warnings)
    for minute in range(3):
        recorder.record(kvm1_view("down" if minute % 2 else "up", at=T0 + timedelta(minutes=minute)))
    assert len(warnings) == 1 and "No space left on device" in warnings[0], warnings
    assert _states(recorder.history) == [("kvm1", "down"), ("kvm1", "up")]  # a device's endless bytes unread


def test_a_line_cut_short_by_a_full_disk_stays_apart_from_the_next(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    History(path).record(kvm1_view("down"))
    whole = path.read_text()
    path.write_text(whole + whole[: len(whole) // 2])  # the next write stopped half-way: no newline
    History(path).record(kvm1_view("up", at=T0 + timedelta(minutes=1)))
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["state"] == "up"
    assert _states(History(path)) == [("kvm1", "down"), ("kvm1", "up")]  # the part-line is skipped


def test_observed_views_are_recorded_in_order_in_workers(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    recorder = HistoryRecorder(History(path), _Warnings())
    views = [kvm1_view(state, at=T0 + timedelta(minutes=i)) for i, state in enumerate(("up", "down", "up", "down"))]
    threads: list[str] = []

    def noting_the_thread(call: Any, *args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return call(*args)

    async def follow() -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(1, thread_name_prefix="monitor-worker") as pool:

            async def offload(call: Any, *args: Any) -> Any:
                return await loop.run_in_executor(pool, noting_the_thread, call, *args)

            for view in views:  # faster than they are written: they queue, in order
                recorder.observe(view, offload)
            await recorder.aclose(10)

    asyncio.run(follow())
    assert _states(History(path)) == [("kvm1", "down"), ("kvm1", "up"), ("kvm1", "down")]
    assert len(threads) == len(views) and all(name.startswith("monitor-worker") for name in threads)


def test_a_disk_that_falls_behind_drops_the_oldest_waiting_views_with_one_warning(tmp_path: Path) -> None:
    warnings = _Warnings()
    recorder = HistoryRecorder(History(tmp_path / "history.jsonl"), warnings)
    views = [kvm1_view("down" if i % 2 else "up", at=T0 + timedelta(minutes=i)) for i in range(MAX_WAITING + 3)]

    async def run() -> None:
        release = asyncio.Event()

        async def hung_disk(call: Any, *args: Any) -> Any:
            await release.wait()  # the disk hangs until every view below is observed
            return call(*args)

        for view in views:
            recorder.observe(view, hung_disk)
            await asyncio.sleep(0)  # the first is being written from here on
        release.set()
        await recorder.aclose(10)

    asyncio.run(run())
    assert len(warnings) == 1 and "falls behind" in warnings[0]
    # views[0] was being written and the newest MAX_WAITING waited: views[1] and views[2] were dropped,
    # so the first change recorded is views[3]'s down, then one change a view.
    assert [c.state for c in recorder.history.changes()] == ["down", "up"] * (MAX_WAITING // 2)


def test_the_demo_keeps_its_history_in_memory(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv(HISTORY_ENV, str(tmp_path / "history.jsonl"))
    assert history_for(demo_endpoints("kvm-host-down")).path is None


def test_status_on_the_demo_writes_no_history(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    proc = run_cli("status", "--scenario", "kvm-host-down", "--json", env={HISTORY_ENV: str(path)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ""
    assert not path.exists()  # made-up changes never reach an estate's history

