"""Soak: the window on the large demo estate, refreshing every 5 s, for an hour.

Estate: SimSize.large() = 1,000 Nova compute nodes, 30,900 instances, 400 ESXi hosts,
10,000 VMs, scenario esxi-host-down (the demo ticks every 2 s, so HA restarts and
changes keep arriving through the change feeds as well). Every ``--sample`` seconds it
records the process's RSS, OS threads, asyncio tasks, Qt objects under the window and
open sockets and file descriptors. After the warm-up, RSS may grow less than 5 % and
none of the counts may grow at all.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/soak.py [--minutes 60] [--refresh 5] [--json out.json]

Exit 0 when every limit holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil

MAX_RSS_GROWTH = 0.05
COUNTS = ("threads", "tasks", "qt_objects", "sockets", "fds")


@dataclass(frozen=True, slots=True)
class Sample:
    minute: float
    rss_mb: float
    threads: int
    tasks: int
    qt_objects: int
    sockets: int
    fds: int
    presentations: int


def _fd_targets() -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the fd of the listing itself, closed by now
            continue
    return targets


def _sample(started: float, window: object, presentations: int) -> Sample:
    from PySide6.QtCore import QObject

    process = psutil.Process()
    sockets = sum(1 for target in _fd_targets() if target.startswith("socket:"))
    return Sample(
        minute=(time.monotonic() - started) / 60,
        rss_mb=process.memory_info().rss / 2**20,
        threads=process.num_threads(),
        tasks=len(asyncio.all_tasks()),
        qt_objects=len(window.findChildren(QObject)),  # type: ignore[attr-defined]
        sockets=sockets,
        fds=process.num_fds(),
        presentations=presentations,
    )


async def soak(minutes: float, refresh_seconds: float, sample_seconds: float) -> list[Sample]:
    from hybridview.service.wiring import demo_endpoints
    from hybridview.sim import SimSize
    from hybridview.ui.app import build_window

    endpoints = demo_endpoints("esxi-host-down", SimSize.large(), tick_seconds=2.0)
    window, controller = build_window(endpoints)
    window.resize(1600, 1000)
    window.show()
    shown = [0]
    window.presentation_shown.connect(lambda _p: shown.__setitem__(0, shown[0] + 1))
    controller.set_interval(refresh_seconds)
    controller.set_auto_refresh(True)
    controller.start()
    started = time.monotonic()
    samples = []
    try:
        while time.monotonic() - started < minutes * 60:
            await asyncio.sleep(sample_seconds)
            samples.append(_sample(started, window, shown[0]))
            s = samples[-1]
            print(
                f"{s.minute:6.1f} min  rss {s.rss_mb:7.1f} MB  threads {s.threads:3d}  tasks {s.tasks:3d}  "
                f"qt {s.qt_objects:4d}  sockets {s.sockets:3d}  fds {s.fds:3d}  presentations {s.presentations}",
                flush=True,
            )
    finally:
        await controller.aclose()
        window.close()
    return samples


def verdict(samples: list[Sample], warmup_fraction: float) -> tuple[bool, list[str]]:
    """Compare the settled end with the end of the warm-up (medians of a few samples, not single points)."""
    warm = max(1, int(len(samples) * warmup_fraction))
    window = max(1, min(5, (len(samples) - warm) // 3))
    base, tail = samples[warm : warm + window], samples[-window:]
    lines = []
    ok = True
    rss_base = statistics.median(s.rss_mb for s in base)
    rss_end = statistics.median(s.rss_mb for s in tail)
    growth = (rss_end - rss_base) / rss_base
    ok &= growth < MAX_RSS_GROWTH
    lines.append(f"RSS after warm-up {rss_base:.1f} MB -> end {rss_end:.1f} MB: {growth * 100:+.2f} % (limit +5 %)")
    for name in COUNTS:
        start = max(getattr(s, name) for s in base)
        end = max(getattr(s, name) for s in tail)
        ok &= end <= start
        lines.append(f"{name}: {start} after warm-up, {end} at the end")
    refreshes = samples[-1].presentations - samples[0].presentations
    lines.append(f"{samples[-1].minute:.1f} minutes, {refreshes} presentations shown after the first sample")
    ok &= refreshes > 0
    return ok, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--refresh", type=float, default=5.0, help="auto-refresh interval in seconds (at least 2)")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=0.15, help="fraction of the run that is warm-up")
    parser.add_argument("--json", type=Path, help="write the samples and the verdict here")
    args = parser.parse_args()

    import qasync

    from hybridview.ui.app import application

    app = application()
    loop = qasync.QEventLoop(app)
    with loop:
        samples = loop.run_until_complete(soak(args.minutes, args.refresh, args.sample))
    if len(samples) < 4:
        raise SystemExit("soak: too short to judge; give it at least four samples")
    ok, lines = verdict(samples, args.warmup)
    for line in lines:
        print(line)
    print("PASS" if ok else "FAIL")
    if args.json:
        report = {"ok": ok, "verdict": lines, "samples": [asdict(s) for s in samples]}
        args.json.write_text(json.dumps(report, indent=1))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
