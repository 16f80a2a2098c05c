"""Backend protocols and the one error type the rest of the app sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
        outcome_unknown: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        # a write whose answer was lost (timed out, cut off): it may have taken effect
        self.outcome_unknown = outcome_unknown
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


# -- writes ---------------------------------------------------------------------------------
# A write method blocks until the endpoint took the call (Nova: accepted; vCenter: its tasks
# finished) and raises BackendError, with Nova's request id where there is one, when it did not.


@dataclass(frozen=True, slots=True)
class WriteReceipt:
    """What the endpoint said when it took a write."""

    request_id: str | None  # Nova's x-openstack-request-id, or the vCenter task key(s), comma-separated
    detail: str | None = None  # anything the operator should read, e.g. "vCenter gave it a new instanceUuid"


@dataclass(frozen=True, slots=True)
class ServerProgress:
    """One server as Nova reports it now, and its newest evacuation record."""

    instance_id: str
    status: str  # ACTIVE, REBUILD, SHUTOFF, ERROR, …
    vm_state: str | None
    task_state: str | None
    host: str | None
    fault: str | None = None  # the server's fault message, when it has one
    evacuation_id: str | None = None  # the newest os-migrations record of type evacuation (since ``since``)
    evacuation_status: str | None = None
    evacuation_dest: str | None = None


@runtime_checkable
class NovaWrites(Protocol):
    """The writes of one Nova cloud; each takes the compute host or server id Nova knows."""

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        """Force nova-compute of ``host`` down or not: ``PUT /os-services/{id}`` at >= 2.53, older call before."""
        ...

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt: ...

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        """``POST /servers/{id}/action`` evacuate, its body right for the write microversion."""
        ...

    def start_server(self, instance_id: str) -> WriteReceipt: ...

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress: ...


@dataclass(frozen=True, slots=True)
class VmPlacement:
    """Where vCenter has a VM now."""

    moref: str
    instance_uuid: str | None
    host_moref: str | None
    power_state: str
    connection_state: str | None = None


@runtime_checkable
class VCenterWrites(Protocol):
    def restart_vm(
        self, vm_moref: str, *, vmx_path: str, name: str, instance_uuid: str | None, host_moref: str
    ) -> WriteReceipt:
        """Register a VM of a dead host on ``host_moref`` from its .vmx, keep its instanceUuid, power it on.

        The VM object of the dead host is unregistered first (its files stay); a real vCenter
        cannot relocate a VM whose host does not answer.
        """
        ...

    def find_vm(self, instance_uuid: str | None, vmx_path: str) -> VmPlacement | None:
        """The VM registered now with this instanceUuid (or, without one, this .vmx), if any."""
        ...
