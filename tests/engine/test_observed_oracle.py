"""Observed mode: no response is its own oracle (issue 12, item 7).

The universe observed mode judges with comes from discovery. The empty filter's answer must hold
the union of what the other filters list (or be the cap error when that union is over the cap),
so discovery always asks the status partition too, and a filter's expected set holds only tasks
some *other* discovery filter listed. A server whose empty filter answers 200 with an empty list
passed FILTER-EMPTY before (its own answer was the universe); now it fails, and the faithful
server still passes, also while its tasks change.
"""

from __future__ import annotations

import pytest

from snapconform.engine.discovery import discover
from snapconform.engine.oracle import FilterSpec
from snapconform.mutants import get
from snapconform.server.defaults import default_state
from tests.engine.helpers import harness_for, run_checks

EMPTY_LISTS_NOTHING = get("filter-empty-lists-nothing").behaviour_class


@pytest.mark.parametrize("size", [1500, 300])
def test_an_empty_filter_answering_an_empty_list_fails_in_observed_mode(size: int) -> None:
    # 1500 tasks: the union of the other filters is over the cap (a 500 was owed); 300 tasks:
    # the empty filter owed all 300.
    server = {"state": default_state(5, size=size)}
    with harness_for(EMPTY_LISTS_NOTHING(), mode="observed", seed=5, server=server) as harness:
        universe = harness.source.universe  # type: ignore[attr-defined]
        assert len(universe.expected(FilterSpec())) == size  # the status partition's union
        result = run_checks(harness, ["FILTER-EMPTY"])["FILTER-EMPTY"]
    assert result.outcome == "failed", result.detail
    assert "missing" in result.detail or "expected 500" in result.detail


def test_the_oracle_of_a_filter_never_counts_tasks_only_its_own_answer_listed() -> None:
    server = {"state": default_state(6, size=200)}
    with harness_for(mode="observed", seed=6, server=server) as harness:
        universe = discover(harness.target)
    assert universe.sources is not None
    for task, keys in universe.sources.items():
        # every task was listed by the empty filter and by its status part
        assert FilterSpec() in keys and len(keys) >= 2, task
    status = next(iter(universe.by_id.values()))["info"]["status"]
    only_own = {
        t
        for t, keys in universe.sources.items()
        if keys == {FilterSpec(status=(status,))} and universe.by_id[t]["info"]["status"] == status
    }
    assert not only_own & universe.expected(FilterSpec(status=(status,)))


@pytest.mark.slow
@pytest.mark.parametrize("churn", [0.0, 20.0])
def test_the_faithful_server_still_passes_the_empty_filter_in_observed_mode(churn: float) -> None:
    server = {"churn_rate": churn, "churn_interval": 0.05, "seed": 7}
    ids = ["FILTER-EMPTY", "FILTER-COMPLETENESS", "CAP-OVER-LIMIT", "CAP-COUNTS-MATCHING"]
    with harness_for(mode="observed", seed=7, server=server) as harness:
        results = run_checks(harness, ids)
    failed = {rid: r.detail for rid, r in results.items() if r.outcome == "failed"}
    assert not failed
    assert results["FILTER-EMPTY"].outcome == "passed"
