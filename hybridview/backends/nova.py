"""The real OpenStack backend: Nova over openstacksdk (clouds.yaml, keystoneauth).

This is the only module that imports openstacksdk. Every method blocks.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import keystoneauth1.exceptions as ks_exc
import openstack
import openstack.config
import openstack.connection
import openstack.exceptions as sdk_exc
import openstack.utils
import openstack.warnings

from hybridview.backends import nova_payloads as payloads
from hybridview.backends.base import BackendError
from hybridview.core.model import OpenStackSnapshot

log = logging.getLogger(__name__)
# openstacksdk warns about its own future removals on ordinary calls; operators can do nothing with them.
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK50Warning)
warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK60Warning)

# Highest microversion whose response shape we map, per resource (openstacksdk caps
# Hypervisor at 2.88 and Server at 2.100 for the same reason).
MAX_MICROVERSION = {"hypervisors": "2.88", "services": "2.69", "servers": "2.100", "migrations": "2.80"}
MIGRATIONS_WINDOW = timedelta(days=2)
T = TypeVar("T")


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
        self._conn: openstack.connection.Connection | None = None
        self._microversions: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def warnings(self) -> tuple[str, ...]:
        return ()

    def _connect_from_clouds_yaml(self) -> openstack.connection.Connection:
        kwargs: dict[str, Any] = {"load_envvars": False}
        if self._config_files:
            kwargs["config_files"] = self._config_files
        config = openstack.config.OpenStackConfig(**kwargs)
        region = config.get_one(cloud=self._cloud, api_timeout=self._api_timeout)
        return openstack.connection.Connection(config=region)

    def fetch(self) -> OpenStackSnapshot:
        return _translate_errors(self._cloud, self._fetch)

    def _fetch(self) -> OpenStackSnapshot:
        if self._conn is None:
            self._conn = self._connect()
            self._microversions.clear()
        services = [
            payloads.service(self._cloud, raw)
            for raw in self._pages("/os-services", "services", {"binary": "nova-compute"})
        ]
        nodes = [
            payloads.compute_node(self._cloud, raw, services)
            for raw in self._pages("/os-hypervisors/detail", "hypervisors", self._limit("hypervisors", "2.33"))
        ]
        servers = [
            payloads.instance(self._cloud, raw)
            for raw in self._pages("/servers/detail", "servers", {"all_tenants": "True", "limit": str(self._page_size)})
        ]
        migrations = [
            payloads.migration(self._cloud, raw)
            for raw in self._pages("/os-migrations", "migrations", self._migration_params())
        ]
        return OpenStackSnapshot(
            cloud=self._cloud,
            taken_at=datetime.now(UTC),
            nodes=tuple(nodes),
            services=tuple(services),
            instances=tuple(servers),
            migrations=tuple(migrations),
            microversion=self._microversion("servers"),
        )

    def _microversion(self, collection: str) -> str | None:
        cached = self._microversions.get(collection)
        if cached is None:
            assert self._conn is not None
            cached = openstack.utils.maximum_supported_microversion(self._conn.compute, MAX_MICROVERSION[collection])
            if cached is None:
                # Discovery failed (the SDK swallows the reason): never read at 2.1 by accident.
                raise BackendError(self._cloud, "cannot negotiate a compute microversion: version discovery failed")
            self._microversions[collection] = cached
        return cached

    def _at_least(self, collection: str, version: str) -> bool:
        negotiated = self._microversion(collection)
        return negotiated is not None and _version_tuple(negotiated) >= _version_tuple(version)

    def _limit(self, collection: str, since: str) -> dict[str, str]:
        return {"limit": str(self._page_size)} if self._at_least(collection, since) else {}

    def _migration_params(self) -> dict[str, str]:
        if not self._at_least("migrations", "2.59"):
            return {}
        since = (datetime.now(UTC) - MIGRATIONS_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"changes-since": since, "limit": str(self._page_size)}

    def _pages(self, path: str, collection: str, params: dict[str, str]) -> Iterator[payloads.Payload]:
        assert self._conn is not None
        microversion = self._microversion(collection)
        query: dict[str, str] | None = dict(params)
        seen_markers: set[str] = set()
        while query is not None:
            response = self._conn.compute.get(path, params=query, microversion=microversion, raise_exc=False)
            sdk_exc.raise_from_response(response)
            try:
                body = response.json()
            except ValueError as exc:
                raise payloads.MalformedPayload(f"{path} did not return JSON") from exc
            yield from payloads.items(body, collection)
            query = payloads.next_page_params(body, collection)
            marker = (query or {}).get("marker")
            if marker is not None:
                if marker in seen_markers:
                    raise payloads.MalformedPayload(f"{path} paging loops on marker {marker}")
                seen_markers.add(marker)
                query = {**params, **(query or {})}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _translate_errors(endpoint: str, call: Callable[[], T]) -> T:
    """Turn every SDK failure into a BackendError an operator can read."""
    try:
        return call()
    except sdk_exc.HttpException as exc:
        raise BackendError(
            endpoint, _first_line(exc.details or exc.message), status_code=exc.status_code, request_id=exc.request_id
        ) from exc
    except ks_exc.HttpError as exc:
        raise BackendError(
            endpoint, _first_line(exc.message), status_code=exc.http_status, request_id=exc.request_id
        ) from exc
    except (ks_exc.ConnectFailure, ks_exc.ConnectionError) as exc:
        raise BackendError(endpoint, f"cannot connect: {_first_line(str(exc))}") from exc
    except ks_exc.DiscoveryFailure as exc:
        raise BackendError(
            endpoint, f"Nova API not reachable or not a compute endpoint: {_first_line(str(exc))}"
        ) from exc
    except ks_exc.ClientException as exc:
        raise BackendError(endpoint, _first_line(str(exc))) from exc
    except sdk_exc.ConfigException as exc:
        raise BackendError(endpoint, f"clouds.yaml: {_first_line(str(exc))}") from exc
    except payloads.MalformedPayload as exc:
        raise BackendError(endpoint, f"malformed Nova response: {exc}") from exc
    except sdk_exc.SDKException as exc:
        raise BackendError(endpoint, _first_line(str(exc))) from exc
    except BackendError:
        raise
    except Exception as exc:  # a bug or an undocumented payload: still one line, never a traceback
        log.debug("unexpected failure reading %s", endpoint, exc_info=True)
        raise BackendError(endpoint, f"unexpected {type(exc).__name__}: {_first_line(str(exc))}") from exc


def _first_line(text: str | None) -> str:
    return (text or "unknown error").strip().splitlines()[0][:300] if text and text.strip() else "unknown error"
