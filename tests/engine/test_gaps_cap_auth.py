"""Detection gaps of the mutation matrix in the cap, auth and observed-mode parts of the engine.

Each test runs the engine in-process against a mutant of ``snapconform.mutants`` (served by
``serve_in_thread``) and shows the named requirement now catches it, and that the faithful
server still passes the same check in the same mode. A run that runs out of request budget
skips what it could not finish; it never fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from snapconform.config import RunConfig
from snapconform.engine.harness import Harness
from snapconform.engine.requirements import CATALOGUE, requirement
from snapconform.engine.verdicts import CheckResult
from snapconform.mutants import get
from snapconform.run.session import judge
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import default_state
from snapconform.server.runner import serve_in_thread
from tests.engine.helpers import mode_universe, reach_options

pytestmark = pytest.mark.slow


@contextmanager
def engine_against(
    mutant: str | None,
    mode: str,
    tmp_path: Path,
    *,
    seed: int = 0,
    max_examples: int = 5,
    max_requests: int = 5000,
    behaviour: Behaviour | None = None,
) -> Iterator[Harness]:
    """A Harness in ``mode`` against ``mutant`` (None: the faithful server, or ``behaviour``
    when given), as selftest sets it up: controlled pushes its own universes, declared serves
    the boundary universe and hands the engine its state file, observed serves the default
    1500-task universe."""
    state, state_file = mode_universe(mode, tmp_path, seed)
    base = ServerConfig(
        state=state, control=mode == "controlled", seed=seed, behaviour=behaviour or Behaviour()
    )
    config = base if mutant is None else get(mutant).server_config(base)
    with serve_in_thread(config, "127.0.0.1", 0) as server:
        options: dict[str, Any] = {
            "base_url": server.base_url,
            "seed": seed,
            "max_examples": max_examples,
            "max_requests": max_requests,
            **reach_options(mode, server, state_file),
        }
        control = server.control_url if mode == "controlled" else None
        harness = Harness.open(
            RunConfig(**options), base_url=server.base_url, control_url=control, seed=seed
        )
        try:
            yield harness
        finally:
            harness.close()


def outcome_of(harness: Harness, requirement_id: str) -> CheckResult:
    """The requirement's outcome exactly as the conformance suite records it (``verify``)."""
    return judge(harness, requirement(requirement_id))


# --- 1. running out of budget leaves requirements not checked, never failed ---------------


@pytest.mark.parametrize("budget", [25])
def test_a_tiny_budget_leaves_unchecked_what_it_cannot_finish_and_fails_nothing(
    budget: int, tmp_path: Path
) -> None:
    ids = [r.id for r in CATALOGUE if r.feature != "fuzzing"]
    with engine_against(None, "controlled", tmp_path, max_requests=budget) as harness:
        outcomes = {rid: outcome_of(harness, rid) for rid in ids}
    failed = {rid: r.detail for rid, r in outcomes.items() if r.outcome == "failed"}
    assert not failed
    unchecked = [r for r in outcomes.values() if r.outcome == "not_checked"]
    assert any(r.reason == "budget" and "budget" in r.detail for r in unchecked)
    assert not [r for r in outcomes.values() if r.outcome == "passed" and "budget" in r.detail]


@pytest.mark.parametrize(
    "requirement_id",
    ["AUTH-PRIVILEGE", "AUTH-VISIBILITY", "FAULT-503", "FAULT-500", "CAP-OVER-LIMIT"],
)
def test_a_budget_running_out_mid_check_skips_it(requirement_id: str, tmp_path: Path) -> None:
    # Every budget from "nothing left after the pre-flight login" up: the refusal lands on
    # each request of the check in turn (a login, a state push's relogin, an injected fault).
    for budget in range(1, 6):
        with engine_against(None, "controlled", tmp_path, max_requests=budget) as harness:
            result = outcome_of(harness, requirement_id)
        assert result.outcome != "failed", (budget, result.detail)


def test_a_budget_spent_before_the_unprivileged_login_blames_the_budget(tmp_path: Path) -> None:
    """Seen: `the unprivileged login was refused: request budget of 2000 spent` — the server
    refused nothing; the skip reason must name the budget, not a refusal."""
    seen_budget = False
    for budget in range(1, 7):
        with engine_against(None, "declared", tmp_path, max_requests=budget) as harness:
            result = outcome_of(harness, "AUTH-PRIVILEGE")
        assert result.outcome != "failed", (budget, result.detail)
        if "budget" in result.detail:
            seen_budget = True
            assert "refused" not in result.detail, (budget, result.detail)
    assert seen_budget


# --- 8. summary.json says when each requirement first failed ------------------------------------


def test_summary_carries_the_request_count_of_each_first_failure(tmp_path: Path) -> None:
    import io

    from snapconform.contracts import default_contracts
    from snapconform.run import runner

    base = ServerConfig(state=default_state(0, size=20), control=True, seed=0)
    chosen = {"CAP-OVER-LIMIT", "CAP-NEVER-MORE", "AUTH-NO-CREDENTIALS"}
    with serve_in_thread(get("cap-off-by-one-high").server_config(base), "127.0.0.1", 0) as server:
        config = RunConfig(
            base_url=server.base_url,
            control_url=server.control_url,
            seed=0,
            max_examples=2,
            report_dir=tmp_path,
        )
        summary = runner.run(
            config, out=io.StringIO(), requirements=[r for r in CATALOGUE if r.id in chosen]
        ).summary
    assert not default_contracts().errors("summary", summary)
    by_id = {r["id"]: r for r in summary["requirements"]}
    over, audit = by_id["CAP-OVER-LIMIT"], by_id["CAP-NEVER-MORE"]
    assert over["outcome"] == audit["outcome"] == "failed"
    # the first 1001-task universe is the first case: found within a handful of requests
    assert 1 <= over["first_failure_request"] <= 10
    assert 1 <= audit["first_failure_request"] <= summary["requests"]
    assert by_id["AUTH-NO-CREDENTIALS"]["outcome"] == "passed"
    assert by_id["AUTH-NO-CREDENTIALS"]["first_failure_request"] is None
    assert by_id["FILTER-EMPTY"]["first_failure_request"] is None  # not run
    # where each check's requests lie in the run's count (selftest's @N reads them from here)
    assert over["started_at_request"] < over["first_failure_request"] <= over["ended_at_request"]
    assert all(
        0 <= r["started_at_request"] <= r["ended_at_request"] <= summary["requests"]
        for r in by_id.values()
        if r["id"] in chosen
    )
    assert by_id["FILTER-EMPTY"]["started_at_request"] is None
    assert by_id["FILTER-EMPTY"]["ended_at_request"] is None


# --- 2, 3, 6: the cap and visibility with a known state ------------------------------------------


@pytest.mark.parametrize(
    ("mutant", "mode", "requirement_id"),
    [
        ("intermittent-skips-cap", "controlled", "CAP-OVER-LIMIT"),
        # declared: the state file's limited principal is logged in (its password is there)
        ("auth-visibility-leak", "declared", "AUTH-VISIBILITY"),
        ("cap-counts-store", "declared", "CAP-COUNTS-MATCHING"),
    ],
)
def test_known_state_gap_is_caught_and_the_faithful_server_passes(
    mutant: str, mode: str, requirement_id: str, tmp_path: Path
) -> None:
    with engine_against(mutant, mode, tmp_path) as harness:
        caught = outcome_of(harness, requirement_id)
    assert caught.outcome == "failed", caught.detail
    with engine_against(None, mode, tmp_path) as harness:
        faithful = outcome_of(harness, requirement_id)
    assert faithful.outcome == "passed", faithful.detail


# --- 4, 5: observed mode proves a filter over the cap from its parts ------------------------------


@pytest.mark.parametrize(
    ("mutant", "requirement_id"),
    [
        ("cap-truncates", "CAP-OVER-LIMIT"),
        ("cap-error-type-error", "CAP-OVER-LIMIT"),
        ("cap-invalid-argument", "CAP-OVER-LIMIT"),
        ("cap-counts-store", "CAP-COUNTS-MATCHING"),
    ],
)
def test_observed_cap_gap_is_caught(mutant: str, requirement_id: str, tmp_path: Path) -> None:
    with engine_against(mutant, "observed", tmp_path) as harness:
        result = outcome_of(harness, requirement_id)
    assert result.outcome == "failed", result.detail


def test_observed_faithful_server_passes_the_cap_checks(tmp_path: Path) -> None:
    with engine_against(None, "observed", tmp_path) as harness:
        # discovery listed all 1500 tasks through its parts (the empty filter is over the cap)
        assert len(harness.source.universe.items) == 1500  # type: ignore[attr-defined]
        results = {
            rid: outcome_of(harness, rid) for rid in ("CAP-OVER-LIMIT", "CAP-COUNTS-MATCHING")
        }
    assert {rid: r.outcome for rid, r in results.items()} == {
        "CAP-OVER-LIMIT": "passed",
        "CAP-COUNTS-MATCHING": "passed",
    }


def test_discovery_lists_a_truncating_server_by_its_parts(tmp_path: Path) -> None:
    # The empty filter answers 200 with exactly 1000 tasks: discovery asks the status parts,
    # whose union (1500) shows the filter is over the cap.
    with engine_against("cap-truncates", "observed", tmp_path) as harness:
        assert len(harness.source.universe.items) == 1500  # type: ignore[attr-defined]


# --- 7. a re-check must not depend on the encoding the server gets wrong --------------------------


def test_observed_percent_decoding_is_confirmed_not_put_down_to_churn(tmp_path: Path) -> None:
    # Task ids (<uuid>:<service>) need percent-encoding: the server that does not decode finds
    # nothing for the tasks= re-check either; the task is then located by its plain values.
    with engine_against("filter-no-percent-decoding", "observed", tmp_path) as harness:
        caught = outcome_of(harness, "FILTER-EXACT-ENCODED")
    assert caught.outcome == "failed", caught.detail
    assert "missing" in caught.detail
    with engine_against(None, "observed", tmp_path) as harness:
        faithful = outcome_of(harness, "FILTER-EXACT-ENCODED")
        assert not harness.uncertain.get("FILTER-EXACT-ENCODED")
    assert faithful.outcome == "passed", faithful.detail
