"""vCenter inventory read: the backend vs the raw PropertyCollector floor vs a naive walk.

Starts the vcsim launcher (tests/peers/vcsim) at 1 datacenter, 20 clusters x 16 hosts and
5,000 VMs, then measures in one run:
  (a) VSphereBackend.fetch(): full refresh to a core snapshot;
  (b) the floor: one raw RetrievePropertiesEx per object type of the same properties;
  (c) a naive walk: for vm in view.view: vm.name, vm.runtime.host.name, ...;
  (d) one host state change -> core update through WaitForUpdatesEx.

    bash scripts/vcsim-build.sh && .venv/bin/python bench/vsphere_inventory.py [--naive-cap-seconds 180]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from hybridview.backends.vsphere import inventory as inv
from hybridview.backends.vsphere import VSphereBackend
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

PC = vmodl.query.PropertyCollector
TYPES = {
    inv.CLUSTER: vim.ClusterComputeResource,
    inv.HOST: vim.HostSystem,
    inv.VM: vim.VirtualMachine,
    inv.DATASTORE: vim.Datastore,
}


class RoundTrips:
    """Counts SOAP requests on one pyVmomi stub."""

    def __init__(self, stub: Any) -> None:
        self.count = 0
        for name in ("InvokeMethod", "InvokeAccessor"):
            original = getattr(stub, name)
            setattr(stub, name, self._counting(original))

    def _counting(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        return call


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def raw_floor(si: Any) -> int:
    content = si.RetrieveContent()
    objects = 0
    for kind, mo_type in TYPES.items():
        view = content.viewManager.CreateContainerView(content.rootFolder, [mo_type], True)
        spec = PC.FilterSpec(
            objectSet=[
                PC.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)],
                )
            ],
            propSet=[PC.PropertySpec(type=mo_type, pathSet=list(inv.PROPERTIES[kind]))],
        )
        result = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=1000))
        while result is not None:
            objects += len(result.objects)
            if not result.token:
                break
            result = content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
        view.Destroy()
    return objects


def naive_walk(si: Any, cap_seconds: float) -> tuple[int, int]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    vms = list(view.view)
    deadline = time.perf_counter() + cap_seconds
    walked = 0
    for vm in vms:
        _ = (
            vm.name,
            vm.runtime.host.name,
            vm.config.instanceUuid,
            vm.runtime.powerState,
            [d.name for d in vm.datastore],
            vm.config.hardware.numCPU,
            vm.config.hardware.memoryMB,
        )
        walked += 1
        if time.perf_counter() > deadline:
            break
    return walked, len(vms)


def change_latency(peer: VcsimPeer, backend: VSphereBackend, samples: int) -> list[float]:
    hosts = peer.list_hosts()
    while backend.wait_for_updates(1.0) is not None:
        pass
    latencies = []
    for index in range(samples):
        host = hosts[index % len(hosts)]
        for state in ("notResponding", "connected"):
            started = time.perf_counter()
            peer.set_host_state(host["name"], state)
            while True:
                update = backend.wait_for_updates(5.0)
                if update is None:
                    raise SystemExit("no update within 5 s")
                if next(h for h in update.hosts if h.moref == host["moref"]).connection_state == state:
                    break
            latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument(
        "--naive-cap-seconds", type=float, default=180.0, help="stop the naive walk after this long and extrapolate"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    with VcsimPeer(
        clusters=args.clusters, hosts=args.hosts, vms=args.vms, username=VCSIM_USER, password=VCSIM_PASSWORD
    ) as peer:
        print(
            f"vcsim: {peer.cluster_count} clusters, {peer.host_count} hosts, {peer.vm_count} VMs "
            f"(started in {time.perf_counter() - started:.1f} s)"
        )
        backend = vcsim_backend(peer)
        backend.fetch()  # log in and warm the connection; measured below on an open session
        stub_trips = RoundTrips(backend._sessions.current.si._stub)  # type: ignore[union-attr]
        t_a, snap = timed(backend.fetch)
        trips_a = stub_trips.count
        si = SmartConnect(
            host=peer.host, port=peer.port, user=VCSIM_USER, pwd=VCSIM_PASSWORD, sslContext=peer.ssl_context()
        )
        trips = RoundTrips(si._stub)
        t_b, objects = timed(lambda: raw_floor(si))
        trips_b = trips.count
        trips.count = 0
        t_c, (walked, total) = timed(lambda: naive_walk(si, args.naive_cap_seconds))
        trips_c = trips.count
        extrapolated = walked < total
        if extrapolated:
            t_c, trips_c = t_c * total / walked, int(trips_c * total / walked)
        Disconnect(si)
        latencies = change_latency(peer, backend, 5)
        backend.close()
    print(
        f"(a) backend full refresh -> snapshot: {t_a:.3f} s, {trips_a} round trips "
        f"({len(snap.clusters)} clusters, {len(snap.hosts)} hosts, {len(snap.vms)} VMs)"
    )
    print(f"(b) raw RetrievePropertiesEx floor:   {t_b:.3f} s, {trips_b} round trips ({objects} objects)")
    note = f" (extrapolated from {walked} of {total} VMs)" if extrapolated else ""
    print(f"(c) naive attribute walk:             {t_c:.3f} s, {trips_c} round trips{note}")
    print(f"a/b = {t_a / t_b:.2f} (goal <= 1.3)   c/a = {t_c / t_a:.1f} (goal >= 20)")
    print(
        f"(d) host state change -> core update via WaitForUpdatesEx: median {statistics.median(latencies):.3f} s, "
        f"max {max(latencies):.3f} s over {len(latencies)} changes (goal <= 1 s)"
    )


if __name__ == "__main__":
    main()
