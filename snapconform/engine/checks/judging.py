"""Judging a 200 list against the universe: nothing missing, the cap, a difference confirmed
before it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from snapconform.engine import oracle
from snapconform.engine.checks.common import filter_violation, scenario_note
from snapconform.engine.checks.refusals import documented_refusal, note_listed
from snapconform.engine.checks.responses import (
    error_type_of,
    is_list,
    is_too_many,
    listed_ids,
    listed_items,
)
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import (
    Exchange,
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
    response: Exchange,
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
    h: Harness, req: Requirement, universe: Universe, spec: FilterSpec, response: Exchange
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
    """Whether two id sets that should be equal really differ (observed: re-checked).

    ``left`` is the later answer, ``right`` the earlier (``again`` returns them in that order):
    a task only the later answer lists that no re-read finds is invented, never churn.
    """
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


class Listed(NamedTuple):
    """A list to judge: the filter it answers (the one asked, or the same filter without the
    reasons of a documented refusal) and the answer."""

    spec: FilterSpec
    response: Exchange


def list_or_fail(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Exchange,
    req: Requirement,
    target: Target | None = None,
) -> Listed | None:
    """The list to judge for ``spec``: ``response``, the answer to asking again after a server
    error, or, after a documented refusal, the answer to the same filter without its reasons
    (every case then judges a list). None when there is none to judge, for a documented reason;
    raise when a list was owed and not given.

    A refusal counts only with its reason shown (``documented_refusal``). A server error is
    asked once more: the same 5xx twice for the same filter is a failure unless a source
    documents it there (the cap error where the filter may match over 1000 tasks); a list the
    second time is judged instead. ``target``: the client that asked (default the run's).
    """
    target = target or h.target
    if is_list(response):
        note_listed(h, universe, spec, response)
        return Listed(spec, response)
    beyond = over_cap(universe, spec)
    if beyond is True and is_too_many(response):
        return None
    if beyond is False and is_too_many(response) and over_cap_when_users_fold(universe, spec):
        # Only users folding case explains it: the filter as written is certainly under the
        # cap. Near the cap (``beyond`` None) the count alone may explain it: no evidence.
        h.choices.record("users-case", "case-insensitive", spec.describe())
        return None
    refusal = documented_refusal(h, universe, spec, response, req, target=target)
    if refusal is not None:
        # a documented alternative, its reason shown (recorded under variants)
        if refusal.spec is not None and refusal.response is not None:
            return Listed(refusal.spec, refusal.response)
        return None
    if beyond is None and is_too_many(response):
        # Observed, near the cap: the cap error is documented there; the count cannot be told.
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status} (the cap error)")
        return None
    if h.source.passing(response):
        again = target.list_tasks(spec)
        if is_list(again):
            note_listed(h, universe, spec, again)
            return Listed(spec, again)
        if not same_failure(response, again):
            h.note_uncertain(
                req.id, f"{spec.describe()}: HTTP {response.status}, then HTTP {again.status}"
            )
            return None
        response = again  # the same server error twice: no passing condition explains it
    elif h.source.live and not still_matched(h, universe, spec):
        # A live server: every task holding these values may have been purged (a 400 for unknown
        # identifiers is allowed); only a filter a stable task still matches must be listed.
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status}")
        return None
    expected = len(universe.expected(spec))
    twice = " twice" if h.source.passing(response) else ""
    raise filter_violation(
        h,
        spec,
        response,
        f"HTTP {response.status}{describe_error(response)}{twice} for a valid filter matching"
        f" {expected} task(s)" + scenario_note(h, universe),
        universe=universe,
        expected_status=200,
    )


def same_failure(first: Exchange, second: Exchange) -> bool:
    """Whether two answers are the same failure: status and error type."""
    return first.status == second.status and error_type_of(first) == error_type_of(second)


def describe_error(response: Exchange) -> str:
    error_type = error_type_of(response)
    return f" {error_type}" if isinstance(error_type, str) else ""
