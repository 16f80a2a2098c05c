"""Changes to a nova-compute service (enable, disable, forced-down), and hosts coming back after a failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hybridview.core.actions import ActionKey, Plan, Step, Verb
from hybridview.core.evacuation import compute_service
from hybridview.core.model import Estate, OpenStackSnapshot

# Nova's default service_down_time: a heartbeat younger than this means the service runs.
SERVICE_DOWN_SECONDS = 60


@dataclass(frozen=True, slots=True)
class ServiceChange:
    cloud: str
    host: str
    enable: bool | None = None  # None: leave as it is
    reason: str | None = None  # why it is disabled
    forced_down: bool | None = None  # None: leave as it is


def plan_service_change(estate: Estate, change: ServiceChange) -> Plan:
    title = f"Change nova-compute on {change.host} ({change.cloud})"
    snap = next((s for s in estate.openstack if s.cloud == change.cloud), None)
    service = compute_service(snap, change.host) if snap is not None else None
    if service is None:
        return Plan(title, (), refused=f"cloud {change.cloud} has no nova-compute on host {change.host!r}")
    if change.enable is False and not change.reason:
        return Plan(title, (), refused="disabling a service needs a reason, so the next operator knows why")
    steps: list[Step] = []
    if change.forced_down is not None and change.forced_down != service.forced_down:
        verb = Verb.FORCE_DOWN if change.forced_down else Verb.UNSET_FORCE_DOWN
        what = "mark it forced down" if change.forced_down else "clear its forced-down flag"
        _, uncleaned = _evacuations_from(snap, change.host) if snap is not None else (0, 0)
        blocked = None
        if not change.forced_down and uncleaned:
            blocked = (
                f"{uncleaned} evacuation(s) away from {change.host} are still 'done', not 'completed': Nova refuses "
                "to clear forced-down until its nova-compute has restarted and cleaned up those instances"
            )
        steps.append(
            Step(
                ActionKey(change.cloud, verb, change.host),
                f"{what} (service {service.id})",
                {"host": change.host, "forced_down": change.forced_down},
                label=change.host,
                blocked_reason=blocked,
            )
        )
    if change.enable is not None and change.enable != (service.status == "enabled"):
        verb = Verb.ENABLE_SERVICE if change.enable else Verb.DISABLE_SERVICE
        what = "enable it" if change.enable else f"disable it: {change.reason}"
        steps.append(
            Step(
                ActionKey(change.cloud, verb, change.host),
                f"{what} (service {service.id})",
                {"host": change.host, "enabled": change.enable, "reason": change.reason},
                label=change.host,
            )
        )
    notes: tuple[str, ...] = ()
    if change.forced_down:
        notes = (
            f"Forcing {change.host} down tells Nova the host is dead: only do it once the host is fenced "
            "(powered off), or its instances may run twice after an evacuation.",
        )
    return Plan(title, tuple(steps), needs_fencing=bool(change.forced_down), notes=notes)


@dataclass(frozen=True, slots=True)
class ReturningHost:
    cloud: str
    host: str
    heartbeat: datetime
    disabled: bool
    evacuations_cleaned: int  # evacuations away from it that nova-compute finished cleaning up ("completed")
    evacuations_to_clean: int  # evacuations away from it still "done": their local copies remain there

    @property
    def advice(self) -> str:
        steps = "clear forced-down" + (" and enable the service" if self.disabled else "")
        cleanup = (
            f"; nova-compute has cleaned up {self.evacuations_cleaned} evacuated instance(s) there"
            if self.evacuations_cleaned
            else ""
        )
        pending = (
            f", and {self.evacuations_to_clean} local copy(ies) of evacuated instances remain until it restarts"
            if self.evacuations_to_clean
            else ""
        )
        return f"nova-compute on {self.host} reports again while forced down: once repaired, {steps}{cleanup}{pending}"


def returning_hosts(estate: Estate) -> list[ReturningHost]:
    """Forced-down services whose heartbeat is fresh: the host is back and waits for the operator."""
    back = []
    for snap in estate.openstack:
        for service in snap.services:
            heartbeat = _parse(service.updated_at)
            if service.binary != "nova-compute" or not service.forced_down or heartbeat is None:
                continue
            if snap.taken_at - heartbeat > timedelta(seconds=SERVICE_DOWN_SECONDS):
                continue
            cleaned, to_clean = _evacuations_from(snap, service.host)
            back.append(
                ReturningHost(snap.cloud, service.host, heartbeat, service.status == "disabled", cleaned, to_clean)
            )
    return back


def _evacuations_from(snap: OpenStackSnapshot, host: str) -> tuple[int, int]:
    away = [m for m in snap.migrations if m.migration_type == "evacuation" and m.source_compute == host]
    return sum(m.status == "completed" for m in away), sum(m.status == "done" for m in away)


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # Nova writes UTC without an offset
