"""The settings file: which clouds and vCenters to watch. Secrets never live here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from hybridview.core.model import Storage
from hybridview.core.identity import ClusterSelector, RefError, parse_cluster_selector

CONFIG_ENV = "HYBRIDVIEW_CONFIG"
SCHEMA_VERSION = 1
MAX_REFRESH_SECONDS = 86400
MAX_ACTION_CONCURRENCY = 20
DECLARABLE_STORAGE = (Storage.SHARED, Storage.LOCAL)
MAX_ALERT_SECONDS = 86400
MAX_ALERT_COUNT = 100


class ConfigError(Exception):
    def __init__(self, path: Path, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        super().__init__(f"config error in {path}: {key}: {problem}")


@dataclass(frozen=True, slots=True)
class CloudConfig:
    name: str
    clouds_yaml: str | None = None
    # (host pattern, storage) in the file's order: what the operator knows of instance storage per host
    instance_storage: tuple[tuple[str, Storage], ...] = ()


@dataclass(frozen=True, slots=True)
class VCenterConfig:
    name: str
    host: str
    user: str
    port: int = 443
    password_env: str | None = None
    keyring: bool = False
    verify: bool | str = True  # True, False or a CA bundle path
    thumbprint: str | None = None  # pinned SHA-256 of the server certificate


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    clouds: tuple[CloudConfig, ...] = ()
    vcenters: tuple[VCenterConfig, ...] = ()
    refresh_seconds: float = 30.0
    node_map: Mapping[str, ClusterSelector] = field(default_factory=dict)  # hypervisor_hostname -> cluster
    read_only: bool = False  # no write is offered or sent
    action_concurrency: int = 3  # how many evacuations (and other writes of one plan) run at once
    alert_hold_seconds: float = 30.0  # a problem alerts once it held this long ...
    alert_hold_refreshes: int = 1  # ... and was seen in this many refreshes
    alert_flap_changes: int = 4  # more state changes than this within the window is flapping
    alert_flap_window_seconds: float = 900.0

    @property
    def has_endpoints(self) -> bool:
        return bool(self.clouds or self.vcenters)


def default_path() -> Path:
    return Path(platformdirs.user_config_dir("hybridview")) / "config.yaml"


AUDIT_LOG_ENV = "HYBRIDVIEW_AUDIT_LOG"


def audit_log_path() -> Path:
    """``$HYBRIDVIEW_AUDIT_LOG``, else ``audit.jsonl`` in the user data dir (~/.local/share/hybridview)."""
    explicit = os.environ.get(AUDIT_LOG_ENV)
    return Path(explicit) if explicit else Path(platformdirs.user_data_dir("hybridview")) / "audit.jsonl"


def resolve_path(explicit: str | None) -> tuple[Path, bool]:
    """The file to read, and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit), True
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]), True
    return default_path(), False


def load(explicit: str | None = None) -> Config:
    path, required = resolve_path(explicit)
    if not path.exists():
        if required:
            raise ConfigError(path, "(file)", "does not exist")
        return Config(path=None)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(file)", f"cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(path, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    return parse(path, data or {})


def parse(path: Path, data: Any) -> Config:
    if not isinstance(data, Mapping):
        raise ConfigError(path, "(top level)", "must be a mapping")
    known = {"version", "clouds", "vcenters", "refresh_seconds", "node_map", "read_only", "action_concurrency"}
    known.update(ALERT_KEYS)
    for key in data:
        if key not in known:
            raise ConfigError(path, str(key), f"unknown key (expected one of {', '.join(sorted(known))})")
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError(
            path, "version", f"unsupported schema version {version!r} (this build reads {SCHEMA_VERSION})"
        )
    refresh = data.get("refresh_seconds", 30)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 2 <= refresh <= MAX_REFRESH_SECONDS:
        raise ConfigError(path, "refresh_seconds", f"must be a number of seconds from 2 to {MAX_REFRESH_SECONDS}")
    node_map = _node_map(path, data.get("node_map") or {})
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        raise ConfigError(path, "read_only", "must be true or false")
    concurrency = data.get("action_concurrency", 3)
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_ACTION_CONCURRENCY
    ):
        raise ConfigError(path, "action_concurrency", f"must be a whole number from 1 to {MAX_ACTION_CONCURRENCY}")
    clouds = tuple(_cloud(path, i, c) for i, c in enumerate(_list(path, data, "clouds")))
    vcenters = tuple(_vcenter(path, i, v) for i, v in enumerate(_list(path, data, "vcenters")))
    _unique_names(path, [("clouds", c.name) for c in clouds] + [("vcenters", v.name) for v in vcenters])
    return Config(
        path=path,
        clouds=clouds,
        vcenters=vcenters,
        refresh_seconds=float(refresh),
        node_map=node_map,
        read_only=read_only,
        action_concurrency=concurrency,
        **_alerts(path, data),
    )


ALERT_KEYS = ("alert_hold_seconds", "alert_hold_refreshes", "alert_flap_changes", "alert_flap_window_seconds")


def _alerts(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The alert damping keys: seconds from 0 (or 1 for the window) to a day, counts from 1 to 100."""
    parsed: dict[str, Any] = {}
    for key in ALERT_KEYS:
        if key not in data:
            continue
        value = data[key]
        if key.endswith("_seconds"):
            low = 1 if key == "alert_flap_window_seconds" else 0
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= MAX_ALERT_SECONDS:
                raise ConfigError(path, key, f"must be a number of seconds from {low} to {MAX_ALERT_SECONDS}")
            parsed[key] = float(value)
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ALERT_COUNT:
                raise ConfigError(path, key, f"must be a whole number from 1 to {MAX_ALERT_COUNT}")
            parsed[key] = value
    return parsed


def _node_map(path: Path, raw: Any) -> dict[str, ClusterSelector]:
    """``{hypervisor_hostname: "<vcenter name>/<cluster name or moref>"}``, parsed here once."""
    problem = 'must map node names to "<vcenter name>/<cluster name or moref>"'
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "node_map", problem)
    parsed: dict[str, ClusterSelector] = {}
    for node, target in raw.items():
        if not isinstance(target, str):
            raise ConfigError(path, "node_map", problem)
        try:
            parsed[str(node)] = parse_cluster_selector(target)
        except RefError:
            raise ConfigError(path, "node_map", problem) from None
    return parsed


def _list(path: Path, data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(path, key, "must be a list")
    return value


def _cloud(path: Path, index: int, raw: Any) -> CloudConfig:
    key = f"clouds[{index}]"
    if isinstance(raw, str) and raw:
        return CloudConfig(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) and raw["name"]:
        extra = set(raw) - {"name", "clouds_yaml", "instance_storage"}
        if extra:
            raise ConfigError(path, f"{key}.{sorted(extra)[0]}", "unknown key")
        return CloudConfig(
            raw["name"],
            _opt_str(path, f"{key}.clouds_yaml", raw.get("clouds_yaml")),
            _instance_storage(path, f"{key}.instance_storage", raw.get("instance_storage") or {}),
        )
    raise ConfigError(path, key, "must be a cloud name from clouds.yaml, or a mapping with 'name'")


def _instance_storage(path: Path, key: str, raw: Any) -> tuple[tuple[str, Storage], ...]:
    """``{host pattern: shared | local}``, e.g. ``{"kvm-nfs-*": shared, "*": local}``; the first match wins."""
    problem = "must map compute host patterns (fnmatch) to shared or local"
    if not isinstance(raw, Mapping):
        raise ConfigError(path, key, problem)
    rules = []
    for pattern, storage in raw.items():
        if not isinstance(pattern, str) or storage not in {s.value for s in DECLARABLE_STORAGE}:
            raise ConfigError(path, f"{key}.{pattern}", problem)
        rules.append((pattern, Storage(storage)))
    return tuple(rules)


def _vcenter(path: Path, index: int, raw: Any) -> VCenterConfig:
    key = f"vcenters[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(path, key, "must be a mapping")
    allowed = {"name", "host", "port", "user", "password_env", "keyring", "verify", "thumbprint", "password"}
    for k in raw:
        if k not in allowed:
            raise ConfigError(path, f"{key}.{k}", "unknown key")
    if "password" in raw:
        raise ConfigError(path, f"{key}.password", "passwords do not belong here; use password_env or keyring")
    for required in ("name", "host", "user"):
        if not isinstance(raw.get(required), str) or not raw[required]:
            raise ConfigError(path, f"{key}.{required}", "is required and must be a string")
    port = raw.get("port", 443)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(path, f"{key}.port", "must be a TCP port number")
    verify = raw.get("verify", True)
    if not isinstance(verify, bool | str):
        raise ConfigError(path, f"{key}.verify", "must be true, false or a CA bundle path")
    if isinstance(verify, str) and not Path(verify).expanduser().is_file():
        raise ConfigError(path, f"{key}.verify", f"CA bundle {verify} does not exist")
    if not raw.get("password_env") and not raw.get("keyring"):
        raise ConfigError(path, key, "needs password_env or keyring: true for the password")
    return VCenterConfig(
        name=raw["name"],
        host=raw["host"],
        user=raw["user"],
        port=port,
        password_env=_opt_str(path, f"{key}.password_env", raw.get("password_env")),
        keyring=bool(raw.get("keyring", False)),
        verify=str(Path(verify).expanduser()) if isinstance(verify, str) else verify,
        thumbprint=_opt_str(path, f"{key}.thumbprint", raw.get("thumbprint")),
    )


def _opt_str(path: Path, key: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise ConfigError(path, key, "must be a non-empty string")


def _unique_names(path: Path, names: list[tuple[str, str]]) -> None:
    """Every endpoint, cloud or vCenter, needs its own name: status and staleness are keyed by it."""
    seen: dict[str, str] = {}
    counters = {"clouds": 0, "vcenters": 0}
    for section, name in names:
        key = f"{section}[{counters[section]}].name" if section == "vcenters" else f"{section}[{counters[section]}]"
        counters[section] += 1
        if name in seen:
            raise ConfigError(path, key, f"duplicate endpoint name {name!r} (already used in {seen[name]})")
        seen[name] = section
