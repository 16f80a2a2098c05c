"""Shared test set-up: Qt offscreen, and the qasync loop for UI tests."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
