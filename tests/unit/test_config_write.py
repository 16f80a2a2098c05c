"""config_write: the clouds and vCenters replaced atomically, every other key kept, the result checked first."""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

import pytest
import yaml

from hybridview import config, config_write
from hybridview.config import CloudConfig, ConfigError, VCenterConfig
from hybridview.core.model import Storage

OTHER_KEYS = """\
version: 1
refresh_seconds: 12
read_only: true
action_concurrency: 5
alert_hold_seconds: 45
node_map:
  nova-vmware-1: vc-east/cluster-a
vcenters:
  - {name: old-vc, host: old.example, user: u, password_env: OLD_PW}
"""


def _endpoints(tmp_path: Path) -> tuple[list[CloudConfig], list[VCenterConfig]]:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here; the config only checks that it exists\n")
    clouds = [
        CloudConfig("plain"),
        CloudConfig("with-file", clouds_yaml=str(tmp_path / "clouds.yaml")),
        CloudConfig("rules", instance_storage=(("kvm-nfs-*", Storage.SHARED), ("*", Storage.LOCAL))),
    ]
    vcenters = [
        VCenterConfig("vc-east", "vc-east.example", "operator@vsphere.local", keyring=True),
        VCenterConfig("vc-west", "vc-west.example", "ro", port=8443, password_env="VC_WEST_PW", verify=str(ca)),
        VCenterConfig("vc-lab", "10.0.0.5", "root", keyring=True, verify=False, thumbprint="AB:" * 31 + "AB"),
    ]
    return clouds, vcenters


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_saved_endpoints_load_back_the_same(tmp_path: Path) -> None:
    clouds, vcenters = _endpoints(tmp_path)
    path = tmp_path / "new" / "dir" / "config.yaml"  # the parent directories are made
    returned = config_write.save_endpoints(path, clouds, vcenters)
    loaded = config.load(str(path))
    assert loaded.clouds == tuple(clouds)
    assert loaded.vcenters == tuple(vcenters)
    assert returned.clouds == loaded.clouds and returned.vcenters == loaded.vcenters


def test_every_other_key_is_kept_and_the_old_endpoints_replaced(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OTHER_KEYS)
    before = config.load(str(path))
    clouds, vcenters = _endpoints(tmp_path)
    config_write.save_endpoints(path, clouds[:1], vcenters[:1])
    after = config.load(str(path))
    assert (after.refresh_seconds, after.read_only, after.action_concurrency) == (12.0, True, 5)
    assert after.alert_hold_seconds == before.alert_hold_seconds
    assert after.node_map == before.node_map
    assert [v.name for v in after.vcenters] == ["vc-east"]  # old-vc is gone
    assert after.clouds == (CloudConfig("plain"),)


def test_the_yaml_is_for_people_block_style_stable_order_and_no_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("node_map: {nova-vmware-1: vc-east/cluster-a}\nrefresh_seconds: 20\n")
    clouds, vcenters = _endpoints(tmp_path)
    config_write.save_endpoints(path, clouds, vcenters)
    text = path.read_text()
    assert "{" not in text and "[" not in text  # block style throughout
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "-"))]
    assert keys == ["version", "refresh_seconds", "clouds", "vcenters", "node_map"]
    data = yaml.safe_load(text)
    assert data["clouds"][0] == "plain"  # a bare name when nothing else is set
    east = data["vcenters"][0]
    assert east == {"name": "vc-east", "host": "vc-east.example", "user": "operator@vsphere.local", "keyring": True}
    assert list(data["vcenters"][1]) == ["name", "host", "port", "user", "password_env", "verify"]
    # saving again what was loaded gives the same text
    reloaded = config.load(str(path))
    config_write.save_endpoints(path, reloaded.clouds, reloaded.vcenters)
    assert path.read_text() == text


def test_an_invalid_result_raises_and_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OTHER_KEYS)
    old = path.read_bytes()
    clouds, vcenters = _endpoints(tmp_path)
    clashing = [*vcenters, VCenterConfig("plain", "h", "u", keyring=True)]  # a cloud is named "plain" too
    with pytest.raises(ConfigError) as raised:
        config_write.save_endpoints(path, clouds, clashing)
    assert raised.value.key == "vcenters[3].name"
    assert "duplicate endpoint name 'plain'" in str(raised.value)
    no_password = [VCenterConfig("vc", "h", "u")]  # neither password_env nor keyring
    with pytest.raises(ConfigError, match="needs password_env or keyring"):
        config_write.save_endpoints(path, [], no_password)
    assert path.read_bytes() == old
    assert _files(tmp_path) == {"config.yaml", "config.yaml.lock", "ca.pem"}


def test_a_crash_during_the_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OTHER_KEYS)
    old = path.read_bytes()

    def crash(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    clouds, vcenters = _endpoints(tmp_path)
    with pytest.raises(ConfigError, match="cannot be written: No space left on device"):
        config_write.save_endpoints(path, clouds, vcenters)
    assert path.read_bytes() == old
    assert _files(tmp_path) == {"config.yaml", "config.yaml.lock", "ca.pem"}


def test_a_new_file_is_0600_and_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    clouds, _vcenters = _endpoints(tmp_path)
    new = tmp_path / "new.yaml"
    config_write.save_endpoints(new, clouds, [])
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    shared = tmp_path / "shared.yaml"
    shared.write_text("version: 1\n")
    shared.chmod(0o640)
    config_write.save_endpoints(shared, clouds, [])
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640


def test_a_symlinked_file_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "hybridview.yaml"
    real.parent.mkdir()
    real.write_text("refresh_seconds: 60\n")
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    config_write.save_endpoints(link, [CloudConfig("c")], [])
    assert link.is_symlink()
    assert config.load(str(real)).clouds == (CloudConfig("c"),)


def test_comments_are_not_lost_the_old_text_is_kept_beside(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    commented = "# our east region\nrefresh_seconds: 15\n"
    path.write_text(commented)
    config_write.save_endpoints(path, [CloudConfig("c")], [])
    assert (tmp_path / "config.yaml.bak").read_text() == commented
    assert config.load(str(path)).refresh_seconds == 15.0


@pytest.mark.parametrize(
    ("text", "key"),
    [("clouds: [\n", "line 2"), ("- a\n- b\n", "(top level)")],
    ids=["invalid YAML", "not a mapping"],
)
def test_a_file_that_does_not_parse_is_not_overwritten(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        config_write.save_endpoints(path, [CloudConfig("c")], [])
    assert raised.value.key == key
    assert "not overwritten" in raised.value.problem
    assert path.read_text() == text


def test_a_second_writer_waits_for_the_lock_and_then_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(OTHER_KEYS)
    monkeypatch.setattr(config_write, "LOCK_WAIT_SECONDS", 0.3)
    with (tmp_path / "config.yaml.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's save, in the middle of its write
        with pytest.raises(ConfigError, match="another save holds"):
            config_write.save_endpoints(path, [CloudConfig("c")], [])
    assert path.read_text() == OTHER_KEYS
    config_write.save_endpoints(path, [CloudConfig("c")], [])  # the lock is free again
    assert config.load(str(path)).clouds == (CloudConfig("c"),)


def test_check_endpoints_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    checked = config_write.check_endpoints(path, [CloudConfig("c")], [])
    assert checked.clouds == (CloudConfig("c"),)
    assert not path.exists()
