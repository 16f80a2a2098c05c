"""pyVmomi, TLS and socket failures -> the one-line BackendError an operator reads."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TypeVar

from pyVmomi import vim, vmodl

from hybridview.backends.base import BackendError
from hybridview.backends.vsphere.session import ThumbprintMismatch

T = TypeVar("T")


def translate_errors(endpoint: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except BackendError:
        raise
    except ThumbprintMismatch as exc:
        raise BackendError(endpoint, f"{exc.args[0]}: refusing to log in") from exc
    except ssl.SSLCertVerificationError as exc:
        raise BackendError(endpoint, f"TLS certificate not trusted: {exc.verify_message}") from exc
    except ssl.SSLError as exc:
        raise BackendError(endpoint, f"TLS failure: {exc.reason or exc}") from exc
    except vim.fault.SSLVerifyFault as exc:
        raise BackendError(endpoint, "server certificate does not match the pinned thumbprint") from exc
    except vmodl.MethodFault as exc:
        raise BackendError(endpoint, f"{type(exc).__name__.rsplit('.', 1)[-1]}: {exc.msg}") from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise BackendError(endpoint, f"cannot reach vCenter: {exc}") from exc
    except Exception as exc:  # pyVmomi raises bare Exceptions for HTTP and pinning failures
        raise BackendError(endpoint, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
