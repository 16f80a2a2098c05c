"""The settings file: valid files load, every mistake names file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridview import config as cfg
from hybridview.config import CloudConfig, Config, ConfigError, VCenterConfig
from hybridview.core.identity import ClusterSelector


@pytest.fixture
def ca_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    return path


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_valid_file(tmp_path: Path, ca_bundle: Path) -> None:
    path = write(
        tmp_path,
        f"""\
version: 1
refresh_seconds: 15
clouds:
  - prod
  - name: edge
    clouds_yaml: /etc/openstack/edge.yaml
vcenters:
  - name: vc-east
    host: vc-east.example.com
    user: readonly@vsphere.local
    password_env: VC_EAST_PASSWORD
  - name: vc-west
    host: vc-west.example.com
    port: 8443
    user: ro
    keyring: true
    verify: false
  - name: vc-lab
    host: vc-lab.example.com
    user: ro
    keyring: true
    verify: {ca_bundle}
    thumbprint: "AA:BB"
node_map:
  "legacy-node": "vc-east/Cluster1"
  "pod-node": "vc-lab/Pod 1/Rack A"
""",
    )
    config = cfg.load(str(path))
    assert config == Config(
        path=path,
        clouds=(CloudConfig("prod"), CloudConfig("edge", "/etc/openstack/edge.yaml")),
        vcenters=(
            VCenterConfig("vc-east", "vc-east.example.com", "readonly@vsphere.local", 443, "VC_EAST_PASSWORD"),
            VCenterConfig("vc-west", "vc-west.example.com", "ro", 8443, None, True, False),
            VCenterConfig("vc-lab", "vc-lab.example.com", "ro", 443, None, True, str(ca_bundle), "AA:BB"),
        ),
        refresh_seconds=15.0,
        node_map={
            "legacy-node": ClusterSelector("vc-east", "Cluster1"),
            "pod-node": ClusterSelector("vc-lab", "Pod 1/Rack A"),  # split at the first "/" only
        },
    )
    assert config.has_endpoints
    assert config.vcenters[0].verify is True


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    config = cfg.load(str(path))
    assert config.path == path
    assert not config.has_endpoints
    assert config.refresh_seconds == 30.0


def test_verify_path_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    path = write(tmp_path, "vcenters:\n  - {name: a, host: h, user: u, keyring: true, verify: ~/ca.pem}\n")
    assert cfg.load(str(path)).vcenters[0].verify == str(tmp_path / "ca.pem")


BAD = [
    ("unknown top-level key", "clouds: [a]\nrefresh: 5\n", "refresh", "unknown key"),
    (
        "unknown vcenter key",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, colour: red}\n",
        "vcenters[0].colour",
        "unknown key",
    ),
    ("unknown cloud key", "clouds:\n  - {name: a, region: r}\n", "clouds[0].region", "unknown key"),
    (
        "port too big",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, port: 70000}\n",
        "vcenters[0].port",
        "TCP port",
    ),
    (
        "port a string",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, port: '443'}\n",
        "vcenters[0].port",
        "TCP port",
    ),
    (
        "port boolean",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, port: true}\n",
        "vcenters[0].port",
        "TCP port",
    ),
    ("no password source", "vcenters:\n  - {name: a, host: h, user: u}\n", "vcenters[0]", "password_env or keyring"),
    (
        "keyring false",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: false}\n",
        "vcenters[0]",
        "password_env or keyring",
    ),
    (
        "password present",
        "vcenters:\n  - {name: a, host: h, user: u, password: hunter2}\n",
        "vcenters[0].password",
        "do not belong here",
    ),
    (
        "verify path missing",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, verify: /no/such/ca.pem}\n",
        "vcenters[0].verify",
        "/no/such/ca.pem does not exist",
    ),
    (
        "verify a number",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true, verify: 1}\n",
        "vcenters[0].verify",
        "true, false or a CA bundle path",
    ),
    ("missing host", "vcenters:\n  - {name: a, user: u, keyring: true}\n", "vcenters[0].host", "is required"),
    ("wrong version", "version: 2\n", "version", "unsupported schema version 2"),
    (
        "duplicate vcenter",
        "vcenters:\n  - {name: a, host: h, user: u, keyring: true}\n  - {name: a, host: h2, user: u, keyring: true}\n",
        "vcenters[1].name",
        "duplicate endpoint name 'a'",
    ),
    (
        "cloud and vcenter share a name",
        "clouds: [prod]\nvcenters:\n  - {name: prod, host: h, user: u, keyring: true}\n",
        "vcenters[0].name",
        "duplicate endpoint name 'prod' (already used in clouds)",
    ),
    ("duplicate cloud", "clouds: [prod, prod]\n", "clouds[1]", "duplicate endpoint name 'prod'"),
    ("top level a list", "- a\n- b\n", "(top level)", "must be a mapping"),
    ("top level a string", "just text\n", "(top level)", "must be a mapping"),
    ("clouds not a list", "clouds: prod\n", "clouds", "must be a list"),
    ("cloud empty name", "clouds: ['']\n", "clouds[0]", "cloud name"),
    ("vcenter not mapping", "vcenters: [vc1]\n", "vcenters[0]", "must be a mapping"),
    ("refresh too small", "refresh_seconds: 1\n", "refresh_seconds", "from 2 to 86400"),
    ("refresh boolean", "refresh_seconds: true\n", "refresh_seconds", "from 2 to 86400"),
    ("refresh infinite", "refresh_seconds: .inf\n", "refresh_seconds", "from 2 to 86400"),
    ("refresh not a number", "refresh_seconds: .nan\n", "refresh_seconds", "from 2 to 86400"),
    ("node_map bad target", "node_map: {n1: Cluster1}\n", "node_map", "<vcenter name>/"),
    ("node_map no cluster", "node_map: {n1: 'vc1/'}\n", "node_map", "<vcenter name>/"),
    ("node_map no vcenter", "node_map: {n1: /Cluster1}\n", "node_map", "<vcenter name>/"),
    ("node_map target not text", "node_map: {n1: 7}\n", "node_map", "<vcenter name>/"),
    ("node_map a list", "node_map: [vc1/Cluster1]\n", "node_map", "<vcenter name>/"),
    (
        "empty password_env",
        "vcenters:\n  - {name: a, host: h, user: u, password_env: '', keyring: true}\n",
        "vcenters[0].password_env",
        "non-empty string",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc_info:
        cfg.load(str(path))
    err = exc_info.value
    assert err.path == path
    assert err.key == key
    assert problem in err.problem
    message = str(err)
    assert str(path) in message
    assert key in message
    assert problem in message
    assert "\n" not in message


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "clouds:\n  - prod\nvcenters: [\n  {name: a\n")
    with pytest.raises(ConfigError) as exc_info:
        cfg.load(str(path))
    err = exc_info.value
    assert err.key.startswith("line ")
    assert int(err.key.removeprefix("line ")) >= 3
    assert "invalid YAML" in str(err)
    assert str(path) in str(err)


def test_bad_yaml_tab_indentation_line_number(tmp_path: Path) -> None:
    path = write(tmp_path, "clouds:\n  - prod\n\t- other\n")
    with pytest.raises(ConfigError) as exc_info:
        cfg.load(str(path))
    assert exc_info.value.key == "line 3"


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"clouds: [\xff\xfe]\n")
    with pytest.raises(ConfigError) as exc_info:
        cfg.load(str(path))
    assert exc_info.value.key == "(file)"
    assert str(path) in str(exc_info.value)


def test_explicit_path_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write(tmp_path, "clouds: [from-env]\n", "env.yaml")
    explicit = write(tmp_path, "clouds: [explicit]\n", "explicit.yaml")
    monkeypatch.setenv(cfg.CONFIG_ENV, str(env_file))
    assert cfg.load(str(explicit)).clouds == (CloudConfig("explicit"),)
    assert cfg.load().clouds == (CloudConfig("from-env"),)
    assert cfg.load(None).path == env_file


def test_named_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="does not exist") as exc_info:
        cfg.load(str(missing))
    assert str(missing) in str(exc_info.value)
    monkeypatch.setenv(cfg.CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError, match="does not exist"):
        cfg.load()


def test_missing_default_file_is_empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cfg.CONFIG_ENV, raising=False)
    monkeypatch.setattr(cfg, "default_path", lambda: tmp_path / "absent" / "config.yaml")
    config = cfg.load()
    assert config == Config(path=None)
    assert not config.has_endpoints


def test_default_file_is_used_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cfg.CONFIG_ENV, raising=False)
    path = write(tmp_path, "clouds: [default]\n")
    monkeypatch.setattr(cfg, "default_path", lambda: path)
    assert cfg.load().clouds == (CloudConfig("default"),)


def test_empty_env_var_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cfg.CONFIG_ENV, "")
    monkeypatch.setattr(cfg, "default_path", lambda: tmp_path / "absent.yaml")
    assert cfg.resolve_path(None) == (tmp_path / "absent.yaml", False)
    assert cfg.load() == Config(path=None)


def test_default_path_is_in_the_platform_config_dir() -> None:
    path = cfg.default_path()
    assert path.name == "config.yaml"
    assert "hybridview" in path.parts
