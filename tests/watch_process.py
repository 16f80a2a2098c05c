"""Runs ``hybridview watch`` as a child process and reads its lines as they come."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class WatchProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("HYBRIDVIEW_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hybridview.cli", "watch", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=full_env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, condition: Callable[[dict[str, Any]], bool], seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line within {seconds} s; saw {self.seen}\n{self.stderr_so_far()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if condition(line):
                return line

    def initial_report(self, seconds: float = 30) -> list[dict[str, Any]]:
        """The lines up to and including the first overall line."""
        start = len(self.seen)
        self.wait_for(lambda line: line["kind"] == "overall", seconds)
        return self.seen[start:]

    def stop(self, sig: signal.Signals = signal.SIGTERM, seconds: float = 20) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _out, err = self.proc.communicate(timeout=seconds)
        return self.proc.returncode, err

    def stderr_so_far(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)
