"""The change feed: a PropertyCollector filter per type, followed with WaitForUpdatesEx, as plain updates."""

from __future__ import annotations

from typing import Any

from pyVmomi import vmodl

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere.convert import FOLLOWED_TYPES, kind_of, plain
from hybridview.backends.vsphere.reads import filter_spec
from hybridview.backends.vsphere.session import Session

PC = vmodl.query.PropertyCollector
# (object type, moref, "enter" | "modify" | "leave", [(op, property path, plain value)])
PlainUpdate = tuple[str, str, str, list[tuple[str, str, Any]]]


def wait(session: Session, max_wait_seconds: float) -> tuple[list[PlainUpdate], bool] | None:
    """The next changes and whether they are a full answer; None when nothing changed in time.

    The session's first answer (also after a re-login) is a full answer: everything the
    filters match, including changes missed while no collector listened. The filters follow every
    property the full reads take but the sampled ones (``inventory.SAMPLED``).
    """
    if session.update_collector is None:
        collector = session.content.propertyCollector.CreatePropertyCollector()
        for kind in FOLLOWED_TYPES:
            collector.CreateFilter(filter_spec(session, kind, inv.followed(kind)), partialUpdates=False)
        session.update_collector = collector
        session.update_version = ""
    options = PC.WaitOptions(maxWaitSeconds=max(1, int(max_wait_seconds)))
    updates = session.update_collector.WaitForUpdatesEx(session.update_version, options)
    if updates is None:
        return None
    full_answer = session.update_version == ""
    session.update_version = updates.version
    plain_updates = [
        update
        for filter_update in updates.filterSet or ()
        for change in filter_update.objectSet or ()
        if (update := _plain_update(change)) is not None
    ]
    return plain_updates, full_answer


def apply(state: inv.InventoryState, update: PlainUpdate) -> None:
    kind, moref, update_kind, values = update
    if update_kind == "leave":
        state.leave(kind, moref)
    elif update_kind == "enter":
        state.enter(kind, moref, {name: value for _op, name, value in values})
    else:
        state.modify(kind, moref, values)


def _plain_update(change: Any) -> PlainUpdate | None:
    kind = kind_of(change.obj)
    if kind is None:
        return None
    values = [(c.op, c.name, plain(c.name, c.val)) for c in change.changeSet or ()]
    return kind, change.obj._moId, str(change.kind), values
