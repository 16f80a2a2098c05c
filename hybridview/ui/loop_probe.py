"""Measures how late a periodic timer fires: the GUI thread's worst stall."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class LoopLatencyProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._interval = interval_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.lateness: list[float] = []

    def start(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._last - self._interval))
        self._last = now

    @property
    def worst_ms(self) -> float:
        return max(self.lateness, default=0.0) * 1000.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.lateness:
            return 0.0
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000.0
