"""The request plan and the time box (issue 12, items 2 and 3): snapconform.engine.plan."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snapconform.config import parse_duration
from snapconform.engine.plan import (
    CHOICE_PROBE,
    ERROR_PROBE,
    OVERHEAD,
    TIMEBOX_SAMPLE,
    RunPlan,
    mode_costs,
    run_order,
)
from snapconform.engine.requirements import CATALOGUE
from snapconform.settings import SettingsError, resolve_run_config

MODES = ("controlled", "declared", "observed")


def _run_all(plan: RunPlan, spend: dict[str, int] | None = None) -> dict[str, int]:
    """Every check in run order takes its allowance (or ``spend[rid]``): what each was allowed."""
    requests = OVERHEAD
    allowed = {}
    order = [ERROR_PROBE, *run_order(), "CONTRACT-200-BODY"]
    for rid in order:
        allowed[rid] = plan.allowance(rid, requests)
        used = min(allowed[rid], (spend or {}).get(rid, allowed[rid]))
        plan.record(rid, used)
        requests += used
    return allowed


@pytest.mark.parametrize("mode", MODES)
def test_every_requirement_is_planned_and_the_minimum_is_their_sum(mode: str) -> None:
    plan = RunPlan.make(mode, 1500)  # type: ignore[arg-type]
    checked = {r.id for r in CATALOGUE if not r.audit} | {"CONTRACT-200-BODY"}
    not_applicable = {
        "observed": {"FAULT-503", "FAULT-500", "AUTH-VISIBILITY"},
        "declared": {"FAULT-503", "FAULT-500"},
        "controlled": set(),
    }[mode]
    assert checked - not_applicable <= set(plan.shares)
    assert plan.minimum == OVERHEAD + sum(c.minimum for c in mode_costs(mode).values())  # type: ignore[arg-type]
    assert sum(s.planned for s in plan.shares.values()) + OVERHEAD <= 1500
    assert all(s.planned >= s.minimum for s in plan.shares.values())


@pytest.mark.parametrize("mode", MODES)
def test_a_budget_below_the_minimum_is_refused_naming_the_minimum(mode: str) -> None:
    minimum = RunPlan.make(mode, 1).minimum  # type: ignore[arg-type]
    refusal = RunPlan.make(mode, minimum - 1).refusal()  # type: ignore[arg-type]
    assert refusal is not None and f"--max-requests {minimum} or more" in refusal
    assert RunPlan.make(mode, minimum).refusal() is None  # type: ignore[arg-type]
    # the default budget gives every mode a verdict, with room to explore
    assert RunPlan.make(mode, 1500).minimum < 1500 // 2  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("budget", [None, 1500, 5000])
def test_allowances_never_exceed_the_budget_and_every_check_gets_its_minimum(
    mode: str, budget: int | None
) -> None:
    budget = budget or RunPlan.make(mode, 1).minimum  # type: ignore[arg-type]
    plan = RunPlan.make(mode, budget)  # type: ignore[arg-type]
    allowed = _run_all(plan)
    assert OVERHEAD + sum(allowed.values()) <= budget
    for rid, share in plan.shares.items():
        if rid in allowed:
            assert allowed[rid] >= share.minimum, rid


def test_what_a_check_leaves_goes_to_the_checks_after_it() -> None:
    greedy = _run_all(RunPlan.make("controlled", 1500))
    # the cap checks need far less than their allowance here: the filter checks get the rest
    frugal = _run_all(RunPlan.make("controlled", 1500), spend={"CAP-COUNTS-MATCHING": 0})
    assert frugal["FILTER-SOUNDNESS"] > greedy["FILTER-SOUNDNESS"]


def test_the_time_box_scales_the_allowances_to_the_measured_pace() -> None:
    plan = RunPlan.make("controlled", 1500, max_duration=60.0)
    plan.start_clock(now=0.0)
    assert plan.deadline == pytest.approx(45.0)  # 15 s (at least 10%) kept for the reports
    first = plan.allowance(ERROR_PROBE, 3, now=1.0)  # starts the measurement
    assert first >= 2 and not plan.notes
    # 20 requests in 10 s: 0.5 s per request; 34 s left -> about 68 requests fit
    allowed = plan.allowance("AUTH-NO-CREDENTIALS", 3 + TIMEBOX_SAMPLE, now=11.0)
    assert allowed >= 1 and plan.notes and "time box" in plan.notes[0]
    later = plan.allowance("FILTER-SOUNDNESS", 30, now=12.0)
    # exploration shrank to the pace; the check keeps its minimum (its deterministic first case)
    assert plan.shares["FILTER-SOUNDNESS"].minimum <= later <= 88
    # without a time box the same pace changes nothing
    free = RunPlan.make("controlled", 1500)
    free.allowance(ERROR_PROBE, 3, now=1.0)
    free.allowance("AUTH-NO-CREDENTIALS", 23, now=11.0)
    assert free.allowance("FILTER-SOUNDNESS", 30, now=12.0) > 88 and not free.notes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600), ("90s", 90), ("1h30m", 5400), ("1.5h", 5400), ("600", 600), (" 2m30s ", 150)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten", "", "0s", "-5m", "10 minutes", "m", "1d", "inf"])
def test_a_bad_duration_is_one_clear_line(text: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve_run_config({"max_duration": text}, {}, tmp_path)
    message = str(caught.value)
    assert message.startswith("--max-duration: ") and "\n" not in message
    assert "90s" in message


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")}
    return subprocess.run(
        [sys.executable, "-m", "snapconform", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_the_cli_refuses_a_budget_below_the_minimum_before_sending_anything(
    tmp_path: Path,
) -> None:
    import socket

    # a loopback listener that is never accepted from: a request would show as a connection
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    started = time.monotonic()
    completed = _cli(
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--control-url",
        f"http://127.0.0.1:{port}/snapconform",
        "--max-requests",
        "3",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    minimum = RunPlan.make("controlled", 3).minimum
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert f"below the minimum of {minimum} requests" in completed.stderr
    assert f"--max-requests {minimum} or more" in completed.stderr
    assert "Traceback" not in completed.stderr
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()
    assert time.monotonic() - started < 120


def test_the_cli_rejects_a_bad_max_duration_in_one_line(tmp_path: Path) -> None:
    completed = _cli("--max-duration", "ten", cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert lines == [
        "snapconform: --max-duration: expected a duration like 90s, 10m or 1h30m, got 'ten'"
    ]


def test_the_time_box_starts_when_the_run_started() -> None:
    plan = RunPlan.make("observed", 1500, max_duration=600.0)
    plan.start_clock(now=1000.0, started_at=time.time() - 30)  # the suite started 30 s late
    assert plan.deadline == pytest.approx(1000.0 - 30 + 600 - 60, abs=1.0)
    assert not plan.expired(now=1500.0) and plan.expired(now=1511.0)
    assert not RunPlan.make("observed", 1500).expired(now=1e12)  # no time box, never over


def test_after_the_deadline_checks_are_not_checked_and_nothing_is_sent() -> None:
    from snapconform.engine.requirements import requirement
    from snapconform.run.session import judge
    from tests.engine.helpers import harness_for

    with harness_for(mode="observed", seed=3, server={"seed": 3}) as harness:
        plan = RunPlan.make("observed", 1500, max_duration=60.0)
        plan.start_clock(now=time.monotonic() - 120)  # the time box is over
        harness.plan = plan
        harness.marks.deadline = plan.deadline
        before = harness.stats.requests
        skipped = judge(harness, requirement("FILTER-SOUNDNESS"))
        assert skipped.outcome == "not_checked" and "time box" in skipped.detail
        # an audit still judges the responses already seen (discovery's), sending nothing
        assert judge(harness, requirement("CONTRACT-JSON")).outcome == "passed"
        assert harness.stats.requests == before


def test_a_selection_plans_only_the_selected_requirements() -> None:
    audits = [r.id for r in CATALOGUE if r.audit]
    whole = RunPlan.make("controlled", 1500)
    focused = RunPlan.make("controlled", 1500)
    focused.restrict(["FILTER-EMPTY", "FILTER-SOUNDNESS", "CONTRACT-ERROR-TYPE"], audits)
    assert set(focused.shares) == {
        ERROR_PROBE,
        CHOICE_PROBE,
        "FILTER-EMPTY",
        "FILTER-SOUNDNESS",
        "CONTRACT-ERROR-TYPE",  # runs the contract probe: it carries the probe's cost
    }
    probe = whole.shares["CONTRACT-200-BODY"]
    assert focused.shares["CONTRACT-ERROR-TYPE"].minimum == probe.minimum
    assert focused.minimum < whole.minimum
    assert focused.shares["FILTER-SOUNDNESS"].planned > whole.shares["FILTER-SOUNDNESS"].planned
    # everything selected: the same plan as no selection
    again = RunPlan.make("controlled", 1500)
    again.restrict([r.id for r in CATALOGUE], audits)
    assert {k: v.planned for k, v in again.shares.items()} == {
        k: v.planned for k, v in whole.shares.items()
    }
