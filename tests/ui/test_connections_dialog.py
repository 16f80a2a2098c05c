"""The Connections dialog over a real window: it lists the settings file, adds, tests (vcsim, the Nova
peer, a vCenter that never answers), validates, removes and saves (the file read back, the password
in the keyring only); wall mode hides it; "Restart now" executes the program again after quitting."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from hybridview import config as config_mod
from hybridview.config import CloudConfig, VCenterConfig
from hybridview.core.model import Storage
from hybridview.ui.connection_editors import CloudForm, TlsMode, VCenterForm
from hybridview.ui.connection_entries import name_problem, normal_thumbprint, port_problem, thumbprint_problem
from hybridview.ui.connections_dialog import ConnectionsDialog
from hybridview.ui.connections_wiring import config_path, restart_arguments, restart_command
from hybridview.ui.wall import wall_mode
from tests.integration.nova_peer import nova_peer
from tests.keyring_memory import FILE_ENV, MemoryKeyring, memory_keyring
from tests.peers.nova.fixture import NovaPeer
from tests.peers.vcsim.fixture import VcsimPeer
from tests.silent_vcenter import SilentServer
from tests.ui.harness import WindowHarness, fast_demo, window_over
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER

__all__ = ["memory_keyring", "nova_peer"]  # the fixtures, imported for use here
pytestmark = pytest.mark.ui
REPO = Path(__file__).resolve().parents[2]
PIN = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
CONFIG = f"""\
version: 1
refresh_seconds: 20
clouds:
  - name: prod-cloud
    instance_storage: {{"kvm-nfs-*": shared, "*": local}}
vcenters:
  - {{name: vc-east, host: vc-east.example.org, user: hv@vsphere.local, keyring: true}}
  - {{name: vc-lab, host: lab.example.org, port: 8443, user: admin, password_env: VC_LAB_PW, thumbprint: "{PIN}"}}
"""


@pytest.fixture(autouse=True)
def _detectable_keyrings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring may construct every backend it knows, the test ones too: FileKeyring needs its file named."""
    monkeypatch.setenv(FILE_ENV, str(tmp_path / "keyring.json"))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings file the window reads, named by $HYBRIDVIEW_CONFIG; the program's own arguments."""
    path = tmp_path / "settings" / "config.yaml"
    monkeypatch.setenv(config_mod.CONFIG_ENV, str(path))
    monkeypatch.setattr(sys, "argv", ["hybridview"])
    return path


@pytest.fixture
def harness(qloop: asyncio.AbstractEventLoop, settings: Path) -> Iterator[WindowHarness]:
    with window_over(qloop, fast_demo("healthy")) as h:
        yield h


def open_dialog(h: WindowHarness) -> ConnectionsDialog:
    h.window.connections.action.trigger()
    dialog = h.window.connections.dialog
    assert dialog is not None and dialog.isVisible()
    h.run(dialog.tasks["load"])
    return dialog


def open_over(h: WindowHarness, settings: Path, text: str = CONFIG) -> ConnectionsDialog:
    """The dialog, opened once the settings file says ``text``."""
    settings.parent.mkdir(parents=True)
    settings.write_text(text, encoding="utf-8")
    return open_dialog(h)


def names(dialog: ConnectionsDialog) -> list[tuple[str, str, str]]:
    rows = []
    for i in range(dialog.list.topLevelItemCount()):
        item = dialog.list.topLevelItem(i)
        assert item is not None
        rows.append((item.text(0), item.text(1), item.text(3)))
    return rows


def select(dialog: ConnectionsDialog, name: str) -> None:
    dialog.select(next(i for i, e in dialog.entries.items() if e.config.name == name))


def type_vcenter(qtbot: QtBot, dialog: ConnectionsDialog, **fields: str) -> VCenterForm:
    """Add vCenter…, then type each field as an operator would."""
    dialog.buttons["add_vcenter"].click()
    form = dialog.form
    assert isinstance(form, VCenterForm)
    if "tls" in fields:
        form.tls.setCurrentText(fields.pop("tls"))
    for field, text in fields.items():
        edit = getattr(form, field)
        edit.clear()
        qtbot.keyClicks(edit, text)
    return form


def press_ok(form: CloudForm | VCenterForm) -> None:
    form.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def answer(dialog: ConnectionsDialog, button_text: str) -> str:
    """Click ``button_text`` in the dialog's open question; the question's text."""
    box = dialog.question
    assert isinstance(box, QMessageBox) and box.isVisible()
    text = f"{box.text()}\n{box.informativeText()}"
    chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button_text)
    chosen.click()
    return text


def checks(dialog: ConnectionsDialog) -> list[tuple[str, str]]:
    rows = []
    for i in range(dialog.checks.topLevelItemCount()):
        item = dialog.checks.topLevelItem(i)
        assert item is not None
        rows.append((item.text(0), item.text(1)))
    return rows


# -- listing -------------------------------------------------------------------------------------------


def test_the_dialog_lists_the_settings_files_clouds_and_vcenters(harness: WindowHarness, settings: Path) -> None:
    assert harness.window.connections.action.shortcut() == QKeySequence("Ctrl+,")
    dialog = open_over(harness, settings)
    assert names(dialog) == [
        ("prod-cloud", "cloud", "saved"),
        ("vc-east", "vCenter", "saved"),
        ("vc-lab", "vCenter", "saved"),
    ]
    assert str(settings) in dialog.heading.text() and "$HYBRIDVIEW_CONFIG" in dialog.heading.text()
    lab = dialog.list.topLevelItem(2)
    assert lab is not None and "admin @ lab.example.org:8443" in lab.text(2) and "pinned AB:CD:EF" in lab.text(2)
    assert not dialog.buttons["save"].isEnabled()  # nothing changed


def test_with_no_settings_file_the_dialog_names_the_default_path_it_will_create(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config_mod.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "argv", ["hybridview", "--demo"])
    with window_over(qloop, fast_demo("healthy")) as h:
        dialog = open_dialog(h)
        expected = tmp_path / "xdg" / "hybridview" / "config.yaml"
        assert config_mod.default_path() == expected
        assert dialog.heading.text() == f"No settings file yet: saving creates {expected} (the default path)"
        assert names(dialog) == []
        assert dialog.buttons["restart"].text() == "Restart now without the demo"


def test_a_settings_file_that_does_not_load_is_shown_and_never_rewritten(
    harness: WindowHarness, settings: Path
) -> None:
    dialog = open_over(harness, settings, "vcenters:\n  - {name: a, host: h, user: u, colour: red, keyring: true}\n")
    assert "vcenters[0].colour: unknown key" in dialog.message.text()
    assert not dialog.buttons["add_vcenter"].isEnabled() and not dialog.buttons["save"].isEnabled()


# -- the forms' checks ---------------------------------------------------------------------------------------


def test_field_checks() -> None:
    assert name_problem("vc1", {"vc1"}) == "'vc1' is already the name of another cloud or vCenter"
    assert name_problem("a/b", set()) is not None and name_problem(" a", set()) is not None
    assert name_problem("vc2", {"vc1"}) is None
    assert [port_problem(p) is None for p in ("0", "1", "443", "65535", "65536", "-1", "abc", "")] == [
        False, True, True, True, False, False, False, False,
    ]  # fmt: skip
    assert thumbprint_problem(PIN) is None and thumbprint_problem(PIN.replace(":", "").lower()) is None
    assert thumbprint_problem(PIN[:-3]) is not None and thumbprint_problem(PIN.replace(":", "-")) is not None
    assert normal_thumbprint(PIN.replace(":", "").lower()) == PIN


def test_the_vcenter_form_says_what_is_wrong_next_to_each_field_and_takes_only_a_right_one(
    harness: WindowHarness, settings: Path, qtbot: QtBot
) -> None:
    dialog = open_over(harness, settings)
    form = type_vcenter(qtbot, dialog, name="prod-cloud", host="https://vc", port="70000", tls=TlsMode.PIN.value)
    qtbot.keyClicks(form.thumbprint, "AB:CD")
    assert form.messages["name"].text() == "✖ 'prod-cloud' is already the name of another cloud or vCenter"
    assert form.messages["port"].text() == "✖ a TCP port number from 1 to 65535"
    assert "without https://" in form.messages["host"].text()
    assert "64 hex digits" in form.messages["thumbprint"].text()
    assert not form.messages["user"].isVisible()  # not typed in yet
    press_ok(form)
    assert form.isVisible() and form.messages["user"].text() == "✖ a user name is required"
    assert form.messages["password"].text() == "✖ a password is required"
    for edit, text in ((form.name, "vc-new"), (form.host, "vc-new.example.org"), (form.port, "443")):
        edit.clear()
        qtbot.keyClicks(edit, text)
    qtbot.keyClicks(form.user, "ops")
    qtbot.keyClicks(form.password, "pw")
    form.thumbprint.clear()
    qtbot.keyClicks(form.thumbprint, PIN.replace(":", "").lower())
    press_ok(form)
    assert not form.isVisible()
    added = dialog.entries[max(dialog.entries)]
    assert added.config == VCenterConfig(
        name="vc-new", host="vc-new.example.org", user="ops", keyring=True, thumbprint=PIN
    )
    assert added.password == "pw"
    assert names(dialog)[-1] == ("vc-new", "vCenter", "added, not saved")
    assert not dialog.buttons["save"].isEnabled() and dialog.buttons["force"].isVisible()  # not tested yet
    dialog.buttons["close"].click()
    assert "Your edits here are dropped" in answer(dialog, "Cancel")
    assert dialog.isVisible()
    dialog.buttons["close"].click()
    answer(dialog, "Drop edits")
    assert not dialog.isVisible() and harness.window.connections.dialog is None


def test_editing_keeps_the_stored_password_unless_renamed_and_keeps_a_password_variable(
    harness: WindowHarness, settings: Path, qtbot: QtBot
) -> None:
    dialog = open_over(harness, settings)
    select(dialog, "vc-east")
    dialog.buttons["edit"].click()
    form = dialog.form
    assert isinstance(form, VCenterForm)
    assert form.password.echoMode() == form.password.EchoMode.Password
    assert form.password.placeholderText() == "empty: keep the one in the system keyring"
    qtbot.keyClicks(form.name, "-2")  # the keyring holds the password by the old name
    press_ok(form)
    assert form.isVisible() and form.messages["password"].text() == "✖ a password is required"
    form.reject()
    select(dialog, "vc-lab")
    dialog.buttons["edit"].click()
    lab = dialog.form
    assert isinstance(lab, VCenterForm) and lab.password.placeholderText() == "empty: keep $VC_LAB_PW"
    assert lab.tls.currentText() == TlsMode.PIN.value and lab.thumbprint.text() == PIN
    qtbot.keyClicks(lab.name, "-2")
    press_ok(lab)
    renamed = dialog.entries[max(dialog.entries)]
    assert renamed.config.name == "vc-lab-2" and renamed.config.password_env == "VC_LAB_PW" and not renamed.password
    assert names(dialog)[-1] == ("vc-lab-2", "vCenter", "edited, not saved")


def test_not_verifying_tls_shows_a_warning(harness: WindowHarness, qtbot: QtBot) -> None:
    dialog = open_dialog(harness)
    form = type_vcenter(qtbot, dialog, tls=TlsMode.OFF.value)
    assert form.insecure.isVisible() and "anyone on the network path" in form.insecure.text()
    form.tls.setCurrentText(TlsMode.CA.value)
    assert not form.insecure.isVisible() and form.ca_file.isVisible() and not form.thumbprint.isVisible()
    form.reject()


# -- testing and saving, over real endpoints ----------------------------------------------------------------


@pytest.mark.vcsim_peer
def test_a_vcenter_added_tested_and_saved_over_vcsim(
    harness: WindowHarness,
    settings: Path,
    qtbot: QtBot,
    memory_keyring: MemoryKeyring,
) -> None:
    with VcsimPeer(clusters=1, hosts=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as peer:
        dialog = open_dialog(harness)
        form = type_vcenter(
            qtbot, dialog, name="vcsim", host=peer.host, port=str(peer.port), user=VCSIM_USER,
            password=VCSIM_PASSWORD, tls=TlsMode.CA.value, ca_file=peer.ca_file,
        )  # fmt: skip
        press_ok(form)
        assert not dialog.buttons["save"].isEnabled()
        dialog.buttons["test"].click()
        harness.run(dialog.tasks["test"])
        steps = checks(dialog)
        assert [s for s, _t in steps] == ["reachable: ok", "authenticated: ok", "version: ok", "privileges: ok"], steps
        assert "vCenter" in steps[2][1] or "VMware" in steps[2][1]
        assert "passed" in dialog.result_title.text()
        assert dialog.buttons["save"].isEnabled() and not dialog.buttons["force"].isVisible()
        dialog.buttons["save"].click()
        harness.run(dialog.tasks["save"])
        text = settings.read_text(encoding="utf-8")
        assert VCSIM_PASSWORD not in text
        assert memory_keyring.passwords[("hybridview", "vcsim")] == VCSIM_PASSWORD
        loaded = config_mod.load(str(settings))
        assert loaded.vcenters == (
            VCenterConfig(
                name="vcsim", host=peer.host, port=peer.port, user=VCSIM_USER, keyring=True, verify=peer.ca_file
            ),
        )
        dialog.buttons["test"].click()  # saved: the password now comes from the keyring
        harness.run(dialog.tasks["test"])
        assert dialog.entries[max(dialog.entries)].password is None and "passed" in dialog.result_title.text()
    assert f"to {settings}" in dialog.message.text() and "next start" in dialog.message.text()
    assert dialog.buttons["restart"].isVisible()
    assert names(dialog) == [("vcsim", "vCenter", "saved")]


@pytest.mark.nova_peer
def test_a_cloud_picked_from_clouds_yaml_keeps_its_instance_storage_rules(
    harness: WindowHarness,
    settings: Path,
    nova_peer: tuple[NovaPeer, Path],
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    peer, token_clouds = nova_peer
    password_clouds = peer.write_clouds_yaml(tmp_path / "password" / "clouds.yaml", auth="password")
    listed = f"clouds:\n  - name: nova-peer\n    clouds_yaml: {token_clouds}\n"
    dialog = open_over(harness, settings, listed + "    instance_storage: {'host1': local}\n")
    dialog.buttons["edit"].click()
    form = dialog.form
    assert isinstance(form, CloudForm) and form.names_task is not None
    assert form.storage_note is not None and "host1: local" in form.storage_note.text()
    form.clouds_yaml.clear()
    qtbot.keyClicks(form.clouds_yaml, str(password_clouds))  # a Keystone password login instead of a token
    form.read_names()
    harness.run(form.names_task)
    assert [form.cloud.itemText(i) for i in range(form.cloud.count())] == ["nova-peer"]
    press_ok(form)
    assert names(dialog) == [("nova-peer", "cloud", "edited, not saved")]
    dialog.buttons["test"].click()
    harness.run(dialog.tasks["test"])
    steps = checks(dialog)
    assert [s.split(":")[0] for s, _t in steps] == ["reachable", "authenticated", "version", "privileges"]
    assert steps[0][0] == "reachable: ok" and steps[1][0] == "authenticated: ok", steps
    assert "2." in steps[2][1]  # the compute API's microversion
    dialog.buttons["remove"].click()
    assert "clouds.yaml itself is not changed" in answer(dialog, "Cancel")
    dialog.buttons["save"].click()
    harness.run(dialog.tasks["save"])
    assert config_mod.load(str(settings)).clouds == (
        CloudConfig("nova-peer", str(password_clouds), (("host1", Storage.LOCAL),)),
    )


def test_the_window_keeps_serving_while_a_test_waits_on_a_vcenter_that_never_answers(
    harness: WindowHarness, qtbot: QtBot
) -> None:
    server = SilentServer()
    try:
        dialog = open_dialog(harness)
        form = type_vcenter(
            qtbot, dialog, name="silent", host="127.0.0.1", port=str(server.port), user="u", password="p",
            tls=TlsMode.OFF.value,
        )  # fmt: skip
        press_ok(form)
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start()
        dialog.buttons["test"].click()
        harness.run(asyncio.sleep(1.5))
        assert not dialog.tasks["test"].done(), "the silent vCenter answered?"
        assert dialog.buttons["test"].text() == "Testing…" and not dialog.buttons["test"].isEnabled()
        assert dialog.spinner.isVisible()
        row = dialog.list.topLevelItem(0)
        assert row is not None and row.text(4) == "testing…"
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert len(ticks) >= 40 and max(gaps) < 0.25, (len(ticks), max(gaps, default=None))
        timer.stop()
    finally:
        server.close()  # the held connections close: the test ends
    harness.run(dialog.tasks["test"], timeout=60)
    assert dialog.buttons["test"].text() == "Test" and not dialog.spinner.isVisible()
    steps = checks(dialog)
    assert steps and "FAILED" in " ".join(s for s, _t in steps), steps
    assert "✖" in dialog.result_title.text()
    assert not dialog.buttons["save"].isEnabled() and dialog.buttons["force"].isVisible()


def test_remove_names_the_stored_password_and_saving_deletes_it(
    harness: WindowHarness,
    settings: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.passwords[("hybridview", "vc-east")] = "east-secret"
    dialog = open_over(harness, settings)
    select(dialog, "vc-east")
    dialog.buttons["remove"].click()
    asked = answer(dialog, "Cancel")
    assert "Remove the vCenter “vc-east”?" in asked and "password in the system keyring" in asked
    assert [n for n, _k, _c in names(dialog)] == ["prod-cloud", "vc-east", "vc-lab"]
    dialog.buttons["remove"].click()
    answer(dialog, "Remove")
    assert [n for n, _k, _c in names(dialog)] == ["prod-cloud", "vc-lab"]
    assert "vc-east and its password in the system keyring" in dialog.removed_note.text()
    assert dialog.buttons["save"].isEnabled()  # a removal needs no test
    dialog.buttons["save"].click()
    harness.run(dialog.tasks["save"])
    loaded = config_mod.load(str(settings))
    assert [v.name for v in loaded.vcenters] == ["vc-lab"]
    assert loaded.clouds == (CloudConfig("prod-cloud", None, (("kvm-nfs-*", Storage.SHARED), ("*", Storage.LOCAL))),)
    assert loaded.refresh_seconds == 20  # the other keys are kept
    assert ("hybridview", "vc-east") not in memory_keyring.passwords


def test_a_failed_save_says_why_in_one_line_and_keeps_the_edits(
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    memory_keyring: MemoryKeyring,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(config_mod.CONFIG_ENV, str(blocker / "config.yaml"))
    monkeypatch.setattr(sys, "argv", ["hybridview"])
    with window_over(qloop, fast_demo("healthy")) as h:
        dialog = open_dialog(h)
        form = type_vcenter(qtbot, dialog, name="vc9", host="vc9.example.org", user="ops", password="pw")
        press_ok(form)
        dialog.buttons["force"].click()
        assert "vc9: not tested" in answer(dialog, "Save anyway")
        h.run(dialog.tasks["save"])
        message = dialog.message.text()
        assert message.startswith("✖ Not saved: ") and "Your edits are kept" in message and "\n" not in message
        assert names(dialog) == [("vc9", "vCenter", "added, not saved")]
        assert dialog.entries[max(dialog.entries)].password == "pw"
        assert dialog.isVisible() and dialog.buttons["force"].isEnabled()
        assert not dialog.buttons["restart"].isVisible()


# -- read-only desks, wall mode, restart ----------------------------------------------------------------------


def test_a_read_only_desk_can_test_but_not_save(qloop: asyncio.AbstractEventLoop, settings: Path, qtbot: QtBot) -> None:
    with window_over(qloop, fast_demo("healthy", read_only=True)) as h:
        dialog = open_dialog(h)
        assert "Read-only desk" in dialog.read_only_note.text() and dialog.read_only_note.isVisible()
        press_ok(type_vcenter(qtbot, dialog, name="vc9", host="vc9.example.org", user="ops", password="pw"))
        assert dialog.buttons["test"].isEnabled()
        assert not dialog.buttons["save"].isEnabled() and not dialog.buttons["force"].isVisible()
        assert "does not rewrite" in dialog.buttons["save"].toolTip()


def test_wall_mode_hides_connections(harness: WindowHarness) -> None:
    action = harness.window.connections.action
    assert action.isVisible()
    wall = wall_mode(harness.window)
    wall.enter(full_screen=False)
    assert not action.isVisible() and harness.window.connections.open() is None
    wall.leave()
    assert action.isVisible()


def test_the_arguments_to_start_again_with() -> None:
    assert restart_arguments(["gui", "--demo", "--scenario", "esxi-host-down", "--theme", "dark", "-v"]) == (
        ["gui", "--theme", "dark", "-v"],
        True,
    )
    assert restart_arguments(["--config", "/etc/hv.yaml", "--read-only"]) == (
        ["--config", "/etc/hv.yaml", "--read-only"],
        False,
    )
    assert restart_command(["--scenario=x", "--wall"]) == [sys.executable, "-m", "hybridview.cli", "--wall"]
    assert config_path(["gui", "--config", "/srv/hv.yaml"]) == (Path("/srv/hv.yaml"), "named by --config")


RESTARTING_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import qasync
    from hybridview.service.wiring import demo_endpoints
    from hybridview.ui.app import application, build_window

    sys.argv = ["hybridview", "--demo", "--scenario", "healthy", "--version"]
    app = application()

    async def main() -> None:
        window, controller = build_window(demo_endpoints("healthy"))
        window.show()
        controller.start()
        while controller.latest is None:
            await asyncio.sleep(0.05)
        print("window up", flush=True)
        window.connections.restart()
        await asyncio.sleep(60)
        print("still here: no restart", flush=True)

    qasync.run(main())
    """
)


@pytest.mark.slow
def test_restart_now_quits_the_window_then_executes_the_program_again(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "HYBRIDVIEW_ALERTS": str(tmp_path / "alerts.json"),
    }
    done = subprocess.run(
        [sys.executable, "-c", RESTARTING_CHILD], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0] == "window up" and lines[1].startswith("hybridview "), done.stdout  # the --version of the new one
    assert "still here" not in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
