"""The one error path for background work: named tasks whose failures are logged and shown.

Every task the service or a face starts goes through ``spawn``. A task that raises is
logged with its name and traceback, then handed to its ``on_error`` so the failure
becomes state the operator sees (an endpoint's error, the overall health). Uncaught
exceptions elsewhere (the loop's handler, threads, the main thread) go to logging too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
ErrorSink = Callable[[BaseException], None]


def describe_exception(exc: BaseException) -> str:
    """One line for an operator: the type and the first line of the message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def spawn(
    coro: Coroutine[Any, Any, T],
    *,
    name: str,
    on_error: ErrorSink | None = None,
) -> asyncio.Task[T]:
    """Start ``coro`` as a named task; its exception is logged and reported, never lost."""
    task = asyncio.ensure_future(coro)
    task.set_name(name)
    task.add_done_callback(lambda done: _report(done, on_error))
    return task


def _report(task: asyncio.Task[Any], on_error: ErrorSink | None) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    log.error("background task %s failed: %s", task.get_name(), describe_exception(exc), exc_info=exc)
    if on_error is None:
        return
    try:
        on_error(exc)
    except Exception:
        log.exception("reporting the failure of %s failed too", task.get_name())


def _loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    where = context.get("task") or context.get("future") or context.get("handle")
    log.error("event loop: %s (%s)", context.get("message", "unhandled error"), where, exc_info=exc)


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread else "?"
    log.error("thread %s failed", name, exc_info=args.exc_value)


def _main_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    log.critical("uncaught %s", describe_exception(value), exc_info=(kind, value, tb))


def install_exception_hooks(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Route the loop's, threads' and the main thread's uncaught exceptions to logging."""
    threading.excepthook = _thread_exception
    sys.excepthook = _main_exception
    if loop is not None:
        loop.set_exception_handler(_loop_exception)
