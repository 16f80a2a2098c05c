"""The demo's scenarios, its seeded evacuation failures, and what vSphere HA does on each tick."""

from __future__ import annotations

import random
from datetime import timedelta

from hybridview.sim.layout import SimHost, SimInstance, SimNode
from hybridview.sim.nova_evacuation import begin_evacuation
from hybridview.sim.nova_moves import LivePhases, begin_cold_migration, begin_live_migration
from hybridview.sim.state import SimState
from hybridview.sim.vsphere_tasks import begin_relocation

SCENARIOS = (
    "healthy",
    "kvm-host-down",
    "esxi-host-down",
    "vmware-proxy-down",
    "evacuation-in-progress",
    "live-migration-in-progress",
)
HA_RESTART_TICKS = 3  # vSphere HA restarts a failed host's VMs within this many ticks
WATCHED_MOVES = 30  # live-migration-in-progress's moves last this many times a move's time: time to watch them
DEAD_FOR = timedelta(minutes=4)  # how long before the first snapshot a scenario's host died
EVACUATED_AGO = timedelta(minutes=3)


def apply(state: SimState, scenario: str, seed: int) -> None:
    seed_failures(state, seed)
    first_cloud = next(iter(state.nodes))
    if scenario == "kvm-host-down":
        node = failing_node(state, first_cloud)
        if node is not None:
            _kill(state, node)  # down, but not forced down: the fencing gate applies
    elif scenario == "vmware-proxy-down":
        _kill(state, next(n for n in state.layout.nodes if n.is_vmware))
    elif scenario == "esxi-host-down":
        _fail_first_host(state, ha=True)
        _fail_first_host(state, ha=False)
    elif scenario == "evacuation-in-progress":
        _evacuation_in_progress(state, first_cloud)
    elif scenario == "live-migration-in-progress":
        _moves_in_progress(state, first_cloud)
    state.timeline.run_due()


def failing_node(state: SimState, cloud: str) -> SimNode | None:
    """The KVM host the scenarios fail in a cloud, which holds that cloud's seeded evacuation failure."""
    kvm = [n for n in state.nodes[cloud] if not n.is_vmware]
    return kvm[2 % len(kvm)] if kvm else None


def seed_failures(state: SimState, seed: int) -> None:
    """In each cloud, one instance of its failing node whose evacuation always fails."""
    for cloud in state.nodes:
        node = failing_node(state, cloud)
        on_node = [i for i in state.instances[cloud] if node is not None and i.host == node.service_host]
        if on_node:
            inst = random.Random(f"{seed}/{cloud}").choice(on_node)  # noqa: S311 - a reproducible demo
            state.failing[inst.id] = _fault(inst)


def _fault(inst: SimInstance) -> str:
    if inst.boot_from_volume:
        return (
            f"Unable to attach volume to instance {inst.id}: os_brick.exception.VolumeDeviceNotFound: "
            "Volume device not found at /dev/disk/by-path/ip-10.20.0.15:3260-iscsi-iqn.2010-10.org.openstack:"
            f"volume-{inst.id}-lun-1."
        )
    return (
        "libvirt.libvirtError: internal error: process exited while connecting to monitor: "
        f"Could not open '/var/lib/nova/instances/{inst.id}/disk': Permission denied"
    )


def set_connection(state: SimState, host: SimHost, connection_state: str) -> None:
    """An ESXi host stops or starts responding; vSphere HA restarts the VMs of a failed host of an HA cluster."""
    if connection_state == "notResponding" and host.connection_state != "notResponding":
        state.event(host.vcenter, host.moref, "HostNotRespondingEvent", f"Host {host.name} is not responding")
        running = sum(1 for vm in state.vms[host.vcenter] if vm.host == host.moref and vm.power_state == "poweredOn")
        if state.ha_enabled(host) and running:
            state.ha_batches[(host.vcenter, host.moref)] = -(-running // HA_RESTART_TICKS)
    if connection_state != "notResponding":
        state.ha_batches.pop((host.vcenter, host.moref), None)
    host.connection_state = connection_state
    host.overall_status = "green" if connection_state == "connected" else "gray"
    state.changed(host.vcenter)


def ha_step(state: SimState) -> None:
    """One tick of vSphere HA: a few VMs of each failed host power on again on its cluster's survivors."""
    for key, batch in list(state.ha_batches.items()):
        host = state.host(*key)
        if host is None:
            continue
        stranded = [vm for vm in state.vms[host.vcenter] if vm.host == host.moref and vm.power_state == "poweredOn"]
        if not stranded:
            del state.ha_batches[key]
            continue
        survivors = [h for h in state.cluster_hosts(host) if h is not host]
        for index, vm in enumerate(stranded[:batch]):
            targets = [h for h in survivors if state.can_run(h, vm)]
            if not targets:
                continue
            target = targets[(state.tick + index) % len(targets)]
            vm.host = target.moref
            state.event(
                host.vcenter,
                host.moref,
                "VmRestartedOnAlternateHostEvent",
                f"vSphere HA restarted virtual machine {vm.name} from {host.name} on host {target.name}",
            )
        state.changed(host.vcenter)


def _kill(state: SimState, node: SimNode) -> None:
    node.alive = False
    node.died_at = state.now() - DEAD_FOR
    state.changed(node.cloud)


def _fail_first_host(state: SimState, *, ha: bool) -> None:
    """The first host of the first vCenter's first cluster with (or without) vSphere HA."""
    vc = state.layout.vcenters[0]
    moref = next((m for m, on in vc.ha_enabled.items() if on == ha), None)
    host = next((h for h in state.hosts[vc.name] if h.cluster == moref), None)
    if host is not None:
        set_connection(state, host, "notResponding")


def _evacuation_in_progress(state: SimState, cloud: str) -> None:
    """A fenced KVM host: a third of its instances evacuated, a third evacuating, the rest still there."""
    node = failing_node(state, cloud)
    if node is None:
        return
    _kill(state, node)
    node.forced_down = True
    on_host = sorted(
        (i for i in state.instances[cloud] if i.host == node.service_host), key=lambda i: i.id in state.failing
    )  # the seeded failure stays behind, for the operator to meet
    third = len(on_host) // 3
    evacuated = [begin_evacuation(state, inst, None, 0.0, 0.0) for inst in on_host[:third]]
    state.timeline.run_due()
    for k, migration in enumerate(evacuated):
        migration.created_at = state.now() - EVACUATED_AGO - timedelta(seconds=20 * (third - k))
        migration.updated_at = migration.created_at + timedelta(seconds=40)
    if on_host[:third]:
        on_host[0].vm_state = "active"  # the operator started the first one already
    seconds = state.timing.evacuation_seconds
    for k, inst in enumerate(on_host[third : 2 * third]):
        begin_evacuation(state, inst, None, 0.0, seconds * (k + 1))


def _moves_in_progress(state: SimState, cloud: str) -> None:
    """A libvirt instance live-migrating with its disk (both byte counters grow), another one cold-migrated and
    waiting at VERIFY_RESIZE, and a vMotion task running in a cluster whose DRS is manual."""
    kvm = [n for n in state.nodes[cloud] if not n.is_vmware]
    live_from, cold_from = kvm[1 % len(kvm)], kvm[3 % len(kvm)]
    local = next(i for i in state.instances[cloud] if i.host == live_from.service_host and not i.boot_from_volume)
    copying = WATCHED_MOVES * state.timing.live_migration_seconds
    begin_live_migration(state, local, None, LivePhases(0.0, 0.0, copying), block=True)
    cold = next(i for i in state.instances[cloud] if i.host == cold_from.service_host)
    begin_cold_migration(state, cold, None, 0.0)
    vc = state.layout.vcenters[0]
    manual = next(moref for moref, behavior in vc.drs_behavior.items() if behavior != "fullyAutomated")
    first, second = [h for h in state.hosts[vc.name] if h.cluster == manual][:2]
    vm = next(v for v in state.vms[vc.name] if v.host == first.moref and v.instance_uuid)
    begin_relocation(state, vm, second, None, seconds=WATCHED_MOVES * state.timing.relocate_seconds)
