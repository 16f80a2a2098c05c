"""The Connections dialog: the settings file's clouds and vCenters, added, edited, tested, removed and saved.

Every read and write (the file, clouds.yaml, a test, the keyring) runs in the monitor's workers.
A test's checks show as icon and text. Save is offered once every added or edited entry passed
its latest test, or when the operator confirms saving without; the file is written atomically and
the passwords go to the system keyring. The window watches the new connections from its next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox, QVBoxLayout, QWidget

from hybridview.config import CloudConfig, VCenterConfig
from hybridview.service import connections
from hybridview.service.connections import ConnectionTest
from hybridview.service.monitor import EstateMonitor
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.connection_editors import CloudForm, VCenterForm
from hybridview.ui.connection_entries import (
    MARKS,
    Endpoint,
    Entry,
    change_text,
    check_rows,
    endpoint_text,
    keyring_name,
    outcome_text,
    read_config,
    removal_text,
    run_test,
    saved_test,
    saved_text,
)
from hybridview.ui.connection_views import ENTRY_ROLE, add_row, busy_spinner, button_row, confirm, push_buttons, tree

log = logging.getLogger(__name__)
COLUMNS = ("Name", "Kind", "Endpoint", "Change", "Latest test")
COLUMN_WIDTHS = (140, 70, 430, 120)
READ_ONLY_NOTE = (
    "Read-only desk (--read-only or read_only: true): connections can be added and tested here, "
    "but not saved; a read-only desk does not rewrite its settings file."
)


class ConnectionsDialog(QDialog):
    def __init__(
        self,
        monitor: EstateMonitor,
        path: Path,
        source: str,
        *,
        read_only: bool,
        restart: tuple[str, Callable[[], None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.monitor, self.path, self.read_only = monitor, path, read_only
        self.setWindowTitle("Connections")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1100, 640)
        self.entries: dict[int, Entry] = {}
        self.removed: list[Entry] = []  # saved entries removed here, until saved
        self._next_id = 0
        self.loaded_ok = False
        self.testing: int | None = None  # the entry under test
        self.saving = False
        self.saved_once = False  # then "Restart now" is offered, while nothing changed since
        self.form: CloudForm | VCenterForm | None = None
        self.question: QMessageBox | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}  # the latest of each kind ("load", "test", "save")
        self.heading = QLabel(f"Reading {path}…")
        self.heading.setObjectName("paneTitle")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.source = source
        self.read_only_note = banner("warning")
        self.message = banner("info")
        self.list = tree(COLUMNS, COLUMN_WIDTHS)
        self.list.itemSelectionChanged.connect(self._show_selected)
        self.list.itemDoubleClicked.connect(lambda _i, _c: self.edit())
        self.removed_note = QLabel()
        self.removed_note.setWordWrap(True)
        self.result_title = QLabel("Select an entry and press Test to check it before saving.")
        self.result_title.setWordWrap(True)
        self.checks = tree(("Check", "Result"), (200,))
        self.checks.setMaximumHeight(130)
        self.spinner = busy_spinner()
        self.buttons = push_buttons(
            {
                "add_cloud": ("Add cloud…", lambda: self.edit(new="cloud")),
                "add_vcenter": ("Add vCenter…", lambda: self.edit(new="vCenter")),
                "edit": ("Edit…", lambda: self.edit()),
                "remove": ("Remove…", self.remove),
                "test": ("Test", self.test),
                "restart": restart or ("Restart now", lambda: None),
                "force": ("Save without a passing test…", self.force_save),
                "save": ("Save", self.save),
                "close": ("Close", self.reject),
            }
        )
        self._layout()
        set_banner(self.read_only_note, READ_ONLY_NOTE if read_only else "", "warning")
        self._start("load", self._load())
        self._update()

    def _layout(self) -> None:
        b = self.buttons
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.read_only_note, self.list, self.removed_note):
            layout.addWidget(widget, 1 if widget is self.list else 0)
        layout.addLayout(
            button_row(b["add_cloud"], b["add_vcenter"], b["edit"], b["remove"], None, self.spinner, b["test"])
        )
        for widget in (self.result_title, self.checks, self.message):
            layout.addWidget(widget)
        layout.addLayout(button_row(b["restart"], None, b["force"], b["save"], b["close"]))

    # -- the list ------------------------------------------------------------------------------------

    async def _load(self) -> None:
        try:
            cfg = await self.monitor.offload(read_config, self.path)
        except Exception as exc:  # a file that does not load is shown, and nothing is written
            log.warning("reading %s failed", self.path, exc_info=True)
            self.heading.setText(f"Connections in {self.path} ({self.source})")
            set_banner(
                self.message, f"✖ {describe_exception(exc)}. Fix the file by hand; nothing is saved.", "critical"
            )
            return
        configs: list[Endpoint] = [*cfg.clouds, *cfg.vcenters]
        for config in configs:
            self._add(Entry(config, saved=config))
        where = f"Connections in {self.path} ({self.source})"
        if cfg.path is None:
            where = f"No settings file yet: saving creates {self.path} ({self.source})"
        self.heading.setText(where)
        self.loaded_ok = True
        self._refresh_list()

    def _add(self, entry: Entry) -> int:
        self._next_id += 1
        self.entries[self._next_id] = entry
        return self._next_id

    def selected(self) -> int | None:
        items = self.list.selectedItems()
        return int(items[0].data(0, ENTRY_ROLE)) if items else None

    def select(self, entry_id: int) -> None:
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item is not None and item.data(0, ENTRY_ROLE) == entry_id:
                self.list.setCurrentItem(item)

    def _refresh_list(self) -> None:
        keep = self.selected()
        self.list.clear()
        for entry_id, entry in self.entries.items():
            text, level = ("testing…", "stale") if entry_id == self.testing else outcome_text(entry)
            cells = (entry.config.name, entry.kind, endpoint_text(entry.config), change_text(entry), text)
            add_row(self.list, cells, level, entry_id=entry_id)
        if keep in self.entries:
            self.select(keep)
        elif self.entries:
            self.select(next(iter(self.entries)))
        names = ", ".join(
            e.config.name + (" and its password in the system keyring" if keyring_name(e) else "") for e in self.removed
        )
        self.removed_note.setText(f"Removed, not saved yet: {names}" if names else "")
        self.removed_note.setVisible(bool(names))
        self._show_selected()
        self._update()

    def _show_selected(self) -> None:
        entry_id = self.selected()
        entry = self.entries.get(entry_id) if entry_id is not None else None
        self.checks.clear()
        if entry is None:
            self.result_title.setText("Select an entry and press Test to check it before saving.")
        elif self.testing == entry_id:
            self.result_title.setText(f"Testing {entry.config.name}…")
        else:
            text, level = outcome_text(entry)
            outcome = entry.outcome
            took = f" in {outcome.elapsed_seconds:.1f} s" if isinstance(outcome, ConnectionTest) else ""
            self.result_title.setText(f"Test of {entry.config.name}{took}: {MARKS[level]}{text}")
            if isinstance(outcome, ConnectionTest):
                for level_name, step, line in check_rows(outcome):
                    add_row(self.checks, (step, line), level_name, marked=0)
        self._update()

    def taken(self, except_id: int | None) -> set[str]:
        return {e.config.name for i, e in self.entries.items() if i != except_id}

    # -- add, edit, remove ------------------------------------------------------------------------------

    def edit(self, new: str | None = None) -> None:
        """The form for a new entry (``new`` "cloud" or "vCenter") or for the selected one."""
        entry_id = None if new else self.selected()
        entry = self.entries.get(entry_id) if entry_id is not None else None
        if new is None and entry is None:
            return
        kind = new or (entry.kind if entry else "cloud")
        taken = self.taken(entry_id)
        if kind == "cloud":
            current = entry.config if entry and isinstance(entry.config, CloudConfig) else None
            form: CloudForm | VCenterForm = CloudForm(self.monitor, taken, current, self)
        else:
            vcenter = entry.config if entry and isinstance(entry.config, VCenterConfig) else None
            typed = entry.password if entry else None
            form = VCenterForm(taken, vcenter, self, typed, keyring_name(entry) if entry else None)
        form.accepted.connect(lambda: self._edited(entry_id, form))
        self.form = form
        form.open()

    def _edited(self, entry_id: int | None, form: CloudForm | VCenterForm) -> None:
        self.form = None
        if isinstance(form, CloudForm):
            config: Endpoint = form.result_config()
            password = None
        else:
            config, password = form.result_config()
        if entry_id is None:
            entry_id = self._add(Entry(config, password=password))
        else:
            self.entries[entry_id] = replace(self.entries[entry_id], config=config, password=password)
        self._refresh_list()
        self.select(entry_id)

    def remove(self) -> None:
        entry_id = self.selected()
        if entry_id is None:
            return
        entry = self.entries[entry_id]
        what = f"Remove the {entry.kind} “{entry.config.name}”?"
        detail = f"{removal_text(entry)}\nNothing changes in {self.path} until you Save."
        self._ask("Remove connection", what, detail, "Remove", lambda: self._removed(entry_id))

    def _removed(self, entry_id: int) -> None:
        entry = self.entries.pop(entry_id, None)
        if entry is not None and entry.saved is not None:
            self.removed.append(replace(entry, config=entry.saved))
        self._refresh_list()

    # -- test --------------------------------------------------------------------------------------------

    def test(self) -> None:
        entry_id = self.selected()
        if entry_id is None or self.testing is not None:
            return
        self.testing = entry_id
        self._refresh_list()
        entry = self.entries[entry_id]
        self._start("test", self._test(entry_id, entry.config, entry.password))

    async def _test(self, entry_id: int, config: Endpoint, password: str | None) -> None:
        try:
            outcome: ConnectionTest | str = await self.monitor.offload(run_test, config, password)
        except Exception as exc:  # a test that cannot run is that entry's result
            log.warning("testing %s failed", config.name, exc_info=True)
            outcome = describe_exception(exc)
        finally:
            self.testing = None
        entry = self.entries.get(entry_id)
        if entry is not None:  # else removed while it ran
            self.entries[entry_id] = replace(entry, outcome=outcome, tested=(config, password))
            self._refresh_list()
        else:
            self._update()

    # -- save ------------------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return bool(self.removed) or any(e.changed for e in self.entries.values())

    def untested(self) -> list[Entry]:
        """The added or edited entries whose latest test did not pass."""
        return [e for e in self.entries.values() if e.changed and not e.passed]

    def can_save(self, *, forced: bool = False) -> bool:
        idle = self.loaded_ok and not self.saving and not self.read_only
        return idle and self.dirty and (forced or not self.untested())

    def save(self) -> None:
        if self.can_save():
            self._write()

    def force_save(self) -> None:
        untested = self.untested()
        if not self.can_save(forced=True) or not untested:
            return
        names = "\n".join(f"• {e.config.name}: {outcome_text(e)[0]}" for e in untested)
        self._ask(
            "Save without a passing test",
            "Save entries whose latest test did not pass?",
            f"{names}\nThe window will show them as failing from its next start until they answer.",
            "Save anyway",
            self._write,
        )

    def _write(self) -> None:
        self.saving = True
        entries = list(self.entries.values())
        clouds = [e.config for e in entries if isinstance(e.config, CloudConfig)]
        vcenters = [e.config for e in entries if isinstance(e.config, VCenterConfig)]
        passwords = {e.config.name: e.password for e in entries if e.password}
        set_banner(self.message, f"Saving to {self.path}…", "info")
        self._update()
        self._start("save", self._save(clouds, vcenters, passwords))

    async def _save(self, clouds: list[CloudConfig], vcenters: list[VCenterConfig], passwords: dict[str, str]) -> None:
        try:
            await self.monitor.offload(connections.save_connections, self.path, clouds, vcenters, passwords)
        except Exception as exc:  # shown in one line; the edits stay in the dialog
            log.warning("saving to %s failed", self.path, exc_info=True)
            self.saving = False
            set_banner(self.message, f"✖ Not saved: {describe_exception(exc)}. Your edits are kept.", "critical")
            self._update()
            return
        self.saving = False
        self.entries = {
            i: replace(e, saved=e.config, password=None, tested=saved_test(e)) for i, e in self.entries.items()
        }
        self.removed = []
        set_banner(self.message, saved_text(self.path, len(clouds), len(vcenters), sorted(passwords)), "ok")
        self.saved_once = True
        self.heading.setText(f"Connections in {self.path} ({self.source})")
        self._refresh_list()

    # -- state -------------------------------------------------------------------------------------------------

    def _update(self) -> None:
        b, entry_id = self.buttons, self.selected()
        busy = self.saving or not self.loaded_ok
        for name in ("add_cloud", "add_vcenter"):
            b[name].setEnabled(not busy)
        for name in ("edit", "remove"):
            b[name].setEnabled(not busy and entry_id is not None and self.testing != entry_id)
        b["test"].setEnabled(not busy and entry_id is not None and self.testing is None)
        b["test"].setText("Testing…" if self.testing is not None else "Test")
        self.spinner.setVisible(self.testing is not None)
        b["save"].setEnabled(self.can_save())
        b["close"].setEnabled(not self.saving)
        b["restart"].setVisible(self.saved_once and not self.dirty)
        b["force"].setVisible(self.dirty and bool(self.untested()) and not self.read_only)
        b["force"].setEnabled(self.can_save(forced=True))
        b["save"].setToolTip(
            "A read-only desk does not rewrite its settings file"
            if self.read_only
            else "Every added or edited entry must pass its latest test first"
            if self.untested()
            else f"Write to {self.path}"
        )

    def reject(self) -> None:
        """Close (not while saving); unsaved edits are kept unless the operator says to drop them."""
        if self.saving:
            return
        if not self.dirty or self.read_only:
            self._close()
            return
        self._ask(
            "Unsaved connections",
            "Close without saving?",
            "Your edits here are dropped.",
            "Drop edits",
            self._close,
        )

    def _close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        super().reject()

    def _ask(self, title: str, text: str, detail: str, yes: str, then: Callable[[], None]) -> None:
        """A question (window-modal, no nested loop), held in ``question`` while it is open."""
        box = self.question = confirm(self, title, text, detail, yes, then)
        box.finished.connect(lambda _r: setattr(self, "question", None) if self.question is box else None)

    def _start(self, what: str, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks[what] = spawn(coro, name=f"connections: {what}", on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        set_banner(self.message, f"✖ hybridview failed: {describe_exception(exc)}", "critical")
        self._update()
