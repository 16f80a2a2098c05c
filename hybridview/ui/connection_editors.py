"""The Add/Edit forms of the Connections dialog: a cloud from clouds.yaml, a vCenter with its TLS choice.

Each field is checked as it is typed, with a one-line message under it; OK is enabled only when
every field is right. Reading clouds.yaml for its cloud names runs in the monitor's workers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hybridview.config import CloudConfig, VCenterConfig
from hybridview.service import connections
from hybridview.service.monitor import EstateMonitor
from hybridview.service.tasks import describe_exception, spawn
from hybridview.ui.action_widgets import banner, set_banner
from hybridview.ui.connection_entries import (
    TlsMode,
    VCenterFields,
    name_problem,
    tls_mode_of,
    vcenter_config,
    vcenter_problems,
)

log = logging.getLogger(__name__)
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum width" (not exported by PySide6)
DEFAULT_CLOUDS_YAML = "openstacksdk's search path (clouds.yaml in ., ~/.config/openstack, /etc/openstack)"
INSECURE_WARNING = (
    "⚠ Not verifying the certificate: anyone on the network path can pose as this vCenter and "
    "take its password. Use a CA bundle or a pinned thumbprint instead."
)


# -- the forms ---------------------------------------------------------------------------------------


def _field(widget: QWidget, *extra: QWidget) -> tuple[QWidget, QLabel]:
    """A form field with its widgets in a row, and its message line under them."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    row = QHBoxLayout()
    row.addWidget(widget, 1)
    for w in extra:
        row.addWidget(w)
    if widget.maximumWidth() < QWIDGETSIZE_MAX:  # a short field stays at the left
        row.addStretch(1)
    column.addLayout(row)
    message = banner("critical")
    column.addWidget(message)
    return box, message


def choose_file(parent: QWidget, title: str, start: str, filters: str) -> str:
    options = QFileDialog.Option(0)
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        options |= QFileDialog.Option.DontUseNativeDialog
    path, _filter = QFileDialog.getOpenFileName(parent, title, start, filters, options=options)
    return path


class _Form(QDialog):
    """Each problem shown under its field once it was typed in (all of them on OK); OK takes only a right form."""

    def __init__(self, title: str, parent: QWidget | None, *, editing: bool) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.touched: set[str] = set()
        self.show_all = editing  # an entry being edited shows what is wrong with it at once
        self.notes: dict[str, str] = {}  # field -> what is worth knowing but does not block OK
        self.setWindowTitle(title)
        self.setMinimumWidth(620)
        self.form = QFormLayout()
        self.messages: dict[str, QLabel] = {}  # field -> its message line
        self.rows: dict[str, QWidget] = {}
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.buttons)

    def add_row(self, label: str, key: str, widget: QWidget, *extra: QWidget) -> None:
        self.rows[key], self.messages[key] = _field(widget, *extra)
        self.form.addRow(label, self.rows[key])
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _t: self.touched.add(key))

    def problems(self) -> dict[str, str]:
        raise NotImplementedError

    def check(self) -> dict[str, str]:
        found = self.problems()
        for key, label in self.messages.items():
            text = found.get(key) if self.show_all or key in self.touched else None
            text = text or self.notes.get(key)
            set_banner(label, f"✖ {text}" if text else "", "critical")
        return found

    def _accept_if_valid(self) -> None:
        self.show_all = True
        if not self.check():
            self.accept()


class CloudForm(_Form):
    """A cloud of clouds.yaml; editing keeps its instance-storage rules as they are."""

    def __init__(
        self, monitor: EstateMonitor, taken: Collection[str], current: CloudConfig | None, parent: QWidget | None
    ) -> None:
        super().__init__("Edit cloud" if current else "Add cloud", parent, editing=current is not None)
        self.monitor, self.taken, self.current = monitor, taken, current
        self.names_task: asyncio.Task[None] | None = None
        self.finished.connect(lambda _r: self.names_task.cancel() if self.names_task else None)
        self._reading = False
        self.clouds_yaml = QLineEdit((current.clouds_yaml or "") if current else "")
        self.clouds_yaml.setPlaceholderText(DEFAULT_CLOUDS_YAML)
        self.clouds_yaml.editingFinished.connect(self.read_names)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.cloud = QComboBox()
        self.cloud.setMinimumWidth(280)
        self.cloud.currentTextChanged.connect(lambda _t: self.check())
        self.add_row("clouds.yaml:", "clouds_yaml", self.clouds_yaml, browse)
        self.add_row("Cloud:", "name", self.cloud)
        rules = current.instance_storage if current else ()
        self.storage_note: QLabel | None = None
        if rules:
            kept = ", ".join(f"{pattern}: {storage.value}" for pattern, storage in rules)
            self.storage_note = QLabel(f"kept as in the file ({kept})")
            self.form.addRow("Instance storage:", self.storage_note)
        self.read_names()

    def read_names(self) -> None:
        """The cloud names of the clouds.yaml given (or found), read in a worker."""
        if self.names_task is not None and not self.names_task.done():
            self.names_task.cancel()
        self._reading = True
        self.notes.pop("clouds_yaml", None)
        self.cloud.clear()
        self.cloud.setPlaceholderText("Reading clouds.yaml…")
        self.check()
        self.names_task = spawn(self._read(self.clouds_yaml.text().strip() or None), name="clouds.yaml names")

    async def _read(self, path: str | None) -> None:
        wanted = self.current.name if self.current else ""
        try:
            names = list(await self.monitor.offload(connections.cloud_names, path))
            problem = None if names else "names no clouds"
        except Exception as exc:  # any failure of the read is the field's message
            log.warning("reading the cloud names of %s failed", path or "clouds.yaml", exc_info=True)
            names, problem = [], describe_exception(exc)
        self._reading = False
        if wanted and wanted not in names:
            names.insert(0, wanted)
        self.cloud.clear()
        self.cloud.addItems(names)
        self.cloud.setPlaceholderText("no cloud to choose")
        if wanted:
            self.cloud.setCurrentText(wanted)
        if problem:
            self.notes["clouds_yaml"] = f"{path or 'clouds.yaml'}: {problem}"
        self.check()

    def _browse(self) -> None:
        path = choose_file(self, "clouds.yaml", self.clouds_yaml.text(), "YAML files (*.yaml *.yml);;All files (*)")
        if path:
            self.clouds_yaml.setText(path)
            self.read_names()

    def problems(self) -> dict[str, str]:
        if self._reading:
            return {"name": "reading clouds.yaml…"}
        problem = name_problem(self.cloud.currentText(), self.taken)
        return {"name": problem} if problem else {}

    def result_config(self) -> CloudConfig:
        clouds_yaml = self.clouds_yaml.text().strip() or None
        base = self.current or CloudConfig(self.cloud.currentText())
        return replace(base, name=self.cloud.currentText(), clouds_yaml=clouds_yaml)


class VCenterForm(_Form):
    """A vCenter: where, who, the password (to the keyring on save) and how its certificate is checked.

    ``typed_password``: one typed earlier in this dialog and not saved yet; ``keyring_name``: the
    name the system keyring holds this vCenter's password under (a rename needs it typed again).
    """

    def __init__(
        self,
        taken: Collection[str],
        current: VCenterConfig | None,
        parent: QWidget | None,
        typed_password: str | None = None,
        keyring_name: str | None = None,
    ) -> None:
        super().__init__("Edit vCenter" if current else "Add vCenter", parent, editing=current is not None)
        self.taken, self.current = taken, current
        self.typed_password, self.keyring_name = typed_password, keyring_name
        self.name = QLineEdit(current.name if current else "")
        self.host = QLineEdit(current.host if current else "")
        self.host.setPlaceholderText("vcenter.example.org")
        self.port = QLineEdit(str(current.port) if current else "443")
        self.port.setMaximumWidth(90)
        self.user = QLineEdit(current.user if current else "")
        self.user.setPlaceholderText("administrator@vsphere.local")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.tls = QComboBox()
        self.tls.addItems([m.value for m in TlsMode])
        self.ca_file = QLineEdit(current.verify if current and isinstance(current.verify, str) else "")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.thumbprint = QLineEdit((current.thumbprint or "") if current else "")
        self.thumbprint.setPlaceholderText("AB:CD:…:EF (64 hex digits)")
        self.insecure = banner("warning")
        for key, label, widget, extra in (
            ("name", "Name:", self.name, ()),
            ("host", "Host:", self.host, ()),
            ("port", "Port:", self.port, ()),
            ("user", "User:", self.user, ()),
            ("password", "Password:", self.password, ()),
            ("tls", "TLS:", self.tls, ()),
            ("ca_file", "CA bundle:", self.ca_file, (browse,)),
            ("thumbprint", "Thumbprint:", self.thumbprint, ()),
        ):
            self.add_row(label, key, widget, *extra)
        self.form.addRow(self.insecure)
        self.tls.setCurrentText((tls_mode_of(current) if current else TlsMode.SYSTEM).value)
        for edit in (self.name, self.host, self.port, self.user, self.password, self.ca_file, self.thumbprint):
            edit.textChanged.connect(lambda _t: self.check())
        self.tls.currentTextChanged.connect(lambda _t: self.check())
        self.check()

    def fields(self) -> VCenterFields:
        return VCenterFields(
            self.name.text(),
            self.host.text().strip(),
            self.port.text().strip(),
            self.user.text(),
            self.password.text(),
            TlsMode(self.tls.currentText()),
            self.ca_file.text().strip(),
            self.thumbprint.text().strip(),
        )

    def stored_password(self) -> str | None:
        """Where the password comes from when none is typed, or None when one must be typed."""
        if self.typed_password:
            return "the one typed before (not saved yet)"
        current = self.current
        if current is not None and current.password_env:
            return f"${current.password_env}"
        if self.keyring_name and self.keyring_name == self.name.text():
            return "the one in the system keyring"
        return None

    def problems(self) -> dict[str, str]:
        return vcenter_problems(self.fields(), self.taken, self.stored_password() is None)

    def check(self) -> dict[str, str]:
        mode = TlsMode(self.tls.currentText())
        for key, shown in (("ca_file", mode is TlsMode.CA), ("thumbprint", mode is TlsMode.PIN)):
            self.form.setRowVisible(self.rows[key], shown)
        set_banner(self.insecure, INSECURE_WARNING if mode is TlsMode.OFF else "", "warning")
        stored = self.stored_password()
        self.password.setPlaceholderText(f"empty: keep {stored}" if stored else "goes to the system keyring on save")
        return super().check()

    def _browse(self) -> None:
        path = choose_file(self, "CA bundle", self.ca_file.text(), "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.ca_file.setText(path)

    def result_config(self) -> tuple[VCenterConfig, str | None]:
        """The entry and the password to store with it (None: keep the stored one)."""
        fields = self.fields()
        password = fields.password or self.typed_password
        return vcenter_config(fields, self.current, new_password=bool(password)), password
