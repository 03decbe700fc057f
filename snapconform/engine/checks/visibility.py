"""AUTH-VISIBILITY's check: a principal never sees tasks outside its visible set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snapconform.engine import oracle
from snapconform.engine.checks.common import Tally, filter_violation, finish, first_case
from snapconform.engine.checks.examples import Example, with_filters
from snapconform.engine.checks.judging import list_or_fail
from snapconform.engine.checks.refusals import documented_refusal
from snapconform.engine.checks.responses import is_list, is_too_many, listed_ids
from snapconform.engine.oracle import CAP, FilterSpec
from snapconform.engine.quotes import AT_MOST_1000_VISIBLE
from snapconform.engine.registry import Cost, Requirement, requirement
from snapconform.engine.target import Exchange, Target
from snapconform.engine.universe import Universe, over_cap
from snapconform.engine.universe_sources import ControlledSource
from snapconform.engine.verdicts import CheckResult, Violation
from snapconform.strategies.filters import Vocabulary

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


@requirement(
    id="AUTH-VISIBILITY",
    modes=("controlled", "declared"),
    title="A principal never sees tasks outside its visible set",
    level="MUST",
    feature="auth",
    sources=(AT_MOST_1000_VISIBLE,),
    alternatives=("cap-counts",),
    cost={"controlled": Cost(26, 1.0, 2), "declared": Cost(40)},
)
def check_visibility(h: Harness, req: Requirement) -> CheckResult:
    if h.mode not in req.modes:
        return CheckResult.not_applicable(
            "mode", "the visible set of a principal is unknown in observed mode"
        )
    if h.source.pushes:
        return _limited_principal(h, req)
    return _declared_principals(h, req)


def _limited_principal(h: Harness, req: Requirement) -> CheckResult:
    """Pushed universes: the harness's limited principal sees exactly its visible matches."""
    source = h.source
    assert isinstance(source, ControlledSource) and h.principals is not None  # source.pushes
    limited = h.principals.limited
    tally = Tally()

    def prop(example: Example[list[FilterSpec]]) -> None:
        full = example.universe
        h.install(full)
        universe = source.limited_view(full)
        with h.new_target() as target:
            h.login(target, type(h.privileged)(*limited))
            with target.list_many([FilterSpec(), *example.case]) as answers:
                for spec, response in answers:
                    judge_limited(full, universe, target, spec, response)

    def judge_limited(
        full: Universe, universe: Universe, target: Target, spec: FilterSpec, response: Exchange
    ) -> None:
        tally.judged += 1
        listed = list_or_fail(h, universe, spec, response, req, target)
        if listed is None:
            return
        spec, response = listed
        leaked = listed_ids(response) - (universe.visible or frozenset())
        if leaked:
            raise filter_violation(
                h,
                spec,
                response,
                f"{len(leaked)} task(s) outside the principal's visible set, e.g. "
                f"{sorted(leaked)[:3]} (universe of {len(full.items)}, "
                f"{len(universe.visible or ())} visible)",
                universe=universe,
                expected=universe.expected(spec),
                actual=listed_ids(response),
                principal="limited (harness)",
            )
        outside = universe.outside(spec, listed_ids(response))
        if outside:
            raise filter_violation(
                h,
                spec,
                response,
                f"not the visible matching set: {outside}",
                universe=universe,
                expected=universe.expected(spec),
                actual=listed_ids(response),
                principal="limited (harness)",
            )

    # Deterministic first: the filters a declared run asks (users= each user with invisible
    # tasks among them). A leak that shows under one field only is then not left to the draw.
    first = source.first_universe()
    first_filters = [
        spec
        for spec in _visibility_filters(first, source.limited_view(first).visible or frozenset())
        if spec != FilterSpec()
    ]
    first_case(h, Example(first, first_filters), prop)
    result = h.explore(with_filters(h, 8, min_tasks=1), prop)
    return finish(
        h,
        req,
        result,
        f"{tally.judged} responses to a limited principal stayed within its visible set",
    )


def _declared_principals(h: Harness, req: Requirement) -> CheckResult:
    """A state file's principals with a visible set see nothing outside it."""
    judged = 0
    universe = h.source.first_universe()  # the run's one universe (the source does not push)
    targets: list[tuple[str, Any, frozenset[str] | None]] = [
        ("credentials", None, universe.visible)
    ]
    if h.limited is not None:
        targets.append(("limited", h.limited[0], h.limited[1]))
    if all(visible is None for _, _, visible in targets):
        return CheckResult.not_applicable(
            "target", "no principal of the state file has a visible_tasks list"
        )
    for _, credentials, visible in targets:
        if visible is None:
            continue
        target = h.target if credentials is None else h.new_target()
        try:
            if credentials is not None:
                h.login(target, credentials)
            view = Universe(items=universe.items, visible=visible)
            for spec in _visibility_filters(universe, visible):
                response = target.list_tasks(spec)
                judged += 1
                if not is_list(response):
                    matching_all = len(oracle.expected_ids(universe.items, spec, None))
                    if is_too_many(response) and matching_all > CAP >= len(view.expected(spec)):
                        h.choices.record("cap-counts", "all-matching", spec.describe())
                        continue  # the cap may count every matching task (documented)
                    refused = (over_cap(view, spec) is True and is_too_many(response)) or (
                        documented_refusal(h, view, spec, response, req, target=target)
                    )
                    if refused:
                        continue
                    raise Violation(
                        f"filter {spec.describe()}: HTTP {response.status}, expected 200 with the"
                        f" {len(view.expected(spec))} matching task(s) the principal may see —"
                        f" reproduce: {h.repro(response)}",
                        h.evidence(response, spec=spec, universe=view, expected_status=200),
                    )
                evidence = h.evidence(
                    response,
                    spec=spec,
                    universe=view,
                    expected=view.expected(spec),
                    actual=listed_ids(response),
                )
                leaked = sorted(listed_ids(response) - visible)
                if leaked:
                    raise Violation(
                        f"tasks outside the visible set: {leaked[:3]}"
                        f" — reproduce: {h.repro(response)}",
                        evidence,
                    )
                outside = view.outside(spec, listed_ids(response))
                if outside:
                    raise Violation(
                        f"filter {spec.describe()}: {outside} — reproduce: {h.repro(response)}",
                        evidence,
                    )
        finally:
            if credentials is not None:
                target.close()
    return CheckResult.passed(f"{judged} responses stayed within the declared visible sets")


def _visibility_filters(universe: Universe, visible: frozenset[str]) -> list[FilterSpec]:
    """Declared: filters for a principal with a visible set, most of them under the cap for it.

    The empty filter; each status and each service alone (a server that ignores the visible
    set answers them with invisible tasks, or with 500 once those push the count over the
    cap); ``tasks=`` invisible ids (expected: none of them), and a mix of visible and
    invisible ids; ``users=`` each user whose tasks the principal cannot all see (a server
    that applies the visible set everywhere but under a users filter shows only there).
    """
    values = Vocabulary.of(universe.items).values
    invisible = sorted(set(universe.by_id) - visible)[:3]
    seen = sorted(visible & set(universe.by_id))[:2]
    # Narrow filters first: a leak then shows as the invisible tasks themselves.
    specs = [FilterSpec(tasks=tuple(invisible)), FilterSpec(tasks=(*seen, *invisible))]
    specs = specs if invisible else []
    specs += [FilterSpec(status=(status,)) for status in values.get("status", ())]
    specs += [FilterSpec(services=(service,)) for service in values.get("services", ())[:6]]
    hidden_users = sorted(
        {
            user
            for task_id, item in universe.by_id.items()
            if task_id not in visible
            and isinstance(user := (item.get("info") or {}).get("user"), str)
        }
    )
    specs += [FilterSpec(users=(user,)) for user in hidden_users[:4]]
    specs += [FilterSpec(), FilterSpec(status=("SUCCEEDED", "FAILED"))]
    return list(dict.fromkeys(specs))
