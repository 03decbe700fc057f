"""Users compared case-insensitively: a SHOULD finding with source "ours", never a MUST pass or
failure (issue 23, item 6).

No source gives ``users`` a comparison rule, and a real vCenter may compare SSO principal names
case-insensitively, so the MUST filter requirements tolerate it (FILTER-EXACT-ENCODED passes the
``users-case-insensitive`` server); FILTER-USERS-EXACT, a SHOULD resting on ours, reports it. The
faithful server (exact users) passes it. The check reads what the filter checks saw, or asks one
user in another case itself.
"""

from __future__ import annotations

from pathlib import Path

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
