"""The window's adapter over the monitor: publications in, Qt signals out. Owns no loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from hybridview.service.monitor import EstateMonitor
from hybridview.service.publication import Subscription
from hybridview.service.tasks import describe_exception, spawn
from hybridview.service.wiring import Endpoints
from hybridview.ui.heap import HeapSettler
from hybridview.core.view import EstateView
from hybridview.views.presentation import Presentation, present

log = logging.getLogger(__name__)


class Stager(Protocol):
    """Prepares a face's widgets for a presentation in a worker, from what they showed before."""

    def capture(self) -> object:
        """On the GUI thread: what the widgets show now."""
        ...

    def stage(self, presentation: Presentation, captured: object) -> object:
        """In a worker: everything the GUI thread needs to show ``presentation`` cheaply."""
        ...


def _prepare(view: EstateView, stager: Stager | None, captured: object) -> tuple[Presentation, object]:
    presentation = present(view)
    return presentation, stager.stage(presentation, captured) if stager is not None else None


class MonitorBridge(QObject):
    """Rows are built in the monitor's workers; the GUI thread only applies them."""

    presentation_ready = Signal(object)  # Presentation
    restaged = Signal(object)  # Presentation: the latest again, staged anew (``restage``)
    busy_changed = Signal(bool)
    fault_changed = Signal(object)  # str | None: what failed inside the app, or None once it works again

    def __init__(self, monitor: EstateMonitor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.latest: Presentation | None = None
        self.stager: Stager | None = None
        self._staged: object = None
        self.fault: str | None = None
        self._subscription: Subscription | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._staging = asyncio.Lock()  # one presentation staged at a time, each from what the last left shown
        self._restager: asyncio.Task[None] | None = None
        self._restage_wanted = False
        self._heap = HeapSettler(self)
        self._closers: list[Callable[[], Awaitable[None]]] = []
        monitor.add_busy_listener(self.busy_changed.emit)

    def close_first(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Await ``closer`` at the start of ``aclose``, while the backends still answer (the window's actions)."""
        self._closers.append(closer)

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
            async with self._staging:
                captured = self.stager.capture() if self.stager is not None else None
                try:
                    presentation, staged = await self.monitor.offload(_prepare, update.view, self.stager, captured)
                except Exception as exc:
                    log.exception("showing view %d failed", update.publication.sequence)
                    self._display_failed(exc)
                    continue
                fault = update.publication.fault
                del captured, update
                self.monitor.release(self.latest)  # the replaced view is freed off the GUI thread
                self.latest, self._staged = presentation, staged
                del staged
                self._set_fault(fault)
                self.presentation_ready.emit(presentation)
                self._staged = None  # taken by now, or of no use to anyone
            self._heap.settle()

    def restage(self) -> None:
        """Stage the latest presentation again in a worker (the stager's input changed, e.g. a filter), then show it."""
        self._restage_wanted = True
        if self._restager is None or self._restager.done():
            self._restager = spawn(self._restage(), name="window: restage", on_error=self._display_failed)

    async def _restage(self) -> None:
        while self._restage_wanted:  # changes made while one is staged coalesce into one more
            self._restage_wanted = False
            async with self._staging:
                presentation = self.latest
                if presentation is None or self.stager is None:
                    return  # the first presentation is staged with the stager's current input
                staged = await self.monitor.offload(self.stager.stage, presentation, self.stager.capture())
                self._staged = staged
                del staged
                self.restaged.emit(presentation)
                self._staged = None

    def take_staged(self, presentation: Presentation) -> object:
        """What the stager prepared for this presentation, handed over once (None for any other)."""
        staged, self._staged = (self._staged, None) if presentation is self.latest else (None, self._staged)
        return staged

    def _display_failed(self, exc: BaseException) -> None:
        self._set_fault(f"could not display the latest data: {describe_exception(exc)}")

    def _set_fault(self, fault: str | None) -> None:
        if fault != self.fault:
            self.fault = fault
            self.fault_changed.emit(fault)

    async def aclose(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            try:
                await closer()
            except Exception:
                log.exception("closing the window's actions failed")
        if self._subscription is not None:
            self._subscription.close()
        for task in (self._consumer, self._restager):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.monitor.aclose()
        self._heap.stop()
