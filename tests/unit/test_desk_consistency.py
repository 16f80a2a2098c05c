"""The alert strip's words agree with the Problems list: a running move is activity, a problem is counted."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from hybridview.core.health import Overall
from hybridview.core.model import EndpointKind, Estate, Migration
from hybridview.core.problem_counts import problem_counts
from hybridview.core.view import EstateView
from hybridview.sim import SCENARIOS, SimEstate
from hybridview.views.alert_line import (
    AlertLine,
    EstateFacts,
    ProblemSummary,
    alert_line,
    problems_and_summary,
)
from tests.unit.factories import T0, cloud, esxi, instance, kvm_node, ok, stale, vcenter, view_of
from tests.unit.test_sim import ManualClock, full_estate

NOW = T0 + timedelta(minutes=30)


def _strip(view: EstateView, fault: str | None = None) -> tuple[AlertLine, ProblemSummary, int]:
    """The strip's line for ``view`` and the number of rows the Problems tab lists for it."""
    table, _seen, summary = problems_and_summary(view, NOW, {}, ())
    return alert_line(EstateFacts.of(view), fault, summary), summary, len(table.rows)


def test_a_live_migration_in_progress_is_activity_in_the_strip_as_in_the_problems_list() -> None:
    sim = SimEstate("live-migration-in-progress", clock=ManualClock())
    view = view_of(full_estate(sim))
    assert view.health.overall is Overall.WARNING, "health marks the migrating instance WARNING"
    line, summary, rows = _strip(view)
    assert rows == 0 and (summary.problems, summary.notices) == (0, 0)
    assert line.level == "ok" and line.text.startswith("✔ No problems")
    assert "need attention" not in line.text
    counts = problem_counts(view)
    assert (counts.migrations_running, counts.vmotions_running) == (1, 1)
    assert "1 migration(s) + 1 vMotion(s) running: see Activity" in line.text, "the same moves as the header"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_in_every_demo_scenario_the_strip_is_calm_only_when_the_problems_list_is(scenario: str) -> None:
    view = view_of(full_estate(SimEstate(scenario, clock=ManualClock())))
    line, summary, rows = _strip(view)
    assert rows == summary.problems + summary.notices
    assert (line.level == "ok") == (summary.problems == 0), (scenario, line, summary)
    if view.health.failed_hosts:
        assert line.level == "critical" and "failed host(s)" in line.text


def test_an_instance_in_error_is_counted_as_the_problems_tab_counts_it() -> None:
    node = kvm_node("kvm1")
    snap = cloud("c1", (node,), (instance("i1", node, status="ERROR"), instance("i2", node)))
    line, summary, rows = _strip(view_of(Estate(openstack=(snap,), endpoints=(ok("c1", EndpointKind.NOVA),))))
    assert rows == 1 and summary.level == "critical"
    assert line == AlertLine("✖ 1 problem(s) need attention: see Problems", "critical")


def test_an_operator_made_state_is_a_notice_not_a_problem_and_the_counts_add_up() -> None:
    snap = vcenter(hosts=(esxi("host-1", maintenance=True), esxi("host-2")))
    view = view_of(Estate(vcenters=(snap,), endpoints=(ok("vc1", EndpointKind.VCENTER),)))
    assert view.health.overall is Overall.WARNING
    line, summary, rows = _strip(view)
    assert (rows, summary.problems, summary.notices) == (1, 0, 1)
    assert line.level == "ok" and line.text.startswith("ℹ 1 notice(s)") and "no problem" in line.text


def test_a_move_running_beside_a_problem_is_named_after_it() -> None:
    node, other = kvm_node("kvm1"), kvm_node("kvm2")
    live = Migration("c1", "m1", "i2", "live-migration", "running", "kvm2", "kvm1", None, None, None, None)
    snap = dataclasses.replace(cloud("c1", (node, other), (instance("i1", node, status="ERROR"),)), migrations=(live,))
    line, _summary, _rows = _strip(view_of(Estate(openstack=(snap,), endpoints=(ok("c1", EndpointKind.NOVA),))))
    assert line.text == "✖ 1 problem(s) need attention: see Problems    ⟳ 1 migration(s) running: see Activity"


def test_stale_data_and_the_apps_fault_come_first_and_are_never_calm() -> None:
    node = kvm_node("kvm1")
    view = view_of(Estate(openstack=(cloud("c1", (node,)),), endpoints=(stale("c1", EndpointKind.NOVA),)))
    line, _summary, _rows = _strip(view)
    assert line == AlertLine("? stale data from: c1", "warning")
    faulted, _summary, _rows = _strip(view, fault="could not display the latest data: KeyError")
    assert faulted.level == "critical" and faulted.text.startswith("✖ could not display the latest data")
    assert "the panes may be out of date" in faulted.text and "stale data from: c1" in faulted.text


def test_before_the_list_is_built_or_when_it_failed_the_strip_claims_nothing() -> None:
    snap = vcenter(hosts=(esxi("host-1", maintenance=True),))
    facts = EstateFacts.of(view_of(Estate(vcenters=(snap,), endpoints=(ok("vc1", EndpointKind.VCENTER),))))
    assert alert_line(facts, None, None) == AlertLine("Listing the problems…", "warning")
    failed = alert_line(facts, None, ProblemSummary(0, 0, "warning", 0, 0, error="MemoryError"))
    assert failed.level == "warning" and "could not be listed (MemoryError)" in failed.text
    assert "No problems" not in failed.text
    assert alert_line(None, None, None).text == "Waiting for the first refresh…"
    assert alert_line(None, "boom", None) == AlertLine("✖ boom", "critical")


def test_many_failed_hosts_are_named_up_to_four() -> None:
    facts = EstateFacts(tuple(f"kvm{n} (nova)" for n in range(6)), (), Overall.CRITICAL)
    line = alert_line(facts, None, None)
    assert line == AlertLine("✖ 6 failed host(s): kvm0 (nova), kvm1 (nova), kvm2 (nova), kvm3 (nova)…", "critical")
