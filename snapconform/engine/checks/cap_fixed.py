"""The 1000-task cap on a declared or observed universe: simple filters whose count it tells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from snapconform.engine import oracle
from snapconform.engine.checks.common import finish
from snapconform.engine.checks.judging import over_cap_list
from snapconform.engine.checks.refusals import (
    documented_refusal,
    refused_as_documented,
    with_every_service,
)
from snapconform.engine.checks.responses import (
    error_type_of,
    is_list,
    is_refused,
    is_too_many,
    listed_ids,
)
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.registry import Requirement
from snapconform.engine.target import Exchange
from snapconform.engine.universe import Universe, over_cap
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


class CapQuestion(Enum):
    """What a cap requirement asks of a fixed universe (declared or observed): the simple
    filters whose count the universe tells and that show it."""

    AT_LIMIT = "exactly 1000 matching tasks"
    OVER_LIMIT = "more than 1000 matching tasks"
    COUNTS_MATCHING = "at most 1000 matching of more than 1000 visible tasks"

    def asks(self, universe: Universe, spec: FilterSpec) -> bool:
        """Whether ``spec`` on ``universe`` is a case of this question."""
        if self is CapQuestion.AT_LIMIT:
            known = universe.known_expected(spec)
            return known is not None and len(known) == CAP
        beyond = over_cap(universe, spec)
        if self is CapQuestion.OVER_LIMIT:
            return beyond is True
        return beyond is False and len(universe) > CAP

    def unreachable(self, h: Harness, universe: Universe) -> CheckResult:
        """Why no filter of the universe could be judged against the cap."""
        visible = len(universe.expected(FilterSpec()))
        tasks = f"the target has {visible} visible task(s)"
        if self is CapQuestion.AT_LIMIT:
            if h.source.live:
                return CheckResult.not_applicable(
                    "mode",
                    "observed mode cannot know a filter that matches exactly 1000 tasks"
                    " (use controlled mode, or declared mode with such data)",
                )
            return CheckResult.not_applicable(
                "target", f"{tasks} and no simple filter matches exactly 1000 of them"
            )
        discovery = universe.discovery or {}
        capped = discovery.get("cap_errors", 0)
        if capped:
            # The target answered the cap error during discovery: the cap is reachable, and
            # what discovery could not list is no evidence of fewer tasks.
            seen = f"discovery saw the cap error ({capped} part(s) answered it)"
            if not universe.complete:
                return CheckResult.not_checked(
                    "discovery",
                    f"{seen} but could not list every part, so no filter is known to match"
                    f" more (or fewer) than 1000 tasks: {'; '.join(discovery['uncertain'][:2])}",
                )
            if visible <= CAP:
                return CheckResult.not_checked(
                    "no_evidence", f"{seen}, yet {tasks}: no filter is known to be over the cap"
                )
        if visible <= CAP:
            return CheckResult.not_applicable("target", f"{tasks}: the cap cannot be reached")
        if self is CapQuestion.OVER_LIMIT:
            return CheckResult.not_checked(
                "no_evidence", f"{tasks}, but no filter is known to match more than 1000"
            )
        return CheckResult.not_checked(
            "no_evidence", f"{tasks}, but no filter is known to match fewer than 1000 of them"
        )


def filtered_over_cap(universe: Universe) -> list[FilterSpec]:
    """Filters that constrain a field and still match more than CAP tasks, from the counts the
    universe knows: per field, its most frequent values until their tasks are over the cap.

    The empty filter is not the only one the cap applies to: a server that counts only for the
    empty filter shows on these. Services first (a filter naming services is one the bindings'
    "tasks or services" rule admits); only filters ``over_cap`` is certain of.
    """
    out: list[FilterSpec] = []
    for name in ("services", "operations", "users", "status"):
        counts = {
            value: len(universe.expected(FilterSpec(**{name: (value,)})))
            for value in universe.vocabulary.values.get(name, ())
        }
        chosen: list[str] = []
        for value in sorted(counts, key=lambda v: (-counts[v], v)):
            chosen.append(value)
            spec = FilterSpec(**{name: tuple(chosen)})
            if over_cap(universe, spec) is True:
                out.append(spec)
                break
    return out[:2]


def _cap_counts_probes(
    h: Harness, req: Requirement, universe: Universe, candidates: Sequence[FilterSpec]
) -> int:
    """Declared/observed CAP-COUNTS-MATCHING cases whose count no churn can push over the cap.

    ``services=`` a service no task holds matches nothing, and ``tasks=`` up to three known ids
    at most three tasks, in any universe: 500 ResourceInaccessible for either, asked twice, is a
    certain failure (the cap counted something else). An unknown task id may get 500
    ResourceInaccessible (documented: a task whose state cannot be accessed). Declared: the
    state file's limited principal, on filters matching more than 1000 stored tasks of which it
    sees at most 1000, must get exactly its visible matches (or, the cap counting every matching
    task, 500 ResourceInaccessible: documented).
    Returns the filters judged; a failure raises.
    """
    absent = f"snapconform-absent-{h.seed}"
    known = tuple(sorted(universe.by_id))[:3]
    # A service no task holds matches nothing: 200 or 400 (unknown identifiers), never the cap.
    probes = [FilterSpec(services=(absent,)), FilterSpec(tasks=(absent,))]
    probes += [FilterSpec(tasks=known)] if known else []
    judged = 0
    for spec in probes:
        response = h.target.list_tasks(spec)
        judged += 1
        if is_too_many(response) and universe.unknown_task_ids(spec):
            # An unknown task id may be a task whose state cannot be accessed (page).
            h.choices.record("unknown-identifiers", "inaccessible", spec.describe())
            continue
        if is_too_many(response):
            # Known tasks: their state may be inaccessible for a moment; twice is a cap count.
            response = h.target.list_tasks(spec)
        if is_too_many(response):
            raise Violation(
                f"filter {spec.describe()} matches at most {len(spec.tasks or ())} task(s) in any"
                f" universe, yet the answer is 500 ResourceInaccessible (over the cap): the cap"
                f" does not count the matching tasks — reproduce: {h.repro(response)}",
                h.evidence(response, spec=spec, universe=universe, expected_status=200),
            )
    if h.limited is None or h.source.live:
        return judged
    credentials, visible = h.limited
    view = Universe(items=universe.items, visible=visible)
    cases = [
        spec
        for spec in candidates
        if len(oracle.expected_ids(universe.items, spec, None)) > CAP
        and len(view.expected(spec)) <= CAP
    ][:3]
    if not cases:
        return judged
    with h.new_target() as target:
        h.login(target, credentials)
        for spec in cases:
            response = target.list_tasks(spec)
            judged += 1
            expected = view.expected(spec)
            stored = len(oracle.expected_ids(universe.items, spec, None))
            if is_too_many(response):
                # The cap may count every matching task, invisible ones included (the error's
                # "over 1000 tasks matching"): documented, recorded.
                h.choices.record("cap-counts", "all-matching", spec.describe())
                continue
            if is_list(response) and listed_ids(response) == expected:
                h.choices.record("cap-counts", "visible-matching", spec.describe())
                continue
            if not is_list(response) and documented_refusal(
                h, view, spec, response, req, target=target
            ):
                continue
            got = (
                oracle.set_difference(listed_ids(response), expected)
                if is_list(response)
                else f"HTTP {response.status}"
            )
            raise Violation(
                f"filter {spec.describe()} as the limited principal {credentials.username!r}"
                f" ({len(expected)} visible of {stored} matching tasks): {got}, expected 200"
                f" with its {len(expected)} visible matches — reproduce: {h.repro(response)}",
                h.evidence(
                    response,
                    spec=spec,
                    universe=view,
                    expected=expected,
                    actual=listed_ids(response) if is_list(response) else None,
                    principal="limited (state file)",
                ),
            )
    return judged


def cap_fixed(h: Harness, req: Requirement, question: CapQuestion) -> CheckResult:
    """Declared/observed: judge the cap on simple filters whose count the universe tells."""
    universe = h.source.first_universe()  # the run's one universe (the source does not push)
    candidates = [
        FilterSpec(),
        *filtered_over_cap(universe),
        *(
            FilterSpec(**{name: (value,)})
            for name in ("status", "services", "operations", "users")
            for value in universe.vocabulary.values.get(name, ())
        ),
    ]
    if question is CapQuestion.OVER_LIMIT:
        # The over-cap filter nearest the boundary first (an off-by-one shows only at 1001),
        # then the empty filter and the filtered ones in order.
        over = [spec for spec in candidates if question.asks(universe, spec)]
        if over:
            nearest = min(over, key=lambda spec: len(universe.expected(spec)))
            candidates = list(dict.fromkeys([nearest, *candidates]))
    judged = probed = decided = 0
    if question is CapQuestion.COUNTS_MATCHING:
        probed = _cap_counts_probes(h, req, universe, candidates)
    for spec in candidates:
        beyond = over_cap(universe, spec)
        count = len(universe.expected(spec))
        if not question.asks(universe, spec):
            continue
        response = h.target.list_tasks(spec)
        if refused_as_documented(h, universe, spec, response, req):
            # The same tasks named by every service (a filter the bindings' rule admits).
            substitute = with_every_service(universe, spec) if is_refused(response) else None
            if substitute is None:
                continue
            spec, response = substitute, h.target.list_tasks(substitute)
            if refused_as_documented(h, universe, spec, response, req):
                continue
        judged += 1
        if beyond:
            if not is_too_many(response) and not is_list(response):
                # A live server: a 400 or another 500 may be a passing hiccup; it counts if
                # repeated.
                seen = (response.status, error_type_of(response))
                again = h.source.observe_again(
                    seen, lambda spec=spec: _status(h.target.list_tasks(spec))
                )
                if again != seen:
                    h.note_uncertain(
                        req.id, f"{spec.describe()}: HTTP {response.status}, then {again[0]}"
                    )
                    continue
            if not is_too_many(response):
                got = f"HTTP {response.status}"
                if is_list(response):
                    problem = over_cap_list(h, req, universe, spec, response)
                    if problem is None:
                        continue  # the count may have dropped under the cap (noted uncertain)
                    got = f"{problem}; 200 (truncated)"
                elif isinstance(response.body, Mapping):
                    got += f" with error_type {error_type_of(response)!r}"
                count = len(universe.expected(spec))
                stable = len(universe.judged_for(spec, universe.expected(spec)))
                raise Violation(
                    f"filter {spec.describe()} matches {count} visible tasks"
                    + ("" if universe.stable is None else f" of the snapshot ({stable} terminal)")
                    + f": {got}, expected 500 ResourceInaccessible — reproduce:"
                    f" {h.repro(response)}",
                    h.evidence(
                        response,
                        spec=spec,
                        universe=universe,
                        expected=universe.judged_for(spec, universe.expected(spec))
                        if is_list(response)
                        else None,
                        actual=listed_ids(response) if is_list(response) else None,
                        expected_status=500,
                    ),
                )
        else:
            if not is_list(response):
                # A live server: one more look before failing (it may have grown over the cap).
                response = h.source.observe_again(
                    response, lambda spec=spec: h.target.list_tasks(spec)
                )
                if h.source.live and is_too_many(response):
                    h.note_uncertain(req.id, f"{spec.describe()}: grew over the cap during the run")
                    continue
            if not is_list(response):
                raise Violation(
                    f"filter {spec.describe()} matches {count} tasks: HTTP {response.status}, "
                    f"expected 200 — reproduce: {h.repro(response)}",
                    h.evidence(response, spec=spec, universe=universe, expected_status=200),
                )
            missing = universe.judged_for(spec, universe.expected(spec)) - listed_ids(response)
            if missing:
                confirmed, _ = h.source.confirm_missing(h.target, spec, missing, universe)
                if confirmed:
                    raise Violation(
                        f"filter {spec.describe()}: {len(confirmed)} matching task(s) missing "
                        f"— reproduce: {h.repro(response)}",
                        h.evidence(
                            response,
                            spec=spec,
                            universe=universe,
                            expected=universe.judged_for(spec, universe.expected(spec)),
                            actual=universe.judged_for(spec, listed_ids(response)),
                        ),
                    )
        decided += 1
        if judged >= 3:
            break
    if judged + probed == 0:
        return question.unreachable(h, universe)
    if decided + probed == 0:
        return CheckResult.not_checked(
            "uncertain",
            f"every filter judged against the cap changed under the check: "
            f"{'; '.join(h.uncertain.get(req.id, [])[:3])}",
        )
    judged += probed
    return finish(h, req, None, f"{judged} filter(s) judged against the cap ({h.mode} mode)")


def _status(response: Exchange) -> tuple[int, Any]:
    """What a second look compares: the status and the error type."""
    return response.status, error_type_of(response)
