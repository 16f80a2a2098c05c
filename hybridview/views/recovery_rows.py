"""Rows of the Recovery view and the cells of the action dialogs' item tables. Qt-free, built in workers.

The window passes in what its own operations report per action key (``Progress``), so an
item being evacuated or restarted shows its state beside what the last snapshot says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hybridview.core.actions import ActionKey, Step, Verb
from hybridview.core.compute_service import ReturningHost
from hybridview.core.evacuation import CONSEQUENCE, DataOutcome, PendingEvacuation
from hybridview.core.health import Severity
from hybridview.core.identity import InstanceRef, NodeRef, VmRef
from hybridview.core.left_behind import LeftBehindVm
from hybridview.core.model import Instance, Storage
from hybridview.core.recovery import Recovery
from hybridview.core.view import EstateView
from hybridview.views.rows import Row

EVACUATION_COLUMNS = (
    "Instance",
    "Project",
    "Source host",
    "vm_state",
    "Storage",
    "Data outcome",
    "Progress",
    "Evacuable / blocked reason",
    "Cloud",
    "ID",
)
LEFT_BEHIND_COLUMNS = ("VM", "Nova instance", "Failed host", "Cluster", "Why", "Progress", "vCenter")
RETURNING_COLUMNS = ("Host", "Cloud", "Last heartbeat", "Service", "Progress", "Advice")
EVACUATION_ITEM_COLUMNS = ("Instance", "Storage", "Data outcome", "What is sent", "Blocked reason")
RESTART_ITEM_COLUMNS = ("VM", "Target host", "What is sent", "Blocked reason")
OUTCOME_TEXT = {
    DataOutcome.PRESERVED: "preserved",
    DataOutcome.REBUILT: "LOST: rebuilt from image",
    DataOutcome.UNKNOWN: "unknown",
}


def outcome_text(value: object) -> str:
    """A data outcome as the operator reads it; a step's parameters hold its value."""
    return next((text for outcome, text in OUTCOME_TEXT.items() if outcome.value == value), str(value or "unknown"))


@dataclass(frozen=True, slots=True)
class Progress:
    """What one of the window's operations reports for an action key."""

    text: str  # "in progress: REBUILD on cmp-004 …"
    finished: bool = False
    failed: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryRows:
    data: RecoveryData
    evacuations: tuple[Row, ...]
    left_behind: tuple[Row, ...]
    returning: tuple[Row, ...]
    pending: Mapping[InstanceRef, PendingEvacuation]  # the rows' items, by row key
    stranded: Mapping[VmRef, LeftBehindVm]
    back: Mapping[NodeRef, ReturningHost]


@dataclass(frozen=True, slots=True)
class Tracked:
    """An evacuation the window sent that no longer shows as pending (Nova moved it already)."""

    step: Step
    progress: Progress


def evacuation_key(cloud: str, instance_id: str) -> ActionKey:
    return ActionKey(cloud, Verb.EVACUATE, instance_id)


def restart_key(item: LeftBehindVm) -> ActionKey:
    return ActionKey(item.vcenter, Verb.RESTART_VM, item.instance_uuid or item.vm_moref)


@dataclass(frozen=True, slots=True)
class RecoveryData:
    """What the rows need beyond ``Recovery``, looked up in the estate once, in a worker."""

    recovery: Recovery
    instances: Mapping[InstanceRef, Instance]  # the pending and tracked ones
    nodes: Mapping[tuple[str, str], NodeRef]  # (cloud, service host) of returning hosts -> their node


def gather(rec: Recovery, view: EstateView, tracked: Iterable[InstanceRef] = ()) -> RecoveryData:
    wanted = {InstanceRef(p.cloud, p.instance_id) for p in rec.evacuations} | set(tracked)
    clouds = {ref.cloud for ref in wanted}
    instances = {
        ref: i
        for snap in view.estate.openstack
        if snap.cloud in clouds
        for i in snap.instances
        if (ref := InstanceRef(i.cloud, i.id)) in wanted
    }
    nodes = {}
    for r in rec.returning:
        snap = next((s for s in view.estate.openstack if s.cloud == r.cloud), None)
        node = next((n for n in snap.nodes if n.host == r.host), None) if snap is not None else None
        nodes[(r.cloud, r.host)] = node.ref if node is not None else NodeRef(r.cloud, r.host)
    return RecoveryData(rec, instances, nodes)


def recovery_rows(
    data: RecoveryData, progress: Mapping[ActionKey, Progress], tracked: tuple[Tracked, ...] = ()
) -> RecoveryRows:
    """The three tables; evacuations this window runs that no longer show as pending follow the pending ones.

    Cheap once ``gather`` ran: the window renders it again on its thread when only progress changed.
    """
    rec, instances = data.recovery, data.instances
    pending = {InstanceRef(p.cloud, p.instance_id): p for p in rec.evacuations}
    evacuations = [
        _evacuation_row(p, progress.get(evacuation_key(p.cloud, p.instance_id)), instances.get(ref))
        for ref, p in pending.items()
    ]
    for t in tracked:
        ref = InstanceRef(t.step.key.endpoint, t.step.key.target)
        if ref not in pending and not t.progress.finished:
            evacuations.append(_tracked_row(ref, t, instances.get(ref)))
    stranded = {VmRef(item.vcenter, item.vm_moref): item for item in rec.left_behind}
    back = {data.nodes.get((r.cloud, r.host), NodeRef(r.cloud, r.host)): r for r in rec.returning}
    return RecoveryRows(
        data,
        tuple(evacuations),
        tuple(_left_behind_row(ref, item, progress.get(restart_key(item))) for ref, item in stranded.items()),
        tuple(_returning_row(ref, r, progress) for ref, r in back.items()),
        pending,
        stranded,
        back,
    )


def _state(vm_state: str | None, instance: Instance | None) -> str:
    task = instance.task_state if instance is not None else None
    state = (instance.vm_state if instance is not None else None) or vm_state or "?"
    return f"{state}, {task}" if task else state


def _evacuation_row(p: PendingEvacuation, progress: Progress | None, instance: Instance | None) -> Row:
    evacuable = "yes" if p.evacuable else f"no: {p.blocked_reason}"
    severity = Severity.WARNING if not p.evacuable else Severity.CRITICAL
    if progress is not None and progress.finished and not progress.failed:
        severity = Severity.OK
    consequence = CONSEQUENCE[p.data_outcome]
    return Row(
        InstanceRef(p.cloud, p.instance_id),
        (
            p.name,
            p.project,
            p.source_host,
            _state(p.vm_state, instance),
            p.storage.value,
            OUTCOME_TEXT[p.data_outcome],
            progress.text if progress else "",
            evacuable,
            p.cloud,
            p.instance_id,
        ),
        severity,
        f"{p.name} ({p.instance_id}) on {p.source_host}: {consequence}"
        + (f"\nnot evacuable: {p.blocked_reason}" if p.blocked_reason else "")
        + (f"\n{progress.text}" if progress else ""),
    )


def _tracked_row(ref: InstanceRef, t: Tracked, instance: Instance | None) -> Row:
    p = t.step.parameters
    return Row(
        ref,
        (
            t.step.label or ref.id,
            instance.project_id if instance is not None else "",
            str(p.get("source_host") or ""),
            _state(None, instance),
            str(p.get("storage") or Storage.UNKNOWN.value),
            outcome_text(p.get("data_outcome")),
            t.progress.text,
            "being evacuated by this window",
            ref.cloud,
            ref.id,
        ),
        Severity.CRITICAL if t.progress.failed else Severity.STALE,
        f"{t.step.summary}\n{t.progress.text}",
    )


def _left_behind_row(ref: VmRef, item: LeftBehindVm, progress: Progress | None) -> Row:
    instance = f"{item.instance[2]} ({item.instance[1]})" if item.instance else "not a Nova instance"
    failed = progress is not None and progress.failed
    return Row(
        ref,
        (
            item.name,
            instance,
            item.host.name,
            item.cluster.name if item.cluster else "standalone",
            item.why,
            progress.text if progress else "",
            item.vcenter,
        ),
        Severity.OK if progress is not None and progress.finished and not failed else Severity.CRITICAL,
        f"{item.name} ({item.vm_moref}) was running on {item.host.name}, which does not respond: {item.why}"
        + (f"\n.vmx: {item.vmx_path}" if item.vmx_path else "")
        + (f"\n{progress.text}" if progress else ""),
    )


def _returning_row(ref: NodeRef, r: ReturningHost, progress: Mapping[ActionKey, Progress]) -> Row:
    texts = [
        p.text
        for verb in (Verb.UNSET_FORCE_DOWN, Verb.ENABLE_SERVICE)
        if (p := progress.get(ActionKey(r.cloud, verb, r.host))) is not None
    ]
    return Row(
        ref,
        (
            r.host,
            r.cloud,
            r.heartbeat.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "forced down, disabled" if r.disabled else "forced down, enabled",
            "; ".join(texts),
            r.advice,
        ),
        Severity.WARNING,
        r.advice,
    )


# -- the dialogs' item tables ---------------------------------------------------------------


def evacuation_item_cells(step: Step) -> tuple[str, ...]:
    """Instance, storage, data outcome, what is sent (short: the step's summary is its tooltip), blocked reason."""
    if step.key.verb is not Verb.EVACUATE:
        what = {Verb.FORCE_DOWN: "mark it forced down", Verb.UNSET_FORCE_DOWN: "clear its forced-down flag"}
        sent = what.get(step.key.verb, step.summary)
        return (f"nova-compute on {step.label or step.key.target}", "", "", sent, step.blocked_reason or "")
    p = step.parameters
    sent = f"evacuate to {p.get('target_host') or 'the scheduler’s pick'}"
    if p.get("start_after"):
        sent += ", then start it"
    return (
        step.label or step.key.target,
        str(p.get("storage") or ""),
        outcome_text(p.get("data_outcome")),
        "nothing (blocked)" if step.blocked else sent,
        step.blocked_reason or "",
    )


def restart_item_cells(step: Step) -> tuple[str, ...]:
    """VM, target host, what is sent, blocked reason."""
    p = step.parameters
    sent = "register its .vmx, keep its instanceUuid, power on" if p.get("vmx_path") else ""
    return (
        step.label or step.key.target,
        str(p.get("host_name") or ""),
        "nothing (blocked)" if step.blocked else sent,
        step.blocked_reason or "",
    )
