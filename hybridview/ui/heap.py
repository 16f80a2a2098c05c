"""Keeps Python's cyclic garbage collector from stalling the GUI thread.

A full collection walks every tracked object: with a 30,000-instance estate alive that is
about 100 ms, and it holds the GIL, so the GUI thread stalls with it. The estate is made of
acyclic trees (frozen dataclasses, tuples, model rows whose links are cut on removal) that
refcounting frees, so after each presentation the live heap is frozen out of the collector's
sight, and the collector's own full (generation 2) passes are left to that sweep: one ran in a
worker during a refresh walks the young estate for ~25 ms while holding the GIL the GUI
thread needs. Frozen cyclic garbage is swept on a long timer, one planned pause instead of many.
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)
FULL_SWEEP_INTERVAL_MS = 30 * 60 * 1000
NO_AUTOMATIC_FULL_PASSES = 1_000_000  # generation-1 passes between automatic full passes: never, in practice


class HeapSettler(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        young, middle, _full = self._thresholds
        gc.set_threshold(young, middle, NO_AUTOMATIC_FULL_PASSES)
        self._sweep = QTimer(self)
        self._sweep.setInterval(FULL_SWEEP_INTERVAL_MS)
        self._sweep.timeout.connect(self.sweep)
        self._sweep.start()

    def stop(self) -> None:
        """The window is done: the collector works as before."""
        self._sweep.stop()
        gc.set_threshold(*self._thresholds)

    def settle(self) -> None:
        gc.freeze()

    def sweep(self) -> None:
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        log.debug("full GC sweep: %d unreachable objects in %.0f ms", found, (time.perf_counter() - started) * 1000)
