"""service.connections without a peer: saving (keyring first, then the file), clouds.yaml's names, results.

The keyring is the real ``keyring`` API over the test backends of tests/keyring_memory.py. The probes
against real endpoints are in tests/integration/test_connections_peers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
import yaml

from hybridview import config
from hybridview.backends.vsphere.session import password_for
from hybridview.config import CloudConfig, ConfigError, VCenterConfig
from hybridview.core.model import EndpointKind
from hybridview.service import connections
from tests.keyring_memory import FILE_ENV, LockedKeyring, MemoryKeyring, memory_keyring

__all__ = ["memory_keyring"]  # the fixture, imported for use here

REPO = Path(__file__).resolve().parents[2]  # the children import tests.keyring_memory from here
SECRET = "correct-horse-battery-staple"
EAST = VCenterConfig("vc-east", "vc-east.example", "operator@vsphere.local", password_env="VC_EAST_PW")
WEST = VCenterConfig("vc-west", "vc-west.example", "operator@vsphere.local", keyring=True)


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "refresh_seconds": 10, "vcenters": [{**vars_of(WEST)}]}))
    return path


def vars_of(vcenter: VCenterConfig) -> dict[str, object]:
    return {"name": vcenter.name, "host": vcenter.host, "user": vcenter.user, "keyring": vcenter.keyring}


def test_a_given_password_goes_to_the_keyring_and_never_to_the_file(
    settings: Path, memory_keyring: MemoryKeyring
) -> None:
    connections.save_connections(settings, [CloudConfig("c")], [EAST, WEST], {"vc-east": SECRET})
    assert memory_keyring.passwords == {("hybridview", "vc-east"): SECRET}
    text = settings.read_text()
    assert SECRET not in text
    saved = config.load(str(settings))
    east = next(v for v in saved.vcenters if v.name == "vc-east")
    assert (east.keyring, east.password_env) == (True, None)  # the env var would be read before the keyring
    assert password_for(east) == SECRET  # where the backend reads it
    assert saved.refresh_seconds == 10.0


def test_an_empty_password_keeps_the_stored_one(settings: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("hybridview", "vc-west", SECRET)
    connections.save_connections(settings, [], [WEST], {"vc-west": ""})
    assert memory_keyring.passwords == {("hybridview", "vc-west"): SECRET}


def test_a_removed_vcenter_has_its_stored_password_deleted(settings: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("hybridview", "vc-west", SECRET)
    memory_keyring.set_password("hybridview", "unrelated", "kept")
    connections.save_connections(settings, [CloudConfig("c")], [], {})
    assert memory_keyring.passwords == {("hybridview", "unrelated"): "kept"}
    assert config.load(str(settings)).vcenters == ()


def test_no_keyring_at_all_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    path = tmp_path / "config.yaml"
    try:
        with pytest.raises(ConfigError) as raised:
            connections.save_connections(path, [], [EAST], {"vc-east": SECRET})
    finally:
        keyring.set_keyring(previous)
    message = str(raised.value)
    assert "\n" not in message
    assert raised.value.key == "vcenters[0]"
    assert "no system keyring is available" in message and "nothing was written to the file" in message
    assert not path.exists()


def test_a_locked_keyring_leaves_the_file_as_it_was(settings: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    old = settings.read_bytes()
    try:
        with pytest.raises(ConfigError, match="the system keyring is locked"):
            connections.save_connections(settings, [], [EAST, WEST], {"vc-east": SECRET})
    finally:
        keyring.set_keyring(previous)
    assert settings.read_bytes() == old


def test_a_config_without_a_keyring_saves_without_touching_one(settings: Path) -> None:
    """A desk that keeps passwords in env vars needs no keyring: nothing to store, nothing to delete."""
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    settings.write_text(yaml.safe_dump({"vcenters": [{**vars_of(EAST), "keyring": False, "password_env": "X"}]}))
    try:
        connections.save_connections(settings, [CloudConfig("c")], [], {})
    finally:
        keyring.set_keyring(previous)
    assert config.load(str(settings)).clouds == (CloudConfig("c"),)


def test_an_invalid_result_touches_neither_the_keyring_nor_the_file(
    settings: Path, memory_keyring: MemoryKeyring
) -> None:
    old = settings.read_bytes()
    clash = VCenterConfig("c", "h", "u", keyring=True)  # the cloud has that name
    with pytest.raises(ConfigError, match="duplicate endpoint name 'c'"):
        connections.save_connections(settings, [CloudConfig("c")], [clash], {"c": SECRET})
    assert memory_keyring.passwords == {}
    assert settings.read_bytes() == old


def test_a_password_for_a_vcenter_not_in_the_list_is_refused(settings: Path, memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="a password was given for 'nowhere'"):
        connections.save_connections(settings, [], [WEST], {"nowhere": SECRET})
    assert memory_keyring.passwords == {}


def test_a_file_write_that_fails_after_the_keyring_says_so(
    settings: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = settings.read_bytes()

    def full_disk(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ConfigError) as raised:
        connections.save_connections(settings, [], [EAST, WEST], {"vc-east": SECRET})
    assert "cannot be written: No space left on device" in raised.value.problem
    assert "the system keyring was changed: stored the password of 'vc-east'" in raised.value.problem
    assert memory_keyring.passwords == {("hybridview", "vc-east"): SECRET}
    assert settings.read_bytes() == old


def test_cloud_names_lists_the_named_clouds_yaml_sorted(tmp_path: Path) -> None:
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump({"clouds": {"west": {}, "east": {}, "lab": {}}}))
    assert connections.cloud_names(str(clouds_yaml)) == ("east", "lab", "west")


def test_cloud_names_follows_os_client_config_file_as_the_backend_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds_yaml = tmp_path / "elsewhere.yaml"
    clouds_yaml.write_text(yaml.safe_dump({"clouds": {"only-here": {}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
    assert connections.cloud_names() == ("only-here",)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist"), ("clouds: [\n", "is not valid YAML")],
    ids=["missing", "invalid YAML"],
)
def test_a_named_clouds_yaml_that_does_not_load_is_one_line(tmp_path: Path, content: str | None, problem: str) -> None:
    clouds_yaml = tmp_path / "clouds.yaml"
    if content is not None:
        clouds_yaml.write_text(content)
    with pytest.raises(ValueError, match=problem) as raised:
        connections.cloud_names(str(clouds_yaml))
    assert str(clouds_yaml) in str(raised.value) and "\n" not in str(raised.value)


def test_a_cloud_missing_from_clouds_yaml_fails_before_any_connection(tmp_path: Path) -> None:
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump({"clouds": {"other": {}}}))
    result = connections.test_cloud(CloudConfig("absent", clouds_yaml=str(clouds_yaml)), timeout_seconds=5)
    assert (result.name, result.kind, result.ok) == ("absent", EndpointKind.NOVA, False)
    (check,) = result.checks
    assert (check.step, check.ok) == ("reachable", False)
    assert "cloud 'absent' was not found" in check.text


def test_the_probe_functions_are_not_collected_as_tests_where_imported() -> None:
    assert connections.test_cloud.__test__ is False  # type: ignore[attr-defined]
    assert connections.test_vcenter.__test__ is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("steps", "ok"),
    [
        ((("reachable", True), ("authenticated", True), ("version", True), ("privileges", False)), True),
        ((("reachable", True), ("authenticated", False)), False),
        ((("reachable", False),), False),
    ],
    ids=["privileges missing is still ok", "login refused", "unreachable"],
)
def test_a_test_is_ok_when_reachable_and_authenticated(steps: tuple[tuple[str, bool], ...], ok: bool) -> None:
    checks = tuple(connections.ConnectionCheck(step, passed, "") for step, passed in steps)
    assert connections.ConnectionTest("x", EndpointKind.VCENTER, checks).ok is ok


def test_the_file_keyring_serves_child_processes_and_is_never_picked_by_itself(tmp_path: Path) -> None:
    """PYTHON_KEYRING_BACKEND selects it in a child process, through keyring's own loading."""
    store = tmp_path / "keyring.json"
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.FileKeyring", FILE_ENV: str(store)}
    script = (
        "import keyring; from hybridview.backends.vsphere.passwords import store_password;"
        f"store_password('vc-east', {SECRET!r}); print(type(keyring.get_keyring()).__name__)"
    )
    child = python(script, env)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "FileKeyring"
    assert stored_in(store) == {("hybridview", "vc-east"): SECRET}
    plain = {k: v for k, v in env.items() if k not in ("PYTHON_KEYRING_BACKEND", FILE_ENV)}
    probe = "import tests.keyring_memory, keyring; print(type(keyring.get_keyring()).__module__)"
    child = python(probe, plain)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() != "tests.keyring_memory"


def python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)


def stored_in(store: Path) -> dict[tuple[str, str], str]:
    return {(service, user): pw for service, user, pw in json.loads(store.read_text())}
