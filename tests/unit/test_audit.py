"""The audit log: on disk before a call is sent, completed after, never a secret, never lost to a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridview.cli.main import main
from hybridview.actions.audit import REDACTED, AuditLog, Outcome, without_secrets

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_a_call_is_on_disk_before_it_is_sent_and_completed_after(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
    entry = log.sent("prod", "evacuate", "instance:prod/7f3c", {"host": None, "onSharedStorage": True})
    (pending,) = AuditLog(log.path).entries()  # what another process (or a restart) reads now
    assert pending.outcome is Outcome.SENT and pending.outcome.value == "sent, outcome unknown"
    assert (pending.endpoint, pending.verb, pending.target) == ("prod", "evacuate", "instance:prod/7f3c")
    log.finished(entry, ok=True, result="ACTIVE on cmp-2", request_id="req-123")
    (done,) = AuditLog(log.path).entries()
    assert done.outcome is Outcome.DONE
    assert (done.request_id, done.result, done.error) == ("req-123", "ACTIVE on cmp-2", None)
    assert done.finished_at is not None and done.finished_at > done.sent_at
    assert done.user and done.parameters == {"host": None, "onSharedStorage": True}


def test_every_event_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    log = AuditLog(tmp_path / "audit.jsonl")
    log.finished(log.sent("vc", "power-on", "vm:vc/vm-1", {}), ok=False, error="InvalidState")
    assert len(synced) == 2


def test_secrets_are_never_recorded(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.sent("prod", "evacuate", "instance:prod/1", {"adminPass": "S3cret", "nested": {"api_key": "k"}, "host": "h"})
    text = log.path.read_text()
    assert "S3cret" not in text and '"k"' not in text
    assert log.entries()[0].parameters == {"adminPass": REDACTED, "nested": {"api_key": REDACTED}, "host": "h"}
    assert without_secrets({"force": True, "target": "cmp-2"}) == {"force": True, "target": "cmp-2"}


def test_a_damaged_line_costs_that_line_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
    first = log.sent("prod", "force-down", "node:prod/cmp-1", {})
    with log.path.open("a") as out:
        out.write('{"event": "sent", "id": "x", "sent_at": "not a time"\n')  # cut short
        out.write('{"event": "done", "id": "nobody"}\n')
    log.finished(first, ok=True)
    assert [(e.verb, e.outcome) for e in log.entries()] == [("force-down", Outcome.DONE)]
    assert sum("skipped" in r.message for r in caplog.records) == 2


def test_since_keeps_the_recent_entries(tmp_path: Path) -> None:
    clock = Clock()
    log = AuditLog(tmp_path / "audit.jsonl", clock=clock)
    log.sent("prod", "disable", "node:prod/a", {})
    clock.now += timedelta(hours=2)
    log.sent("prod", "enable", "node:prod/a", {})
    assert [e.verb for e in log.entries(since=clock.now - timedelta(hours=1))] == ["enable"]


KILLED_BETWEEN = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from hybridview.actions.audit import AuditLog
    log = AuditLog(Path(sys.argv[1]))
    log.sent("prod", "evacuate", "instance:prod/7f3c", {"host": "cmp-2"})
    os.kill(os.getpid(), signal.SIGKILL)  # dies after "sent", before the outcome
    """
)


def test_a_process_killed_between_sent_and_done_leaves_an_open_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    done = subprocess.run([sys.executable, "-c", KILLED_BETWEEN, str(path)], cwd=REPO, check=False, timeout=60)
    assert done.returncode == -signal.SIGKILL
    (entry,) = AuditLog(path).entries()  # after the "restart"
    assert entry.outcome is Outcome.SENT
    assert (entry.verb, entry.target, entry.parameters) == ("evacuate", "instance:prod/7f3c", {"host": "cmp-2"})


def test_the_audit_command_prints_every_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("HYBRIDVIEW_AUDIT_LOG", str(path))
    log = AuditLog(path)
    log.finished(log.sent("prod", "evacuate", "instance:prod/1", {"host": "cmp-2"}), ok=False, error="HTTP 409: busy")
    log.sent("vc-east", "power-on", "vm:vc-east/vm-7", {})
    assert main(["audit", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["verb"], e["outcome"], e["error"]) for e in lines] == [
        ("evacuate", "failed", "HTTP 409: busy"),
        ("power-on", "sent, outcome unknown", None),
    ]
    assert main(["audit", "--since", "1h"]) == 0
    text = capsys.readouterr().out
    assert "evacuate instance:prod/1 host=cmp-2 -> failed: HTTP 409: busy" in text
    assert "power-on vm:vc-east/vm-7 -> sent, outcome unknown" in text
    assert main(["audit", "--since", "2099-01-01"]) == 0
    assert "no audit entries" in capsys.readouterr().out
