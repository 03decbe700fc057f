"""Filter semantics of values: percent-encoded values matched exactly, unknown identifiers, a
status outside the enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from snapconform.engine import oracle
from snapconform.engine.alternatives import Reason
from snapconform.engine.checks.common import Tally, filter_violation, finish, first_case
from snapconform.engine.checks.examples import Example, on_universes
from snapconform.engine.checks.judging import judge_complete, list_or_fail
from snapconform.engine.checks.refusals import (
    documented_refusal,
    hold,
    note_listed,
    users_case_shown,
)
from snapconform.engine.checks.responses import (
    error_type_of,
    is_list,
    is_refused,
    is_too_many,
    listed_ids,
    listed_items,
)
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    FIELDS_ARE_SETS,
    INVALID_PARAMETERS_400,
    OVER_1000_INACCESSIBLE,
    STATUS_IS_OPEN,
    USERS_FIELD,
)
from snapconform.engine.registry import Cost, Requirement, ours, page, requirement
from snapconform.engine.target import Exchange
from snapconform.engine.universe import Universe, over_cap, over_cap_when_users_fold
from snapconform.engine.verdicts import CheckResult, Violation
from snapconform.strategies.cases import InvalidStatus, invalid_statuses, unknown_identifier_filters
from snapconform.strategies.states import adversarial_pools
from snapconform.strategies.values import case_variant

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


@requirement(
    id="FILTER-EXACT-ENCODED",
    title="Values that need percent-encoding match exactly (identifiers case-sensitively)",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(
            10,
            "the property must contain identifiers for the resource type:"
            " com.vmware.snapservice.task",
        ),
        USERS_FIELD,
    ),
    alternatives=("users-case",),
    # declared/observed: one example asks every encoded value of the snapshot (up to ~50
    # filters); a server that refuses unknown identifiers (a documented choice) costs each
    # refused filter its confirmation, 90 requests on the reference universe: the minimum
    # covers that, or the documented variant ends not checked at the default budget.
    cost={
        "controlled": Cost(80, 1.5, 1),
        "declared": Cost(100, 0.5, 1),
        "observed": Cost(100, 0.5, 1),
    },
)
def check_exact_encoded_values(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def specs_for(universe: Universe) -> list[FilterSpec]:
        out = []
        for name in ("users", "services", "operations", "tasks"):
            for value in universe.vocabulary.values.get(name, ())[:12]:
                if oracle.encode_query([("v", value)]) == f"v={value}":
                    continue  # needs no encoding: other checks cover it
                out.append(FilterSpec(**{name: (value,)}))
                # Exact: neither another case nor a strict prefix may match (LIKE 'value%').
                for near in (case_variant(value), value[:-1]):
                    if near:
                        out.append(FilterSpec(**{name: (near,)}))
        return out

    def prop(universe: Universe) -> None:
        h.install(universe)
        with h.target.list_many(specs_for(universe)) as answers:
            for spec, response in answers:
                judge_exact(universe, spec, response)

    def judge_exact(universe: Universe, spec: FilterSpec, response: Exchange) -> None:
        tally.asked += 1
        listed = list_or_fail(h, universe, spec, response, req)
        if listed is None:
            return
        spec, response = listed
        tally.judged += 1
        known = universe.known_expected(spec)
        if known is not None:
            # The oracle holds every task: each returned one is judged by its record.
            wrong = [
                i
                for i in listed_ids(response)
                if i in universe.by_id and not oracle.may_match(universe.by_id[i], spec)
            ]
            if wrong:
                raise filter_violation(
                    h,
                    spec,
                    response,
                    f"returned {len(wrong)} task(s) whose value differs (case or encoding), "
                    f"e.g. {wrong[:3]}",
                    universe=universe,
                    expected=known,
                    actual=listed_ids(response),
                )
        else:
            # A snapshot of a live server: each returned task is judged by its own values.
            items = {i["task"]: i for i in response.body["items"] if isinstance(i, Mapping)}
            bad = [t for t, item in items.items() if not oracle.may_match(item, spec)]
            if any(oracle.users_case_only(item, spec) for item in items.values()):
                h.choices.record("users-case", "case-insensitive", spec.describe())
            if bad:
                raise filter_violation(
                    h,
                    spec,
                    response,
                    f"returned {len(bad)} task(s) whose value differs, e.g. {bad[:3]}",
                    universe=universe,
                    expected=frozenset(items) - frozenset(bad),
                    actual=frozenset(items),
                )
        judge_complete(h, req, universe, spec, response, h.target)

    universes = h.universes(value_pools=adversarial_pools(), min_tasks=3, max_tasks=25)
    # A fixed universe is the one the random phase uses: only a pushed one gets a first case.
    if h.source.pushes:
        first_case(h, h.source.first_universe(), prop)
    result = h.explore(universes, prop, max_examples=max(2, h.max_examples // 2))
    if result is None and tally.asked == 0:
        return CheckResult.not_applicable(
            "target", "the target's tasks hold no value that needs percent-encoding"
        )
    # Values were asked but none judged (every case refused or uncertain): not checked.
    return finish(
        h,
        req,
        result,
        f"{tally.judged} percent-encoded values matched exactly and case-sensitively",
        tally,
    )


@requirement(
    id="FILTER-UNKNOWN-IDS",
    title="Unknown identifiers give 200 without them, 400, or (task ids) 500 ResourceInaccessible",
    level="MUST",
    feature="filter semantics",
    sources=(INVALID_PARAMETERS_400, OVER_1000_INACCESSIBLE),
    alternatives=("unknown-identifiers",),
    cost=Cost(12, 0.6, 2),
)
def check_unknown_identifiers(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def cases(universe: Universe) -> st.SearchStrategy[list[FilterSpec]]:
        filters = unknown_identifier_filters(universe.vocabulary)
        return st.lists(filters, min_size=1, max_size=8)

    def prop(example: Example[list[FilterSpec]]) -> None:
        universe = example.universe
        h.install(universe)
        with h.target.list_many(example.case) as answers:
            for spec, response in answers:
                judge_unknown(universe, spec, response)

    def judge_unknown(universe: Universe, spec: FilterSpec, response: Exchange) -> None:
        tally.asked += 1
        tally.judged += 1
        if is_too_many(response) and over_cap(universe, spec) is not False:
            return  # the known values may match more than the cap (observed data)
        if is_too_many(response) and over_cap_when_users_fold(universe, spec):
            # a user name in another case matches a known user's tasks when users compare
            # case-insensitively (allowed), and those are over the cap
            h.choices.record("users-case", "case-insensitive", spec.describe())
            return
        if documented_refusal(h, universe, spec, response, req):
            return  # 400, or 500 ResourceInaccessible for an unknown task id (recorded)
        if not is_list(response):
            allowed = "200 without it, or 400" + (
                ", or 500 ResourceInaccessible" if universe.unknown_task_ids(spec) else ""
            )
            raise filter_violation(
                h,
                spec,
                response,
                f"HTTP {response.status}"
                + (f" {error_type_of(response)}" if error_type_of(response) else "")
                + f" for an unknown identifier (expected {allowed})",
                universe=universe,
            )
        note_listed(h, universe, spec, response)
        # Whatever the universe knows (a live one gains tasks), a returned task must hold
        # one of the filter's values in each field: an unknown value matches only itself.
        wrong = [
            str(i.get("task")) for i in listed_items(response) if not oracle.may_match(i, spec)
        ]
        outside = universe.wrong_answer(spec, listed_ids(response)) or (
            f"{len(wrong)} returned task(s) do not match, e.g. {wrong[:3]}" if wrong else None
        )
        if outside:
            raise filter_violation(
                h,
                spec,
                response,
                f"not the matching set: {outside}",
                universe=universe,
                expected=universe.expected(spec),
                actual=listed_ids(response),
            )

    result = h.explore(on_universes(h, cases, min_tasks=1), prop)
    return finish(
        h,
        req,
        result,
        f"{tally.judged} filters with unknown identifiers answered as documented (200 without them,"
        " 400, or 500 ResourceInaccessible for a task id)",
        tally,
    )


@requirement(
    id="FILTER-INVALID-STATUS",
    title="A status value outside the enum gives 400, or 200 with no task of that status",
    level="MUST",
    feature="filter semantics",
    sources=(
        STATUS_IS_OPEN,
        INVALID_PARAMETERS_400,
    ),
    alternatives=("unknown-status",),
    cost=Cost(4, 0.3, 2),
)
def check_invalid_status(h: Harness, req: Requirement) -> CheckResult:
    tally = Tally()

    def prop(example: Example[InvalidStatus]) -> None:
        universe, invalid, valid = example.universe, example.case.invalid, example.case.valid
        h.install(universe)
        values = list(example.case.values)
        spec = FilterSpec(status=tuple(values))
        response = h.target.get_tasks(oracle.encode_query([("status", v) for v in values]))
        tally.asked += 1
        tally.judged += 1
        if is_refused(response):
            # Refused: documented when the valid statuses alone are accepted (the target's
            # choice recorded when the unknown value alone explains it, and held to).
            documented_refusal(h, universe, spec, response, req)
            return
        if is_list(response):
            # An open enum (bindings: "Newer versions ... may contain new values"): the value
            # may be accepted and match no task; tasks of any other status are wrong.
            got = listed_ids(response)
            other = oracle.outside_known_statuses(listed_items(response), spec)
            outside = universe.wrong_answer(spec, got)
            if not other and not outside:
                hold(h, universe, spec, response, Reason("unknown-status"), "matches-none")
                return
            what = f"{len(other)} task(s) of another status, e.g. {other[:3]}" if other else outside
        elif is_too_many(response) and valid_statuses_over_cap(h, universe, valid):
            # The documented open-enum reading matches the valid statuses' tasks, and they alone
            # are over the cap: the cap error is that reading's answer, so the case shows nothing.
            tally.uninformative += 1
            return
        else:
            what = f"HTTP {response.status}"
        raise Violation(
            f"status={values!r}: {what}; expected 400 InvalidArgument, or 200 with no task of"
            f" status {invalid!r} — reproduce: {h.repro(response)}",
            h.evidence(response, universe=universe, status=values, expected_status=400),
        )

    examples = st.builds(Example, h.universes(min_tasks=1, max_tasks=10), invalid_statuses())
    # First a wrongly-cased value alone on the rich universe (every status): a server that
    # drops it lists tasks of every status at once.
    first_case(h, Example(h.source.first_universe(), InvalidStatus("succeeded")), prop)
    result = h.explore(examples, prop)
    answers = " or ".join(
        {"refused": "refused with 400", "matches-none": "matched no task (200)"}[c]
        for c in sorted(h.choices.choices("unknown-status"))
    )
    shown = f"{tally.judged} status values outside the enum were {answers or 'answered'}"
    if tally.uninformative:
        shown += (
            f" ({tally.uninformative} with valid statuses matching over {oracle.CAP} tasks: the cap"
            " error, which the documented readings allow there)"
        )
    return finish(h, req, result, shown, tally)


def valid_statuses_over_cap(h: Harness, universe: Universe, valid: tuple[str, ...]) -> bool:
    """Whether the tasks of the ``valid`` statuses alone are over the cap.

    An exact universe counts them. Observed data knows a lower bound only, so the target is
    asked for the valid statuses alone: its cap error there makes the cap error with the unknown
    value added the open-enum reading's answer (it matches the same tasks). No valid status
    means the unknown value alone: every documented reading then lists nothing or refuses, so a
    cap error there is never allowed.
    """
    if not valid:
        return False
    spec = FilterSpec(status=valid)
    known = universe.known_expected(spec)
    if known is not None:
        return len(known) > oracle.CAP
    if over_cap(universe, spec) is True:
        return True
    return is_too_many(h.target.list_tasks(spec))


@requirement(
    id="FILTER-USERS-EXACT",
    title="Users match by their exact name (a match in another case is a finding, not a failure)",
    level="SHOULD",
    feature="filter semantics",
    sources=(
        USERS_FIELD,
        FIELDS_ARE_SETS,
        ours(
            "the sources give users no comparison rule (a set of plain strings), so a user"
            " matches by its name as written; a vCenter may compare SSO principal names"
            " case-insensitively, which no source states: a server that does is reported here,"
            " never failed by a MUST"
        ),
    ),
    alternatives=("users-case",),
    cost=Cost(3),
)
def check_users_exact(h: Harness, req: Requirement) -> CheckResult:
    """Reads what the filter checks saw (``users-case``), else asks one user in another case."""
    asked: str | None = None
    if not h.choices.choices("users-case"):
        universe = h.source.first_universe()
        h.install(universe)
        for user in sorted(universe.vocabulary.values.get("users", ())):
            other = case_variant(user)
            spec = FilterSpec(users=(other,)) if other else None
            if spec is None or universe.expected(spec):
                continue  # another task's user is written that way: the case shows nothing
            folded = universe.allowed(spec)  # the tasks of ``user``, named in another case
            if not folded or len(folded) > oracle.CAP:
                continue  # over the cap either way, the answer would not tell
            response = h.target.list_tasks(spec)
            asked = f"{spec.describe()}: HTTP {response.status}"
            choice = users_case_shown(universe, spec, response) if is_list(response) else None
            if choice is not None:
                h.choices.record("users-case", choice, spec.describe())
            elif is_list(response):
                asked += " listing tasks no comparison of users lets match"
            break
    observed = {
        seen["choice"]: seen["example"] for seen in h.choices.document()["users-case"]["observed"]
    }
    if "case-insensitive" in observed:
        raise Violation(
            "users compared case-insensitively: the filter"
            f" {observed['case-insensitive']} listed the tasks of a user written in another"
            " case. No source states such a comparison (a SHOULD finding, not a MUST failure)"
        )
    if "case-sensitive" in observed:
        return CheckResult.passed(
            f"users compared exactly: {observed['case-sensitive']} listed no task of a user"
            " written in another case"
        )
    if asked is not None:
        return CheckResult.not_checked(
            "no_evidence", f"a user asked in another case got no list that shows it ({asked})"
        )
    return CheckResult.not_applicable(
        "target",
        "no user of the target's tasks can be asked in another case (no cased user name under"
        " the cap, or its other case names another user)",
    )
