"""The first screen's words (snapconform.report.first_screen): the verdict as the terminal says
it, failures first with their reproduction, what was not checked and the change that checks it."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from snapconform.engine.verdicts import NOT_CHECKED
from snapconform.report.first_screen import (
    change_to_check,
    failures_first,
    split_detail,
    verdict_panel,
    verdict_why,
    verdict_word,
)
from snapconform.report.render import add_first_screen, verdict_title
from tests.report.conftest import make_summary

CURL = "curl -sS -H 'Authorization: Basic ***' 'http://127.0.0.1:8080/api/snapservice/tasks?status=FAILED'"
FAILED_DETAIL = (
    "filter {status: ['FAILED']}: 10 returned task(s) do not match, e.g. ['task-1']"
    f" — reproduce: {CURL} [seed 1923327803; deterministic first case]"
)
INCOMPLETE = [
    ("FILTER-EMPTY", "MUST", "passed"),
    {"id": "AUTH-PRIVILEGE", "title": "A principal without System.Read gets 403",
     "level": "MUST", "outcome": "not_checked", "reason": "configuration",
     "detail": "no unprivileged credentials given (--unprivileged-username and "
               "SNAPCONFORM_UNPRIVILEGED_PASSWORD)"},
    ("CONTRACT-BINDINGS", "SHOULD", "not_checked"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "word", "why"),
    [
        ({"requirements": [("FILTER-EMPTY", "MUST", "passed")]}, "CONFORMANT",
         "1 of 1 requirements passed, no MUST failed"),
        ({}, "NON-CONFORMANT", "2 MUST failed"),
        ({"requirements": INCOMPLETE}, "INCOMPLETE", "1 MUST not checked, no MUST failed"),
        ({"requirements": INCOMPLETE, "reason": "interrupted"}, "INCOMPLETE",
         "interrupted: 1 MUST not checked, no MUST failed"),
        ({"verdict": "error", "reason": "cannot connect to http://h", "requirements": []},
         "NO VERDICT", "cannot connect to http://h"),
    ],
)  # fmt: skip
def test_the_verdict_is_the_terminals_word(overrides: dict, word: str, why: str) -> None:
    """An incomplete run was 'NO VERDICT — no verdict possible' (and 'NO VERDICT — interrupted'
    after Ctrl-C) while the terminal and summary.json said INCOMPLETE."""
    summary = make_summary(**overrides)
    assert summary["verdict"].upper() == word or summary["verdict"] == "error"
    assert (verdict_word(summary), verdict_why(summary)) == (word, why)
    assert verdict_title(summary) == f"snapconform: {word} — {why} — http://127.0.0.1:8080"


def test_a_failure_is_split_into_what_it_showed_and_its_reproduction() -> None:
    shown, reproduce = split_detail(FAILED_DETAIL)
    assert reproduce == CURL
    assert shown.endswith("e.g. ['task-1'] [seed 1923327803; deterministic first case]")
    assert split_detail("no request to show") == ("no request to show", None)


def test_failures_come_first_must_before_should() -> None:
    summary = make_summary(
        requirements=[
            ("FILTER-EMPTY", "MUST", "passed"),
            ("CONTRACT-UNIQUE-IDS", "SHOULD", "failed"),
            ("CAP-OVER-LIMIT", "MUST", "failed"),
        ]
    )
    assert [r["id"] for r in failures_first(summary)] == ["CAP-OVER-LIMIT", "CONTRACT-UNIQUE-IDS"]
    page = verdict_panel(summary)
    assert page.index("CAP-OVER-LIMIT") < page.index("CONTRACT-UNIQUE-IDS")
    assert "FILTER-EMPTY" not in page  # passed requirements are Allure's tree, not this screen


def test_every_reason_not_checked_has_its_own_change_that_checks_it() -> None:
    """A generic "see the detail" for every reason would not tell the reader what to change."""
    changes = {
        reason: change_to_check({"reason": reason, "detail": "the run lacks package x"})
        for reason in NOT_CHECKED
    }
    assert all(changes.values())
    assert len(set(changes.values())) == len(changes), changes


def test_a_missing_unprivileged_principal_names_the_flag_and_the_variable() -> None:
    change = change_to_check(INCOMPLETE[1])  # type: ignore[arg-type]
    assert "--unprivileged-username" in change and "SNAPCONFORM_UNPRIVILEGED_PASSWORD" in change


def test_an_incomplete_panel_lists_what_was_not_checked_and_how_to_check_it() -> None:
    page = verdict_panel(make_summary(requirements=INCOMPLETE))
    text = re.sub(r"<[^>]+>", " ", page)
    assert "INCOMPLETE" in text and "this run certifies nothing (exit code 3)" in text
    assert "AUTH-PRIVILEGE" in text and "to check it: name a principal" in text
    assert "CONTRACT-BINDINGS" in text and "a SHOULD: the verdict does not need it" in text
    assert "Failed (" not in text


def test_the_panel_escapes_what_the_target_said_and_masks_the_password() -> None:
    hostile: dict[str, Any] = {
        "id": "CONTRACT-200-BODY", "title": "t", "level": "MUST", "outcome": "failed",
        "detail": "body <script>alert(1)</script> — reproduce: curl '<img src=x>'",
    }  # fmt: skip
    page = verdict_panel(make_summary(requirements=[hostile], target="http://u:pw@h"))
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "u:pw@" not in page


def test_the_panel_goes_above_the_app_once(tmp_path: Any) -> None:
    index = tmp_path / "index.html"
    index.write_text(
        '<html><head><title>x</title></head><body><div id="app"></div><script>app()</script>'
        "</body></html>"
    )
    add_first_screen(index, make_summary())
    add_first_screen(index, make_summary(requirements=INCOMPLETE))  # replaced, not added
    page = index.read_text()
    assert page.count('id="snapconform-verdict"') == 1 and "INCOMPLETE" in page
    assert page.index('id="snapconform-verdict"') < page.index('<div id="app">')
    assert page.count('id="snapconform-first-screen-style"') == 1
    assert page.count('<script id="snapconform-first-screen">') == 1


# --- the terminal says the same, and ends where a person reads on --------------------------


def test_the_terminal_ends_with_the_failures_in_full_then_not_checked_then_where_to_read() -> None:
    """The FAIL rows were mixed among 37 in catalogue order, each cut to ~45 characters, and
    the last line named summary.json only."""
    from pathlib import Path

    from snapconform.run.runner import render_table, where_lines

    long_detail = FAILED_DETAIL.replace(
        "e.g. ['task-1']", "e.g. " + repr([f"task-{i}" for i in range(30)])
    )
    summary = make_summary(
        requirements=[
            ("CONTRACT-UNIQUE-IDS", "SHOULD", "failed"),
            ("FILTER-EMPTY", "MUST", "passed"),
            {"id": "FILTER-SOUNDNESS", "title": "Every returned task matches the filter",
             "level": "MUST", "outcome": "failed", "detail": long_detail},
            INCOMPLETE[1],
        ]
    )  # fmt: skip
    lines = render_table(summary, width=80).splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("verdict: NON-CONFORMANT"))
    tail = lines[verdict + 1 :]
    assert tail[0] == "1 MUST requirement(s) were not checked as well (a failure decides)."
    assert tail[1] == "failed (2):"
    assert (
        tail[2] == "  FILTER-SOUNDNESS [MUST] Every returned task matches the filter"
    )  # MUST first
    wrapped = []
    for line in tail[3:]:
        if not line.startswith("    ") or line.startswith("    reproduce: "):
            break
        assert len(line) <= 80, line
        wrapped.append(line.strip())
    shown, _ = split_detail(long_detail)
    assert " ".join(wrapped) == " ".join(shown.split())  # the whole detail, wrapped, nothing cut
    assert f"    reproduce: {CURL}" in tail  # one line, to copy as it is
    failed_should = next(
        i for i, line in enumerate(tail) if line.startswith("  CONTRACT-UNIQUE-IDS [SHOULD]")
    )
    not_checked_at = tail.index("not checked:")
    assert tail.index(f"    reproduce: {CURL}") < failed_should < not_checked_at
    assert tail[not_checked_at + 1].startswith(
        "  - AUTH-PRIVILEGE [MUST] not checked (configuration)"
    )
    assert "to check it: name a principal without System.Read" in " ".join(tail[not_checked_at:])
    ending = where_lines(Path("/tmp/r"))
    assert ending[0].startswith("summary: /tmp/r/summary.md")
    assert ending[1] == (
        "report:  snapconform report --report-dir /tmp/r, then open /tmp/r/html/index.html in a"
        " browser"
    )


def test_an_interrupted_run_says_so_whatever_its_verdict() -> None:
    failed = make_summary(reason="interrupted")  # a MUST failed before Ctrl-C
    assert verdict_word(failed) == "NON-CONFORMANT"
    assert "The run was interrupted" in verdict_panel(failed)
    assert "interrupted" not in verdict_panel(make_summary())


def test_an_interrupted_run_ends_like_a_finished_one(
    monkeypatch: Any, capsys: Any, tmp_path: Any
) -> None:
    """Ctrl-C printed only 'snapconform: interrupted': what had been decided, what was left
    and where the partial report is are shown as for a finished run."""
    import snapconform.run.cli as run_cli
    from snapconform.cli import parse_args
    from snapconform.run.runner import EXIT_INTERRUPTED, RunResult

    summary = make_summary(
        requirements=[*INCOMPLETE[:1], {**INCOMPLETE[1], "reason": "interrupted"}],
        reason="interrupted",
    )
    path = tmp_path / "summary.json"
    monkeypatch.setattr(run_cli, "run", lambda config: RunResult(EXIT_INTERRUPTED, summary, path))
    for name in [n for n in os.environ if n.startswith("SNAPCONFORM_")]:
        monkeypatch.delenv(name)
    args = parse_args(["run", "--report-dir", str(tmp_path)])
    assert run_cli.main(args) == EXIT_INTERRUPTED
    out, err = capsys.readouterr()
    assert err.strip().endswith("snapconform: interrupted")
    assert "verdict: INCOMPLETE" in out
    assert "to check it: run again and let the run finish" in out
    assert out.rstrip().splitlines()[-2].startswith(f"summary: {tmp_path / 'summary.md'}")


def test_each_requirement_links_to_its_check_in_the_allure_report() -> None:
    """The panel's ids open the Allure test (the app routes on ``#<test result id>``); of a
    requirement's several results the failed one is linked."""
    import json

    from snapconform.report.render import test_result_links

    def result(test: str, requirement: str, status: str, label: str = "requirement_id") -> str:
        return json.dumps(
            {"id": test, "status": status, "labels": [{"name": label, "value": requirement}]}
        )

    files = {
        "data/test-results/a.json": result("a", "FILTER-SOUNDNESS", "passed"),
        "data/test-results/b.json": result("b", "FILTER-SOUNDNESS", "failed"),
        "data/test-results/c.json": result("c", "CONTRACT-200-BODY", "failed", "requirement"),
        "data/test-results/d.json": "not json",
        "widgets/summary.json": result("e", "FAULT-503", "failed"),
    }
    links = test_result_links(files)
    assert links == {"FILTER-SOUNDNESS": "b", "CONTRACT-200-BODY": "c"}
    page = verdict_panel(make_summary(), links)
    assert '<a href="#b" title="open its check below">FILTER-SOUNDNESS</a>' in page
    assert '<a href="#' not in verdict_panel(make_summary())
