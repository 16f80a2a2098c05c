"""The window's alert strip, in words: what failed and what is stale first, else what the Problems tab lists.

The strip and the Problems tab tell one story: the strip counts the problems the tab lists (built in the same
worker pass), not health's overall state. A move or evacuation running is activity: health marks its instance
WARNING while it runs, but it is no problem, so the strip names it as activity, in green, beside "No problems".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hybridview.core.health import Overall
from hybridview.core.problem_actions import ActionProblem
from hybridview.core.problem_counts import migrations_running, vmotions_running
from hybridview.core.problems import ProblemId
from hybridview.core.view import EstateView
from hybridview.views.problems_rows import ProblemTable, focus_text, problems_for

LEVELS = ("ok", "warning", "critical")  # the strip's levels, calmest first (its style sheet's "level")
MAX_NAMED = 4  # failed hosts named in the strip


@dataclass(frozen=True, slots=True)
class AlertLine:
    text: str
    level: str  # one of LEVELS


@dataclass(frozen=True, slots=True)
class ProblemSummary:
    """What the Problems tab lists, for the strip."""

    problems: int  # rows that are not notices
    notices: int  # operator-made states (maintenance, a service disabled with a reason)
    level: str  # the worst problem's, notices aside: critical | warning | ok
    migrations: int  # Nova live and cold migrations running
    vmotions: int  # vCenter relocations queued or running
    error: str | None = None  # the list could not be built: nothing is known


@dataclass(frozen=True, slots=True)
class EstateFacts:
    """The little the strip needs of a view, so it keeps no view alive."""

    failed: tuple[str, ...]  # "name (layer)" of each failed host
    stale: tuple[str, ...]  # endpoints without fresh data
    overall: Overall

    @classmethod
    def of(cls, view: EstateView) -> EstateFacts:
        failed = tuple(f"{f.name} ({f.layer})" for f in view.health.failed_hosts)
        stale = tuple(e.name for e in view.estate.endpoints if not e.ok)
        return cls(failed, stale, view.health.overall)


def summarize(table: ProblemTable, view: EstateView) -> ProblemSummary:
    notices = sum(1 for r in table.rows if r.notice)
    estate = view.estate
    return ProblemSummary(
        len(table.rows) - notices, notices, table.header_level, migrations_running(estate), vmotions_running(estate)
    )


def problems_and_summary(
    view: EstateView, now: datetime, first_seen: Mapping[ProblemId, datetime], actions: Sequence[ActionProblem]
) -> tuple[ProblemTable, dict[ProblemId, datetime], ProblemSummary]:
    """In a worker: the Problems table, the first-seen map for the next one, and the strip's summary of it."""
    table, seen = problems_for(view, now, first_seen, actions)
    return table, seen, summarize(table, view)


def alert_line(facts: EstateFacts | None, fault: str | None, summary: ProblemSummary | None) -> AlertLine:
    """``facts``: of the view shown (None: none yet); ``fault``: the app's own failure; ``summary``: None until the
    Problems tab has listed the problems once."""
    if facts is None:
        return AlertLine(f"✖ {fault}", "critical") if fault else AlertLine("Waiting for the first refresh…", "warning")
    parts, level = [], "ok"
    if fault:  # the app itself failed: the panes may be older than they look
        parts.append(f"✖ {fault}; the panes may be out of date")
    if facts.failed:
        more = "…" if len(facts.failed) > MAX_NAMED else ""
        parts.append(f"✖ {len(facts.failed)} failed host(s): {', '.join(facts.failed[:MAX_NAMED])}{more}")
    if fault or facts.failed:
        level = "critical"
    if facts.stale:
        parts.append(f"? stale data from: {', '.join(facts.stale)}")
        level = _worst(level, "warning")
    if not parts:
        text, listed = _listed(facts, summary)
        parts.append(text)
        level = _worst(level, listed)
    return AlertLine("    ".join(parts), level)


def _listed(facts: EstateFacts, summary: ProblemSummary | None) -> tuple[str, str]:
    """What the Problems tab lists, and its level."""
    if summary is None:
        return "Listing the problems…", "ok" if facts.overall is Overall.OK else "warning"
    if summary.error is not None:
        return f"⚠ The problems could not be listed ({summary.error}): see Problems", "warning"
    if summary.problems:
        glyph = "✖" if summary.level == "critical" else "⚠"
        notices = f" and {summary.notices} notice(s)" if summary.notices else ""
        text, level = f"{glyph} {summary.problems} problem(s){notices} need attention: see Problems", summary.level
    elif summary.notices:
        text, level = f"ℹ {summary.notices} notice(s) (operator-made states), no problem: see Problems", "ok"
    else:
        activity = _activity(summary)  # the Problems tab's own words when nothing runs either
        return ("✔ No problems" + activity if activity else focus_text(None).rstrip(".")), "ok"
    return text + _activity(summary), level


def _activity(summary: ProblemSummary) -> str:
    moves = [f"{n} {what}" for n, what in ((summary.migrations, "migration(s)"), (summary.vmotions, "vMotion(s)")) if n]
    return f"    ⟳ {' + '.join(moves)} running: see Activity" if moves else ""


def _worst(a: str, b: str) -> str:
    return max(a, b, key=LEVELS.index)
