"""The layout is saved when the window closes and restored in the next window, per screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSplitter

from hybridview.ui.layout_memory import SETTINGS_ENV, LayoutMemory
from tests.ui.harness import WindowHarness


def _vertical(h: WindowHarness) -> QSplitter:
    return max(h.window.findChildren(QSplitter), key=lambda s: s.height())


def test_layout_saved_on_close_and_restored(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = tmp_path / "settings.ini"
    monkeypatch.setenv(SETTINGS_ENV, str(ini))
    first = WindowHarness.on_demo(qloop, "healthy")
    memory = LayoutMemory(first.window)
    assert not memory.geometry_restored
    first.window.resize(780, 700)  # the offscreen screen is 800x800: restoreGeometry fits a window to it
    first.window.show()
    try:
        first.controller.start()
        first.wait_presentations(1)
        first.wait_until(lambda: memory.restored)
        first.window.nova_view.setColumnWidth(0, 333)
        _vertical(first).setSizes([500, 300])
        sizes = _vertical(first).sizes()
        size = (first.window.width(), first.window.height())
    finally:
        first.close()  # closing saves
    keys = QSettings(str(ini), QSettings.Format.IniFormat).allKeys()
    assert f"{memory.group()}/geometry" in keys and f"{memory.group()}/header-nova" in keys

    second = WindowHarness.on_demo(qloop, "healthy")
    restored = LayoutMemory(second.window)
    assert restored.geometry_restored
    second.window.show()
    try:
        second.controller.start()
        second.wait_presentations(1)
        second.wait_until(lambda: restored.restored)
        assert (second.window.width(), second.window.height()) == size
        assert second.window.nova_view.columnWidth(0) == 333
        assert _vertical(second).sizes() == sizes
    finally:
        second.close()
