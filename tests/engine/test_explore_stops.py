"""An exploration that the plan's share, the budget or the target stops ends there.

A stop is not a failure: Hypothesis must neither shrink nor replay it. Shrinking a stop drew
example after example (a universe each, in controlled mode), every one raising the stop again:
two thirds of a default controlled run's CPU went there, and a replay of an example that had
passed made Hypothesis call the run flaky.
"""

from __future__ import annotations

from hypothesis import strategies as st

from snapconform.engine.oracle import FilterSpec
from snapconform.engine.verdicts import CheckResult
from tests.engine.helpers import harness_for


def _explore_until_the_share_ends(share: int, minimum: int) -> tuple[CheckResult | None, int, int]:
    """Explore with ``share`` requests allowed and ``minimum`` examples needed.

    Returns the result, the examples drawn and the requests sent.
    """
    drawn = [0]

    def counted(value: int) -> int:
        drawn[0] += 1
        return value

    with harness_for(max_examples=50) as harness:
        harness.begin_check()
        marks = harness.marks
        marks.share_allowed, marks.minimum_examples = share, minimum
        marks.share_limit = harness.stats.requests + share
        before = harness.stats.requests
        result = harness.explore(
            st.integers(0, 10**6).map(counted),
            lambda _: harness.target.list_tasks(FilterSpec()),
        )
        sent = harness.stats.requests - before
        harness.end_check()
    return result, drawn[0], sent


def test_a_share_that_ends_after_the_minimum_is_a_pass_and_nothing_is_drawn_after_it() -> None:
    result, drawn, sent = _explore_until_the_share_ends(share=5, minimum=3)
    assert result is None  # the check stands on the examples it ran
    assert sent == 5
    # five examples sent a request each; the sixth met the spent share: nothing after it
    assert drawn == 6


def test_a_share_that_ends_before_the_minimum_is_not_checked_and_not_shrunk() -> None:
    result, drawn, sent = _explore_until_the_share_ends(share=2, minimum=3)
    assert result is not None and result.outcome == "not_checked"
    assert "not enough requests left" in result.detail
    assert sent == 2 and drawn == 3
