"""summary.md: verdict on top, failures first, one line per requirement, a certificate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from snapconform.cli import main as snapconform_main
from snapconform.report.summary import SummaryError, evidence, load_summary, render_markdown


def _rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| `")]


def test_verdict_counts_and_failures_first(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    markdown = render_markdown(load_summary(write_summary(tmp_path)))
    first_line = markdown.splitlines()[0]
    assert first_line == "## snapconform: ❌ NON-CONFORMANT"
    assert (
        "**2 passed · 2 failed · 0 not applicable · 1 not checked** of 5 requirements"
        " (2 MUST failed)" in markdown
    )
    order = [row.split("`")[1] for row in _rows(markdown)]
    assert order == [
        "FILTER-SOUNDNESS",
        "CONTRACT-200-BODY",
        "CONTRACT-BINDINGS",
        "FILTER-EMPTY",
        "AUTH-WWW-AUTHENTICATE",
    ]
    assert "| MUST | ❌ failed | evidence of FILTER-SOUNDNESS |" in markdown


def test_should_failures_come_after_must_failures(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    requirements = [("A-SHOULD", "SHOULD", "failed"), ("B-MUST", "MUST", "failed")]
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=requirements)))
    assert [row.split("`")[1] for row in _rows(markdown)] == ["B-MUST", "A-SHOULD"]
    assert "(1 MUST failed)" in markdown


@pytest.mark.parametrize(
    ("verdict", "badge"),
    [("conformant", "✅ CONFORMANT"), ("error", "⚠️ NO VERDICT (error)")],
)
def test_other_verdicts(
    tmp_path: Path, write_summary: Callable[..., Path], verdict: str, badge: str
) -> None:
    summary_dir = write_summary(
        tmp_path,
        verdict=verdict,
        reason="cannot connect to http://127.0.0.1:1" if verdict == "error" else None,
        requirements=[("FILTER-EMPTY", "MUST", "passed")],
    )
    markdown = render_markdown(load_summary(summary_dir))
    assert markdown.startswith(f"## snapconform: {badge}\n")
    assert ("**Why no verdict:** cannot connect" in markdown) == (verdict == "error")


def test_evidence_is_one_escaped_cut_line(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    detail = "status=RUNNING | 2 missing\nline two " + "x" * 400
    requirement = {
        "id": "FILTER-SOUNDNESS",
        "title": "t",
        "level": "MUST",
        "outcome": "failed",
        "reason": None,
        "detail": detail,
    }
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=[requirement])))
    (row,) = _rows(markdown)
    assert "| status=RUNNING \\| 2 missing" in row
    # the evidence cell (then the Sources cell: none given here)
    assert "…" in row and row.endswith("xxx | — |")
    assert len(row) < 260


def test_evidence_keeps_the_verdict_of_a_long_filter_and_drops_the_curl_line() -> None:
    detail = (
        "filter {tasks: ['task-0'], operations: ['create', 'x" + "y" * 200 + "'], status: "
        "['RUNNING']}: 1 returned task(s) do not match, e.g. ['task-0'] (universe of 1 tasks) "
        "— reproduce: curl -sS -H 'vmware-api-session-id: ***' "
        "'http://127.0.0.1:1/api/snapservice/tasks?status=RUNNING' [seed 42; shrinking stopped]"
    )
    shown = evidence(detail)
    assert shown.startswith("filter {tasks: ['task-0']")
    assert shown.endswith(
        "1 returned task(s) do not match, e.g. ['task-0'] (universe of 1 tasks) "
        "[seed 42; shrinking stopped]"
    )
    assert "curl" not in shown and len(shown) <= 140


@pytest.mark.parametrize("width", [40, 60, 97, 140])
def test_evidence_is_cut_at_word_boundaries_with_a_marker(width: int) -> None:
    """Seen: `filters matching ≤ 1000 of m…n 1000 stored tasks` — words cut in half."""
    words = [f"word{i}" + "x" * (i % 7) for i in range(80)]
    flat = " ".join(words)
    shown = evidence(flat, width)
    assert len(shown) <= width
    head, marker, tail = shown.partition(" […] ")
    assert marker, shown
    assert head and flat.startswith(head + " ")
    assert tail and flat.endswith(" " + tail)
    assert set(head.split()) | set(tail.split()) <= set(words)


def test_shortened_evidence_points_to_the_full_text(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    long = {
        "id": "CAP-AT-LIMIT",
        "title": "t",
        "level": "MUST",
        "outcome": "passed",
        "detail": "filters matching ≤ 1000 of " + "many " * 60 + "than 1000 stored tasks",
    }
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=[long])))
    assert "than 1000 stored tasks" in markdown and " […] " in markdown
    assert "[…] marks evidence shortened here: summary.json has it in full" in markdown
    short = dict(long, detail="the empty filter returned every visible task")
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=[short])))
    assert "the empty filter returned every visible task" in markdown
    assert "[…]" not in markdown


def test_certificate_names_target_version_mode_seed_date_verdict(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    summary_dir = write_summary(
        tmp_path,
        target="https://mock-admin:Hunter2-Secret@127.0.0.1:8443",
        mode="declared",
        api_version="9.0",
        seed=None,
        finished_at="2026-01-02T03:04:05Z",
        requirements=[("FILTER-EMPTY", "MUST", "passed")],
    )
    markdown = render_markdown(load_summary(summary_dir))
    certificate = markdown[markdown.index("### Certificate") :]
    sha = hashlib.sha256((summary_dir / "summary.json").read_bytes()).hexdigest()
    for expected in (
        "| Target | `https://mock-admin:********@127.0.0.1:8443` |",
        "| API version | 9.0 |",
        "| Mode | declared |",
        "| Seed | none |",
        "| Date | 2026-01-02 03:04:05 UTC |",
        "| Verdict | **conformant** |",
        f"| summary.json sha256 | `{sha}` |",
        "| Harness | snapconform ",
    ):
        assert expected in certificate
    assert "Hunter2-Secret" not in markdown


def test_summary_fits_one_screen_for_the_catalogue(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    requirements = [(f"REQ-{i:02d}", "MUST", "passed") for i in range(30)]
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=requirements)))
    table_and_headline = markdown[: markdown.index("### Certificate")]
    assert len(table_and_headline.splitlines()) <= 40


def test_missing_summary_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SummaryError, match=r"summary\.json does not exist: is .* a report dir"):
        load_summary(tmp_path)


def test_broken_json_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"verdict": ')
    with pytest.raises(SummaryError, match=r"is not JSON \(.* at line 1\)"):
        load_summary(tmp_path)


def test_schema_violation_names_the_place(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    summary_dir = write_summary(tmp_path)
    document = json.loads((summary_dir / "summary.json").read_text())
    document["requirements"][1]["outcome"] = "flaky"
    (summary_dir / "summary.json").write_text(json.dumps(document))
    with pytest.raises(SummaryError, match=r"at requirements/1/outcome: 'flaky' is not one of"):
        load_summary(summary_dir)


def test_cli_writes_summary_md(
    tmp_path: Path, write_summary: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    summary_dir = write_summary(tmp_path)
    assert snapconform_main(["report", "--report-dir", str(summary_dir), "--no-html"]) == 0
    out = capsys.readouterr().out
    assert "verdict: non-conformant" in out
    assert (summary_dir / "summary.md").read_text().startswith("## snapconform: ❌")


def test_cli_without_summary_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert snapconform_main(["report", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "summary.json does not exist" in err


def test_each_requirement_not_checked_says_the_change_that_checks_it(
    tmp_path: Path, write_summary: Callable[..., Path]
) -> None:
    """As the terminal and the HTML report's first screen do (snapconform.report.first_screen)."""
    requirements = [
        ("FILTER-EMPTY", "MUST", "passed"),
        {"id": "AUTH-PRIVILEGE", "title": "t", "level": "MUST", "outcome": "not_checked",
         "reason": "configuration", "detail": "no unprivileged credentials given"},
        ("FAULT-503", "MUST", "not_checked"),  # budget
    ]  # fmt: skip
    markdown = render_markdown(load_summary(write_summary(tmp_path, requirements=requirements)))
    lines = {line.split("`")[1]: line for line in markdown.splitlines() if line.startswith("- `")}
    assert "**to check it:** name a principal without System.Read" in lines["AUTH-PRIVILEGE"]
    assert "**to check it:** raise the request budget (--max-requests" in lines["FAULT-503"]
