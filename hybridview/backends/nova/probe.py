"""Testing a cloud before it is saved: reachable, authenticated, compute version, privileges. Reads only.

The cloud comes from clouds.yaml as the backend loads it (``session.connect_from_clouds_yaml``); the
version comes from the same discovery and negotiation (``session.ComputeSession``). Privileges are
probed with one small read of each collection hybridview reads (Nova's default policy makes each
admin-only) and the token's roles: a write is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import keystoneauth1.discover
import keystoneauth1.exceptions as ks_exc
import keystoneauth1.identity
import openstack.connection
import openstack.exceptions as sdk_exc

from hybridview.backends.base import BackendError
from hybridview.backends.nova import reads
from hybridview.backends.nova.errors import translate_errors
from hybridview.backends.nova.session import WRITES, ComputeSession, connect_from_clouds_yaml
from hybridview.backends.probing import Probe

T = TypeVar("T")
NOT_ADMIN = "not admin: evacuation and moves will be refused"


def probe_cloud(cloud: str, config_files: Sequence[str] | None, timeout_seconds: float) -> Probe:
    """Run the four steps against ``cloud``; blocks for at most about ``timeout_seconds``."""
    probe = Probe(timeout_seconds)
    try:
        conn = translate_errors(cloud, lambda: connect_from_clouds_yaml(cloud, config_files, probe.remaining()))
    except BackendError as exc:  # a clouds.yaml problem: nothing was tried
        probe.fail("reachable", exc.describe())
        return probe
    try:
        _CloudProbe(cloud, conn, probe).run()
    finally:
        conn.close()
    return probe


class _CloudProbe:
    def __init__(self, cloud: str, conn: openstack.connection.Connection, probe: Probe) -> None:
        self.cloud = cloud
        self.conn = conn
        self.probe = probe
        self.auth: dict[str, Any] = dict(conn.config.config.get("auth") or {})
        self.compute = ComputeSession(cloud, conn)
        self.roles: list[str] | None = None  # the token's roles, when the auth plugin knows them

    def run(self) -> None:
        steps = {
            "reachable": self.reachable,
            "authenticated": self.authenticated,
            "version": self.version,
            "privileges": self.privileges,
        }
        for step, call in steps.items():
            if not self.probe.run(step, partial(self._bounded, call)):
                return

    def _bounded(self, call: Callable[[], T]) -> T:
        """One step, each request of it bounded by what is left of the budget."""
        self.conn.session.timeout = self.probe.remaining()
        return translate_errors(self.cloud, call)

    def reachable(self) -> str:
        url = self.auth.get("auth_url") or self.auth.get("endpoint") or self.conn.config.get_endpoint("compute")
        if not url:
            raise BackendError(self.cloud, "clouds.yaml names no auth_url or endpoint for this cloud")
        response = self.conn.session.get(url, authenticated=False, raise_exc=False)
        return f"{url} answers (HTTP {response.status_code})"

    def authenticated(self) -> str:
        auth = self.conn.session.auth
        if not isinstance(auth, keystoneauth1.identity.BaseIdentityPlugin):
            return self._token_accepted()  # a static token: the compute API is what checks it
        user = self.auth.get("username") or self.auth.get("user_id") or self.auth.get("application_credential_id")
        try:
            self.conn.session.get_token()
        except ks_exc.Unauthorized as exc:
            where = self.auth.get("auth_url") or auth.auth_url
            raise BackendError(self.cloud, f"login refused for user {user} at {where}") from exc
        access = auth.get_access(self.conn.session)
        self.roles = list(access.role_names or [])
        project = access.project_name or access.project_id or "no project"
        roles = ", ".join(self.roles) or "none"
        return f"token issued for {access.username or user} (project {project}; roles {roles})"

    def _token_accepted(self) -> str:
        response = self.conn.compute.get("/flavors", params={"limit": "1"}, raise_exc=False)
        if response.status_code == 401:
            refused_by = self.conn.compute.get_endpoint()
            raise BackendError(self.cloud, f"the token in clouds.yaml was refused by {refused_by}")
        sdk_exc.raise_from_response(response)
        return "the token in clouds.yaml is accepted by the compute API"

    def version(self) -> str:
        writes_at = self.compute.microversion(WRITES)  # the backend's discovery and negotiation
        data = self.conn.compute.get_endpoint_data()
        if data is None:
            raise BackendError(self.cloud, "the service catalog names no compute endpoint")
        low = keystoneauth1.discover.version_to_string(data.min_microversion) if data.min_microversion else "2.1"
        high = keystoneauth1.discover.version_to_string(data.max_microversion) if data.max_microversion else writes_at
        self.probe.version = f"compute {high}"
        return f"compute API microversions {low} to {high} at {data.url}; writes go at {writes_at}"

    def privileges(self) -> str:
        allowed, refused = [], []
        for name, endpoint, params in self._reads():
            microversion = self.compute.microversion(endpoint.key)
            response = self.conn.compute.get(endpoint.path, params=params, microversion=microversion, raise_exc=False)
            if response.status_code == 403:
                refused.append(name)
                continue
            sdk_exc.raise_from_response(response)
            allowed.append(name)
        admin = self._is_admin(all_reads_allowed=not refused)
        if not refused and admin:
            return f"reads {', '.join(allowed)}; admin"
        parts = [f"refused (HTTP 403): {', '.join(refused)}"] if refused else []
        if allowed:
            parts.append(f"allowed: {', '.join(allowed)}")
        parts.append("admin" if admin else NOT_ADMIN)
        raise BackendError(self.cloud, "; ".join(parts))

    def _reads(self) -> list[tuple[str, reads.Endpoint, dict[str, str]]]:
        """Each collection hybridview reads, asked for one record where the microversion allows paging."""
        one = {"limit": "1"}
        return [
            ("os-services", reads.SERVICES, {"binary": "nova-compute"}),
            ("os-hypervisors", reads.HYPERVISORS, one if self.compute.at_least("hypervisors", "2.33") else {}),
            ("servers of all projects", reads.SERVERS, {"all_tenants": "True", **one}),
            ("os-migrations", reads.MIGRATIONS, one if self.compute.at_least("migrations", "2.59") else {}),
        ]

    def _is_admin(self, *, all_reads_allowed: bool) -> bool:
        """The token's admin role; for a static token (roles unknown), whether the admin-only reads passed."""
        if self.roles is None:
            return all_reads_allowed
        return any(role.lower() == "admin" for role in self.roles)
