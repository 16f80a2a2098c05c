"""The Problems tab on the demo: first on screen, the failure first with its advice; a click selects the item."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.core.identity import HostRef, NodeRef
from hybridview.core.problems import ProblemKind
from hybridview.ui.tree_model import KEY_ROLE
from hybridview.views.problems_rows import PROBLEM_COLUMNS, SINCE_COLUMN
from tests.ui.harness import WindowHarness, fast_demo, window_over

pytestmark = pytest.mark.ui
ADVICE = PROBLEM_COLUMNS.index("Advice")


def _built(h: WindowHarness) -> None:
    problems = h.window.problems
    h.wait_until(lambda: problems.table is not None and problems.builds >= len(h.presentations))


def _click(qtbot: QtBot, h: WindowHarness, row: int) -> None:
    view = h.window.problems.view
    rect = view.visualRect(h.window.problems.model.index(row, 3))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.mark.parametrize(
    ("scenario", "layer", "advice"),
    [
        ("kvm-host-down", "Nova", "Fence the host"),
        ("esxi-host-down", "vSphere", "vSphere HA"),
        ("vmware-proxy-down", "Nova", "Do not evacuate"),
    ],
)
def test_the_failure_is_listed_first_with_its_advice_and_a_click_selects_it_in_the_trees(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, qtmodeltester: ModelTester, scenario: str, layer: str, advice: str
) -> None:
    with window_over(qloop, fast_demo(scenario)) as h:
        w = h.window
        _built(h)
        assert w.tabs.currentWidget() is w.problems and w.tabs.indexOf(w.problems) == 0
        table = w.problems.table
        assert table is not None and table.rows
        first = table.rows[0]
        failed = {f.ref for f in h.presentations[-1].view.health.failed_hosts}
        assert first.item in failed and first.cells[0] == "✖ CRITICAL"
        model = w.problems.model
        assert model.index(0, PROBLEM_COLUMNS.index("Layer")).data() == layer
        assert advice in model.index(0, ADVICE).data()
        assert advice in w.problems.focus.text(), "the worst problem's advice is spelled out above the table"
        assert w.tabs.tabText(0) == f"Problems ({len(table.rows)})"
        qtmodeltester.check(model)
        for row, problem in enumerate(table.rows):
            w.select_key(h.presentations[-1].view.estate.endpoints[0].ref)  # anything else first
            _click(qtbot, h, row)
            tree = w.nova_view if isinstance(problem.item, NodeRef) else w.vcenter_view
            assert tree.currentIndex().data(KEY_ROLE) == problem.item, problem
            assert w.tabs.currentWidget() is w.problems, "a click selects; it does not leave the list"
        qtbot.keyClick(w.problems.view, Qt.Key.Key_Return)  # activate: go to the item
        assert w.tabs.currentWidget() is not w.problems and w.tabs.currentWidget().isAncestorOf(w.nova_view)


def test_esxi_host_down_puts_the_host_ha_will_not_help_first_with_its_vms_left_behind_next(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        _built(h)
        table = h.window.problems.table
        assert table is not None
        kinds = [(r.key[0], r.item) for r in table.rows]
        first_host = kinds[0][1]
        assert isinstance(first_host, HostRef)
        assert kinds[:2] == [(ProblemKind.ESXI_HOST, first_host), (ProblemKind.LEFT_BEHIND, first_host)]
        assert "HA is OFF" in table.focus
        assert "2 DOWN" in h.window.problems.counts.text()


def test_the_since_column_ticks_without_building_the_rows_again(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("kvm-host-down")) as h:
        problems = h.window.problems
        _built(h)
        before = problems.model.index(0, SINCE_COLUMN).data()
        builds, clock = problems.builds, problems.clock
        problems.clock = lambda: clock() + timedelta(hours=2)
        problems.tick()
        after = problems.model.index(0, SINCE_COLUMN).data()
        assert after != before and after.startswith("2 h"), (before, after)
        assert problems.builds == builds
        assert after in problems.focus.text()


def test_a_vmwareapi_node_shows_as_its_cluster_in_the_nova_tree(qloop: asyncio.AbstractEventLoop) -> None:
    with window_over(qloop, fast_demo("vmware-proxy-down")) as h:
        p = h.presentations[-1]
        node = next(n for n in p.nodes.values() if n.is_vmware and p.view.health.correlation.cluster_for(n))
        cluster = p.clusters[p.view.health.correlation.cluster_for(node)]  # type: ignore[index]
        index = h.window.nova_model.index_of(node.ref)
        assert index.data() == f"{cluster.name} ({cluster.vcenter})"
        assert node.hypervisor_hostname in index.data(Qt.ItemDataRole.ToolTipRole)
        h.window.select_key(node.ref)
        assert node.hypervisor_hostname in h.window.details.toPlainText()


def test_esxi_host_down_warns_of_the_cluster_left_without_headroom_and_its_details_give_the_numbers(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    with window_over(qloop, fast_demo("esxi-host-down")) as h:
        w = h.window
        _built(h)
        table = w.problems.table
        assert table is not None
        (row,) = [r for r in table.rows if r.key[0] is ProblemKind.HEADROOM]
        cluster = next(c for c in h.presentations[-1].clusters.values() if c.name == "vc-east-cl01")
        assert row.item == cluster.ref and row.cells[0] == "⚠ WARNING"
        assert row.cells[3] == "headroom of cluster vc-east-cl01"
        assert "would not fit" in row.cells[4] and "GiB short" in row.cells[4]
        assert "reserves capacity for 1 host failure" in row.cells[4]
        assert row.cells[7].startswith("Add capacity, or move load out")
        assert "1 group(s) without N+1 headroom" in w.problems.counts.text()
        assert "2 DOWN" in w.problems.counts.text()
        at = table.rows.index(row)
        assert all(r.cells[0] == "✖ CRITICAL" for r in table.rows[:at]), "after every failure"
        _click(qtbot, h, at)
        assert w.vcenter_view.currentIndex().data(KEY_ROLE) == cluster.ref
        details = w.details.toPlainText()
        assert "N+1 headroom" in details and "NOT ENOUGH" in details
        assert row.cells[4].partition(" HA admission")[0] in details and "reserves capacity" in details
        from hybridview.core.identity import ZoneRef  # a Nova zone's problem has no tree row: selecting it is a no-op

        w.select_key(ZoneRef("demo-cloud", "az1"))
        assert w.vcenter_view.currentIndex().data(KEY_ROLE) == cluster.ref
