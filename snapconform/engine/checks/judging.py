"""Judging a 200 list against the universe: nothing missing, the cap, a difference confirmed
before it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from snapconform.engine import oracle
from snapconform.engine.checks.common import (
    documented_refusal,
    filter_violation,
    note_listed,
    scenario_note,
)
from snapconform.engine.checks.responses import is_list, is_too_many, listed_ids, listed_items
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import (
    Response,
    Target,
)
from snapconform.engine.universe import Universe, over_cap, over_cap_when_users_fold

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


def judge_complete(
    h: Harness,
    req: Requirement,
    universe: Universe,
    spec: FilterSpec,
    response: Response,
    target: Target,
) -> None:
    """No visible matching task may be missing from a 200 (observed: re-checked before failing)."""
    expected = universe.expected(spec)
    got = listed_ids(response)
    missing = expected - got
    if not missing:
        return
    confirmed, uncertain = h.source.confirm_missing(target, spec, missing, universe)
    if uncertain:
        h.note_uncertain(req.id, f"{spec.describe()}: {len(uncertain)} task(s) changed or vanished")
    if confirmed:
        raise filter_violation(
            h,
            spec,
            response,
            f"{len(confirmed)} matching visible task(s) missing, e.g. {sorted(confirmed)[:3]}"
            + scenario_note(h, universe),
            universe=universe,
            expected=universe.judged_for(spec, expected),
            actual=universe.judged_for(spec, got),
        )


def over_cap_list(
    h: Harness, req: Requirement, universe: Universe, spec: FilterSpec, response: Response
) -> str | None:
    """Why a 200 list to a filter over the cap is wrong (None: fine or uncertain, noted).

    More than CAP items is always wrong. Otherwise, on a live server the filter must first be
    shown to still match more than CAP: the stable matching tasks the list lacks must still be
    there (purged tasks may have brought the count under the cap, and then a 200 is right).
    """
    got = listed_ids(response)
    judged = universe.judged_for(spec, universe.expected(spec))
    if len(got) > CAP or not h.source.live:
        return (
            f"200 with {len(got)} tasks although at least {len(judged)} visible tasks match"
            f" (over the cap: expected 500 ResourceInaccessible)"
        )
    confirmed, uncertain = h.source.confirm_missing(h.target, spec, judged - got, universe)
    if confirmed:
        return (
            f"200 with {len(got)} tasks although at least {len(judged)} visible tasks matched;"
            f" {len(confirmed)} of them still there are missing, e.g. {sorted(confirmed)[:3]}"
            f" (truncated: expected 500 ResourceInaccessible)"
        )
    h.note_uncertain(
        req.id,
        f"{spec.describe()}: 200 with {len(got)} tasks; the snapshot's count over the cap could"
        f" not be confirmed ({len(uncertain)} task(s) changed or vanished)",
    )
    return None


def confirmed_difference(
    h: Harness,
    req: Requirement,
    universe: Universe,
    spec: FilterSpec,
    left: frozenset[str],
    right: frozenset[str],
    again: Callable[[], tuple[frozenset[str], frozenset[str]] | None],
) -> bool:
    """Whether two id sets that should be equal really differ (observed: re-checked)."""
    if left == right:
        return False
    confirmed, uncertain = h.source.confirm_difference(h.target, left, right, universe, again)
    if uncertain:
        h.note_uncertain(
            req.id,
            f"{spec.describe()}: {len(uncertain)} differing task(s) changed or vanished",
        )
    return bool(confirmed)


def still_matched(h: Harness, universe: Universe, spec: FilterSpec) -> bool:
    """Whether a stable task matching ``spec`` is still there (a ``tasks=`` query)."""
    for task_id in sorted(universe.judged_for(spec, universe.expected(spec)))[:2]:
        now = {
            i.get("task"): i
            for i in listed_items(h.target.list_tasks(FilterSpec(tasks=(task_id,))))
        }
        if task_id in now and oracle.matches(now[task_id], spec):
            return True
    return False


def list_or_fail(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response, req: Requirement
) -> bool:
    """Whether ``response`` is a list to judge; raise when a list was owed and not given."""
    if is_list(response):
        note_listed(h, universe, spec, response)
        return True
    beyond = over_cap(universe, spec)
    if beyond is True and is_too_many(response):
        return False
    if is_too_many(response) and over_cap_when_users_fold(universe, spec):
        h.choices.record("users-case", "case-insensitive", spec.describe())
        return False
    if documented_refusal(h, universe, spec, response):
        return False  # a documented alternative (recorded under variants)
    if beyond is None or h.source.passing(response):
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status}")
        return False
    if h.source.live and not still_matched(h, universe, spec):
        # A live server: every task holding these values may have been purged (a 400 for unknown
        # identifiers is allowed); only a filter a stable task still matches must be listed.
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status}")
        return False
    expected = len(universe.expected(spec))
    raise filter_violation(
        h,
        spec,
        response,
        f"HTTP {response.status} for a valid filter matching {expected} task(s)"
        + scenario_note(h, universe),
        universe=universe,
        expected_status=200,
    )
