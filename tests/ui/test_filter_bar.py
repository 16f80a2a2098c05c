"""Search and "Problems only" in the window on the demo, through the real staging path (workers, diffs, no reset)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hybridview.core.identity import Ref
from hybridview.sim import SimSize
from hybridview.ui.loop_probe import LoopLatencyProbe
from hybridview.ui.main_window import MainWindow
from hybridview.views.rows import Row
from tests.ui.harness import WindowHarness, window_on

pytestmark = pytest.mark.ui
MAX_STALL_MS = 1000.0  # gross blocking only, on a loaded runner; bench/filter_stall.py gives the figure


def _walk(rows: tuple[Row, ...]) -> Iterator[Row]:
    for row in rows:
        yield row
        yield from _walk(row.children)


def _keys(rows: tuple[Row, ...]) -> set[Ref]:
    return {row.key for row in _walk(rows)}


def _leaves(rows: tuple[Row, ...]) -> set[Ref]:
    return {row.key for row in _walk(rows) if not row.children}


def _watch_resets(w: MainWindow) -> list[str]:
    resets: list[str] = []
    for model in (w.nova_model, w.vcenter_model, w.instance_model):
        model.modelAboutToBeReset.connect(lambda: resets.append("reset"))
    return resets


def _search(h: WindowHarness, qtbot: QtBot, text: str) -> None:
    """Type ``text`` as an operator would (Ctrl+F, then keys), and wait for the panes to follow."""
    bar, before = h.window.filter_bar, len(h.presentations)
    qtbot.keyClick(h.window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is bar.search
    qtbot.keyClicks(bar.search, text)
    h.wait_presentations(before + 1)
    assert bar.row_filter.needle == text.lower()


def _shown_path(w: MainWindow, key: Ref) -> bool:
    """The row is in a tree, every row above it is expanded, and it is in view."""
    for view, model in ((w.nova_view, w.nova_model), (w.vcenter_view, w.vcenter_model)):
        index = model.index_of(key)
        if index.isValid():
            parent = index.parent()
            while parent.isValid():
                if not view.isExpanded(parent):
                    return False
                parent = parent.parent()
            return True
    return False


def test_search_by_instance_uuid_shows_its_node_and_the_instance(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        resets = _watch_resets(w)
        p = h.presentations[-1]
        all_nova, all_vcenter = _keys(w.nova_model.rows), _keys(w.vcenter_model.rows)
        corr = p.view.health.correlation
        inst = next(
            i for s in p.view.estate.openstack for i in s.instances if i.node_ref and i.ref in corr.vm_by_instance
        )
        assert inst.node_ref is not None
        vm = corr.vm_by_instance[inst.ref]
        _search(h, qtbot, inst.id.upper()[:18])
        assert _leaves(w.nova_model.rows) == {inst.node_ref}
        assert _leaves(w.vcenter_model.rows) == {vm.host_ref}
        assert _shown_path(w, inst.node_ref) and _shown_path(w, vm.host_ref)  # type: ignore[arg-type]
        assert "1 in Nova, 1 in vCenter" in w.filter_bar.summary.text()
        w.select_key(inst.node_ref)
        assert [r.key for r in w.instance_model.rows] == [inst.ref]  # the lower pane filters too
        for model in (w.nova_model, w.vcenter_model, w.instance_model):
            qtmodeltester.check(model)
        before = len(h.presentations)
        qtbot.keyClick(w.filter_bar.search, Qt.Key.Key_Escape)  # Esc clears at once
        h.wait_presentations(before + 1)
        assert w.filter_bar.search.text() == ""
        assert (_keys(w.nova_model.rows), _keys(w.vcenter_model.rows)) == (all_nova, all_vcenter)
        assert len(w.instance_model.rows) == len(p.instances_by_node[inst.node_ref])
        assert resets == []
        assert (w.nova_model.diffed_here, w.vcenter_model.diffed_here) == (0, 0)  # every tree diff in a worker


def test_search_by_project_keeps_the_nodes_and_hosts_running_it(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        resets = _watch_resets(w)
        p = h.presentations[-1]
        corr = p.view.health.correlation
        instances = [i for s in p.view.estate.openstack for i in s.instances if i.node_ref]
        projects = sorted({i.project_id for i in instances})
        project = next(pr for pr in projects if not any(pr in other and pr != other for other in projects))
        nodes = {i.node_ref for i in instances if i.project_id == project}
        hosts = {
            corr.vm_by_instance[i.ref].host_ref
            for i in instances
            if i.project_id == project and i.ref in corr.vm_by_instance
        }
        assert 0 < len(nodes) < len(p.nodes)
        _search(h, qtbot, project.upper())
        assert _leaves(w.nova_model.rows) == nodes
        assert _leaves(w.vcenter_model.rows) == hosts
        assert resets == []


def test_search_by_a_vmware_nodes_hypervisor_hostname(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    with window_on(qloop, "healthy") as h:
        w = h.window
        p = h.presentations[-1]
        node, cluster = next(iter(p.view.health.correlation.node_to_cluster.items()))
        assert node.hypervisor_hostname.startswith("domain-c")
        _search(h, qtbot, node.hypervisor_hostname)
        assert _leaves(w.nova_model.rows) == {node}
        assert cluster in _keys(w.vcenter_model.rows)  # the cluster it proxies, with its hosts
        assert _leaves(w.vcenter_model.rows) == set(p.cluster_hosts[cluster])
        assert _shown_path(w, node) and _shown_path(w, p.cluster_hosts[cluster][0])


def test_problems_only_on_kvm_host_down_shows_the_failed_node_and_its_ancestors(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    with window_on(qloop, "kvm-host-down") as h:
        w = h.window
        resets = _watch_resets(w)
        p = h.presentations[-1]
        failed = [f.ref for f in p.view.health.failed_hosts]
        all_nova, all_vcenter = _keys(w.nova_model.rows), _keys(w.vcenter_model.rows)
        before = len(h.presentations)
        w.filter_bar.focus_search()  # the Estate tab (the Problems tab opens first)
        qtbot.mouseClick(w.filter_bar.problems, Qt.MouseButton.LeftButton)
        h.wait_presentations(before + 1)
        assert w.filter_bar.problems.isChecked()
        assert _leaves(w.nova_model.rows) == set(failed)
        assert len(_keys(w.nova_model.rows)) == 2  # the cloud and its failed node
        assert w.vcenter_model.rows == ()
        assert _shown_path(w, failed[0])
        h.refresh()  # a refresh keeps the filter
        assert _leaves(w.nova_model.rows) == set(failed)
        before = len(h.presentations)
        w.filter_bar.problems.setChecked(False)
        h.wait_presentations(before + 1)
        assert (_keys(w.nova_model.rows), _keys(w.vcenter_model.rows)) == (all_nova, all_vcenter)
        assert resets == []


@pytest.mark.slow
def test_filtering_the_large_estate_never_blocks_the_gui_thread(qloop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    harness = WindowHarness.on_demo(qloop, "kvm-host-down", SimSize.large())
    harness.window.resize(1600, 1000)
    harness.window.show()
    probe = LoopLatencyProbe(interval_ms=10)
    try:
        harness.controller.start()
        harness.wait_presentations(1, timeout=120)
        harness.wait_until(lambda: harness.presentations[-1].view.estate.every_endpoint_answered, timeout=120)
        w, p = harness.window, harness.presentations[-1]
        resets = _watch_resets(w)
        inst = next(i for s in p.view.estate.openstack for i in s.instances if i.node_ref)
        probe.start()
        _search(harness, qtbot, inst.id[:13])
        assert _leaves(w.nova_model.rows) == {inst.node_ref}
        before = len(harness.presentations)
        w.filter_bar.problems.setChecked(True)
        harness.wait_presentations(before + 1)
        before = len(harness.presentations)
        qtbot.keyClick(w.filter_bar.search, Qt.Key.Key_Escape)
        w.filter_bar.problems.setChecked(False)
        harness.wait_until(lambda: len(_leaves(w.nova_model.rows)) == len(p.nodes), timeout=60)
        probe.stop()
    finally:
        harness.close()
    assert len(p.view.estate.openstack[0].instances) + len(p.view.estate.openstack[1].instances) >= 30_000
    assert resets == []
    print(f"\nfiltering the large estate: worst GUI stall {probe.worst_ms:.1f} ms over {len(probe.lateness)} ticks")
    assert probe.worst_ms < MAX_STALL_MS
