"""Evacuate a failed libvirt/KVM compute host, or some of its instances, through the action runner."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from hybridview.actions.desk import ActionDesk
from hybridview.core.actions import Step
from hybridview.core.evacuation import (
    EvacuationRequest,
    EvacuationTarget,
    compute_service,
    evacuation_targets,
    stopped_after_evacuation,
)
from hybridview.core.view import EstateView
from hybridview.ui.action_dialog import ActionDialog, Prepared
from hybridview.ui.bridge import MonitorBridge
from hybridview.views.recovery_rows import EVACUATION_ITEM_COLUMNS, evacuation_item_cells

SCHEDULER = "the scheduler (Nova picks a host)"


@dataclass(frozen=True, slots=True)
class EvacuationContext:
    targets: tuple[EvacuationTarget, ...]
    forced_down: bool | None  # None: the cloud has no nova-compute on the host
    stopped_after: bool  # Nova leaves evacuated servers SHUTOFF at this microversion


@dataclass(frozen=True, slots=True)
class EvacuationChoice:
    target: str | None = None
    force_down: bool = False
    start_after: bool = False


def evacuation_context(view: EstateView, cloud: str, host: str) -> EvacuationContext:
    snap = next((s for s in view.estate.openstack if s.cloud == cloud), None)
    if snap is None:
        return EvacuationContext((), None, False)
    service = compute_service(snap, host)
    return EvacuationContext(
        evacuation_targets(snap, host),
        service.forced_down if service is not None else None,
        stopped_after_evacuation(snap),
    )


def prepare_evacuation(
    desk: ActionDesk, cloud: str, host: str, instance_ids: tuple[str, ...], view: EstateView, choice: object
) -> Prepared:
    """In a worker: the plan for ``choice`` (None: force down unless it is already), and the options."""
    context = evacuation_context(view, cloud, host)
    if not isinstance(choice, EvacuationChoice):
        choice = EvacuationChoice(force_down=context.forced_down is False)
    request = EvacuationRequest(
        cloud,
        host,
        instance_ids,
        choice.target,
        force_down=choice.force_down,
        start_after=choice.start_after and context.stopped_after,
    )
    return Prepared(desk.evacuation(view, request), context, choice)


class EvacuationDialog(ActionDialog):
    submit_text = "Evacuate"
    item_columns = (*EVACUATION_ITEM_COLUMNS,)
    column_widths = (190, 70, 160, 250, 180)

    def __init__(
        self,
        desk: ActionDesk,
        controller: MonitorBridge,
        cloud: str,
        host: str,
        instance_ids: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            desk, controller, cloud, host, partial(prepare_evacuation, desk, cloud, host, instance_ids), parent
        )
        self.instance_ids = instance_ids
        self.setWindowTitle(f"Evacuate {host} ({cloud})")
        self.target = QComboBox()
        self.target.addItem(SCHEDULER, None)
        self.target.setMinimumContentsLength(40)
        self.force_down = QCheckBox(f"Force nova-compute on {host} down first")
        self.force_down.setToolTip("Tells Nova the host is dead, so it cannot start the instances there again")
        self.start_after = QCheckBox("Start the servers Nova leaves stopped (SHUTOFF) after their evacuation")
        self.start_after.setVisible(False)
        self.options.insertRow(0, "Target:", self.target)
        self.options.addRow("", self.force_down)
        self.options.addRow("", self.start_after)
        self.options.setRowVisible(self.start_after, False)
        self.target.currentIndexChanged.connect(lambda _i: self.replan())
        self.force_down.toggled.connect(lambda _on: self.replan())
        self.start_after.toggled.connect(lambda _on: self.replan())
        self.replan()

    def choice(self) -> object:
        target = self.target.currentData()
        return EvacuationChoice(
            target if isinstance(target, str) else None, self.force_down.isChecked(), self.start_after.isChecked()
        )

    def show_context(self, context: object, choice: object) -> None:
        assert isinstance(context, EvacuationContext)
        assert isinstance(choice, EvacuationChoice)
        for widget in (self.target, self.force_down, self.start_after):
            widget.blockSignals(True)
        try:
            for target in context.targets:
                self.target.addItem(f"{target.host} ({target.hypervisor_type}): {target.capacity}", target.host)
            if context.forced_down:
                self.force_down.setText(f"nova-compute on {self.host} is already forced down")
            self.force_down.setChecked(choice.force_down)
            self.force_down.setEnabled(context.forced_down is False)
            self.options.setRowVisible(self.start_after, context.stopped_after)
            self.start_after.setChecked(choice.start_after)
        finally:
            for widget in (self.target, self.force_down, self.start_after):
                widget.blockSignals(False)

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return evacuation_item_cells(step)
