"""Move one Nova instance or vCenter VM: every way there is, the impossible ones with their reason.

The options (``core.migration_options``) and the plan of the chosen one are made in a worker;
choosing an option shows its targets with their free capacity, the unusable ones greyed with
the reason, and plans again. The plan is sent once, through the action runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QWidget,
)

from hybridview.actions.desk import ActionDesk
from hybridview.core.actions import Plan, Step
from hybridview.core.identity import InstanceRef, VmRef
from hybridview.core.migration_options import (
    MoveKind,
    MoveOption,
    MoveOptions,
    instance_move_options,
    vm_move_options,
)
from hybridview.core.view import EstateView
from hybridview.ui.action_dialog import ActionDialog, Prepared
from hybridview.ui.bridge import MonitorBridge
from hybridview.views.activity_rows import MOVE_ITEM_COLUMNS, move_item_cells

KIND_TEXT = {
    MoveKind.LIVE_MIGRATE: "Live migrate",
    MoveKind.COLD_MIGRATE: "Cold migrate",
    MoveKind.CONFIRM_RESIZE: "Confirm the cold migration",
    MoveKind.REVERT_RESIZE: "Revert the cold migration",
    MoveKind.ABORT: "Abort the live migration",
    MoveKind.FORCE_COMPLETE: "Force-complete the live migration",
    MoveKind.EVACUATE: "Evacuate",
    MoveKind.VMOTION: "vMotion to another ESXi host",
    MoveKind.STORAGE_VMOTION: "Storage vMotion to another datastore",
}
TARGETED = (MoveKind.LIVE_MIGRATE, MoveKind.COLD_MIGRATE, MoveKind.VMOTION, MoveKind.STORAGE_VMOTION)
SCHEDULER = "Scheduler chooses (Nova picks a host)"
ACTORS = {"nova": "Nova", "vsphere": "vSphere"}
UNAVAILABLE_COLOUR = "#6b4400"  # the reason of an option not possible now: dark amber beside its ✖
Subject = InstanceRef | VmRef


@dataclass(frozen=True, slots=True)
class MoveChoice:
    kind: MoveKind | None = None
    target: str | None = None  # a Nova compute host, an ESXi host moref or a datastore moref; None: scheduler
    confirm: bool = False  # cold migration: confirm at VERIFY_RESIZE without asking


def move_options(view: EstateView, subject: Subject) -> MoveOptions | None:
    """The subject's options in the newest estate; None when it is not in it (any more)."""
    if isinstance(subject, InstanceRef):
        snap = next((s for s in view.estate.openstack if s.cloud == subject.cloud), None)
        instance = next((i for i in snap.instances if i.id == subject.id), None) if snap else None
        return instance_move_options(view, instance) if instance is not None else None
    vc = next((v for v in view.estate.vcenters if v.vcenter == subject.vcenter), None)
    vm = next((v for v in vc.vms if v.moref == subject.moref), None) if vc else None
    return vm_move_options(view, vm) if vm is not None else None


def default_target(option: MoveOption) -> str | None:
    if option.scheduler:
        return None
    return next((t.ident for t in option.targets if t.usable), None)


def default_choice(options: MoveOptions) -> MoveChoice:
    """The first option possible now (the options come in the order they are preferred)."""
    option = next((o for o in options.options if o.available), None)
    return MoveChoice() if option is None else MoveChoice(option.kind, default_target(option))


def _refused(title: str, why: str) -> Plan:
    return Plan(title, (), refused=why)


def plan_move(desk: ActionDesk, view: EstateView, options: MoveOptions, choice: MoveChoice) -> Plan:
    """The desk's plan for the chosen option; an option that is not possible now is refused with its reason."""
    if choice.kind is None:
        reasons = "; ".join(f"{KIND_TEXT[o.kind].lower()}: {o.reason}" for o in options.options)
        return _refused(f"Move {options.subject}", f"no move is possible now ({reasons or 'no options'})")
    kind, title = choice.kind, f"{KIND_TEXT[choice.kind]}: {options.subject}"
    option = options.option(kind)
    if option is None or not option.available:
        why = option.reason if option is not None else "not offered for it"
        after = f" (first: {option.after})" if option is not None and option.after else ""
        return _refused(title, f"{KIND_TEXT[kind].lower()} is not possible now: {why}{after}")
    if kind in TARGETED and choice.target is None and not option.scheduler:
        return _refused(title, "no target can take it: " + "; ".join(f"{t.name}: {t.reason}" for t in option.targets))
    instance, vm = options.instance, options.vm
    if kind in (MoveKind.VMOTION, MoveKind.STORAGE_VMOTION):
        if vm is None:
            return _refused(title, "it has no vCenter VM in the latest data")
        host, datastore = (choice.target, None) if kind is MoveKind.VMOTION else (None, choice.target)
        return desk.relocation(view, vm.ref, host_moref=host, datastore_moref=datastore)
    if instance is None:
        return _refused(title, "it is not a Nova instance")
    ref = instance.ref
    if kind is MoveKind.LIVE_MIGRATE:
        return desk.live_migration(view, ref, choice.target)
    if kind is MoveKind.COLD_MIGRATE:
        return desk.cold_migration(view, ref, choice.target, confirm=choice.confirm)
    if kind in (MoveKind.CONFIRM_RESIZE, MoveKind.REVERT_RESIZE):
        return desk.resize_decision(view, ref, confirm=kind is MoveKind.CONFIRM_RESIZE)
    if kind in (MoveKind.ABORT, MoveKind.FORCE_COMPLETE):
        return desk.live_migration_control(view, ref, abort=kind is MoveKind.ABORT)
    return _refused(title, "an evacuation is sent from the Recovery tab (Evacuate host…), which asks for the fencing")


def prepare_move(desk: ActionDesk, subject: Subject, view: EstateView, choice: object) -> Prepared:
    """In a worker: the options and the plan of ``choice`` (None: the first option possible now)."""
    options = move_options(view, subject)
    if options is None:
        plan = _refused(f"Move {subject.local}", f"{subject.local} is not in the latest data of {subject.scope}")
        return Prepared(plan, None, MoveChoice())
    if not isinstance(choice, MoveChoice):
        choice = default_choice(options)
    return Prepared(plan_move(desk, view, options, choice), options, choice)


def option_text(option: MoveOption) -> str:
    if option.available:
        return f"✔ {option.reason}"
    return f"✖ not now: {option.reason}" + (f" (first: {option.after})" if option.after else "")


class MoveDialog(ActionDialog):
    submit_text = "Send"
    item_columns = (*MOVE_ITEM_COLUMNS,)
    column_widths = (200, 170, 220, 320)

    def __init__(
        self, desk: ActionDesk, controller: MonitorBridge, subject: Subject, name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(desk, controller, subject.scope, name, partial(prepare_move, desk, subject), parent)
        self.subject = subject
        self.resize(1400, 640)
        self.setWindowTitle(f"Move {name}")
        self.ways = QGroupBox("Ways to move it (the greyed ones are not possible now)")
        self.ways_grid = QGridLayout(self.ways)
        self.ways_grid.setColumnStretch(2, 1)
        self.ways_group = QButtonGroup(self)
        self.radios: dict[MoveKind, QRadioButton] = {}
        self.reasons: dict[MoveKind, QLabel] = {}
        self.target = QComboBox()
        self.target.setMinimumContentsLength(48)
        self.confirm = QCheckBox(
            "Confirm automatically at VERIFY_RESIZE (else confirm or revert it in the Activity tab)"
        )
        self.options.insertRow(0, self.ways)
        self.options.insertRow(1, "Target host:", self.target)
        self.options.insertRow(2, "", self.confirm)
        self.options.setRowVisible(self.concurrency, False)  # one item
        self.options.setRowVisible(self.target, False)
        self.options.setRowVisible(self.confirm, False)
        self.ways_group.idToggled.connect(self._on_way)
        self.target.currentIndexChanged.connect(lambda _i: self.replan())
        self.confirm.toggled.connect(lambda _on: self.replan())
        self.plan_shown.connect(lambda _plan: self._sync())
        self.replan()

    # -- the base's hooks ----------------------------------------------------------------------

    def choice(self) -> object:
        kind = self.chosen_kind()
        target = self.target.currentData() if self.options.isRowVisible(self.target) else None
        confirm = kind is MoveKind.COLD_MIGRATE and self.confirm.isChecked()
        return MoveChoice(kind, target if isinstance(target, str) else None, confirm)

    def show_context(self, context: object, choice: object) -> None:
        if not isinstance(context, MoveOptions) or not isinstance(choice, MoveChoice):
            return
        self._show_options(context)
        radio = self.radios.get(choice.kind) if choice.kind is not None else None
        if radio is not None:
            self.ways_group.blockSignals(True)
            radio.setChecked(True)
            self.ways_group.blockSignals(False)
        self._show_targets(context, choice.target)

    def item_cells(self, step: Step) -> tuple[str, ...]:
        return move_item_cells(step)

    # -- the options -------------------------------------------------------------------------

    def chosen_kind(self) -> MoveKind | None:
        return next((kind for kind, radio in self.radios.items() if radio.isChecked()), None)

    def _show_options(self, options: MoveOptions) -> None:
        """One radio per option, greyed with its reason when it is not possible now."""
        if tuple(self.radios) != tuple(o.kind for o in options.options):
            self._rebuild(options)
        for option in options.options:
            radio, reason = self.radios[option.kind], self.reasons[option.kind]
            radio.setEnabled(option.available and not self._sent)
            reason.setText(option_text(option))
            reason.setStyleSheet("" if option.available else f"color: {UNAVAILABLE_COLOUR};")  # readable, not greyed
            tip = option_text(option)
            radio.setToolTip(tip)
            reason.setToolTip(tip)

    def _rebuild(self, options: MoveOptions) -> None:
        for radio in self.radios.values():
            self.ways_group.removeButton(radio)
        for widget in (*self.radios.values(), *self.ways.findChildren(QLabel)):
            widget.deleteLater()
        self.radios, self.reasons = {}, {}
        for row, option in enumerate(options.options):
            radio = QRadioButton(KIND_TEXT[option.kind])
            actor = QLabel(ACTORS.get(option.actor, option.actor))
            reason = QLabel()
            reason.setWordWrap(True)
            self.ways_grid.addWidget(radio, row, 0)
            self.ways_grid.addWidget(actor, row, 1)
            self.ways_grid.addWidget(reason, row, 2)
            self.ways_group.addButton(radio, row)
            self.radios[option.kind], self.reasons[option.kind] = radio, reason

    def _show_targets(self, options: MoveOptions, wanted: str | None) -> bool:
        """Fill the target chooser for the chosen option; True when the target it shows changed."""
        kind = self.chosen_kind()
        option = options.option(kind) if kind is not None else None
        targeted = option is not None and kind in TARGETED and (bool(option.targets) or option.scheduler)
        self.options.setRowVisible(self.target, targeted)
        self.options.setRowVisible(self.confirm, kind is MoveKind.COLD_MIGRATE)
        label = self.options.labelForField(self.target)
        if isinstance(label, QLabel):
            label.setText("Datastore:" if kind is MoveKind.STORAGE_VMOTION else "Target host:")
        before = self.target.currentData() if self.target.count() else None
        self.target.blockSignals(True)
        try:
            self.target.clear()
            if option is None or not targeted:
                return False
            if option.scheduler:
                self.target.addItem(SCHEDULER, None)
            model = self.target.model()
            for target in option.targets:
                free = f" — {target.free}" if target.free else ""
                if target.usable:
                    self.target.addItem(f"{target.name}{free}", target.ident)
                else:
                    self.target.addItem(f"✖ {target.name}{free} — not usable: {target.reason}", target.ident)
                    if isinstance(model, QStandardItemModel):
                        item = model.item(self.target.count() - 1)
                        item.setEnabled(False)
                        item.setToolTip(target.reason or "")
            usable = {t.ident for t in option.targets if t.usable}
            keep = wanted if wanted in usable or (wanted is None and option.scheduler) else default_target(option)
            self.target.setCurrentIndex(max(0, self.target.findData(keep)) if keep is not None else 0)
        finally:
            self.target.blockSignals(False)
        return bool(self.target.currentData() != before)

    def _on_way(self, _id: int, checked: bool) -> None:
        if checked and isinstance(self.context, MoveOptions):
            self._show_targets(self.context, None)
            self.replan()

    def _sync(self) -> None:
        """A new plan is shown: the options follow the newest estate (a target gone is replaced)."""
        options = self.context
        if not isinstance(options, MoveOptions) or self._sent:
            return
        self._show_options(options)
        current = self.target.currentData()
        if self._show_targets(options, current if isinstance(current, str) else None):
            self.replan()
