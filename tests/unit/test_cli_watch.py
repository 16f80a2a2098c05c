"""``hybridview watch`` on the demo estate, and what headless faces do with nothing to read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_cli_status import REPO, run_cli, status
from tests.watch_process import WatchProcess


def test_watch_reports_the_failed_esxi_host_then_stops_on_sigterm() -> None:
    watch = WatchProcess("--scenario", "esxi-host-down", "--interval", "2")
    try:
        initial = watch.initial_report()
        failed = [ln for ln in initial if ln["kind"] == "host" and ln["to"] == "CRITICAL"]
        assert len(failed) == 2 and all(f["from"] is None for f in failed)  # an HA host and an HA-off host
        assert all(f["ref"].startswith("host:vc-") for f in failed)
        assert initial[-1] == {**initial[-1], "kind": "overall", "ref": "overall", "from": None, "to": "CRITICAL"}
        assert not [ln for ln in initial if ln["to"] == "OK" and ln["kind"] != "overall"], "OK items are not listed"
        code, err = watch.stop()
    finally:
        watch.kill()
    assert code == 0, err
    assert "Traceback" not in err


def test_watch_stops_on_sigint_with_exit_zero() -> None:
    watch = WatchProcess("--demo")
    try:
        initial = watch.initial_report()
        assert initial == [{**initial[0], "kind": "overall", "from": None, "to": "OK"}]
        code, err = watch.stop(signal.SIGINT)
    finally:
        watch.kill()
    assert code == 0, err


def test_watch_prints_readable_lines_without_json() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "hybridview.cli", "watch", "--scenario", "kvm-host-down"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ) as proc:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or " overall " not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"watch ended early after {lines}"
            lines.append(line)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    node = next(line for line in lines if " node " in line)
    assert "new -> CRITICAL" in node and "nova-compute" in node
    assert "overall health (overall): new -> CRITICAL" in lines[-1]


@pytest.mark.parametrize("command", ["status", "watch"])
def test_headless_faces_refuse_a_config_with_no_endpoints(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\nrefresh_seconds: 30\n")
    proc = run_cli(command, "--config", str(empty))
    assert proc.returncode == 3
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert f"{empty} names no clouds and no vCenters" in line
    assert "--demo" in line


def test_status_with_no_config_file_says_where_it_looked(tmp_path: Path) -> None:
    proc = status(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert proc.returncode == 3
    assert str(tmp_path / "hybridview" / "config.yaml") in proc.stderr
    assert "HYBRIDVIEW_CONFIG" in proc.stderr
    assert "HYBRIDVIEW" not in proc.stdout


def test_watch_bad_config_is_one_line_and_exit_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrefresh_seconds: fast\n")
    proc = run_cli("watch", "--json", "--config", str(bad))
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "refresh_seconds" in proc.stderr
    assert proc.stdout == ""


def test_a_reader_that_goes_away_stops_the_printer_quietly(tmp_path: Path) -> None:
    from hybridview.cli.watch import LinePrinter, OutputClosed
    from hybridview.service.transitions import Kind, ItemState

    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as out:
        printer = LinePrinter(out, as_json=True)
        with pytest.raises(OutputClosed):
            printer.report({"overall": ItemState(Kind.OVERALL, "overall", "overall health", "OK", "fine")})
