"""Per-endpoint freshness in the status bar: never shows stale data as healthy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtWidgets import QLabel, QStatusBar

from hybridview.core.model import EndpointStatus


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value else "never"


class EndpointStatusBar:
    def __init__(self, bar: QStatusBar) -> None:
        self._bar = bar
        self._labels: dict[str, QLabel] = {}

    def show_endpoints(self, endpoints: Sequence[EndpointStatus]) -> None:
        for endpoint in endpoints:
            label = self._labels.get(endpoint.name)
            if label is None:
                label = QLabel()
                self._labels[endpoint.name] = label
                self._bar.addPermanentWidget(label)
            if endpoint.ok:
                warn = f" ⚠ {'; '.join(endpoint.warnings)}" if endpoint.warnings else ""
                label.setText(f"✔ {endpoint.name} {_time(endpoint.last_refresh)}{warn}")
                label.setObjectName("endpointOk")
            else:
                label.setText(f"✖ STALE {endpoint.name} (last good {_time(endpoint.last_refresh)})")
                label.setObjectName("endpointStale")
            label.setToolTip(f"{endpoint.kind.value} {endpoint.name}: " + (endpoint.error or "refreshed OK"))
            label.style().unpolish(label)
            label.style().polish(label)

    def text(self) -> str:
        return "  ".join(label.text() for label in self._labels.values())
