"""`hybridview options`, `vmotion` and `drain --vcenter` on VMware's simulator, through the action layer.

One simulator for the module (two clusters of three hosts); in order: the vSphere options of a VM,
a vMotion and a Storage vMotion that `status` then shows, a drain of a host in a manual-DRS cluster
(hybridview's own placement, then maintenance mode) and its undo, and a VM on a host that stopped
answering, which cannot be vMotioned (refused, nothing sent).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridview.actions.audit import AuditLog
from hybridview.actions.claims import Claims
from hybridview.actions.operation import ItemState, Operation
from hybridview.actions.runner import ActionRunner
from hybridview.backends.vsphere import VSphereBackend
from hybridview.core.actions import Plan
from hybridview.core.health import evaluate
from hybridview.core.identity import VmRef
from hybridview.core.model import EndpointKind, EndpointStatus, Estate
from hybridview.core.moves import plan_relocation
from hybridview.core.view import EstateView
from tests.peers.vcsim.fixture import VcsimPeer
from tests.vcenters import VCSIM_PASSWORD, VCSIM_USER, vcsim_backend

pytestmark = pytest.mark.vcsim_peer
PASSWORD_ENV = "HV_TEST_VCSIM_PASSWORD"


@dataclass
class Site:
    vcsim: VcsimPeer
    config: Path
    audit: Path
    cluster: dict[str, Any]

    def hosts(self) -> dict[str, dict[str, Any]]:
        return {h["name"]: h for h in self.vcsim.list_hosts() if h["cluster_moref"] == self.cluster["moref"]}

    def vm(self, name: str) -> dict[str, Any]:
        return next(v for v in self.vcsim.list_vms() if v["name"] == name)

    def audit_count(self) -> int:
        return len(self.audit.read_text().splitlines()) if self.audit.exists() else 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("vmotion")
    with VcsimPeer(clusters=2, hosts=3, vms=12, datastores=2, username=VCSIM_USER, password=VCSIM_PASSWORD) as vcsim:
        vcenter = {
            "name": "vcsim",
            "host": vcsim.host,
            "port": vcsim.port,
            "user": VCSIM_USER,
            "password_env": PASSWORD_ENV,
            "verify": vcsim.ca_file,
        }
        config = tmp / "hybridview.yaml"
        config.write_text(yaml.safe_dump({"vcenters": [vcenter]}))
        yield Site(vcsim, config, tmp / "audit.jsonl", vcsim.list_clusters()[0])


def run(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: VCSIM_PASSWORD, "HYBRIDVIEW_AUDIT_LOG": str(site.audit)}
    env.pop("HYBRIDVIEW_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "hybridview.cli", *args, "--config", str(site.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def options(site: Site, vm: str) -> dict[str, dict[str, Any]]:
    done = run(site, "options", vm, "--json")
    assert done.returncode == 0, done.stderr
    return {o["kind"]: o for o in json.loads(done.stdout)["options"]}


def status_vm_counts(site: Site) -> dict[str, int]:
    doc = json.loads(run(site, "status", "--json").stdout)
    return {h["name"]: h["vms"] for c in doc["vcenter_clusters"] for h in c["hosts"]}


def a_powered_on_vm(site: Site, host: dict[str, Any]) -> dict[str, Any]:
    return next(v for v in site.vcsim.list_vms() if v["host"] == host["moref"] and v["power_state"] == "poweredOn")


def test_a_vm_can_vmotion_to_the_other_hosts_of_its_cluster_only(site: Site) -> None:
    hosts = site.hosts()
    source = next(h for h in hosts.values() if h["vms"])
    vm = a_powered_on_vm(site, source)
    vmotion = options(site, vm["name"])["vmotion"]
    assert vmotion["available"] and vmotion["actor"] == "vsphere"
    assert {t["name"] for t in vmotion["targets"] if t["usable"]} == set(hosts) - {source["name"]}


def test_a_vmotion_moves_the_vm_and_status_shows_it(site: Site) -> None:
    hosts = site.hosts()
    source = next(h for h in hosts.values() if h["vms"])
    target = next(h for h in hosts.values() if h["name"] != source["name"])
    vm = a_powered_on_vm(site, source)
    before = status_vm_counts(site)
    done = run(site, "vmotion", vm["name"], "--host", target["name"], "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    item = json.loads(done.stdout)["items"][0]
    assert item["verb"] == "relocate-vm" and item["state"] == "done" and item["request_id"].startswith("task-")
    assert site.vm(vm["name"])["host"] == target["moref"]
    after = status_vm_counts(site)
    assert after[source["name"]] == before[source["name"]] - 1
    assert after[target["name"]] == before[target["name"]] + 1


def test_a_storage_vmotion_moves_the_vms_files_to_the_datastore(site: Site) -> None:
    vm = a_powered_on_vm(site, next(h for h in site.hosts().values() if h["vms"]))
    storage = options(site, vm["name"])["storage-vmotion"]
    assert storage["available"], storage["reason"]
    target = next(t for t in storage["targets"] if t["usable"])
    done = run(site, "vmotion", vm["name"], "--datastore", target["name"], "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert site.vm(vm["name"])["datastores"] == [target["ident"]]


def test_a_retry_after_a_lost_answer_follows_the_running_relocation_and_sends_nothing(site: Site) -> None:
    """The runner's retry of a relocation whose answer was lost (its audit entry stays "sent") while its task
    still runs: it follows that task to its end and sends nothing (a second would be vCenter's TaskInProgress).
    A fresh plan is refused instead, naming the running task (see the drain test's busy VMs)."""
    hosts = site.hosts()
    source = next(h for h in hosts.values() if h["vms"])
    target = next(h for h in hosts.values() if h["name"] != source["name"])
    vm = a_powered_on_vm(site, source)
    before = len([e for e in AuditLog(site.audit).entries() if e.target == vm["moref"]])
    backend = vcsim_backend(site.vcsim)
    try:
        view = view_of(backend)
        plan = plan_relocation(view, VmRef("vcsim", vm["moref"]), host_moref=target["moref"], datastore_moref=None)
        site.vcsim.set_relocate_seconds(3)
        receipt = backend.relocate_vm(vm["moref"], host_moref=target["moref"], datastore_moref=None)
        audit = AuditLog(site.audit)
        audit.sent("vcsim", "relocate-vm", vm["moref"], dict(plan.steps[0].parameters))
        runner = ActionRunner({"vcsim": backend}, audit, claims=Claims(site.audit.parent / "claims"))
        operation = asyncio.run(_run_and_close(runner, plan))
    finally:
        site.vcsim.set_relocate_seconds(0)
        backend.close()
    item = operation.items[0]
    assert item.state is ItemState.DONE, item
    assert item.detail is not None and item.detail["task_key"] == receipt.request_id, item  # followed that task
    assert site.vm(vm["name"])["host"] == target["moref"]
    entries = [e for e in audit.entries() if e.target == vm["moref"]][before:]
    assert [(e.outcome.value, (e.result or "")[:22]) for e in entries] == [("done", "found by a later check")]


async def _run_and_close(runner: ActionRunner, plan: Plan) -> Operation:
    try:
        return await runner.run(plan)
    finally:
        await runner.aclose()


def view_of(backend: VSphereBackend) -> EstateView:
    snapshot = backend.fetch()
    status = EndpointStatus("vcsim", EndpointKind.VCENTER, True, last_refresh=snapshot.taken_at)
    estate = Estate(vcenters=(snapshot,), endpoints=(status,))
    return EstateView(estate, evaluate(estate))


def test_a_drain_in_a_manual_drs_cluster_moves_the_vms_by_our_placement_then_enters_maintenance(site: Site) -> None:
    site.vcsim.set_cluster_drs(site.cluster["name"], "manual")
    host = max(site.hosts().values(), key=lambda h: h["vms"])
    preview = run(site, "drain", "--vcenter", "vcsim", "--host", host["name"], "--dry-run", "--json")
    steps = json.loads(preview.stdout)["plan"]["steps"]
    moves = [s for s in steps if s["verb"] == "relocate-vm"]
    assert moves and all(s["parameters"]["host_name"] in site.hosts() for s in moves)
    assert steps[-1]["verb"] == "enter-maintenance"
    done = run(site, "drain", "--vcenter", "vcsim", "--host", host["name"], "--move-powered-off", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    drained = site.hosts()[host["name"]]
    assert drained["in_maintenance"] and drained["vms"] == 0
    undo = run(site, "drain", "--vcenter", "vcsim", "--host", host["name"], "--undo", "--json")
    assert undo.returncode == 0, undo.stderr + undo.stdout
    assert not site.hosts()[host["name"]]["in_maintenance"]


def test_a_vm_on_a_host_that_does_not_answer_cannot_be_vmotioned(site: Site) -> None:
    hosts = site.hosts()
    dead = next(h for h in hosts.values() if h["vms"])
    vm = a_powered_on_vm(site, dead)
    site.vcsim.set_host_state(dead["name"], "notResponding")
    try:
        vmotion = options(site, vm["name"])["vmotion"]
        assert not vmotion["available"] and "notResponding" in vmotion["reason"], vmotion
        before = site.audit_count()
        other = next(h for h in hosts if h != dead["name"])
        refused = run(site, "vmotion", vm["name"], "--host", other)
        assert refused.returncode == 2 and "notResponding" in refused.stderr, refused.stderr
        assert site.audit_count() == before
    finally:
        site.vcsim.set_host_state(dead["name"], "connected")
