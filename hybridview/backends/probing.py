"""A connection test's steps, in order, within one time budget: shared by the Nova and vSphere probes.

A step passes with a line of text, or fails with a BackendError (its one line: a failure of the
endpoint, or what the step found wrong, e.g. missing privileges); the first failure ends the test.
Each step may use what is left of the budget (``remaining``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hybridview.backends.base import BackendError

STEPS = ("reachable", "authenticated", "version", "privileges")
MIN_STEP_SECONDS = 1.0  # a step never gets less, so a late one still fails by its own cause


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: str
    ok: bool
    text: str


class Probe:
    """Runs steps until one fails; keeps their outcomes and the version found."""

    def __init__(self, timeout_seconds: float) -> None:
        self._deadline = time.monotonic() + timeout_seconds
        self.outcomes: list[StepOutcome] = []
        self.version: str | None = None

    def remaining(self) -> float:
        """Seconds left of the budget, at least MIN_STEP_SECONDS."""
        return max(self._deadline - time.monotonic(), MIN_STEP_SECONDS)

    @property
    def failed(self) -> bool:
        return any(not o.ok for o in self.outcomes)

    def run(self, step: str, call: Callable[[], str]) -> bool:
        """Run ``step`` unless an earlier one failed; whether it passed."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}")
        if self.failed:
            return False
        try:
            text = call()
        except BackendError as exc:
            self.fail(step, exc.describe())
            return False
        self.outcomes.append(StepOutcome(step, True, text))
        return True

    def fail(self, step: str, text: str) -> None:
        self.outcomes.append(StepOutcome(step, False, text))
