"""Every verb's executor, in one table the runner reads."""

from __future__ import annotations

from hybridview.actions.executors import RECOVERY_EXECUTORS, Executor
from hybridview.actions.move_executors import NOVA_MOVE_EXECUTORS
from hybridview.actions.task_executors import VCENTER_TASK_EXECUTORS
from hybridview.core.actions import Verb

EXECUTORS: dict[Verb, Executor] = {**RECOVERY_EXECUTORS, **NOVA_MOVE_EXECUTORS, **VCENTER_TASK_EXECUTORS}
missing = set(Verb) - set(EXECUTORS)
assert not missing, f"verbs without an executor: {sorted(missing)}"
