"""pyVmomi, TLS and socket failures -> the one-line BackendError an operator reads."""

from __future__ import annotations

import http.client
import re
import ssl
from collections.abc import Callable
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

from pyVmomi import vim, vmodl

from hybridview.backends.base import BackendError
from hybridview.backends.vsphere.session import ThumbprintMismatch, close_connections_left_in

T = TypeVar("T")


def translate_errors(endpoint: str, call: Callable[[], T]) -> T:
    """Run a pyVmomi call; whatever it raises leaves as a BackendError, its connection closed."""
    try:
        return _translated(endpoint, call)
    except BackendError as error:
        if error.__cause__ is not None:
            close_connections_left_in(error.__cause__)
        raise


def _translated(endpoint: str, call: Callable[[], T]) -> T:
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
    except ExpatError as exc:
        raise BackendError(
            endpoint, f"malformed vCenter answer: not well-formed XML (cut off or corrupted): {exc}"
        ) from exc
    except http.client.HTTPException as exc:
        raise _http_error(endpoint, exc) from exc
    except TimeoutError as exc:
        raise BackendError(endpoint, "no answer from vCenter in time (timed out)") from exc
    except ConnectionRefusedError as exc:
        raise BackendError(endpoint, "cannot reach vCenter: connection refused") from exc
    except (ConnectionError, OSError) as exc:
        raise BackendError(endpoint, f"cannot reach vCenter: {exc.strerror or exc}") from exc
    except Exception as exc:  # pyVmomi raises bare Exceptions for HTTP and pinning failures
        raise BackendError(endpoint, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc


def fault_text(fault: Any) -> str:
    """A vSphere fault (a task's ``info.error`` too) as one line: its type, and its message if that says more."""
    kind = type(fault).__name__.rsplit(".", 1)[-1]
    message = " ".join(str(getattr(fault, "msg", None) or "").split())
    if not message or message.lstrip("*").rsplit(".", 1)[-1] == kind:  # govmomi's simulator: "*types.NotFound"
        return kind
    return f"{kind}: {message}"


# A call that went out and whose answer never arrived whole: a write may have taken effect.
LOST_ANSWERS: tuple[type[BaseException], ...] = (
    ExpatError,
    http.client.IncompleteRead,
    http.client.RemoteDisconnected,
    ConnectionResetError,
    TimeoutError,
)


def lost_answer(endpoint: str, what: str, exc: BaseException) -> BackendError:
    """A write's lost answer (one of ``LOST_ANSWERS``): outcome unknown, so a retry checks before sending."""
    if isinstance(exc, ExpatError | http.client.IncompleteRead):
        why = "its answer was cut off before its end"
    elif isinstance(exc, TimeoutError):
        why = "no answer from vCenter in time (timed out)"
    else:
        why = "vCenter closed the connection without an answer"
    return BackendError(endpoint, f"{what}: {why}", outcome_unknown=True)


_STATUS = re.compile(r"^(\d{3}) ?(.*)$")


def _http_error(endpoint: str, exc: http.client.HTTPException) -> BackendError:
    """pyVmomi raises ``HTTPException("503 Service Unavailable")`` for an answer that is not SOAP."""
    if isinstance(exc, http.client.IncompleteRead):
        return BackendError(endpoint, "malformed vCenter answer: cut off before its end")
    if (status := _STATUS.match(str(exc))) is None:
        return BackendError(endpoint, f"vCenter's HTTP answer was not understood: {exc or type(exc).__name__}")
    reason = status.group(2) or "error"
    return BackendError(
        endpoint,
        f"{reason}, not a SOAP answer (a proxy or load balancer in front of vCenter?)",
        status_code=int(status.group(1)),
    )
