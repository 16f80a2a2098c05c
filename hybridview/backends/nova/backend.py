"""NovaBackend: one Nova cloud over openstacksdk (clouds.yaml, keystoneauth). Every method blocks."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import openstack.connection
import openstack.warnings

from hybridview.backends.nova.errors import translate_errors
from hybridview.backends.nova.reads import read_snapshot
from hybridview.backends.nova.session import ComputeSession, connect_from_clouds_yaml
from hybridview.core.model import OpenStackSnapshot

# openstacksdk warns about its own future removals on ordinary calls; operators can do nothing with them.
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK50Warning)
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK60Warning)


class NovaBackend:
    def __init__(
        self,
        cloud: str,
        *,
        config_files: Sequence[str] | None = None,
        page_size: int = 1000,
        api_timeout: float = 30.0,
        connect: Callable[[], openstack.connection.Connection] | None = None,
    ) -> None:
        self._cloud = cloud
        self._config_files = list(config_files) if config_files else None
        self._page_size = page_size
        self._api_timeout = api_timeout
        self._connect = connect or self._connect_from_clouds_yaml
        self._session: ComputeSession | None = None
        self._warnings: tuple[str, ...] = ()  # the records the last completed read had to skip

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    def _connect_from_clouds_yaml(self) -> openstack.connection.Connection:
        return connect_from_clouds_yaml(self._cloud, self._config_files, self._api_timeout)

    def fetch(self) -> OpenStackSnapshot:
        return translate_errors(self._cloud, self._fetch)

    def _fetch(self) -> OpenStackSnapshot:
        if self._session is None:  # microversions are negotiated again on a new connection
            self._session = ComputeSession(self._cloud, self._connect())
        read = read_snapshot(self._session, self._page_size)
        self._warnings = read.warnings
        return read.value

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
