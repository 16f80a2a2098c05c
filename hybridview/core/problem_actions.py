"""hybridview's own writes as problems: what the window's runner reports, and the item each acts on."""

from __future__ import annotations

from dataclasses import dataclass

from hybridview.core.actions import ActionKey, Verb
from hybridview.core.identity import EndpointRef, HostRef, InstanceRef, Ref
from hybridview.core.view import EstateView


@dataclass(frozen=True, slots=True)
class ActionProblem:
    """One of hybridview's writes that failed or never ended, as the window's runner reports it."""

    key: ActionKey
    label: str  # the item as the operator knows it
    state: str  # "failed" | "outcome unknown"
    message: str
    operation: str  # the operation's title


_NODE_VERBS = frozenset({Verb.FORCE_DOWN, Verb.UNSET_FORCE_DOWN, Verb.DISABLE_SERVICE, Verb.ENABLE_SERVICE})
_HOST_VERBS = frozenset({Verb.ENTER_MAINTENANCE, Verb.EXIT_MAINTENANCE})


def action_ref(view: EstateView, key: ActionKey) -> Ref:
    """The item an action acts on, to select it; its endpoint when the item is not in the view."""
    if key.verb in _NODE_VERBS:
        snap = next((s for s in view.estate.openstack if s.cloud == key.endpoint), None)
        node = next((n for n in snap.nodes if n.host == key.target), None) if snap else None
        return node.ref if node else EndpointRef(key.endpoint)
    if key.verb in _HOST_VERBS:
        return HostRef(key.endpoint, key.target)
    if key.verb is Verb.CANCEL_TASK:
        return EndpointRef(key.endpoint)
    if key.verb in (Verb.RESTART_VM, Verb.RELOCATE_VM):
        vc = next((v for v in view.estate.vcenters if v.vcenter == key.endpoint), None)
        target = key.target.lower()
        vms = vc.vms if vc else ()
        vm = next((v for v in vms if target in (v.moref.lower(), (v.instance_uuid or "").lower())), None)
        return vm.ref if vm else EndpointRef(key.endpoint)
    return InstanceRef(key.endpoint, key.target)
