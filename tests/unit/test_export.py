"""The CSV exports: header, one line per row, quoting, states as words, only what a filter shows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hybridview.core.health import Severity
from hybridview.core.identity import EndpointRef, NodeRef
from hybridview.views.export import EVENT_COLUMNS, csv_text, problems_csv, safe_cell, timeline_csv, tree_csv, write_text
from hybridview.views.filtering import RowFilter
from hybridview.views.presentation import NOVA_COLUMNS
from hybridview.views.problems_rows import PROBLEM_COLUMNS, ProblemRow
from hybridview.views.rows import Row
from hybridview.views.timeline_rows import TIMELINE_COLUMNS, TimelineRow
from tests.unit.test_cli_status import run_cli

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _node(name: str, severity: Severity = Severity.OK, icon: str | None = None) -> Row:
    cells = (name, "kvm", "up", "enabled", "no", "3", "")
    return Row(NodeRef("cloud1", name), cells, severity, icon=icon, search=name.lower())


def test_commas_quotes_and_newlines_are_quoted_and_read_back_unchanged() -> None:
    cells = ('a, "b"', "two\nlines", "plain", "")
    text = csv_text(("One", "Two", "Three", "Four"), [cells])
    assert text.splitlines()[0] == "One,Two,Three,Four"
    assert '"a, ""b"""' in text and '"two\nlines"' in text
    assert _read(text) == [["One", "Two", "Three", "Four"], list(cells)]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_neutralised() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@SUM") == "'@SUM" and safe_cell("-2+3") == "'-2+3"
    assert safe_cell("— none") == "— none" and safe_cell("web-01") == "web-01"


def test_a_tree_has_its_header_and_one_line_per_row_with_the_state_in_words() -> None:
    forest = (
        Row(
            EndpointRef("cloud1"),
            ("cloud1", "", "", "", "", "", ""),
            Severity.CRITICAL,
            children=(_node("kvm-01", Severity.CRITICAL), _node("kvm-02"), _node("kvm-03", icon="maintenance")),
        ),
    )
    lines = _read(tree_csv(NOVA_COLUMNS, forest))
    assert lines[0] == ["State", *NOVA_COLUMNS, "Depth", "Parent", "Id"]
    assert len(lines) == 1 + 4
    assert [line[0] for line in lines[1:]] == ["CRITICAL", "CRITICAL", "OK", "MAINTENANCE"]
    assert lines[2][1:3] == ["kvm-01", "kvm"] and lines[2][-3:-1] == ["1", "cloud1"]
    assert lines[2][-1] == NodeRef("cloud1", "kvm-01").text()


def test_a_filtered_forest_exports_only_what_is_shown() -> None:
    forest = (
        Row(
            EndpointRef("cloud1"),
            ("cloud1", "", "", "", "", "", ""),
            Severity.CRITICAL,
            children=tuple(_node(f"kvm-{i:02}", Severity.CRITICAL if i == 7 else Severity.OK) for i in range(20)),
        ),
    )
    shown = RowFilter(problems_only=True).forest(forest)
    lines = _read(tree_csv(NOVA_COLUMNS, shown))
    assert [line[1] for line in lines[1:]] == ["cloud1", "kvm-07"]
    searched = _read(tree_csv(NOVA_COLUMNS, RowFilter(text="KVM-1").forest(forest)))
    assert [line[1] for line in searched[2:]] == [f"kvm-{i}" for i in range(10, 20)]


def test_problems_have_their_severity_word_age_at_now_and_start_time() -> None:
    since = NOW - timedelta(minutes=12)
    cells = ("✖ CRITICAL", "Nova", "cloud1", "compute node kvm-01", 'down, says "x"', "3 instance(s)", "1 s", "Fence")
    ref = NodeRef("cloud1", "kvm-01")
    row = ProblemRow("p1", ref, cells, "", "critical", "failed", since, Severity.CRITICAL, False)
    lines = _read(problems_csv([row], NOW))
    assert lines[0] == [*PROBLEM_COLUMNS, "Since (UTC)", "Id"]
    assert lines[1][0] == "✖ CRITICAL" and lines[1][4] == 'down, says "x"'
    assert lines[1][6] == "12 min" and lines[1][8] == "2026-01-02T11:48:00+00:00"


def test_the_timeline_keeps_its_columns_and_states() -> None:
    rows = [
        TimelineRow(
            1, ("2026-01-02 12:00:00", "failure", "vCenter", "esx-01", "host", "events", "a,b\nc"), "", None, ""
        ),
        TimelineRow(
            2, ("2026-01-02 11:00:00", "recovered", "Nova", "kvm-01", "service", "history", "up"), "", None, ""
        ),
    ]
    lines = _read(timeline_csv(rows))
    assert lines[0] == list(TIMELINE_COLUMNS)
    assert [line[1] for line in lines[1:]] == ["failure", "recovered"] and lines[1][-1] == "a,b\nc"


def test_the_file_is_written_whole_in_utf_8(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old")
    text = tree_csv(NOVA_COLUMNS, (_node("kvm-é"),))
    assert write_text(path, text) == len(text.encode())
    assert path.read_bytes().decode("utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_cli_timeline_csv_on_the_demo(tmp_path: Path) -> None:
    env = {"HYBRIDVIEW_HISTORY": str(tmp_path / "h.jsonl"), "HYBRIDVIEW_AUDIT_LOG": str(tmp_path / "a.jsonl")}
    done = run_cli("timeline", "--scenario", "kvm-host-down", "--csv", env=env)
    assert done.returncode == 0, done.stderr
    lines = _read(done.stdout)
    assert lines[0] == list(EVENT_COLUMNS) and len(lines) > 1
    assert all(len(line) == len(EVENT_COLUMNS) for line in lines)
    times = [datetime.fromisoformat(line[0]) for line in lines[1:]]
    assert times == sorted(times), "oldest first, as the other forms"
    assert "failure" in {line[1] for line in lines[1:]}
