"""Shared test set-up: Qt offscreen, the qasync loop for UI tests, and the hypothesis profiles."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property-based tests (tests/unit/test_fuzz_*.py). "ci", the default, is fast and reproducible;
# HYBRIDVIEW_FUZZ_PROFILE=slow (or --hypothesis-profile=slow) runs 10,000 random cases per property.
# No example database, and hypothesis's caches live outside the repository.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "hybridview-hypothesis"))
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None)
settings.register_profile("slow", max_examples=10_000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYBRIDVIEW_FUZZ_PROFILE", "ci"))
