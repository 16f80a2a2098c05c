"""Maintenance mode in the demo vCenter, as EnterMaintenanceMode_Task and ExitMaintenanceMode_Task behave.

Entering waits until no powered-on VM (and, with ``evacuate_powered_off``, no VM at all) is left on
the host, then takes ``maintenance_seconds``. In a cluster whose DRS is fully automated, DRS moves
those VMs itself; elsewhere the task keeps running until someone else moves them, and fails
when its timeout passes, as a real vCenter's does.
"""

from __future__ import annotations

from hybridview.sim import vsphere_faults as fault
from hybridview.sim.layout import SimHost, SimVM
from hybridview.sim.state import SimMaintenance, SimState, SimTask
from hybridview.sim.vsphere_tasks import begin_relocation, end_task, least_loaded, new_task, set_progress, timed

ENTER = "HostSystem.enterMaintenanceMode"
EXIT = "HostSystem.exitMaintenanceMode"
POLLS_PER_STEP = 4  # how often, per maintenance_seconds, an entering host looks whether it is empty
WAITING_PROGRESS = 90  # the share of the progress bar that moving the VMs off takes


def fully_automated(state: SimState, host: SimHost) -> bool:
    return state.vcenter(host.vcenter).drs_behavior.get(host.cluster) == "fullyAutomated"


def blocking(state: SimState, host: SimHost, evacuate_powered_off: bool) -> list[SimVM]:
    """The VMs that keep the host from entering maintenance mode."""
    return [
        vm
        for vm in state.vms[host.vcenter]
        if vm.host == host.moref and (evacuate_powered_off or vm.power_state == "poweredOn")
    ]


def begin_entering(state: SimState, host: SimHost, timeout_seconds: int, evacuate_powered_off: bool) -> SimTask:
    task = new_task(state, host.vcenter, ENTER, host, cancelable=True)
    stay = blocking(state, host, evacuate_powered_off)
    run = SimMaintenance(task, evacuate_powered_off, len(stay))
    state.entering[(host.vcenter, host.moref)] = run
    if fully_automated(state, host):
        _drs_moves(state, host, stay)
    if timeout_seconds > 0:  # zero or less: no timeout
        state.timeline.after(timeout_seconds, lambda: _time_out(state, host, run))
    _look(state, host, run)
    return task


def begin_exiting(state: SimState, host: SimHost) -> SimTask:
    task = new_task(state, host.vcenter, EXIT, host, cancelable=False)

    def finish() -> str | None:
        if host.connection_state != "connected":
            return fault.not_connected(host)
        host.in_maintenance = False
        state.event(
            host.vcenter, host.moref, "ExitMaintenanceModeEvent", f"Host {host.name} has exited maintenance mode"
        )
        return None

    timed(state, task, state.timing.maintenance_seconds, finish)
    return task


def _drs_moves(state: SimState, host: SimHost, vms: list[SimVM]) -> None:
    """What a fully automated DRS does for a host entering maintenance: vMotions its VMs to the least loaded
    hosts of the cluster; a VM no host can take stays, and the task waits for it."""
    planned: dict[str, int] = {}
    others = [h for h in state.cluster_hosts(host) if h is not host]
    for vm in vms:
        target = least_loaded(state, vm, others, planned)
        if target is not None:
            begin_relocation(state, vm, target, None, seconds=state.timing.relocate_seconds, by_drs=True)


def _look(state: SimState, host: SimHost, run: SimMaintenance) -> None:
    """Whether the host is empty yet; if so it enters maintenance mode after ``maintenance_seconds``."""
    if not run.task.running or run.emptied:
        return
    left = len(blocking(state, host, run.evacuate_powered_off))
    moved = run.blocking_at_start - left
    set_progress(state, run.task, WAITING_PROGRESS * moved // max(run.blocking_at_start, 1))
    seconds = state.timing.maintenance_seconds
    if left:
        state.timeline.after(seconds / POLLS_PER_STEP, lambda: _look(state, host, run))
        return
    run.emptied = True
    state.timeline.after(seconds, lambda: _entered(state, host, run))


def _entered(state: SimState, host: SimHost, run: SimMaintenance) -> None:
    if not run.task.running:
        return
    state.entering.pop((host.vcenter, host.moref), None)
    host.in_maintenance = True
    state.event(
        host.vcenter, host.moref, "EnteredMaintenanceModeEvent", f"Host {host.name} has entered maintenance mode"
    )
    end_task(state, run.task)


def _time_out(state: SimState, host: SimHost, run: SimMaintenance) -> None:
    if run.task.running:
        state.entering.pop((host.vcenter, host.moref), None)
        end_task(state, run.task, fault.TIMED_OUT)
