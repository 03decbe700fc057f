"""Requests the plan pays for elsewhere are not the current check's.

A state push ends every session; the harness' login after it is never refused by the current
check's share of the plan (else every later check meets 401: seen behind the fault proxy, where
retries spend a share sooner, as FUZZ-SCHEMATHESIS failing on 401s). The decisive choice probes
(``checks.refusals.learn_choices``) are planned on their own line, once per run: the check that
happens to meet them first does not pay for them (it did, and at a budget the plan called enough
FILTER-INVALID-STATUS ended not checked in observed mode).
"""

from __future__ import annotations

from snapconform.config import RunConfig
from snapconform.engine.checks.refusals import learn_choices
from snapconform.engine.plan import CHOICE_PROBE, RunPlan
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
        # moved past the login, not lifted: the share is exactly as spent as before the push
        assert marks.share_limit == harness.stats.requests
        try:
            harness.target.get_tasks("tasks=no-such-task")
        except ShareSpent:
            pass  # the check itself stays within its share
        else:
            raise AssertionError("the check's own request went past its share")
        harness.end_check()
        # the next check finds a live session
        assert harness.target.get_tasks("tasks=no-such-task").status == 200


def test_the_choice_probes_are_paid_by_their_own_line_of_the_plan() -> None:
    with harness_for(mode="observed", seed=1) as harness:
        harness.plan = RunPlan.make("observed", RunConfig().max_requests)
        harness.begin_check("FILTER-INVALID-STATUS")
        marks = harness.marks
        before = harness.stats.requests
        marks.share_limit = before + 1  # one request left in the check's share
        learn_choices(harness, harness.source.first_universe())
        probes = harness.stats.requests - before
        assert probes >= 3  # the decisive probes went out ...
        assert marks.share_limit == harness.stats.requests + 1  # ... and the share is intact
        assert marks.apart == probes
        assert harness.plan.shares[CHOICE_PROBE].spent == probes
        assert harness.target.get_tasks("tasks=no-such-task").status == 200  # the check's own
        harness.end_check()
