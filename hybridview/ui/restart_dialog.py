"""Register and power on, on a healthy host of its cluster, each VM vSphere HA left on a failed ESXi host."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from PySide6.QtWidgets import QComboBox, QWidget

from hybridview.actions.desk import ActionDesk
from hybridview.core.actions import Step
from hybridview.core.left_behind import RestartRequest
from hybridview.core.view import EstateView
from hybridview.ui.action_dialog import ActionDialog, Prepared
from hybridview.ui.bridge import MonitorBridge
from hybridview.views.recovery_rows import RESTART_ITEM_COLUMNS, restart_item_cells

LEAST_LOADED = "the least loaded host of the cluster that mounts its datastores (per VM)"


@dataclass(frozen=True, slots=True)
class RestartTarget:
    moref: str
    name: str
    load: str  # "180 of 512 GiB memory used"


@dataclass(frozen=True, slots=True)
class RestartContext:
    targets: tuple[RestartTarget, ...]


@dataclass(frozen=True, slots=True)
class RestartChoice:
    target: str | None = None  # an ESXi host moref; None: least loaded


def restart_targets(view: EstateView, vcenter: str, host: str) -> tuple[RestartTarget, ...]:
    """The connected hosts outside maintenance in the failed host's cluster, least memory used first."""
    vc = next((v for v in view.estate.vcenters if v.vcenter == vcenter), None)
    failed = next((h for h in vc.hosts if host in (h.name, h.moref)), None) if vc is not None else None
    if vc is None or failed is None or failed.cluster_moref is None:
        return ()
    peers = [
        h
        for h in vc.hosts
        if h.cluster_moref == failed.cluster_moref and h.moref != failed.moref and h.responding and not h.in_maintenance
    ]
    peers.sort(key=lambda h: ((h.memory_used_mb or 0) / max(1, h.memory_mb or 1), h.name))
    return tuple(RestartTarget(h.moref, h.name, _load(h.memory_used_mb, h.memory_mb)) for h in peers)


def _load(used: int | None, total: int | None) -> str:
    if used is None or not total:
        return "load unknown"
    return f"{used // 1024} of {total // 1024} GiB memory used"


def prepare_restarts(desk: ActionDesk, vcenter: str, host: str, view: EstateView, choice: object) -> Prepared:
    """In a worker: the plan for ``choice`` (None: least loaded host per VM), and the hosts to choose from."""
    if not isinstance(choice, RestartChoice):
        choice = RestartChoice()
    context = RestartContext(restart_targets(view, vcenter, host))
    return Prepared(desk.vm_restarts(view, RestartRequest(vcenter, host, choice.target)), context, choice)


class RestartDialog(ActionDialog):
    submit_text = "Restart VMs"
    item_columns = (*RESTART_ITEM_COLUMNS,)
    column_widths = (190, 190, 360, 180)

    def __init__(
        self, desk: ActionDesk, controller: MonitorBridge, vcenter: str, host: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(desk, controller, vcenter, host, partial(prepare_restarts, desk, vcenter, host), parent)
        self.setWindowTitle(f"Restart the VMs of {host} ({vcenter})")
        self.target = QComboBox()
        self.target.addItem(LEAST_LOADED, None)
        self.target.setMinimumContentsLength(40)
        self.options.insertRow(0, "Target:", self.target)
        self.target.currentIndexChanged.connect(lambda _i: self.replan())
        self.replan()

    def choice(self) -> object:
        target = self.target.currentData()
        return RestartChoice(target if isinstance(target, str) else None)

    def show_context(self, context: object, choice: object) -> None:
        assert isinstance(context, RestartContext)
        self.target.blockSignals(True)
        try:
            for target in context.targets:
                self.target.addItem(f"{target.name}: {target.load}", target.moref)
        finally:
            self.target.blockSignals(False)

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return restart_item_cells(step)
