"""One openstacksdk connection to a Nova cloud, and the microversions negotiated over it."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import openstack.config
import openstack.config.loader
import openstack.connection
import openstack.utils

from hybridview.backends.base import BackendError
from hybridview.backends.nova.discovery import raise_version_document_fault
from hybridview.backends.nova.errors import DISCOVERY_FAILURES, reported_cause

# Every write goes at one microversion: the cloud's maximum, up to the newest whose bodies actions.py builds.
WRITES = "writes"
WRITE_MICROVERSION_CAP = "2.100"
# Highest microversion whose response shape we map, per resource (openstacksdk caps Server
# at 2.100 for the same reason), and for WRITES. Hypervisors stop at 2.87: from 2.88 the detail view asks
# every compute for its uptime over RPC, and a compute that just died (its service not yet
# marked down) holds the whole read for the RPC timeout, exactly when an operator needs it.
MAX_MICROVERSION = {
    "hypervisors": "2.87",
    "services": "2.69",
    "servers": "2.100",
    "migrations": "2.80",
    "instance-actions": "2.84",  # 2.58 paging and updated_at, 2.62 event hosts, 2.84 event details
    "aggregates": "2.41",  # 2.41 adds the uuid; the fields we map are the same from 2.1
    WRITES: WRITE_MICROVERSION_CAP,
}


def connect_from_clouds_yaml(
    cloud: str, config_files: Sequence[str] | None, api_timeout: float
) -> openstack.connection.Connection:
    """A connection to ``cloud`` from the clouds.yaml (and secure.yaml) the ``openstack`` CLI would read.

    The SDK's ``load_envvars`` stays off: it would also build an "envvars" cloud from OS_AUTH_URL and
    friends (and refuse a clouds.yaml cloud named "envvars"), and its OS_CLIENT_CONFIG_FILE would win over
    an explicit ``clouds_yaml:``. The two file variables are honoured here instead; OS_CLOUD is the CLI's
    (``hybridview.cli.endpoints``) to decide.
    """
    config = _loaded(config_files)
    if cloud not in config.cloud_config["clouds"]:
        raise BackendError(cloud, _not_found(cloud, config, config_files))
    region = config.get_one(cloud=cloud, api_timeout=api_timeout)
    return openstack.connection.Connection(config=region)


def cloud_names(config_files: Sequence[str] | None) -> tuple[str, ...]:
    """The clouds of the clouds.yaml ``connect_from_clouds_yaml`` would read, sorted; () when none is found.

    An explicit file that does not load raises BackendError (the SDK would skip it with a log line).
    """
    config = _loaded(config_files)
    if config.config_filename is None:  # the SDK then makes up a cloud named "defaults"
        if config_files:
            found = any(Path(f).exists() for f in config_files)
            problem = "is not valid YAML or cannot be read" if found else "does not exist"
            raise BackendError("clouds.yaml", f"clouds.yaml {', '.join(config_files)} {problem}")
        return ()
    return tuple(sorted(config.cloud_config["clouds"]))


def _loaded(config_files: Sequence[str] | None) -> openstack.config.OpenStackConfig:
    clouds_files, secure_files = search_paths(config_files)
    return openstack.config.OpenStackConfig(config_files=clouds_files, secure_files=secure_files, load_envvars=False)


def search_paths(explicit: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """clouds.yaml and secure.yaml candidates, first found wins: an explicit file alone, else as ``openstack``."""
    clouds = list(explicit) if explicit else _overridden("OS_CLIENT_CONFIG_FILE", openstack.config.loader.CONFIG_FILES)
    return clouds, _overridden("OS_CLIENT_SECURE_FILE", openstack.config.loader.SECURE_FILES)


def _overridden(variable: str, usual: Sequence[str]) -> list[str]:
    override = os.environ.get(variable)
    return [override, *usual] if override else list(usual)


def _not_found(cloud: str, config: openstack.config.OpenStackConfig, explicit: Sequence[str] | None) -> str:
    if config.config_filename:
        where = str(config.config_filename)
    elif explicit:
        where = f"{', '.join(explicit)}, which does not exist"
    else:
        override = os.environ.get("OS_CLIENT_CONFIG_FILE")
        named = f"OS_CLIENT_CONFIG_FILE={override} does not exist" if override else "OS_CLIENT_CONFIG_FILE is not set"
        usual = dict.fromkeys(str(Path(f).parent) for f in openstack.config.loader.CONFIG_FILES)
        where = f"any clouds.yaml ({named}; none in {', '.join(usual)})"
    return f"clouds.yaml: cloud {cloud!r} was not found in {where}"


class ComputeSession:
    """A connection plus the microversion negotiated per collection (and for ``WRITES``), kept as long as it.

    Reads and writes share it from different worker threads; negotiation runs once, under a lock.
    """

    def __init__(
        self, cloud: str, conn: openstack.connection.Connection, *, write_microversion_cap: str = WRITE_MICROVERSION_CAP
    ) -> None:
        self.cloud = cloud
        self.conn = conn
        self._caps = {**MAX_MICROVERSION, WRITES: checked_write_cap(write_microversion_cap)}
        self._microversions: dict[str, str] = {}
        self._lock = threading.Lock()

    def microversion(self, collection: str) -> str:
        with self._lock:
            cached = self._microversions.get(collection)
            if cached is None:
                cached = self._negotiate(self._caps[collection])
                self._microversions[collection] = cached
            return cached

    def at_least(self, collection: str, version: str) -> bool:
        return version_tuple(self.microversion(collection)) >= version_tuple(version)

    def _negotiate(self, client_maximum: str) -> str:
        """The highest microversion both sides speak; a failure says what the endpoint answered."""
        try:
            # The first use of conn.compute runs version discovery.
            negotiated = openstack.utils.maximum_supported_microversion(self.conn.compute, client_maximum)
        except DISCOVERY_FAILURES as exc:
            if reported_cause(exc) is None:
                raise_version_document_fault(self.conn, self.cloud)
            raise
        if negotiated is None:
            # Discovery failed and the SDK swallowed the reason: find it, and never read at 2.1 by accident.
            raise_version_document_fault(self.conn, self.cloud)
            raise BackendError(self.cloud, "cannot negotiate a compute microversion: version discovery failed")
        return negotiated

    def close(self) -> None:
        self.conn.close()


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def checked_write_cap(cap: str) -> str:
    """``cap`` when it is a compute microversion from 2.1 to WRITE_MICROVERSION_CAP; else ValueError."""
    if not re.fullmatch(r"2\.[1-9][0-9]*", cap) or version_tuple(cap) > version_tuple(WRITE_MICROVERSION_CAP):
        raise ValueError(f"write microversion cap {cap!r} is not one from 2.1 to {WRITE_MICROVERSION_CAP}")
    return cap
