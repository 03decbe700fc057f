"""Outcomes and the verdict: an unchecked MUST never yields conformant.

Each requirement ends passed, failed, not_applicable (mode or target data, with why) or
not_checked (budget, time, interrupted, deselected, ..., with why). ``conformant`` only when every
applicable MUST passed; ``incomplete`` (exit 3) when a MUST was not checked and none failed;
``non-conformant`` wins over incomplete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from snapconform.config import RunConfig
from snapconform.contracts import default_contracts
from snapconform.engine import fuzzing
from snapconform.engine.plan import RunPlan
from snapconform.engine.requirements import CATALOGUE, Requirement, Source, requirement
from snapconform.engine.verdicts import CheckResult, verdict_of
from snapconform.run.runner import (
    EXIT_INCOMPLETE,
    INTERRUPTED,
    build_summary,
    exit_code_of,
    render_table,
)
from snapconform.run.session import judge
from snapconform.server.defaults import default_state
from tests.engine.helpers import harness_for

ROOT = Path(__file__).resolve().parents[2]


def _rows(*rows: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"level": level, "outcome": outcome} for level, outcome in rows]


# --- the verdict rule -------------------------------------------------------------------------


def test_conformant_only_when_every_applicable_must_passed() -> None:
    assert verdict_of(_rows(("MUST", "passed"), ("MUST", "not_applicable"))) == "conformant"
    assert verdict_of(_rows(("MUST", "passed"), ("MUST", "not_checked"))) == "incomplete"
    assert verdict_of(_rows(("MUST", "not_checked"), ("MUST", "failed"))) == "non-conformant"
    # SHOULDs never decide, checked or not
    assert verdict_of(_rows(("MUST", "passed"), ("SHOULD", "not_checked"))) == "conformant"
    assert verdict_of(_rows(("MUST", "passed"), ("SHOULD", "failed"))) == "conformant"
    # an outcome the rule does not know is no pass (e.g. a stale "skipped")
    assert verdict_of(_rows(("MUST", "passed"), ("MUST", "skipped"))) == "incomplete"


def test_unknown_reasons_are_refused() -> None:
    with pytest.raises(ValueError, match="reason"):
        CheckResult.not_checked("because", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reason"):
        CheckResult.not_applicable("budget", "x")  # type: ignore[arg-type]


def _outcomes(**by_id: tuple[str, str | None]) -> dict[str, Any]:
    """An outcomes document where every requirement passed except those given."""
    results = {}
    for r in CATALOGUE:
        outcome, reason = by_id.get(r.id.replace("-", "_"), ("passed", None))
        results[r.id] = {"outcome": outcome, "reason": reason, "detail": f"detail of {r.id}"}
    return {"requirements": results, "requests": 7}


def _summary(outcomes: dict[str, Any] | None, reason: str | None = None) -> dict[str, Any]:
    summary = build_summary(RunConfig(), 1, outcomes, reason)
    assert default_contracts().errors("summary", summary) == []
    return summary


def test_summary_of_a_budget_cut_run_is_incomplete_and_says_what_and_why() -> None:
    summary = _summary(
        _outcomes(
            FAULT_503=("not_checked", "budget"),
            AUTH_WWW_AUTHENTICATE=("not_checked", "budget"),
            AUTH_VISIBILITY=("not_applicable", "mode"),
        )
    )
    assert summary["verdict"] == "incomplete" and exit_code_of(summary) == EXIT_INCOMPLETE == 3
    assert [(n["id"], n["level"], n["reason"]) for n in summary["not_checked"]] == [
        ("AUTH-WWW-AUTHENTICATE", "SHOULD", "budget"),
        ("FAULT-503", "MUST", "budget"),
    ]
    assert summary["counts"] == {
        "passed": len(CATALOGUE) - 3,
        "failed": 0,
        "not_applicable": 1,
        "not_checked": 2,
    }
    table = render_table(summary)
    assert "verdict: INCOMPLETE" in table
    assert "1 applicable MUST requirement(s) were not checked" in table
    assert "FAULT-503 [MUST] not checked (budget): detail of FAULT-503" in table
    assert "AUTH-WWW-AUTHENTICATE [SHOULD] not checked (budget)" in table
    assert "does not change the verdict" in table


def test_a_failed_must_wins_over_unchecked_ones() -> None:
    summary = _summary(
        _outcomes(FAULT_503=("not_checked", "budget"), CAP_AT_LIMIT=("failed", None))
    )
    assert summary["verdict"] == "non-conformant" and exit_code_of(summary) == 1
    assert "1 MUST requirement(s) were not checked as well" in render_table(summary)


def test_only_shoulds_unchecked_is_conformant() -> None:
    summary = _summary(_outcomes(AUTH_WWW_AUTHENTICATE=("not_checked", "prerequisite")))
    assert summary["verdict"] == "conformant" and exit_code_of(summary) == 0
    assert [n["id"] for n in summary["not_checked"]] == ["AUTH-WWW-AUTHENTICATE"]


def test_requirements_that_never_ran_are_not_checked_never_passed() -> None:
    outcomes = _outcomes()
    del outcomes["requirements"]["FUZZ-SCHEMATHESIS"]  # e.g. deselected by a foreign -k
    outcomes["requirements"]["FAULT-500"]["outcome"] = "skipped"  # an outcome of old
    summary = _summary(outcomes)
    assert summary["verdict"] == "incomplete"
    assert {(n["id"], n["reason"]) for n in summary["not_checked"]} == {
        ("FUZZ-SCHEMATHESIS", "deselected"),
        ("FAULT-500", "deselected"),
    }


def test_an_interrupted_run_is_incomplete_and_exits_130() -> None:
    outcomes = _outcomes()
    for rid in ("FAULT-503", "FAULT-500", "FUZZ-SCHEMATHESIS"):
        del outcomes["requirements"][rid]
    summary = _summary(outcomes, INTERRUPTED)
    assert summary["verdict"] == "incomplete" and summary["reason"] == INTERRUPTED
    assert {n["reason"] for n in summary["not_checked"]} == {"interrupted"}
    assert exit_code_of(summary) == 130


def test_no_verdict_possible_stays_an_error() -> None:
    summary = _summary(None, "cannot connect to http://127.0.0.1:1")
    assert summary["verdict"] == "error" and exit_code_of(summary) == 2
    assert {n["reason"] for n in summary["not_checked"]} == {"error"}


def test_the_schema_ties_reasons_to_outcomes() -> None:
    summary = _summary(_outcomes())
    contracts = default_contracts()
    row = summary["requirements"][0]
    for outcome, reason, valid in [
        ("passed", None, True),
        ("passed", "budget", False),
        ("not_checked", None, False),
        ("not_checked", "mode", False),
        ("not_applicable", "target", True),
        ("not_applicable", "budget", False),
        ("skipped", None, False),
    ]:
        row.update(outcome=outcome, reason=reason)
        assert (contracts.errors("summary", summary) == []) is valid, (outcome, reason)


# --- checks: a skip never counts as a pass, a crash never as a failure --------------------------


@pytest.mark.slow
def test_a_crashing_check_is_not_checked_not_failed() -> None:
    def crashes(h: Any, req: Requirement) -> CheckResult:
        raise KeyError("a bug in the harness")

    source = Source("page", "line 1", "a test requirement")
    broken = Requirement("X-CRASH", "t", "MUST", "contract", (source,), crashes)
    with harness_for(max_examples=2) as harness:
        result = judge(harness, broken)
    assert (result.outcome, result.reason) == ("not_checked", "error")
    assert "KeyError" in result.detail


def test_a_crash_is_told_in_full_in_harness_log(tmp_path: Path) -> None:
    from snapconform.run.runner import HARNESS_LOG, harness_log

    def crashes(h: Any, req: Requirement) -> CheckResult:
        raise KeyError("a bug in the harness")

    source = Source("page", "line 1", "a test requirement")
    broken = Requirement("X-CRASH", "t", "MUST", "contract", (source,), crashes)
    with harness_for(max_examples=2) as harness, harness_log(tmp_path / HARNESS_LOG):
        judge(harness, broken)
    log = (tmp_path / HARNESS_LOG).read_text(encoding="utf-8")
    assert "X-CRASH: the check raised" in log and "Traceback" in log and "KeyError" in log


@pytest.mark.slow
def test_fuzzing_cut_short_by_the_budget_is_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def cut_short(target: Any, **options: Any) -> fuzzing.FuzzReport:
        return fuzzing.FuzzReport((), 3, 0, True, 0.1, {})

    monkeypatch.setattr(fuzzing, "fuzz_target", cut_short)
    with harness_for(max_examples=2) as harness:
        harness.plan = RunPlan.make("controlled", RunConfig().max_requests)
        assert harness.minimum_requests("FUZZ-SCHEMATHESIS") > 3
        result = requirement("FUZZ-SCHEMATHESIS").check(harness)
    assert (result.outcome, result.reason) == ("not_checked", "budget")
    assert "after 3 fuzzed request(s), fewer than the" in result.detail


@pytest.mark.slow
def test_a_small_target_makes_the_cap_not_applicable_with_why() -> None:
    server = {"state": default_state(seed=2, size=300)}
    with harness_for(mode="observed", server=server, max_examples=2) as harness:
        results = {
            rid: judge(harness, requirement(rid))
            for rid in ("CAP-AT-LIMIT", "CAP-OVER-LIMIT", "CAP-COUNTS-MATCHING", "FAULT-503")
        }
    assert (results["CAP-AT-LIMIT"].outcome, results["CAP-AT-LIMIT"].reason) == (
        "not_applicable",
        "mode",
    )
    over = results["CAP-OVER-LIMIT"]
    assert (over.outcome, over.reason) == ("not_applicable", "target")
    assert over.detail == "the target has 300 visible task(s): the cap cannot be reached"
    # the store-count probes (tasks= lists over the cap) still judge CAP-COUNTS-MATCHING
    assert results["CAP-COUNTS-MATCHING"].outcome == "passed"
    assert (results["FAULT-503"].outcome, results["FAULT-503"].reason) == (
        "not_applicable",
        "mode",
    )


@pytest.mark.slow
def test_observed_run_without_an_unprivileged_principal_leaves_403_not_checked() -> None:
    with harness_for(mode="observed", run={"unprivileged": None}, max_examples=2) as harness:
        result = judge(harness, requirement("AUTH-PRIVILEGE"))
    assert (result.outcome, result.reason) == ("not_checked", "configuration")


# --- end to end: a run cut short is incomplete, exit 3, and says so everywhere -----------------


@pytest.mark.slow
def test_a_run_cut_short_by_its_time_box_is_incomplete_exit_3_everywhere(tmp_path: Path) -> None:
    """Before issue 12 a run cut short (then: `--max-requests 3`) printed `CONFORMANT — 6
    passed, 0 failed, 26 skipped` and exited 0. A budget below the plan's minimum is refused now
    (tests/engine/test_plan.py); a time box far too short still cuts the run short."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    completed = subprocess.run(
        [sys.executable, "-m", "snapconform", "run", "--max-duration", "2s", "--seed", "1",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, env=environ, cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 3, output
    assert "CONFORMANT" not in output.replace("NON-CONFORMANT", "")
    assert "verdict: INCOMPLETE" in completed.stdout and "not checked (time)" in completed.stdout
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert default_contracts().errors("summary", summary) == []
    assert summary["verdict"] == "incomplete"
    unchecked = {n["id"]: n["reason"] for n in summary["not_checked"]}
    assert unchecked["FILTER-SOUNDNESS"] == "time" and unchecked["FUZZ-SCHEMATHESIS"] == "time"
    assert not [r for r in summary["requirements"] if r["outcome"] == "failed"]
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("## snapconform: ⚠️ INCOMPLETE")
    assert (
        "**Incomplete:**" in markdown
        and "`FILTER-SOUNDNESS` (MUST, not checked (time))" in markdown
    )
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["snapconform.verdict"] == "incomplete"
    assert "FILTER-SOUNDNESS [MUST] (time)" in str(properties["snapconform.not_checked"])
    (verdict_case,) = [c for c in suite.iter("testcase") if c.get("classname") == "snapconform"]
    failure = verdict_case.find("failure")
    assert failure is not None and failure.get("type") == "snapconform.incomplete"
    assert str(failure.get("message")).startswith("INCOMPLETE (exit 3)")
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert any("not checked (time)" in str(c.find("skipped").get("message")) for c in skipped)  # type: ignore[union-attr]
    environment = (tmp_path / "allure-results" / "environment.properties").read_text()
    assert "verdict=incomplete" in environment
    allure_results = [
        json.loads(p.read_text()) for p in (tmp_path / "allure-results").glob("*-result.json")
    ]
    labels = [
        label["value"]
        for result in allure_results
        for label in result.get("labels", [])
        if label["name"] == "category"
    ]
    assert "not checked" in labels
