"""The window's adapter over the monitor: publications in, Qt signals out. Owns no loop."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal

from hybridview.service.monitor import EstateMonitor
from hybridview.service.publication import Subscription
from hybridview.service.tasks import describe_exception, spawn
from hybridview.service.wiring import Endpoints
from hybridview.ui.heap import HeapSettler
from hybridview.views.presentation import Presentation, present

log = logging.getLogger(__name__)


class MonitorBridge(QObject):
    """Rows are built in the monitor's workers; the GUI thread only applies them."""

    presentation_ready = Signal(object)  # Presentation
    busy_changed = Signal(bool)
    fault_changed = Signal(object)  # str | None: what failed inside the app, or None once it works again

    def __init__(self, monitor: EstateMonitor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.latest: Presentation | None = None
        self.fault: str | None = None
        self._subscription: Subscription | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._heap = HeapSettler(self)
        monitor.add_busy_listener(self.busy_changed.emit)

    @property
    def endpoints(self) -> Endpoints:
        return self.monitor.endpoints

    @property
    def busy(self) -> bool:
        return self.monitor.busy

    def start(self) -> None:
        self._heap.settle()  # imports, SDK type registries and the window are here to stay
        self._subscription = self.monitor.subscribe()
        self._consumer = spawn(self._show_updates(), name="window: show updates", on_error=self._display_failed)
        self.monitor.start()

    def request_refresh(self) -> None:
        self.monitor.request_refresh()

    def set_interval(self, seconds: float) -> None:
        self.monitor.set_interval(seconds)

    def set_auto_refresh(self, enabled: bool) -> None:
        self.monitor.set_auto_refresh(enabled)

    async def _show_updates(self) -> None:
        assert self._subscription is not None
        async for update in self._subscription:
            try:
                presentation = await self.monitor.offload(present, update.view)
            except Exception as exc:
                log.exception("showing view %d failed", update.publication.sequence)
                self._display_failed(exc)
                continue
            self.latest = presentation
            self._set_fault(update.publication.fault)
            self.presentation_ready.emit(presentation)
            self._heap.settle()

    def _display_failed(self, exc: BaseException) -> None:
        self._set_fault(f"could not display the latest data: {describe_exception(exc)}")

    def _set_fault(self, fault: str | None) -> None:
        if fault != self.fault:
            self.fault = fault
            self.fault_changed.emit(fault)

    async def aclose(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
        await self.monitor.aclose()
