"""A state push ends every session; the harness' login after it is never refused by the
current check's share of the plan (else every later check meets 401: seen behind the fault
proxy, where retries spend a share sooner, as FUZZ-SCHEMATHESIS failing on 401s)."""

from __future__ import annotations

from snapconform.engine.universe import Universe
from snapconform.errors import ShareSpent
from tests.engine.helpers import harness_for


def test_the_login_after_a_push_is_outside_the_checks_share() -> None:
    # API 9.0: logins are sessions (8.0.3 sends Basic on every request, no login call)
    nine = {"api_version": "9.0"}
    with harness_for(mode="controlled", seed=1, server=nine, run=nine) as harness:
        harness.begin_check()
        marks = harness.marks
        marks.share_limit = harness.stats.requests  # the check's share is spent ...
        marks.share_allowed = 0
        universe: Universe = harness.source.first_universe()
        harness.install(universe)  # ... just as its example pushed a universe
        assert marks.share_limit == harness.stats.requests - 1  # restored, not lifted
        try:
            harness.target.get_tasks("tasks=no-such-task")
        except ShareSpent:
            pass  # the check itself stays within its share
        else:
            raise AssertionError("the check's own request went past its share")
        harness.end_check()
        # the next check finds a live session
        assert harness.target.get_tasks("tasks=no-such-task").status == 200
