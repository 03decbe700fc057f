"""Users compared case-insensitively: a SHOULD finding with source "ours", never a MUST pass or
failure (issue 23, item 6).

No source gives ``users`` a comparison rule, and a real vCenter may compare SSO principal names
case-insensitively, so the MUST filter requirements tolerate it (FILTER-EXACT-ENCODED passes the
``users-case-insensitive`` server); FILTER-USERS-EXACT, a SHOULD resting on ours, reports it. The
faithful server (exact users) passes it. The check reads what the filter checks saw, or asks one
user in another case itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from snapconform.engine.requirements import BY_ID
from snapconform.engine.verdicts import verdict_of
from snapconform.server.behaviour import Behaviour
from snapconform.server.variants import behaviour_with
from tests.engine.test_gaps_cap_auth import engine_against, outcome_of

pytestmark = pytest.mark.slow


def test_the_requirement_is_a_should_resting_on_ours() -> None:
    requirement = BY_ID["FILTER-USERS-EXACT"]
    assert requirement.level == "SHOULD"
    assert "ours" in {source.kind for source in requirement.sources}


@pytest.mark.parametrize("mode", ["controlled", "declared", "observed"])
@pytest.mark.parametrize("after_the_filter_checks", [False, True], ids=["own-probe", "reads"])
def test_case_insensitive_users_are_a_should_finding_and_exact_users_pass(
    mode: str, after_the_filter_checks: bool, tmp_path: Path
) -> None:
    before = ["FILTER-EXACT-ENCODED"] if after_the_filter_checks else []
    outcomes = {}
    for name, behaviour in (
        ("faithful", Behaviour()),
        ("insensitive", behaviour_with(["users-case-insensitive"])),
    ):
        (tmp_path / name).mkdir()
        with engine_against(None, mode, tmp_path / name, behaviour=behaviour) as harness:
            earlier = {rid: outcome_of(harness, rid) for rid in before}
            outcomes[name] = outcome_of(harness, "FILTER-USERS-EXACT")
        # the MUST requirement tolerates what no source forbids
        assert all(r.outcome == "passed" for r in earlier.values()), earlier
    faithful, insensitive = outcomes["faithful"], outcomes["insensitive"]
    assert faithful.outcome == "passed", faithful.detail
    assert insensitive.outcome == "failed", insensitive.detail
    assert "case-insensitively" in insensitive.detail
    # a SHOULD failure leaves a run whose MUSTs passed conformant
    rows = [
        {"level": "MUST", "outcome": "passed"},
        {"level": "SHOULD", "outcome": insensitive.outcome},
    ]
    assert verdict_of(rows) == "conformant"


class ListsOtherUsersTasks(Behaviour):
    """Answers a ``users`` filter with the tasks of every other user, never those of the user
    asked for in any case: invented answers, as a mock that makes its data up gives them."""

    def field_matches(self, name: str, wanted: Sequence[str], actual: Any) -> bool:
        if name == "users":
            return isinstance(actual, str) and all(
                actual.casefold() != value.casefold() for value in wanted
            )
        return super().field_matches(name, wanted, actual)


@pytest.mark.parametrize("after_the_filter_checks", [False, True], ids=["own-probe", "reads"])
def test_a_list_of_tasks_that_match_under_no_comparison_shows_nothing_about_case(
    after_the_filter_checks: bool, tmp_path: Path
) -> None:
    # The answer lists no task of the user asked for in another case, but only because it lists
    # unrelated tasks: that is no evidence of an exact comparison (FILTER-SOUNDNESS fails it).
    before = ["FILTER-EXACT-ENCODED"] if after_the_filter_checks else []
    with engine_against(None, "controlled", tmp_path, behaviour=ListsOtherUsersTasks()) as harness:
        for rid in before:
            outcome_of(harness, rid)
        outcome = outcome_of(harness, "FILTER-USERS-EXACT")
    assert outcome.outcome == "not_checked", outcome.detail
