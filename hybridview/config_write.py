"""Writing the settings file: its clouds and vCenters replaced, every other key kept, atomically.

The result is checked with ``config.parse`` before anything is written. The new text goes to a
temporary file in the same directory, is fsynced and renamed over the old one (``os.replace``),
then the directory is fsynced: a crash leaves the old file or the new one, never half of either.
Writers take an ``flock`` on ``<file>.lock`` beside it, so two saves (two windows) never interleave
their read and write. The mode of an existing file is kept; a new one is 0600.

PyYAML keeps no comments: when the old file had any, its text is kept in ``<file>.bak``.
No password is ever written (``VCenterConfig`` holds none; the keyring holds them).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from hybridview.config import ALERT_KEYS, SCHEMA_VERSION, CloudConfig, Config, ConfigError, VCenterConfig, parse

log = logging.getLogger(__name__)
NEW_FILE_MODE = 0o600
LOCK_WAIT_SECONDS = 10.0
# The order keys are written in, whatever order the old file had them in.
KEY_ORDER = ("version", "refresh_seconds", "read_only", "action_concurrency", *ALERT_KEYS, "clouds", "vcenters")


def save_endpoints(path: Path, clouds: Sequence[CloudConfig], vcenters: Sequence[VCenterConfig]) -> Config:
    """Replace ``clouds`` and ``vcenters`` in the file at ``path`` (created if missing); the config as it loads.

    Raises ConfigError naming the key when the result would not load (nothing is written then),
    and ConfigError for a file that cannot be read, parsed or written (the old one is left as it was).
    """
    target = Path(os.path.realpath(path))  # a symlinked config file stays a symlink
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(target, "(file)", f"its directory cannot be created: {exc.strerror or exc}") from exc
    with _locked(target):
        old_text = _read_text(target)
        data = _with_endpoints(_mapping(target, old_text), clouds, vcenters)
        config = parse(target, data)
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
        mode = _mode_of(target)
        try:
            if old_text is not None and _has_comments(old_text):
                _replace(target.with_name(target.name + ".bak"), old_text, mode)
                log.info("settings file %s had comments; its previous text is in %s.bak", target, target.name)
            _replace(target, text, mode)
        except OSError as exc:
            raise ConfigError(target, "(file)", f"cannot be written: {exc.strerror or exc}") from exc
    return config


def check_endpoints(path: Path, clouds: Sequence[CloudConfig], vcenters: Sequence[VCenterConfig]) -> Config:
    """The config ``save_endpoints`` would write, checked; nothing is written. Raises ConfigError as it does."""
    target = Path(os.path.realpath(path))
    return parse(target, _with_endpoints(read_mapping(target), clouds, vcenters))


def read_mapping(path: Path) -> Mapping[str, Any]:
    """The file's top-level mapping as it is now ({} when there is no file), unchecked."""
    target = Path(os.path.realpath(path))
    return _mapping(target, _read_text(target))


def cloud_entry(cloud: CloudConfig) -> str | dict[str, Any]:
    """A cloud as the file holds it: its bare name, or a mapping of the fields that are not defaults."""
    if cloud.clouds_yaml is None and not cloud.instance_storage:
        return cloud.name
    entry: dict[str, Any] = {"name": cloud.name}
    if cloud.clouds_yaml is not None:
        entry["clouds_yaml"] = cloud.clouds_yaml
    if cloud.instance_storage:
        entry["instance_storage"] = {pattern: storage.value for pattern, storage in cloud.instance_storage}
    return entry


def vcenter_entry(vcenter: VCenterConfig) -> dict[str, Any]:
    """A vCenter as the file holds it: name, host and user, then only the fields that are not defaults."""
    entry: dict[str, Any] = {"name": vcenter.name, "host": vcenter.host}
    if vcenter.port != 443:
        entry["port"] = vcenter.port
    entry["user"] = vcenter.user
    if vcenter.password_env:
        entry["password_env"] = vcenter.password_env
    if vcenter.keyring:
        entry["keyring"] = True
    if vcenter.verify is not True:
        entry["verify"] = vcenter.verify
    if vcenter.thumbprint:
        entry["thumbprint"] = vcenter.thumbprint
    return entry


def _with_endpoints(
    current: Mapping[str, Any], clouds: Sequence[CloudConfig], vcenters: Sequence[VCenterConfig]
) -> dict[str, Any]:
    """The file's mapping with new endpoint lists (an empty one is left out), keys in KEY_ORDER, then the rest."""
    merged = {str(k): v for k, v in current.items() if k not in ("clouds", "vcenters")}
    merged.setdefault("version", SCHEMA_VERSION)
    if clouds:
        merged["clouds"] = [cloud_entry(c) for c in clouds]
    if vcenters:
        merged["vcenters"] = [vcenter_entry(v) for v in vcenters]
    known = [k for k in KEY_ORDER if k in merged]
    return {k: merged[k] for k in known + sorted(set(merged) - set(known))}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(file)", f"cannot be read: {exc}") from exc


def _mapping(path: Path, text: str | None) -> Mapping[str, Any]:
    """The old file's top-level mapping; a file that is not one is not overwritten."""
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(path, where, f"invalid YAML, not overwritten: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, "(top level)", "must be a mapping; not overwritten")
    return data


def _has_comments(text: str) -> bool:
    return any(line.lstrip().startswith("#") for line in text.splitlines())


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return NEW_FILE_MODE


def _replace(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, rename it over ``path``, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an flock on ``<path>.lock`` (waiting at most LOCK_WAIT_SECONDS); the kernel drops it if we die."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, NEW_FILE_MODE)
    except OSError as exc:
        raise ConfigError(path, "(file)", f"cannot create its lock file {lock_path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise ConfigError(path, "(file)", f"cannot lock {lock_path}: {exc.strerror or exc}") from exc
                if time.monotonic() > deadline:
                    raise ConfigError(path, "(file)", f"another save holds {lock_path}; try again") from exc
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases its flock
