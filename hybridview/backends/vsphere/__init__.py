"""The vSphere backend: the only package that imports pyVmomi.

``backend`` is the facade; ``session`` holds the password, TLS (CA or pinned
thumbprint), login and renewal, ``reads`` the paged RetrievePropertiesEx reads, alarms
and events, ``feed`` the WaitForUpdatesEx change feed, ``convert`` pyVmomi values ->
plain values, ``inventory`` plain state -> core snapshot (no pyVmomi), ``actions`` the
writes (restart a dead host's VM from its .vmx, find a VM), ``moves`` the writes that start
a task (vMotion, Storage vMotion, maintenance mode) and the tasks' progress and cancel,
``errors`` failures -> BackendError.
"""

from hybridview.backends.vsphere.backend import VSphereBackend
from hybridview.backends.vsphere.session import (
    PinnedContext,
    ThumbprintMismatch,
    password_for,
    sha256_thumbprint,
    ssl_context_for,
)

__all__ = [
    "PinnedContext",
    "ThumbprintMismatch",
    "VSphereBackend",
    "password_for",
    "sha256_thumbprint",
    "ssl_context_for",
]
