"""Capacity for headroom: Placement's compute-node providers (inventories, usages) and Nova's host aggregates.

Cost. Placement has no call that gives the inventories or usages of many providers at once:
``GET /resource_providers`` gives each provider's generation only, and ``GET /allocation_candidates``,
which does sum up capacity and use, leaves out every provider that cannot take the request (a full
compute, exactly what headroom must count). So each read lists the providers (1 request) and asks a
provider's inventories and usages (2 requests) only when it is new or its generation moved since it
was last read: Placement bumps a provider's generation on every inventory change and on every
allocation written through ``PUT``/``POST /allocations`` (a boot, a resize, a move, a delete through
Nova's API). ``DELETE /allocations/{consumer}`` (a forced delete, an operator's clean-up) does not bump
it, so usages are also asked again once older than ``USAGE_MAX_AGE_SECONDS``, at most
``MAX_AGED_READS`` per read, oldest first; such a late usage counts more used than there is, never
less (less headroom shown, never more). On a 1,000-node cloud the first read is 1 + 2,000 requests,
``PROVIDER_READERS`` at a time; a later one is 1 + 2 per changed provider + up to ``MAX_AGED_READS``
(every usage asked again about every 300 s at a 30 s refresh). The aggregates are one request
(``GET /os-aggregates`` is not paged).

A failure of either part (Placement missing from the catalog, a 403 for a non-admin, a 5xx, a
timeout, an answer that is not the documented shape) leaves that part empty and says why in the
snapshot's ``capacity_error``; the rest of the snapshot is kept. A malformed provider or aggregate
record is skipped and named in the backend's warnings, the others are kept.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import keystoneauth1.exceptions as ks_exc
import openstack.exceptions as sdk_exc
import openstack.warnings

from hybridview.backends.base import BackendError
from hybridview.backends.nova import capacity_payloads as cp
from hybridview.backends.nova import payloads
from hybridview.backends.nova.actions import nova_error_message, request_id_of
from hybridview.backends.nova.discovery import raise_version_document_fault
from hybridview.backends.nova.errors import DISCOVERY_FAILURES, backend_error, first_line, reported_cause
from hybridview.backends.nova.session import ComputeSession
from hybridview.backends.records import Collection, RecordSkips
from hybridview.core.model import HostAggregate, OpenStackSnapshot, PlacementProvider

PLACEMENT_MICROVERSION = "1.14"  # root_provider_uuid; every Placement since Queens speaks it
AGGREGATES_KEY = "aggregates"  # the session's microversion key for os-aggregates
PROVIDERS_PATH = "/resource_providers"
AGGREGATES_PATH = "/os-aggregates"
USAGE_MAX_AGE_SECONDS = 300.0
MAX_AGED_READS = 100
PROVIDER_READERS = 8
CALL_TIMEOUT_SECONDS = 10.0  # per capacity call, so a hung Placement costs the read little
FAILURES = (BackendError, sdk_exc.SDKException, ks_exc.ClientException, payloads.MalformedPayload)
NOT_FOUND = 404

PROVIDERS = Collection("resource provider", "that compute node's capacity is not counted", "Placement")
AGGREGATES = Collection("aggregate", "those aggregates are not shown", AGGREGATES_PATH)


@dataclass(frozen=True, slots=True)
class Kept:
    """What was last read of one provider."""

    generation: int | None
    inventory: cp.Counted
    usage: cp.Counted
    usage_read_at: float


@dataclass(frozen=True, slots=True)
class Fetched:
    """One provider's answers, read in a worker; a body that was not JSON is kept as its error."""

    record: cp.ProviderRecord
    inventories: Any | None  # None: the kept inventories still hold (only usages were due)
    usages: Any


class CapacityReader:
    """Keeps each provider's last inventories and usages between reads; one per backend."""

    def __init__(self, call_timeout: float = CALL_TIMEOUT_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = call_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[str, Kept] = {}

    def read(self, session: ComputeSession, snapshot: OpenStackSnapshot) -> tuple[OpenStackSnapshot, tuple[str, ...]]:
        """The snapshot with its providers, aggregates and capacity_error, and the warnings of skipped records."""
        with self._lock:
            skips = RecordSkips(payloads.MalformedPayload)
            errors: list[str] = []
            providers = self._guarded(
                errors, "Placement", session, lambda: self._providers(session, snapshot, skips), "placement"
            )
            aggregates = self._guarded(errors, "host aggregates", session, lambda: self._aggregates(session, skips))
            capacity_error = "; ".join(errors) or None
            changed = replace(snapshot, providers=providers, aggregates=aggregates, capacity_error=capacity_error)
            return changed, skips.warnings()

    @staticmethod
    def _guarded(
        errors: list[str],
        what: str,
        session: ComputeSession,
        read: Callable[[], tuple[Any, ...]],
        service: str | None = None,  # the service type whose version discovery ``read`` may run first
    ) -> Any:
        try:
            try:
                return read()
            except DISCOVERY_FAILURES as exc:  # at first contact: what did the version document answer?
                if reported_cause(exc) is None and service is not None:
                    raise_version_document_fault(session.conn, session.cloud, service)
                raise
        except FAILURES as exc:
            errors.append(f"{what} not read: {failure(session.cloud, what, exc)}")
            return ()

    # -- Placement --------------------------------------------------------------------------

    def _providers(
        self, session: ComputeSession, snapshot: OpenStackSnapshot, skips: RecordSkips
    ) -> tuple[PlacementProvider, ...]:
        with warnings.catch_warnings():  # made once per connection, before the workers share it
            # no version document at the endpoint: the first request says what it answers instead
            warnings.simplefilter("ignore", openstack.warnings.UnsupportedServiceVersion)
            session.conn.placement  # noqa: B018  (the SDK makes the proxy on first use)
        body = _raised(self._answer(session, PROVIDERS_PATH))
        raws = payloads.items(body, "resource_providers")
        records = skips.map(PROVIDERS, raws, cp.resource_provider, cp.provider_name)
        nodes = {node.hypervisor_hostname for node in snapshot.nodes}
        roots = {r.uuid: r for r in records if r.is_root and r.name in nodes}
        self._kept = {uuid: kept for uuid, kept in self._kept.items() if uuid in roots}
        now = self._clock()
        kept = self._kept
        changed = [r for r in roots.values() if r.uuid not in kept or kept[r.uuid].generation != r.generation]
        unchanged = [r for r in roots.values() if r.uuid in kept and kept[r.uuid].generation == r.generation]
        aged = sorted(
            (r for r in unchanged if now - kept[r.uuid].usage_read_at >= USAGE_MAX_AGE_SECONDS),
            key=lambda r: self._kept[r.uuid].usage_read_at,
        )[:MAX_AGED_READS]
        fetched = self._fetch(session, [(r, True) for r in changed] + [(r, False) for r in aged])
        skips.map(PROVIDERS, fetched, lambda f: self._keep(f, now), lambda f, position: f.record.name)
        return tuple(
            cp.provider(session.cloud, record, self._kept[uuid].inventory, self._kept[uuid].usage)
            for uuid, record in sorted(roots.items(), key=lambda item: item[1].name)
            if uuid in self._kept
        )

    def _fetch(self, session: ComputeSession, due: list[tuple[cp.ProviderRecord, bool]]) -> list[Fetched]:
        """Each due provider's answers, a few at a time; the first failure cancels the rest and is raised."""
        if not due:
            return []
        found: list[Fetched] = []
        with ThreadPoolExecutor(min(PROVIDER_READERS, len(due)), thread_name_prefix="placement") as pool:
            futures: list[Future[Fetched | None]] = [
                pool.submit(self._fetch_one, session, record, full) for record, full in due
            ]
            try:
                for future in as_completed(futures):
                    if (answer := future.result()) is not None:
                        found.append(answer)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return found

    def _fetch_one(self, session: ComputeSession, record: cp.ProviderRecord, full: bool) -> Fetched | None:
        """None when the provider is gone since the list (404)."""
        path = f"{PROVIDERS_PATH}/{quote(record.uuid, safe='')}"
        try:
            inventories = self._answer(session, f"{path}/inventories") if full else None
            return Fetched(record, inventories, self._answer(session, f"{path}/usages"))
        except BackendError as exc:
            if exc.status_code == NOT_FOUND:
                return None
            raise

    def _keep(self, fetched: Fetched, now: float) -> None:
        """Map one provider's answers into what is kept of it (a malformed one is dropped, then skipped)."""
        uuid = fetched.record.uuid
        previous = self._kept.pop(uuid, None)
        usage = cp.usages(_raised(fetched.usages))
        if fetched.inventories is not None:
            inventory = cp.inventories(_raised(fetched.inventories))
        elif previous is not None:
            inventory = previous.inventory
        else:  # only aged providers come without inventories, and those are kept
            raise payloads.MalformedPayload("its inventories were never read")
        generations = [g for g in (inventory.generation, usage.generation) if g is not None]
        generation = min(generations) if generations else fetched.record.generation
        self._kept[uuid] = Kept(generation, inventory, usage, now)

    # -- aggregates ---------------------------------------------------------------------------

    def _aggregates(self, session: ComputeSession, skips: RecordSkips) -> tuple[HostAggregate, ...]:
        body = _raised(self._answer(session, AGGREGATES_PATH, session.microversion(AGGREGATES_KEY), compute=True))
        raws = payloads.items(body, "aggregates")
        return tuple(skips.map(AGGREGATES, raws, lambda raw: cp.aggregate(session.cloud, raw), payloads.record_name))

    # -- calls ---------------------------------------------------------------------------------

    def _answer(
        self, session: ComputeSession, path: str, microversion: str = PLACEMENT_MICROVERSION, *, compute: bool = False
    ) -> Any:
        """The JSON body of a 2xx answer, or the MalformedPayload saying it is not JSON.

        Any other answer raises BackendError with the server's own words (Placement's API-SIG ``errors``
        list, Nova's fault object), its status and request id.
        """
        adapter = session.conn.compute if compute else session.conn.placement
        response = adapter.get(path, microversion=microversion, raise_exc=False, timeout=self._timeout)
        raise_refusal(session.cloud, response)
        try:
            return response.json()
        except ValueError:
            return payloads.MalformedPayload(f"{path} did not return JSON")


def raise_refusal(cloud: str, response: Any) -> None:
    """BackendError for a non-2xx answer, in the server's words: JSON (Placement's API-SIG ``errors``, Nova's
    fault object) read as actions.nova_error_message reads it, another page's text as openstacksdk strips it."""
    if 200 <= response.status_code < 300:
        return
    try:
        message = nova_error_message(response.json())
    except ValueError:
        message = None
    if message is None:
        try:
            sdk_exc.raise_from_response(response)
        except sdk_exc.HttpException as exc:
            message = exc.details
    raise BackendError(
        cloud,
        first_line(message or response.reason),
        status_code=response.status_code,
        request_id=request_id_of(response),
    )


def _raised(body: Any) -> Any:
    if isinstance(body, payloads.MalformedPayload):
        raise body
    return body


def failure(cloud: str, what: str, exc: Exception) -> str:
    """One line: the HTTP status, the server's words and request id, or what went wrong on the wire."""
    if isinstance(exc, payloads.MalformedPayload):
        return f"malformed answer: {exc}"
    if isinstance(exc, sdk_exc.ServiceDisabledException | ks_exc.EndpointNotFound | ks_exc.EmptyCatalog):
        return "not in the cloud's service catalog"
    if isinstance(exc, DISCOVERY_FAILURES) and reported_cause(exc) is None:
        return f"version discovery failed: {first_line(str(exc))}"
    error = exc if isinstance(exc, BackendError) else backend_error(cloud, exc)
    line = BackendError.describe(error)  # without PolicyRefusal's note, which names Nova's policy
    if error.status_code == 403:
        line += f" — reading {what} needs the admin role (the default policy)"
    return line
