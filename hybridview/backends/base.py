"""Backend protocols and the one error type the rest of the app sees."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hybridview.core.model import OpenStackSnapshot, VCenterSnapshot


class BackendError(Exception):
    """A fetch failed; the message is fit to show an operator as-is."""

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.insert(0, f"HTTP {self.status_code}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")


@runtime_checkable
class OpenStackBackend(Protocol):
    """One Nova cloud. ``fetch`` blocks: call it from a worker thread."""

    @property
    def name(self) -> str: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...

    def fetch(self) -> OpenStackSnapshot: ...

    def close(self) -> None: ...


@runtime_checkable
class VCenterBackend(Protocol):
    """One vCenter. Every method blocks: call them from a worker thread."""

    @property
    def name(self) -> str: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...

    def fetch(self) -> VCenterSnapshot:
        """A full inventory read."""
        ...

    def wait_for_updates(self, max_wait_seconds: float) -> VCenterSnapshot | None:
        """The snapshot after the next changes, or None when nothing changed in time."""
        ...

    def close(self) -> None: ...
