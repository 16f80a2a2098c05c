"""NovaBackend: one Nova cloud over openstacksdk (clouds.yaml, keystoneauth). Every method blocks."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import openstack.connection
import openstack.warnings

from hybridview.backends.base import MigrationProgress, ServerProgress, WriteReceipt
from hybridview.backends.nova import actions, moves
from hybridview.backends.nova.capacity import CALL_TIMEOUT_SECONDS, CapacityReader
from hybridview.backends.nova.instance_actions import ActionReader
from hybridview.backends.nova.errors import translate_errors
from hybridview.backends.nova.reads import read_snapshot
from hybridview.backends.nova.session import (
    WRITE_MICROVERSION_CAP,
    ComputeSession,
    checked_write_cap,
    connect_from_clouds_yaml,
)
from hybridview.core.model import OpenStackSnapshot

# openstacksdk warns about its own future removals on ordinary calls; operators can do nothing with them.
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK50Warning)
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK60Warning)

T = TypeVar("T")


class NovaBackend:
    """Reads (``fetch``) and writes (``NovaWrites``) of one cloud, over one connection made on first use.

    Reads and writes run in different worker threads; the connection is made once, under a lock.
    """

    def __init__(
        self,
        cloud: str,
        *,
        config_files: Sequence[str] | None = None,
        page_size: int = 1000,
        api_timeout: float = 30.0,
        connect: Callable[[], openstack.connection.Connection] | None = None,
        write_microversion_cap: str = WRITE_MICROVERSION_CAP,  # lower only to exercise older clouds
    ) -> None:
        self._cloud = cloud
        self._config_files = list(config_files) if config_files else None
        self._page_size = page_size
        self._api_timeout = api_timeout
        self._connect = connect or self._connect_from_clouds_yaml
        self._write_microversion_cap = checked_write_cap(write_microversion_cap)
        self._session: ComputeSession | None = None
        self._session_lock = threading.Lock()
        self._warnings: tuple[str, ...] = ()  # the records the last completed read had to skip
        self._actions = ActionReader()  # a bounded set of instances' actions, kept between reads
        self._capacity = CapacityReader(min(api_timeout, CALL_TIMEOUT_SECONDS))  # providers, kept between reads

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    def _connect_from_clouds_yaml(self) -> openstack.connection.Connection:
        return connect_from_clouds_yaml(self._cloud, self._config_files, self._api_timeout)

    def _compute(self) -> ComputeSession:
        with self._session_lock:
            if self._session is None:  # microversions are negotiated again on a new connection
                self._session = ComputeSession(
                    self._cloud, self._connect(), write_microversion_cap=self._write_microversion_cap
                )
            return self._session

    def fetch(self) -> OpenStackSnapshot:
        return translate_errors(self._cloud, self._fetch)

    def _fetch(self) -> OpenStackSnapshot:
        session = self._compute()
        read = read_snapshot(session, self._page_size)
        snapshot, unread = self._actions.read(session, read.value)
        snapshot, skipped = self._capacity.read(session, snapshot)
        self._warnings = read.warnings + unread + skipped
        return snapshot

    # -- writes (NovaWrites) ----------------------------------------------------------------

    def set_forced_down(self, host: str, forced_down: bool) -> WriteReceipt:
        return self._call(lambda s: actions.set_forced_down(s, host, forced_down))

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None = None) -> WriteReceipt:
        return self._call(lambda s: actions.set_service_enabled(s, host, enabled, reason))

    def evacuate(self, instance_id: str, *, target_host: str | None, on_shared_storage: bool | None) -> WriteReceipt:
        return self._call(
            lambda s: actions.evacuate(s, instance_id, target_host=target_host, on_shared_storage=on_shared_storage)
        )

    def start_server(self, instance_id: str) -> WriteReceipt:
        return self._call(lambda s: actions.start_server(s, instance_id))

    def server_progress(self, instance_id: str, since: datetime | None = None) -> ServerProgress:
        return self._call(lambda s: actions.server_progress(s, instance_id, since))

    # moves

    def live_migrate(self, instance_id: str, *, target_host: str | None, block_migration: str | bool) -> WriteReceipt:
        return self._call(
            lambda s: moves.live_migrate(s, instance_id, target_host=target_host, block_migration=block_migration)
        )

    def migrate(self, instance_id: str, *, target_host: str | None) -> WriteReceipt:
        return self._call(lambda s: moves.migrate(s, instance_id, target_host=target_host))

    def confirm_resize(self, instance_id: str) -> WriteReceipt:
        return self._call(lambda s: moves.confirm_resize(s, instance_id))

    def revert_resize(self, instance_id: str) -> WriteReceipt:
        return self._call(lambda s: moves.revert_resize(s, instance_id))

    def abort_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        return self._call(lambda s: moves.abort_live_migration(s, instance_id, migration_id))

    def force_complete_live_migration(self, instance_id: str, migration_id: str) -> WriteReceipt:
        return self._call(lambda s: moves.force_complete_live_migration(s, instance_id, migration_id))

    def migration_progress(self, instance_id: str, since: datetime | None = None) -> MigrationProgress:
        return self._call(lambda s: moves.migration_progress(s, instance_id, since))

    def _call(self, call: Callable[[ComputeSession], T]) -> T:
        return translate_errors(self._cloud, lambda: call(self._compute()))

    def close(self) -> None:
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
