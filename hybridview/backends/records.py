"""Per-record tolerance: a record that cannot be mapped is left out, and the operator is told.

Both backends map every collection record by record through ``RecordSkips.map``. A record
whose mapper raises is skipped, the rest of the collection is kept, and ``warnings()``
gives one line per collection and cause: how many records, which ones, and what the view
lacks because of them. Iterating the records stays outside the guard, so a failure of the
response itself (a page that is not the documented shape) still fails the whole read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")

NAMED_PER_WARNING = 3  # records named in one warning; the rest are counted
MAX_NAME_CHARS = 60


@dataclass(frozen=True, slots=True)
class Collection:
    """How the records of one collection are named in a warning."""

    kind: str  # the record type, e.g. "server" or "VirtualMachine"
    loss: str  # what a skipped record costs the view, e.g. "those instances are not shown"
    source: str | None = None  # where the records came from, e.g. "/servers/detail"


@dataclass(frozen=True, slots=True)
class Mapped(Generic[T]):
    """A mapping result with the warnings about the records it had to skip."""

    value: T
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class _Skips:
    count: int = 0
    names: list[str] = field(default_factory=list)


class RecordSkips:
    """Maps collections record by record and remembers what it skipped, per collection and cause.

    ``expected`` is the backend's typed per-record error; anything else a mapper raises is a
    bug in the mapper, skipped all the same but logged with its traceback.
    """

    def __init__(self, expected: type[Exception]) -> None:
        self._expected = expected
        self._skipped: dict[tuple[Collection, str], _Skips] = {}

    def map(
        self,
        collection: Collection,
        records: Iterable[R],
        mapper: Callable[[R], T],
        name: Callable[[R, int], str],
    ) -> list[T]:
        """``mapper`` over ``records``; ``name(record, position)`` names a skipped one (position from 1)."""
        mapped: list[T] = []
        for position, record in enumerate(records, start=1):
            try:
                mapped.append(mapper(record))
            except self._expected as exc:
                self._skip(collection, str(exc), _clean(name(record, position)))
            except Exception as exc:
                cause = f"unexpected {type(exc).__name__} (a bug in hybridview; see its log)"
                if (collection, cause) not in self._skipped:  # one traceback per read, not one per record
                    log.warning("mapping a %s record failed", collection.kind, exc_info=True)
                self._skip(collection, cause, _clean(name(record, position)))
        return mapped

    def warnings(self) -> tuple[str, ...]:
        return tuple(_warning(collection, cause, skips) for (collection, cause), skips in self._skipped.items())

    def _skip(self, collection: Collection, cause: str, name: str) -> None:
        skips = self._skipped.setdefault((collection, " ".join(cause.split())), _Skips())  # a warning is one line
        skips.count += 1
        if len(skips.names) < NAMED_PER_WARNING:
            skips.names.append(name)


def _warning(collection: Collection, cause: str, skips: _Skips) -> str:
    where = f" in {collection.source}" if collection.source else ""
    names = ", ".join(skips.names)
    if skips.count > len(skips.names):
        names += f" and {skips.count - len(skips.names)} more"
    return f"skipped {skips.count} malformed {collection.kind} record(s){where}: {cause} ({names}); {collection.loss}"


def _clean(text: str) -> str:
    """One short line: a record's name comes from the payload and may hold anything."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_NAME_CHARS else line[: MAX_NAME_CHARS - 1] + "…"


# --- one field of a record: None, or of its documented type ---------------------------------


def is_text(value: Any) -> bool:
    return isinstance(value, str)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python, not to an API


def is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def checked(value: Any, valid: Callable[[Any], bool], noun: str, field: str, error: type[Exception]) -> Any:
    """``value`` when it is None or ``valid``; else ``error`` naming the field, never its value."""
    if value is not None and not valid(value):
        raise error(f"{field} is not {noun}")
    return value
