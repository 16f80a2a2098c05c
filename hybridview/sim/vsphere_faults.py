"""The demo vCenter's fault messages, worded as a real vCenter's localized messages are."""

from __future__ import annotations

from hybridview.sim.layout import SimDatastore, SimHost, SimVM

INVALID_STATE = "The operation is not allowed in the current state."  # vim.fault.InvalidState
NOT_SUPPORTED = "The operation is not supported on the object."  # vmodl.fault.NotSupported
CANCELED = "The task was canceled by a user."  # vmodl.fault.RequestCanceled
TIMED_OUT = "Operation timed out."  # vim.fault.Timeout
BUSY = "Another task is already in progress."  # vim.fault.TaskInProgress


def gone(kind: str, moref: str) -> str:
    """vmodl.fault.ManagedObjectNotFound."""
    return f"The object 'vim.{kind}:{moref}' has already been deleted or has not been completely created"


def not_connected(host: SimHost) -> str:
    """vim.fault.HostNotConnected / InvalidHostConnectionState."""
    return f"The operation is not allowed in the current connection state of the host ({host.name})."


def in_maintenance(host: SimHost) -> str:
    return f"The operation is not allowed in the current state: {host.name} is in maintenance mode."


def entering_maintenance(host: SimHost) -> str:
    return f"The operation is not allowed in the current state: {host.name} is entering maintenance mode."


def not_in_cluster(target: SimHost, vm: SimVM, source: SimHost) -> str:
    return f"{target.name} is not in the cluster of {vm.name}'s host {source.name}"


def not_mounted(path: str, host: SimHost) -> str:
    return f"Invalid datastore path '{path}': {host.name} does not mount its datastore."


def inaccessible(datastore: SimDatastore) -> str:
    """vim.fault.InaccessibleDatastore."""
    return f"The datastore '{datastore.name}' is not accessible."


def no_space(datastore: SimDatastore) -> str:
    """vim.fault.InsufficientDisk / FileFault on a full datastore."""
    return f"Insufficient disk space on datastore '{datastore.name}'."
