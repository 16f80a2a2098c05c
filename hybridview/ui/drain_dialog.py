"""Drain a host for maintenance, or undo it: a KVM compute host through Nova, an ESXi host through vSphere.

The preview lists every instance or VM with where it goes or why it cannot move. A vmwareapi
proxy node is refused (draining it means the whole cluster) and the per-host vSphere drain of
each ESXi host of its cluster is offered instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget

from hybridview.actions.desk import ActionDesk
from hybridview.core.actions import Step
from hybridview.core.drain import DEFAULT_MAINTENANCE_TIMEOUT_SECONDS, DrainRequest
from hybridview.core.view import EstateView
from hybridview.ui.action_dialog import ActionDialog, Prepared
from hybridview.ui.bridge import MonitorBridge
from hybridview.views.activity_rows import MOVE_ITEM_COLUMNS, move_item_cells

DEFAULT_REASON = "drained for maintenance by hybridview"


@dataclass(frozen=True, slots=True)
class DrainChoice:
    undo: bool = False
    reason: str = DEFAULT_REASON
    move_powered_off: bool = False
    timeout_seconds: int = DEFAULT_MAINTENANCE_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class EsxiChoice:
    vcenter: str
    moref: str
    name: str


@dataclass(frozen=True, slots=True)
class DrainContext:
    per_host: tuple[EsxiChoice, ...] = ()  # a vmwareapi proxy node: the ESXi hosts of its cluster


def drain_context(view: EstateView, endpoint: str, host: str) -> DrainContext:
    """For a vmwareapi node, the ESXi hosts of the cluster it stands for (each can be drained alone)."""
    snap = next((s for s in view.estate.openstack if s.cloud == endpoint), None)
    node = next((n for n in snap.nodes if n.host == host and n.is_vmware), None) if snap else None
    cluster = view.health.correlation.cluster_for(node) if node is not None else None
    vc = next((v for v in view.estate.vcenters if cluster and v.vcenter == cluster.vcenter), None)
    if cluster is None or vc is None:
        return DrainContext()
    hosts = sorted((h for h in vc.hosts if h.cluster_moref == cluster.moref), key=lambda h: h.name)
    return DrainContext(tuple(EsxiChoice(vc.vcenter, h.moref, h.name) for h in hosts))


def prepare_drain(desk: ActionDesk, endpoint: str, host: str, view: EstateView, choice: object) -> Prepared:
    if not isinstance(choice, DrainChoice):
        choice = DrainChoice()
    request = DrainRequest(
        endpoint,
        host,
        undo=choice.undo,
        reason=choice.reason.strip() or None,
        move_powered_off=choice.move_powered_off,
        timeout_seconds=choice.timeout_seconds,
    )
    return Prepared(desk.drain(view, request), drain_context(view, endpoint, host), choice)


class DrainDialog(ActionDialog):
    submit_text = "Drain"
    item_columns = (*MOVE_ITEM_COLUMNS,)
    column_widths = (200, 170, 260, 320)
    per_host_requested = Signal(str, str, str)  # vcenter, ESXi host moref, its name

    def __init__(
        self,
        desk: ActionDesk,
        controller: MonitorBridge,
        endpoint: str,
        host: str,
        name: str,
        *,
        esxi: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(desk, controller, endpoint, name, partial(prepare_drain, desk, endpoint, host), parent)
        self.esxi = esxi
        self.setWindowTitle(f"Drain {name} ({endpoint})")
        what = f"exit maintenance mode on {name}" if esxi else f"re-enable nova-compute on {name}"
        self.undo = QCheckBox(f"Undo: {what}")
        self.reason = QLineEdit(DEFAULT_REASON)
        self.reason.setMinimumWidth(420)
        self.reason.setToolTip("Nova keeps it as the service's disabled reason")
        self.move_powered_off = QCheckBox("Move powered-off and suspended VMs too")
        self.timeout = QSpinBox()
        self.timeout.setRange(60, 24 * 3600)
        self.timeout.setSingleStep(60)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(DEFAULT_MAINTENANCE_TIMEOUT_SECONDS)
        self.timeout.setToolTip("How long vCenter may take to enter (or exit) maintenance mode")
        self.per_host = QComboBox()
        self.per_host_button = QPushButton("Drain this ESXi host…")
        self.per_host_button.clicked.connect(self._ask_per_host)
        offer = QWidget()
        row = QHBoxLayout(offer)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.per_host)
        row.addWidget(self.per_host_button)
        self.options.insertRow(0, "Mode:", self.undo)
        self.options.insertRow(1, "Disabled reason:", self.reason)
        self.options.insertRow(2, "Powered-off VMs:", self.move_powered_off)
        self.options.insertRow(3, "Timeout:", self.timeout)
        self.options.insertRow(4, "Instead, per ESXi host:", offer)
        self.options.setRowVisible(self.reason, not esxi)
        self.options.setRowVisible(self.move_powered_off, esxi)
        self.options.setRowVisible(self.timeout, esxi)
        self.options.setRowVisible(offer, False)
        self.offer = offer
        self.undo.toggled.connect(self._on_undo)
        self.reason.textChanged.connect(lambda _t: self.replan())
        self.move_powered_off.toggled.connect(lambda _on: self.replan())
        self.timeout.valueChanged.connect(lambda _v: self.replan())
        self.replan()

    def choice(self) -> object:
        return DrainChoice(
            self.undo.isChecked(), self.reason.text(), self.move_powered_off.isChecked(), self.timeout.value()
        )

    def show_context(self, context: object, choice: object) -> None:
        if not isinstance(context, DrainContext) or not context.per_host:
            return
        for esxi in context.per_host:
            self.per_host.addItem(f"{esxi.name} ({esxi.vcenter})", esxi)
        self.options.setRowVisible(self.offer, not self.desk.read_only)

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return move_item_cells(step)

    def _on_undo(self, undo: bool) -> None:
        self.submit.setText(("Exit maintenance" if self.esxi else "Re-enable") if undo else "Drain")
        self.reason.setEnabled(not undo)
        self.move_powered_off.setEnabled(not undo)
        self.replan()

    def _ask_per_host(self) -> None:
        esxi = self.per_host.currentData()
        if isinstance(esxi, EsxiChoice):
            self.per_host_requested.emit(esxi.vcenter, esxi.moref, esxi.name)
