"""One named check per requirement, each declared on its check (``snapconform.engine.registry``).

Each check takes the run's Harness and its own Requirement (``req.id`` names it: no id is typed
twice) and returns a CheckResult. Checks generate their cases with the strategies of
``strategies/`` (universes in controlled mode, filters from the universe's vocabulary), query
the target, and judge with the pure functions of ``oracle.py``. Failures shrink (Hypothesis) and
their detail carries the seed and a curl line (secrets masked).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from snapconform.engine import oracle, runwide
from snapconform.engine.alternatives import refusal_reasons
from snapconform.engine.oracle import CAP, FILTER_FIELDS, FilterSpec, result_ids
from snapconform.engine.quotes import (
    AT_MOST_1000_VISIBLE,
    FIELDS_ARE_SETS,
    FIELDS_COMBINE_WITH_AND,
    INVALID_PARAMETERS_400,
    OVER_1000_INACCESSIBLE,
    TASKS_OR_SERVICES_REQUIRED,
    UNAUTHENTICATED_UNDISCLOSED,
)
from snapconform.engine.registry import Requirement, bindings, declared, ours, page, requirement
from snapconform.engine.target import (
    SESSION_HEADER,
    BudgetExhausted,
    Response,
    Target,
    TargetError,
    basic_authorization,
)
from snapconform.engine.universe import ControlledSource, Universe, over_cap
from snapconform.engine.verdicts import CheckResult, Uncertain, Violation
from snapconform.strategies.filters import (
    Vocabulary,
    filter_specs,
    informative_filters,
    invalid_status_values,
    reorderings,
    unknown_values,
    value_lists,
)
from snapconform.strategies.states import adversarial_pools, infos, pools, rich_state_document
from snapconform.strategies.values import case_variant

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness

#: Filters per universe in one Hypothesis example (controlled mode pushes one universe each).
FILTERS_PER_UNIVERSE = 20
#: Extra filters derived from single tasks per pushed universe (FILTER-COMPLETENESS).
TASK_FILTERS_PER_UNIVERSE = 8


# --- shared helpers ---------------------------------------------------------------------------


def _ids(response: Response) -> frozenset[str]:
    return frozenset(result_ids(response.body))


def _is_list(response: Response) -> bool:
    return (
        response.status == 200
        and isinstance(response.body, Mapping)
        and isinstance(response.body.get("items"), list)
    )


def _is_too_many(response: Response) -> bool:
    body = response.body
    return (
        response.status == 500
        and isinstance(body, Mapping)
        and body.get("error_type") == "RESOURCE_INACCESSIBLE"
    )


def _error_type(response: Response) -> Any:
    body = response.body
    return body.get("error_type") if isinstance(body, Mapping) else None


def _documented_refusal(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response
) -> bool:
    """Whether ``response`` refuses ``spec`` the way a documented alternative may (recorded).

    400 InvalidArgument for a filter naming neither tasks nor services (bindings), with a
    repeated value (sets), an unknown status value or an identifier the universe does not hold;
    500 ResourceInaccessible for an unknown task id ("a task's state cannot be accessed").
    """
    reasons = refusal_reasons(spec)
    if response.status == 400:
        if reasons:
            h.choices.refused(spec)
            return True
        if universe.is_unknown(spec):
            h.choices.record("unknown-identifiers", "refused", spec.describe())
            return True
        return False
    if _is_too_many(response) and universe.unknown_task_ids(spec):
        h.choices.record("unknown-identifiers", "inaccessible", spec.describe())
        return True
    return False


def _note_listed(h: Harness, universe: Universe, spec: FilterSpec, response: Response) -> None:
    """Record the documented alternatives a 200 list to ``spec`` shows the target chose."""
    if not spec.tasks and not spec.services:
        h.choices.record("filter-without-tasks-or-services", "listed", spec.describe())
    if any(len(set(v)) != len(v) for v in spec.constraints().values()):
        h.choices.record("repeated-values", "deduplicated", spec.describe())
    if universe.is_unknown(spec) and not refusal_reasons(spec):
        h.choices.record("unknown-identifiers", "omitted", spec.describe())
    if spec.users and universe.exact:
        folded = universe.allowed(spec) - universe.expected(spec)
        if folded:
            got = _ids(response)
            choice = "case-insensitive" if folded & got else "case-sensitive"
            h.choices.record("users-case", choice, spec.describe())


def _refused_as_documented(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response
) -> bool:
    """Neither a list nor the cap error, but a refusal a documented alternative allows."""
    return (
        not _is_list(response)
        and not (_is_too_many(response) and not universe.unknown_task_ids(spec))
        and _documented_refusal(h, universe, spec, response)
    )


def _with_every_service(universe: Universe, spec: FilterSpec) -> FilterSpec | None:
    """``spec`` naming every service the universe holds: the same tasks, and a filter that a
    server requiring tasks or services (bindings) answers. None: nothing to add."""
    if spec.tasks or spec.services:
        return None
    services = tuple(sorted(universe.vocabulary.values.get("services", ())))
    if not services:
        return None
    return spec.with_field("services", services)


def _problem(
    h: Harness,
    spec: FilterSpec,
    response: Response,
    what: str,
    *,
    universe: Universe | None = None,
    expected: frozenset[str] | None = None,
    actual: frozenset[str] | None = None,
    **facts: Any,
) -> Violation:
    """A violation by ``response`` to ``spec``: a one-line detail plus the report's evidence."""
    evidence = h.evidence(
        response, spec=spec, universe=universe, expected=expected, actual=actual, **facts
    )
    return Violation(f"filter {spec.describe()}: {what} — reproduce: {h.repro(response)}", evidence)


def _scenario(h: Harness, universe: Universe) -> str:
    if h.mode == "controlled":
        return f" (universe of {len(universe.items)} tasks)"
    return ""


def _filters_for(
    universe: Universe, n: int = FILTERS_PER_UNIVERSE
) -> st.SearchStrategy[list[FilterSpec]]:
    return st.lists(filter_specs(universe.vocabulary), min_size=max(1, n // 2), max_size=n)


def _task_filters(universe: Universe, n: int = TASK_FILTERS_PER_UNIVERSE) -> list[FilterSpec]:
    """Filters built from single tasks of ``universe``: each matches at least that task.

    Cheap extra cases once a universe is pushed (controlled mode); a task's own combination
    of values rarely repeats across universes, so most are new queries. Observed and declared
    universes are fixed for the run: they get none (the drawn filters already cover them).
    """
    if not universe.exact or universe.document is None:
        return []
    out: list[FilterSpec] = []
    for item in universe.visible_items[:n]:
        info = item.get("info") or {}
        values = {
            "status": info.get("status"),
            "services": info.get("service"),
            "operations": info.get("operation"),
            "users": info.get("user"),
        }
        spec = FilterSpec(**{k: (v,) for k, v in values.items() if isinstance(v, str)})
        out.append(spec if len(out) % 2 == 0 else spec.with_field("status", None))
    return out


def _with_filters(
    h: Harness, n: int = FILTERS_PER_UNIVERSE, **options: Any
) -> st.SearchStrategy[tuple[Universe, list[FilterSpec]]]:
    return h.universes(**options).flatmap(lambda u: st.tuples(st.just(u), _filters_for(u, n)))


def _first_universe(h: Harness) -> Universe:
    """The deterministic first phase's universe: the rich one (controlled), else the run's."""
    if isinstance(h.source, ControlledSource):
        source = h.source
        return h.memo(
            "rich-universe",
            lambda: source.from_document(rich_state_document(source.principals)),
        )
    return h.source.universe  # type: ignore[attr-defined]


def _first_filters(universe: Universe) -> list[FilterSpec]:
    return informative_filters(universe.visible_items)


def _first(h: Harness, case: Any, prop: Callable[[Any], None]) -> CheckResult | None:
    """Run ``prop`` once on a deterministic ``case`` before Hypothesis' random examples.

    Hypothesis starts simplest-first (an empty universe, the empty filter), which shows
    little; the first case (a rich universe, ``informative_filters``) is chosen so that the
    common deviations show within a few requests. Called directly, not through ``explore``:
    there is nothing to shrink, and Hypothesis' replay of the failing example would send
    every request twice. Outcomes other than a violation are left to ``explore`` (None).
    The first such case of a run is followed by the error probe (``_probe_errors``).
    """
    try:
        prop(case)
        h.marks.examples += 1  # the plan counts it towards the check's minimum
    except Violation as violation:
        return CheckResult.failed(
            f"{violation} [seed {h.seed}; deterministic first case]", violation.evidence
        )
    except (BudgetExhausted, TargetError, Uncertain):
        pass  # the random phase meets the same condition and reports it as usual
    _probe_errors(h)
    return None


def _finish(h: Harness, req: Requirement, result: CheckResult | None, passed: str) -> CheckResult:
    if result is not None:
        return result
    uncertain = h.uncertain.get(req.id, [])
    if uncertain:
        passed += (
            f"; {len(uncertain)} case(s) uncertain (data changed during the run),"
            f" e.g. {uncertain[0]}"
        )
    return CheckResult.passed(passed)


def _judge_complete(
    h: Harness,
    req: Requirement,
    universe: Universe,
    spec: FilterSpec,
    response: Response,
    target: Target,
) -> None:
    """No visible matching task may be missing from a 200 (observed: re-checked before failing)."""
    expected = universe.expected(spec)
    got = _ids(response)
    missing = expected - got
    if not missing:
        return
    confirmed, uncertain = h.source.confirm_missing(target, spec, missing, universe)
    if uncertain:
        h.note_uncertain(req.id, f"{spec.describe()}: {len(uncertain)} task(s) changed or vanished")
    if confirmed:
        raise _problem(
            h,
            spec,
            response,
            f"{len(confirmed)} matching visible task(s) missing, e.g. {sorted(confirmed)[:3]}"
            + _scenario(h, universe),
            universe=universe,
            expected=universe.judged_for(spec, expected) if not universe.exact else expected,
            actual=got if universe.exact else universe.judged_for(spec, got),
        )


def _over_cap_list(
    h: Harness, req: Requirement, universe: Universe, spec: FilterSpec, response: Response
) -> str | None:
    """Why a 200 list to a filter over the cap is wrong (None: fine or uncertain, noted).

    More than CAP items is always wrong. Otherwise, observed mode first makes sure the filter
    still matches more than CAP: the stable matching tasks the list lacks must still be there
    (purged tasks may have brought the count under the cap, and then a 200 is right).
    """
    got = _ids(response)
    judged = universe.judged_for(spec, universe.expected(spec))
    if len(got) > CAP or universe.exact:
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


def _confirmed_difference(
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


def _still_matched(h: Harness, universe: Universe, spec: FilterSpec) -> bool:
    """Observed: whether a stable task matching ``spec`` is still there (a ``tasks=`` query)."""
    for task_id in sorted(universe.judged_for(spec, universe.expected(spec)))[:2]:
        now = {i.get("task"): i for i in _items(h.target.list_tasks(FilterSpec(tasks=(task_id,))))}
        if task_id in now and oracle.matches(now[task_id], spec):
            return True
    return False


def _items(response: Response) -> list[Mapping[str, Any]]:
    if not _is_list(response):
        return []
    return [item for item in response.body["items"] if isinstance(item, Mapping)]


def _list_or_fail(
    h: Harness, universe: Universe, spec: FilterSpec, response: Response, req: Requirement
) -> bool:
    """Whether ``response`` is a list to judge; raise when a list was owed and not given."""
    if _is_list(response):
        _note_listed(h, universe, spec, response)
        return True
    beyond = over_cap(universe, spec)
    if beyond is True and _is_too_many(response):
        return False
    if _documented_refusal(h, universe, spec, response):
        return False  # a documented alternative (recorded under variants)
    if beyond is None or (not universe.exact and response.status >= 500):
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status}")
        return False
    if not universe.exact and not _still_matched(h, universe, spec):
        # Observed: every task holding these values may have been purged (a 400 for unknown
        # identifiers is allowed); only a filter a stable task still matches must be listed.
        h.note_uncertain(req.id, f"{spec.describe()}: HTTP {response.status}")
        return False
    expected = len(universe.expected(spec))
    raise _problem(
        h,
        spec,
        response,
        f"HTTP {response.status} for a valid filter matching {expected} task(s)"
        + _scenario(h, universe),
        universe=universe,
        expected_status=200,
    )


# --- contract (audit) -------------------------------------------------------------------------


def _probe_errors(h: Harness) -> None:
    """Once per run, early: one request of each documented error a run provokes cheaply.

    An invalid status value (400 InvalidArgument) and no credentials (401 Unauthenticated), so
    the error-body audits (CONTRACT-ERROR-BODY/-TYPE/-MESSAGES) judge an error body within the
    first requests of a run; otherwise the first error response may only come from the contract
    probe, which runs after every other check (hundreds of requests in). Both are plain GETs,
    harmless to a real target. The responses are only audited here: FILTER-INVALID-STATUS and
    AUTH-NO-CREDENTIALS judge their own requests.
    """

    def probe() -> bool:
        try:
            h.target.get_tasks(oracle.encode_query([("status", "succeeded")]))
            h.target.get_tasks(authenticated=False)
        except (BudgetExhausted, TargetError):
            return False  # the checks meet the same condition and report it
        return True

    h.memo("error-probe", probe)


def _probe_contract(h: Harness) -> None:
    """Widen the audit's corpus once: random filters, invalid input, a missing login."""

    def probe() -> bool:
        _probe_errors(h)

        def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
            universe, specs = case
            h.install(universe)
            for spec in specs:
                h.target.list_tasks(spec)
            h.target.get_tasks(oracle.encode_query([("status", "succeeded")]))
            h.target.get_tasks(authenticated=False)

        # First the rich universe (every status, so every status-conditional field) with a few
        # informative filters; then random universes (Hypothesis starts with an empty one).
        rich = _first_universe(h)
        _first(h, (rich, [FilterSpec(), *_first_filters(rich)[:4]]), prop)
        h.explore(_with_filters(h, 3), prop, max_examples=max(3, h.max_examples // 4))
        return True

    h.memo("contract-probe", probe)


@requirement(
    id="CONTRACT-200-BODY",
    title="Every 200 body is a valid ListResult (types, required fields, enums, RFC 3339)",
    level="MUST",
    feature="contract",
    sources=(
        page(26, "ListResult including details of all the tasks."),
        bindings(
            "Tasks.ListResult / Tasks.ListItem / tasks_client.Info",
            "items: list of Tasks.ListItem; task: str; info: Info (field types)",
        ),
    ),
    run_wide=runwide.Contract200Body,
)
def check_list_result_bodies(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-STATUS-CONDITIONAL",
    title="Each task carries exactly the fields its status allows (Info union case map)",
    level="MUST",
    feature="contract",
    sources=(
        bindings(
            "tasks_client.Info (UnionValidator on status)",
            "'FAILED': [('error', False), ('start_time', True), ('end_time', True)],"
            " 'RUNNING': [('start_time', True)], 'BLOCKED': [('start_time', True)],"
            " 'SUCCEEDED': [('start_time', True), ('end_time', True)], 'PENDING': []",
        ),
    ),
    run_wide=runwide.ContractStatusConditional,
)
def check_status_conditional_fields(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-ERROR-BODY",
    title="Every error body is valid against the schema of its status; no undocumented status",
    level="MUST",
    feature="contract",
    sources=(
        INVALID_PARAMETERS_400,
        page(125, "[401] if the user can not be authenticated."),
        page(156, "[403] if the user doesn't have the required privileges."),
        page(
            187,
            "Vapi Std Errors Error if the system reports an error while responding to the request.",
        ),
        page(
            225,
            "[503] if the system is unable to communicate with a service to complete the request.",
        ),
    ),
    run_wide=runwide.ContractErrorBody,
)
def check_error_bodies(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-ERROR-TYPE",
    title="error_type agrees with the HTTP status (500: ERROR, RESOURCE_INACCESSIBLE or"
    " INTERNAL_SERVER_ERROR)",
    level="MUST",
    feature="contract",
    sources=(
        page(221, "Discriminator field to help API consumers identify the structure type."),
        bindings(
            "InternalServerError (vapi.std.errors)",
            "This exception is reported by the API infrastructure, so it could occur in"
            " response to the invocation of any method.",
        ),
    ),
    alternatives=("error-500-type",),
    run_wide=runwide.ContractErrorType,
)
def check_error_types(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-ERROR-MESSAGES",
    title="Error messages are non-empty (a stack of one or more messages with text)",
    level="MUST",
    feature="contract",
    sources=(page(214, "Stack of one or more localizable messages for human error consumers."),),
    run_wide=runwide.ContractErrorMessages,
)
def check_error_messages(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-JSON",
    title="Every response body is JSON with an application/json content type",
    level="MUST",
    feature="contract",
    sources=(
        page(28, '"items": ['),
        bindings(
            "vmware.vapi REST connector",
            "REST responses are deserialized from JSON (application/json)",
        ),
    ),
    run_wide=runwide.ContractJson,
)
def check_json_content_type(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "response")


@requirement(
    id="CONTRACT-UNIQUE-IDS",
    title="Task ids in a 200 body are unique",
    level="SHOULD",
    feature="contract",
    sources=(
        page(97, "List of tasks."),
        ours(
            "a list naming one task twice is not 'details of all the tasks'; ListResult"
            " items is a list, so no source forbids a repeat outright"
        ),
    ),
    run_wide=runwide.ContractUniqueIds,
)
def check_unique_task_ids(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-UNKNOWN-PROPERTIES",
    title="Bodies carry no properties the contract does not declare",
    level="SHOULD",
    feature="contract",
    sources=(
        ours("the response schemas list every property; an unknown one breaks strict clients"),
    ),
    run_wide=runwide.ContractUnknownProperties,
)
def check_unknown_properties(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "response")


@requirement(
    id="CONTRACT-BINDINGS",
    title="Every 200 body decodes with the official VMware Python bindings",
    level="SHOULD",
    feature="contract",
    sources=(
        bindings(
            "Tasks.list",
            ":rtype: Tasks.ListResult :return: ListResult including details of all the tasks.",
        ),
    ),
    run_wide=runwide.ContractBindings,
)
def check_bindings_decode(h: Harness, req: Requirement) -> CheckResult:
    if not h.audit.bindings:
        return CheckResult.not_checked(
            "configuration",
            "vmware-vsan-data-protection (official bindings) is not installed"
            " (pip install 'snapconform[test]')",
        )
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-DATETIME-UTC",
    title="Date-times are written in UTC with a Z (YYYY-MM-DDThh:mm:ss.sssZ)",
    level="SHOULD",
    feature="contract",
    sources=(
        bindings(
            "vmware.vapi DateTimeConverter.convert_from_datetime",
            "Convert from Python native datetime object to the datetime format in vAPI"
            " Runtime i.e. YYYY-MM-DDThh:mm:ss.sssZ. ... The caller to this method should"
            " only pass datetime objects that have time in UTC timezone.",
        ),
        ours(
            'the bindings read any RFC 3339 offset (time-offset = "Z" / time-numoffset)'
            " but write only UTC; a server should write what the runtime writes"
        ),
    ),
    run_wide=runwide.ContractDatetimeUtc,
)
def check_datetime_utc(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


# --- filter semantics -------------------------------------------------------------------------


@requirement(
    id="FILTER-EMPTY",
    title="The empty filter, whenever answered with 200, returns every visible task",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(9, "If missing or null or empty, tasks with any identifier will match the filter."),
        bindings(
            "Tasks.list",
            "if None, the behavior is equivalent to a Tasks.FilterSpec with all attributes"
            " None which means all tasks match the filter.",
        ),
        TASKS_OR_SERVICES_REQUIRED,
    ),
    alternatives=("filter-without-tasks-or-services",),
)
def check_empty_filter_returns_all(h: Harness, req: Requirement) -> CheckResult:
    spec = FilterSpec()

    def prop(universe: Universe) -> None:
        h.install(universe)
        response = h.target.list_tasks(spec)
        if over_cap(universe, spec) is True:
            problem = _is_list(response) and _over_cap_list(h, req, universe, spec, response)
            if problem:
                raise _problem(
                    h,
                    spec,
                    response,
                    problem,
                    universe=universe,
                    expected=universe.judged_for(spec, universe.expected(spec)),
                    actual=_ids(response),
                    expected_status=500,
                )
            return
        if not _list_or_fail(h, universe, spec, response, req):
            # Refused as the bindings allow (tasks or services required): the same question
            # asked with every service named must still list every visible task.
            substitute = _with_every_service(universe, spec) if response.status == 400 else None
            if substitute is not None:
                again = h.target.list_tasks(substitute)
                if _list_or_fail(h, universe, substitute, again, req):
                    _judge_complete(h, req, universe, substitute, again, h.target)
            return
        _judge_complete(h, req, universe, spec, response, h.target)
        if universe.exact:
            extra = _ids(response) - universe.expected(spec)
            if extra:
                raise _problem(
                    h,
                    spec,
                    response,
                    f"{len(extra)} task(s) that are not visible tasks, e.g. {sorted(extra)[:3]}",
                    universe=universe,
                    expected=universe.expected(spec),
                    actual=_ids(response),
                )

    result = _first(h, _first_universe(h), prop) or h.explore(h.universes(), prop)
    passed = f"the empty filter returned every visible task ({h.mode} mode)"
    if h.choices.choices("filter-without-tasks-or-services") == {"refused"}:
        passed = (
            "the empty filter was refused with 400 (documented: the bindings require tasks or"
            " services); the same filter naming every service returned every visible task"
            f" ({h.mode} mode)"
        )
    return _finish(h, req, result, passed)


@requirement(
    id="FILTER-SOUNDNESS",
    title="Every returned task matches the filter",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE, FIELDS_COMBINE_WITH_AND),
    alternatives=("users-case",),
)
def check_filter_soundness(h: Harness, req: Requirement) -> CheckResult:
    count = 0

    def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
        nonlocal count
        universe, specs = case
        h.install(universe)
        for spec in specs:
            response = h.target.list_tasks(spec)
            count += 1
            if not _is_list(response):
                continue
            items = [item for item in response.body["items"] if isinstance(item, Mapping)]
            wrong = [item.get("task") for item in items if not oracle.may_match(item, spec)]
            if any(oracle.users_case_only(item, spec) for item in items):
                h.choices.record("users-case", "case-insensitive", spec.describe())
            _note_listed(h, universe, spec, response)
            if wrong:
                got = _ids(response)
                raise _problem(
                    h,
                    spec,
                    response,
                    f"{len(wrong)} returned task(s) do not match, e.g. {wrong[:3]}"
                    + _scenario(h, universe),
                    universe=universe,
                    expected=universe.expected(spec)
                    if universe.exact
                    else got - {str(task) for task in wrong},
                    actual=got,
                )

    # First the informative filters on the rich universe; then many filters per pushed universe
    # (a push costs a PUT and a login, a filter one GET), on universes with tasks to return.
    first = _first_universe(h)
    result = _first(h, (first, _first_filters(first)), prop) or h.explore(
        _with_filters(h, 3 * FILTERS_PER_UNIVERSE, min_tasks=1), prop
    )
    return _finish(h, req, result, f"every task of {count} filtered responses matched its filter")


@requirement(
    id="FILTER-COMPLETENESS",
    title="No visible task that matches the filter is missing",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE,),
    alternatives=("filter-without-tasks-or-services", "repeated-values"),
)
def check_filter_completeness(h: Harness, req: Requirement) -> CheckResult:
    count = 0

    def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
        nonlocal count
        universe, specs = case
        h.install(universe)
        for spec in [*specs, *_task_filters(universe)]:
            response = h.target.list_tasks(spec)
            count += 1
            if _list_or_fail(h, universe, spec, response, req):
                _judge_complete(h, req, universe, spec, response, h.target)

    # Its own example sequence (FILTER-SOUNDNESS already sent the run seed's filters), more
    # filters per pushed universe (a push costs a PUT and a login; a filter one GET), and
    # universes with tasks to miss (the empty one is FILTER-EMPTY's).
    first = _first_universe(h)
    result = _first(h, (first, _first_filters(first)), prop) or h.explore(
        _with_filters(h, 2 * FILTERS_PER_UNIVERSE, min_tasks=2), prop, salt=req.id
    )
    return _finish(
        h, req, result, f"no matching visible task was missing in {count} filtered responses"
    )


def _or_and_cases(universe: Universe) -> st.SearchStrategy[tuple[Universe, FilterSpec, str, str]]:
    """OR: one field with at least two distinct values; AND: two fields with values each."""
    vocabulary = universe.vocabulary

    def distinct(name: str) -> st.SearchStrategy[tuple[str, ...]]:
        return value_lists(vocabulary, name, 4).filter(lambda v: len(set(v)) >= 2)

    union_case = st.sampled_from(FILTER_FIELDS).flatmap(
        lambda name: st.tuples(
            st.just(universe),
            distinct(name).map(lambda v: FilterSpec(**{name: v})),
            st.just(name),
            st.just("or"),
        )
    )
    and_case = st.permutations(FILTER_FIELDS).flatmap(
        lambda names: st.tuples(
            st.just(universe),
            st.tuples(
                value_lists(vocabulary, names[0], 2), value_lists(vocabulary, names[1], 2)
            ).map(lambda values: FilterSpec(**{names[0]: values[0], names[1]: values[1]})),
            st.just(names[0]),
            st.just("and"),
        )
    )
    return st.one_of(union_case, and_case)


@requirement(
    id="FILTER-OR-AND",
    title="Values of one field are alternatives (OR); fields combine with AND",
    level="MUST",
    feature="filter semantics",
    sources=(
        page(11, "Identifiers of operations. Tasks created by these operations match the filter"),
        FIELDS_COMBINE_WITH_AND,
    ),
)
def check_or_within_and_across(h: Harness, req: Requirement) -> CheckResult:
    relations = 0

    def ids_or_none(spec: FilterSpec) -> frozenset[str] | None:
        response = h.target.list_tasks(spec)
        return _ids(response) if _is_list(response) else None

    def prop(case: tuple[Universe, FilterSpec, str, str]) -> None:
        h.install(case[0])
        judge_relation(*case)

    def first_prop(case: tuple[Universe, list[tuple[FilterSpec, str, str]]]) -> None:
        universe, relations_ = case
        h.install(universe)
        for spec, field_name, kind in relations_:
            judge_relation(universe, spec, field_name, kind)

    def judge_relation(universe: Universe, spec: FilterSpec, field_name: str, kind: str) -> None:
        nonlocal relations
        relevant = None if universe.exact else universe.stable
        if kind == "or":
            values = tuple(dict.fromkeys(getattr(spec, field_name)))
            cut = max(1, len(values) // 2)
            parts_specs = [
                spec.with_field(field_name, values[:cut]),
                spec.with_field(field_name, values[cut:]),
            ]
            combined_spec = spec
            judge = oracle.union_violation
        else:
            constraints = spec.constraints()
            if len(constraints) < 2:
                return
            names = list(constraints)
            left = FilterSpec(**{n: constraints[n] for n in names[: len(names) // 2]})
            right = FilterSpec(**{n: constraints[n] for n in names[len(names) // 2 :]})
            parts_specs, combined_spec, judge = [left, right], spec, oracle.intersection_violation
        combined = ids_or_none(combined_spec)
        parts = [ids_or_none(p) for p in parts_specs]
        if combined is None or any(p is None for p in parts):
            return  # over the cap or refused: the relation is about lists
        relations += 1
        known = [p for p in parts if p is not None]
        problem = judge(combined, known, relevant)

        def related_of(parts_: Sequence[frozenset[str]]) -> frozenset[str]:
            if kind == "or":
                return frozenset().union(*parts_)
            return frozenset(parts_[0]).intersection(*parts_[1:])

        def again() -> tuple[frozenset[str], frozenset[str]] | None:
            combined_again = ids_or_none(combined_spec)
            parts_again = [ids_or_none(p) for p in parts_specs]
            if combined_again is None or any(p is None for p in parts_again):
                return None
            return combined_again, related_of([p for p in parts_again if p is not None])

        # Observed: the three lists were taken at different moments; the relation counts as
        # broken only for stable tasks on which it fails again and which still exist.
        if (
            problem
            and not universe.exact
            and not _confirmed_difference(
                h, req, universe, combined_spec, combined, related_of(known), again
            )
        ):
            return
        if problem:
            response = h.target.list_tasks(combined_spec)
            word = "OR within a field" if kind == "or" else "AND across fields"
            related = related_of(known)
            raise _problem(
                h,
                combined_spec,
                response,
                f"{word} broken against parts {[p.describe() for p in parts_specs]}: {problem}"
                + _scenario(h, universe),
                universe=universe,
                expected=related if relevant is None else related & relevant,
                actual=combined if relevant is None else combined & relevant,
                parts=[p.describe() for p in parts_specs],
            )

    first = _first_universe(h)
    first_relations = [
        (spec, next(iter(spec.constraints())), "or" if len(spec.constraints()) == 1 else "and")
        for spec in _first_filters(first)
        if len(spec.constraints()) == 2 or len(set(next(iter(spec.constraints().values())))) >= 2
    ]
    result = _first(h, (first, first_relations), first_prop) or h.explore(
        h.universes().flatmap(_or_and_cases), prop, max_examples=h.max_examples * 3
    )
    return _finish(h, req, result, f"{relations} union/intersection relations held")


@requirement(
    id="FILTER-ORDER-REPEATS",
    title="Order of values does not matter; a repeated value is ignored or refused with 400",
    level="MUST",
    feature="filter semantics",
    sources=(FIELDS_ARE_SETS, INVALID_PARAMETERS_400),
    alternatives=("repeated-values",),
)
def check_order_and_repeats(h: Harness, req: Requirement) -> CheckResult:
    compared = 0

    def cases(universe: Universe) -> st.SearchStrategy[tuple[Universe, FilterSpec, FilterSpec]]:
        return filter_specs(universe.vocabulary, max_values=3).flatmap(
            lambda spec: st.tuples(st.just(universe), st.just(spec.normalised()), reorderings(spec))
        )

    def prop(case: tuple[Universe, FilterSpec, FilterSpec]) -> None:
        h.install(case[0])
        compare(*case)

    def first_prop(case: tuple[Universe, list[tuple[FilterSpec, FilterSpec]]]) -> None:
        universe, pairs = case
        h.install(universe)
        for canonical, variant in pairs:
            compare(universe, canonical, variant)

    def compare(universe: Universe, canonical: FilterSpec, variant: FilterSpec) -> None:
        nonlocal compared
        first = h.target.list_tasks(canonical)
        second = h.target.list_tasks(variant)
        repeats = "repeated-values" in refusal_reasons(variant)
        if _is_list(first) and second.status == 400 and repeats:
            h.choices.record("repeated-values", "refused", variant.describe())
            return  # the fields are sets: a repeated value may be refused (bindings)
        if _is_list(second) and repeats:
            h.choices.record("repeated-values", "deduplicated", variant.describe())
        if not (_is_list(first) and _is_list(second)):
            mismatch = first.status != second.status and (
                universe.exact or not (first.status >= 500 or second.status >= 500)
            )
            if mismatch and not universe.exact:
                # Observed: a value may have vanished between the two; ask both again.
                first_again = h.target.list_tasks(canonical)
                second_again = h.target.list_tasks(variant)
                if (first_again.status, second_again.status) != (first.status, second.status):
                    h.note_uncertain(
                        req.id,
                        f"{variant.describe()}: HTTP {second.status} vs {first.status}, then "
                        f"{second_again.status} vs {first_again.status}",
                    )
                    return
            if mismatch:
                raise _problem(
                    h,
                    variant,
                    second,
                    f"HTTP {second.status}, but HTTP {first.status} for the same values as "
                    f"{canonical.describe()}",
                    universe=universe,
                    canonical=canonical.describe(),
                )
            return
        compared += 1
        got, want = (
            universe.judged_for(canonical, _ids(second)),
            universe.judged_for(canonical, _ids(first)),
        )

        def again() -> tuple[frozenset[str], frozenset[str]] | None:
            first_again = h.target.list_tasks(canonical)
            second_again = h.target.list_tasks(variant)
            if not (_is_list(first_again) and _is_list(second_again)):
                return None
            return _ids(second_again), _ids(first_again)

        if _confirmed_difference(h, req, universe, variant, got, want, again):
            raise _problem(
                h,
                variant,
                second,
                f"differs from the same filter with sorted unique values {canonical.describe()}: "
                f"{oracle.set_difference(got, want)}" + _scenario(h, universe),
                universe=universe,
                expected=want,
                actual=got,
                canonical=canonical.describe(),
            )
        if universe.exact:
            expected = universe.expected(canonical)
            outside = universe.outside(canonical, _ids(second))
            if outside:
                raise _problem(
                    h,
                    variant,
                    second,
                    f"not the matching set: {outside}",
                    universe=universe,
                    expected=expected,
                    actual=_ids(second),
                )

    # First: every multi-value informative filter reversed, its first value repeated.
    rich = _first_universe(h)
    pairs = [
        (
            spec.normalised(),
            FilterSpec(**{k: (*reversed(v), v[0]) for k, v in spec.constraints().items()}),
        )
        for spec in _first_filters(rich)
        if any(len(v) >= 2 for v in spec.constraints().values())
    ]
    result = _first(h, (rich, pairs), first_prop) or h.explore(
        h.universes().flatmap(cases), prop, max_examples=h.max_examples * 2
    )
    return _finish(h, req, result, f"{compared} reordered/repeated filters gave the same set")


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
        page(
            23,
            "Users who must have initiated the operation for the associated task to"
            " match the filter",
        ),
        bindings(
            "Tasks.FilterSpec.users",
            "set of str (no comparison rule: users may compare case-insensitively)",
        ),
    ),
    alternatives=("users-case",),
)
def check_exact_encoded_values(h: Harness, req: Requirement) -> CheckResult:
    judged = 0

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
        nonlocal judged
        h.install(universe)
        for spec in specs_for(universe):
            response = h.target.list_tasks(spec)
            if not _list_or_fail(h, universe, spec, response, req):
                continue
            judged += 1
            wrong = [
                i
                for i in _ids(response)
                if i in universe.by_id and not oracle.may_match(universe.by_id[i], spec)
            ]
            if universe.exact and wrong:
                raise _problem(
                    h,
                    spec,
                    response,
                    f"returned {len(wrong)} task(s) whose value differs (case or encoding), "
                    f"e.g. {wrong[:3]}",
                    universe=universe,
                    expected=universe.expected(spec),
                    actual=_ids(response),
                )
            if not universe.exact:
                items = {i["task"]: i for i in response.body["items"] if isinstance(i, Mapping)}
                bad = [t for t, item in items.items() if not oracle.may_match(item, spec)]
                if any(oracle.users_case_only(item, spec) for item in items.values()):
                    h.choices.record("users-case", "case-insensitive", spec.describe())
                if bad:
                    raise _problem(
                        h,
                        spec,
                        response,
                        f"returned {len(bad)} task(s) whose value differs, e.g. {bad[:3]}",
                        universe=universe,
                        expected=frozenset(items) - frozenset(bad),
                        actual=frozenset(items),
                    )
            _judge_complete(h, req, universe, spec, response, h.target)

    universes = h.universes(value_pools=adversarial_pools(), min_tasks=3, max_tasks=25)
    first = (
        _first(h, _first_universe(h), prop) if isinstance(h.source, ControlledSource) else None
    )  # fixed modes: the run's universe is the one the random phase uses
    result = first or h.explore(universes, prop, max_examples=max(2, h.max_examples // 2))
    if result is None and judged == 0:
        return CheckResult.not_applicable(
            "target", "the target's tasks hold no value that needs percent-encoding"
        )
    return _finish(
        h, req, result, f"{judged} percent-encoded values matched exactly and case-sensitively"
    )


@requirement(
    id="FILTER-UNKNOWN-IDS",
    title="Unknown identifiers give 200 without them, 400, or (task ids) 500 ResourceInaccessible",
    level="MUST",
    feature="filter semantics",
    sources=(INVALID_PARAMETERS_400, OVER_1000_INACCESSIBLE),
    alternatives=("unknown-identifiers",),
)
def check_unknown_identifiers(h: Harness, req: Requirement) -> CheckResult:
    judged = 0

    def cases(universe: Universe) -> st.SearchStrategy[tuple[Universe, list[FilterSpec]]]:
        vocabulary = universe.vocabulary
        one = (
            st.sampled_from(("tasks", "operations", "services", "users"))
            .flatmap(
                lambda name: st.tuples(
                    st.just(name),
                    unknown_values(vocabulary, name),
                    st.lists(st.sampled_from(vocabulary.values[name]), max_size=1)
                    if vocabulary.values[name]
                    else st.just([]),
                )
            )
            .map(lambda t: FilterSpec(**{t[0]: (t[1], *t[2])}))
        )
        return st.tuples(st.just(universe), st.lists(one, min_size=1, max_size=8))

    def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
        nonlocal judged
        universe, specs = case
        h.install(universe)
        for spec in specs:
            response = h.target.list_tasks(spec)
            judged += 1
            if _is_too_many(response) and over_cap(universe, spec) is not False:
                continue  # the known values may match more than the cap (observed data)
            if _documented_refusal(h, universe, spec, response):
                continue  # 400, or 500 ResourceInaccessible for an unknown task id (recorded)
            if not _is_list(response):
                allowed = "200 without it, or 400" + (
                    ", or 500 ResourceInaccessible" if universe.unknown_task_ids(spec) else ""
                )
                raise _problem(
                    h,
                    spec,
                    response,
                    f"HTTP {response.status}"
                    + (f" {_error_type(response)}" if _error_type(response) else "")
                    + f" for an unknown identifier (expected {allowed})",
                    universe=universe,
                )
            _note_listed(h, universe, spec, response)
            outside = universe.outside(spec, _ids(response)) if universe.exact else None
            if outside:
                raise _problem(
                    h,
                    spec,
                    response,
                    f"not the matching set: {outside}",
                    universe=universe,
                    expected=universe.expected(spec),
                    actual=_ids(response),
                )

    result = h.explore(h.universes(min_tasks=1).flatmap(cases), prop)
    return _finish(
        h,
        req,
        result,
        f"{judged} filters with unknown identifiers answered as documented (200 without them,"
        " 400, or 500 ResourceInaccessible for a task id)",
    )


@requirement(
    id="FILTER-INVALID-STATUS",
    title="A status value outside the enum gives 400, or 200 with no task of that status",
    level="MUST",
    feature="filter semantics",
    sources=(
        bindings(
            "tasks_client.Status",
            "Newer versions of the enumerated type may contain new values.",
        ),
        INVALID_PARAMETERS_400,
    ),
    alternatives=("unknown-status",),
)
def check_invalid_status(h: Harness, req: Requirement) -> CheckResult:
    judged = 0
    uninformative = 0

    def prop(case: tuple[Universe, str, list[str]]) -> None:
        nonlocal judged, uninformative
        universe, invalid, valid = case
        h.install(universe)
        values = [*valid, invalid]
        spec = FilterSpec(status=tuple(values))
        response = h.target.get_tasks(oracle.encode_query([("status", v) for v in values]))
        judged += 1
        if response.status == 400:
            h.choices.record("unknown-status", "refused", spec.describe())
            return
        if _is_list(response):
            # An open enum (bindings: "Newer versions ... may contain new values"): the value
            # may be accepted and match no task; tasks of any other status are wrong.
            got = _ids(response)
            other = [
                item.get("task")
                for item in _items(response)
                if (item.get("info") or {}).get("status") not in valid
            ]
            outside = universe.outside(spec, got) if universe.exact else None
            if not other and not outside:
                h.choices.record("unknown-status", "matches-none", spec.describe())
                return
            what = f"{len(other)} task(s) of another status, e.g. {other[:3]}" if other else outside
        elif _is_too_many(response) and valid_statuses_over_cap(universe, valid):
            # The documented open-enum reading matches the valid statuses' tasks, and they alone
            # are over the cap: the cap error is that reading's answer, so the case shows nothing.
            uninformative += 1
            return
        else:
            what = f"HTTP {response.status}"
        raise Violation(
            f"status={values!r}: {what}; expected 400 InvalidArgument, or 200 with no task of"
            f" status {invalid!r} — reproduce: {h.repro(response)}",
            h.evidence(response, universe=universe, status=values, expected_status=400),
        )

    from snapconform.strategies.contract_data import statuses

    strategy = st.tuples(
        h.universes(min_tasks=1, max_tasks=10),
        invalid_status_values(),
        st.lists(st.sampled_from(statuses()), max_size=2),
    )
    # First a wrongly-cased value alone on the rich universe (every status): a server that
    # drops it lists tasks of every status at once.
    first = _first(h, (_first_universe(h), "succeeded", []), prop)
    result = first or h.explore(strategy, prop)
    answers = " or ".join(
        {"refused": "refused with 400", "matches-none": "matched no task (200)"}[c]
        for c in sorted(h.choices.choices("unknown-status"))
    )
    shown = f"{judged} status values outside the enum were {answers or 'answered'}"
    if uninformative:
        shown += (
            f" ({uninformative} with valid statuses matching over {oracle.CAP} tasks: the cap"
            " error, which the documented readings allow there)"
        )
    return _finish(h, req, result, shown)


def valid_statuses_over_cap(universe: Universe, valid: list[str]) -> bool:
    """Whether the tasks of the ``valid`` statuses alone are over the cap (exact universes only).

    No valid status means the unknown value alone: every documented reading then lists nothing
    or refuses, so a cap error there is never allowed.
    """
    if not valid or not universe.exact:
        return False
    return len(universe.expected(FilterSpec(status=tuple(valid)))) > oracle.CAP


@requirement(
    id="FILTER-DETERMINISTIC",
    title="The same request twice gives the same set of tasks",
    level="MUST",
    feature="filter semantics",
    sources=(AT_MOST_1000_VISIBLE,),
)
def check_repeatable(h: Harness, req: Requirement) -> CheckResult:
    judged = 0

    def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
        nonlocal judged
        universe, specs = case
        h.install(universe)
        for spec in specs:
            first = h.target.list_tasks(spec)
            second = h.target.list_tasks(spec)
            judged += 1
            if first.status != second.status:
                if universe.exact:
                    raise _problem(
                        h,
                        spec,
                        second,
                        f"HTTP {first.status} then HTTP {second.status}",
                        universe=universe,
                        first_status=first.status,
                    )
                h.note_uncertain(
                    req.id, f"{spec.describe()}: HTTP {first.status} then {second.status}"
                )
                continue
            if not _is_list(first):
                continue

            def again(spec: FilterSpec = spec) -> tuple[frozenset[str], frozenset[str]] | None:
                one, two = h.target.list_tasks(spec), h.target.list_tasks(spec)
                return (_ids(two), _ids(one)) if _is_list(one) and _is_list(two) else None

            if _confirmed_difference(
                h,
                req,
                universe,
                spec,
                universe.judged_for(spec, _ids(second)),
                universe.judged_for(spec, _ids(first)),
                again,
            ):
                raise _problem(
                    h,
                    spec,
                    second,
                    f"a second identical request gave another set: "
                    f"{oracle.set_difference(_ids(second), _ids(first))}",
                    universe=universe,
                    expected=universe.judged_for(spec, _ids(first)),
                    actual=universe.judged_for(spec, _ids(second)),
                )

    first = _first_universe(h)
    result = _first(h, (first, _first_filters(first)[:10]), prop) or h.explore(
        _with_filters(h, 8), prop
    )
    return _finish(h, req, result, f"{judged} repeated requests gave the same set")


# --- cap ----------------------------------------------------------------------------------------


def _templates() -> st.SearchStrategy[list[dict[str, Any]]]:
    return (
        pools()
        .flatmap(lambda pool: st.lists(infos(pool), min_size=1, max_size=4))
        .map(lambda infos_: [{"task": f"t{n}", "info": info} for n, info in enumerate(infos_)])
    )


#: The service value of a cap universe's matching tasks (the others get MARKER + "-other").
CAP_MARKER = "cap.match"


def _cap_variants(spec: FilterSpec, total: int, matching: int) -> list[FilterSpec]:
    """More queries on a pushed cap universe (no second push), each with a count the oracle
    knows: the same tasks with every status named or a value repeated, and every stored task.

    Several over-cap requests per universe: a server that gets only some of them wrong
    (every fifth, say) is still met with enough of them in a short run.
    """
    from snapconform.strategies.contract_data import statuses

    variants = [spec, spec.with_field("status", tuple(statuses()))]
    if spec.services:
        variants.append(spec.with_field("services", (*spec.services, *spec.services)))
        variants.append(FilterSpec())
    if matching < total:  # both service values are held: neither is an unknown identifier
        variants.append(FilterSpec(services=(CAP_MARKER, f"{CAP_MARKER}-other")))
    return list(dict.fromkeys(variants))


def _judge_cap(
    h: Harness,
    universe: Universe,
    spec: FilterSpec,
    response: Response,
    scenario: str,
    *,
    matching_all: int | None = None,
) -> None:
    """Raise unless ``response`` is a documented cap outcome for ``spec`` on ``universe``.

    ``matching_all``: how many tasks match in the whole store when ``universe`` is a limited
    view. The cap counts the visible matching tasks (page line 2) or every matching task (the
    error's wording): over 1000 of the latter, 500 ResourceInaccessible is documented too.
    A filter a documented alternative refuses (``_documented_refusal``) may get 400.
    """
    expected = universe.expected(spec)
    if not _is_list(response) and _documented_refusal(h, universe, spec, response):
        return
    if matching_all is not None and matching_all > CAP and len(expected) <= CAP:
        if _is_too_many(response):
            h.choices.record("cap-counts", "all-matching", f"{spec.describe()}: {scenario}")
            return
        if _is_list(response):
            h.choices.record("cap-counts", "visible-matching", f"{spec.describe()}: {scenario}")
    if oracle.cap_outcome(len(expected)) == "list":
        if not _is_list(response):
            raise _problem(
                h,
                spec,
                response,
                f"HTTP {response.status} for {scenario} (expected 200 with all {len(expected)})",
                universe=universe,
                scenario=scenario,
                expected_status=200,
            )
        if _ids(response) != expected:
            raise _problem(
                h,
                spec,
                response,
                f"{scenario}: {oracle.set_difference(_ids(response), expected)}",
                universe=universe,
                expected=expected,
                actual=_ids(response),
                scenario=scenario,
            )
    elif not _is_too_many(response):
        listed = len(_ids(response))
        got = (
            f"200 with {listed} tasks ({'truncated' if listed <= CAP else 'over the cap'})"
            if _is_list(response)
            else f"HTTP {response.status}"
        )
        raise _problem(
            h,
            spec,
            response,
            f"{got} for {scenario} (expected 500 ResourceInaccessible)",
            universe=universe,
            expected=expected if _is_list(response) else None,
            actual=_ids(response) if _is_list(response) else None,
            scenario=scenario,
            expected_status=500,
        )


#: (total stored, matching the filter, visible to the limited principal; 0: not asked)
CapCase = tuple[int, int, int]


def _cap_controlled(
    h: Harness,
    req: Requirement,
    sizes: Sequence[CapCase],
    drawn: st.SearchStrategy[CapCase],
) -> CheckResult | None:
    """Push universes of (total, matching) tasks and compare with the oracle's cap outcome.

    Each pushed universe answers several filters (``_cap_variants``); when the case names a
    limited view, the limited principal asks too and must get exactly its visible matches
    (the cap counts visible tasks only).
    """
    assert isinstance(h.source, ControlledSource) and h.principals is not None
    source = h.source
    limited = type(h.privileged)(*h.principals.limited)

    def prop(case: tuple[list[dict[str, Any]], CapCase]) -> None:
        templates, (total, matching, limited_visible) = case
        universe, spec = source.cap_universe(
            templates, total, matching, marker=CAP_MARKER, limited_visible=limited_visible
        )
        h.install(universe)
        variants = _cap_variants(spec, total, matching)
        for variant in variants:
            count = len(universe.expected(variant))
            scenario = f"{count} matching of {total} stored tasks"
            _judge_cap(h, universe, variant, h.target.list_tasks(variant), scenario)
        if not limited_visible:
            return
        view = source.limited_view(universe)
        with h.new_target() as target:
            h.login(target, limited)
            for variant in variants[:2]:
                scenario = (
                    f"{len(view.expected(variant))} visible to the limited principal of"
                    f" {len(universe.expected(variant))} matching ({total} stored)"
                )
                _judge_cap(
                    h,
                    view,
                    variant,
                    target.list_tasks(variant),
                    scenario,
                    matching_all=len(universe.expected(variant)),
                )

    # The boundary cases are always tried, then a few drawn ones.
    for size in sizes:
        result = h.explore(st.tuples(_templates(), st.just(size)), prop, max_examples=1)
        if result is not None:
            return result
    return h.explore(st.tuples(_templates(), drawn), prop, max_examples=1)


def _cap_counts_probes(
    h: Harness, universe: Universe, candidates: Sequence[FilterSpec]
) -> tuple[CheckResult | None, int]:
    """Declared/observed CAP-COUNTS-MATCHING cases whose count no churn can push over the cap.

    ``services=`` a service no task holds matches nothing, and ``tasks=`` up to three known ids
    at most three tasks, in any universe: 500 ResourceInaccessible for either, asked twice, is a
    certain failure (the cap counted something else). An unknown task id may get 500
    ResourceInaccessible (documented: a task whose state cannot be accessed). Declared: the
    state file's limited principal, on filters matching more than 1000 stored tasks of which it
    sees at most 1000, must get exactly its visible matches (or, the cap counting every matching
    task, 500 ResourceInaccessible: documented).
    Returns (the failure or None, filters judged).
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
        if _is_too_many(response) and universe.unknown_task_ids(spec):
            # An unknown task id may be a task whose state cannot be accessed (page).
            h.choices.record("unknown-identifiers", "inaccessible", spec.describe())
            continue
        if _is_too_many(response):
            # Known tasks: their state may be inaccessible for a moment; twice is a cap count.
            response = h.target.list_tasks(spec)
        if _is_too_many(response):
            return CheckResult.failed(
                f"filter {spec.describe()} matches at most {len(spec.tasks or ())} task(s) in any"
                f" universe, yet the answer is 500 ResourceInaccessible (over the cap): the cap"
                f" does not count the matching tasks — reproduce: {h.repro(response)}",
                h.evidence(response, spec=spec, universe=universe, expected_status=200),
            ), judged
    if h.limited is None or not universe.exact:
        return None, judged
    credentials, visible = h.limited
    view = Universe(items=universe.items, visible=visible)
    cases = [
        spec
        for spec in candidates
        if len(oracle.expected_ids(universe.items, spec, None)) > CAP
        and len(view.expected(spec)) <= CAP
    ][:3]
    if not cases:
        return None, judged
    with h.new_target() as target:
        h.login(target, credentials)
        for spec in cases:
            response = target.list_tasks(spec)
            judged += 1
            expected = view.expected(spec)
            stored = len(oracle.expected_ids(universe.items, spec, None))
            if _is_too_many(response):
                # The cap may count every matching task, invisible ones included (the error's
                # "over 1000 tasks matching"): documented, recorded.
                h.choices.record("cap-counts", "all-matching", spec.describe())
                continue
            if _is_list(response) and _ids(response) == expected:
                h.choices.record("cap-counts", "visible-matching", spec.describe())
                continue
            if not _is_list(response) and _documented_refusal(h, view, spec, response):
                continue
            got = (
                oracle.set_difference(_ids(response), expected)
                if _is_list(response)
                else f"HTTP {response.status}"
            )
            return CheckResult.failed(
                f"filter {spec.describe()} as the limited principal {credentials.username!r}"
                f" ({len(expected)} visible of {stored} matching tasks): {got}, expected 200"
                f" with its {len(expected)} visible matches — reproduce: {h.repro(response)}",
                h.evidence(
                    response,
                    spec=spec,
                    universe=view,
                    expected=expected,
                    actual=_ids(response) if _is_list(response) else None,
                    principal="limited (state file)",
                ),
            ), judged
    return None, judged


def _cap_fixed(h: Harness, req: Requirement, want: str) -> CheckResult:
    """Declared/observed: judge the cap on simple filters whose count the universe tells."""
    universe = h.source.universe  # type: ignore[attr-defined]
    candidates = [FilterSpec()] + [
        FilterSpec(**{name: (value,)})
        for name in ("status", "services", "operations", "users")
        for value in universe.vocabulary.values.get(name, ())
    ]
    judged = probed = decided = 0
    if want == "counts":
        failure, probed = _cap_counts_probes(h, universe, candidates)
        if failure is not None:
            return failure
    for spec in candidates:
        beyond = over_cap(universe, spec)
        count = len(universe.expected(spec))
        wanted = {
            "at": universe.exact and count == CAP,
            "over": beyond is True,
            "counts": beyond is False and len(universe) > CAP,
        }[want]
        if not wanted:
            continue
        response = h.target.list_tasks(spec)
        if _refused_as_documented(h, universe, spec, response):
            # The same tasks named by every service (a filter the bindings' rule admits).
            substitute = _with_every_service(universe, spec) if response.status == 400 else None
            if substitute is None:
                continue
            spec, response = substitute, h.target.list_tasks(substitute)
            if _refused_as_documented(h, universe, spec, response):
                continue
        judged += 1
        if beyond:
            if not _is_too_many(response) and not _is_list(response) and not universe.exact:
                # Observed: a 400 or another 500 may be a passing hiccup; it counts if repeated.
                again = h.target.list_tasks(spec)
                if (again.status, _error_type(again)) != (response.status, _error_type(response)):
                    h.note_uncertain(
                        req.id, f"{spec.describe()}: HTTP {response.status}, then {again.status}"
                    )
                    continue
            if not _is_too_many(response):
                got = f"HTTP {response.status}"
                if _is_list(response):
                    problem = _over_cap_list(h, req, universe, spec, response)
                    if problem is None:
                        continue  # the count may have dropped under the cap (noted uncertain)
                    got = f"{problem}; 200 (truncated)"
                elif isinstance(response.body, Mapping):
                    got += f" with error_type {_error_type(response)!r}"
                count = len(universe.expected(spec))
                stable = len(universe.judged_for(spec, universe.expected(spec)))
                return CheckResult.failed(
                    f"filter {spec.describe()} matches {count} visible tasks"
                    + ("" if universe.exact else f" of the snapshot ({stable} terminal)")
                    + f": {got}, expected 500 ResourceInaccessible — reproduce:"
                    f" {h.repro(response)}",
                    h.evidence(
                        response,
                        spec=spec,
                        universe=universe,
                        expected=universe.judged_for(spec, universe.expected(spec))
                        if _is_list(response)
                        else None,
                        actual=_ids(response) if _is_list(response) else None,
                        expected_status=500,
                    ),
                )
        else:
            if not _is_list(response) and not universe.exact:
                response = h.target.list_tasks(spec)  # observed: one more look before failing
                if _is_too_many(response):
                    h.note_uncertain(req.id, f"{spec.describe()}: grew over the cap during the run")
                    continue
            if not _is_list(response):
                return CheckResult.failed(
                    f"filter {spec.describe()} matches {count} tasks: HTTP {response.status}, "
                    f"expected 200 — reproduce: {h.repro(response)}",
                    h.evidence(response, spec=spec, universe=universe, expected_status=200),
                )
            missing = universe.judged_for(spec, universe.expected(spec)) - _ids(response)
            if missing:
                confirmed, _ = h.source.confirm_missing(h.target, spec, missing, universe)
                if confirmed:
                    return CheckResult.failed(
                        f"filter {spec.describe()}: {len(confirmed)} matching task(s) missing "
                        f"— reproduce: {h.repro(response)}",
                        h.evidence(
                            response,
                            spec=spec,
                            universe=universe,
                            expected=universe.judged_for(spec, universe.expected(spec)),
                            actual=universe.judged_for(spec, _ids(response)),
                        ),
                    )
        decided += 1
        if judged >= 3:
            break
    if judged + probed == 0:
        return _cap_unreachable(h, universe, want)
    if decided + probed == 0:
        return CheckResult.not_checked(
            "uncertain",
            f"every filter judged against the cap changed under the check: "
            f"{'; '.join(h.uncertain.get(req.id, [])[:3])}",
        )
    judged += probed
    return _finish(h, req, None, f"{judged} filter(s) judged against the cap ({h.mode} mode)")


def _cap_unreachable(h: Harness, universe: Universe, want: str) -> CheckResult:
    """Why no filter of a declared/observed universe could be judged against the cap."""
    visible = len(universe.expected(FilterSpec()))
    tasks = f"the target has {visible} visible task(s)"
    if want == "at":
        if not universe.exact:
            return CheckResult.not_applicable(
                "mode",
                "observed mode cannot know a filter that matches exactly 1000 tasks"
                " (use controlled mode, or declared mode with such data)",
            )
        return CheckResult.not_applicable(
            "target", f"{tasks} and no simple filter matches exactly 1000 of them"
        )
    if visible <= CAP:
        return CheckResult.not_applicable("target", f"{tasks}: the cap cannot be reached")
    if want == "over":
        return CheckResult.not_checked(
            "no_evidence", f"{tasks}, but no filter is known to match more than 1000"
        )
    return CheckResult.not_checked(
        "no_evidence", f"{tasks}, but no filter is known to match fewer than 1000 of them"
    )


@requirement(
    id="CAP-AT-LIMIT",
    title="Exactly 1000 matching tasks give 200 with all 1000",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE, OVER_1000_INACCESSIBLE),
)
def check_cap_at_limit(h: Harness, req: Requirement) -> CheckResult:
    if not isinstance(h.source, ControlledSource):
        return _cap_fixed(h, req, "at")
    result = _cap_controlled(
        h,
        req,
        [(1000, 1000, 0), (999, 999, 0)],
        st.integers(0, CAP).map(lambda n: (n, n, 0)),
    )
    return _finish(
        h,
        req,
        result,
        "999 and 1000 matching tasks (and drawn sizes up to 1000) came back whole",
    )


@requirement(
    id="CAP-OVER-LIMIT",
    title="More than 1000 matching tasks give 500 ResourceInaccessible, never a truncated 200",
    level="MUST",
    feature="cap",
    sources=(OVER_1000_INACCESSIBLE,),
)
def check_cap_over_limit(h: Harness, req: Requirement) -> CheckResult:
    if not isinstance(h.source, ControlledSource):
        return _cap_fixed(h, req, "over")
    result = _cap_controlled(
        h,
        req,
        [(1001, 1001, 0), (1002, 1001, 0)],
        st.integers(CAP + 1, 1400).map(lambda n: (n, n, 0)),
    )
    return _finish(h, req, result, "1001 and more matching tasks gave 500 ResourceInaccessible")


@requirement(
    id="CAP-COUNTS-MATCHING",
    title="The cap counts matching tasks (visible ones, or all), never the tasks in the store",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE, OVER_1000_INACCESSIBLE),
    alternatives=("cap-counts",),
)
def check_cap_counts_matching(h: Harness, req: Requirement) -> CheckResult:
    if not isinstance(h.source, ControlledSource):
        return _cap_fixed(h, req, "counts")
    result = _cap_controlled(
        h,
        req,
        # (1001, 1001, 1000): a principal seeing 1000 of 1001 matching tasks gets all 1000.
        [(1001, 1000, 0), (1500, 3, 0), (1001, 1001, 1000), (1500, 1200, 40)],
        st.integers(CAP + 1, 1400).flatmap(
            lambda total: st.tuples(st.just(total), st.integers(0, CAP), st.just(0))
        ),
    )
    return _finish(
        h,
        req,
        result,
        "filters matching ≤ 1000 of more than 1000 stored tasks, and a limited principal's"
        " ≤ 1000 visible of more than 1000 matching tasks, came back whole",
    )


@requirement(
    id="CAP-NEVER-MORE",
    title="A 200 never carries more than 1000 tasks",
    level="MUST",
    feature="cap",
    sources=(AT_MOST_1000_VISIBLE,),
    run_wide=runwide.CapNeverMore,
)
def check_never_more_than_cap(h: Harness, req: Requirement) -> CheckResult:
    _probe_contract(h)
    return h.audit.result(req.id, "200 response")


# --- auth ---------------------------------------------------------------------------------------


def _unauthenticated(h: Harness) -> Response:
    return h.memo("no-credentials", lambda: h.target.get_tasks(authenticated=False))


@requirement(
    id="AUTH-NO-CREDENTIALS",
    title="No credentials give 401 Unauthenticated",
    level="MUST",
    feature="auth",
    sources=(page(125, "[401] if the user can not be authenticated."),),
)
def check_no_credentials(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        return CheckResult.failed(
            f"a request without credentials got HTTP {response.status}, expected 401 — "
            f"reproduce: {h.repro(response)}"
        )
    return CheckResult.passed("a request without credentials got 401 Unauthenticated")


@requirement(
    id="AUTH-CHALLENGE",
    title="A 401 carries a string challenge",
    level="SHOULD",
    feature="auth",
    sources=(
        page(
            152,
            "Indicates the authentication challenges applicable to the target API provider.",
        ),
        page(
            155,
            "This property is optional because it was added in a newer version than"
            " its parent node.",
        ),
        ours("a 401 should tell the client how to authenticate"),
    ),
)
def check_challenge(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no 401 to inspect (HTTP {response.status}; see {declared(check_no_credentials).id})",
        )
    problem = oracle.unauthenticated_challenge_violation(response.body)
    if problem:
        return CheckResult.failed(f"{problem} — reproduce: {h.repro(response)}")
    return CheckResult.passed("the 401 carries a string challenge")


@requirement(
    id="AUTH-WWW-AUTHENTICATE",
    title="A 401 carries a WWW-Authenticate header consistent with its challenge",
    level="SHOULD",
    feature="auth",
    sources=(
        page(
            153,
            "a provider using REST may adhere to the WWW-Authenticate HTTP header"
            " specification, RFC7235, section 4.1.",
        ),
    ),
)
def check_www_authenticate(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no 401 to inspect (HTTP {response.status}; see {declared(check_no_credentials).id})",
        )
    problem = oracle.www_authenticate_violation(
        response.body, response.headers.get("www-authenticate")
    )
    if problem:
        return CheckResult.failed(f"{problem} — reproduce: {h.repro(response)}")
    return CheckResult.passed("WWW-Authenticate agrees with the challenge")


@requirement(
    id="AUTH-BOGUS-SESSION",
    title="A bogus session id gives 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            "Unauthenticated (vapi.std.errors)",
            "The session identifier in the request's security context identifies a session"
            " that has expired.",
        ),
    ),
)
def check_bogus_session(h: Harness, req: Requirement) -> CheckResult:
    bogus = "bogus-" + secrets.token_hex(16)
    h.redactor.add(bogus)
    response = h.target.get_tasks(headers={SESSION_HEADER: bogus}, authenticated=False)
    if response.status != 401:
        return CheckResult.failed(
            f"an unknown session id got HTTP {response.status}, expected 401 — reproduce: "
            f"{h.repro(response)}"
        )
    return CheckResult.passed("an unknown session id got 401")


def _session_only(h: Harness) -> CheckResult | None:
    if h.has_password:
        return None
    return CheckResult.not_checked(
        "configuration",
        "only a session was given (SNAPCONFORM_SESSION_ID): no user name and password to try",
    )


@requirement(
    id="AUTH-WRONG-PASSWORD",
    title="A wrong password is refused with 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            "Unauthenticated (vapi.std.errors)",
            "The user name and password in the request's security context are invalid.",
        ),
        bindings(
            "Sessions.create",
            "Unauthenticated if the session creation fails due to request specific issues.",
        ),
    ),
)
def check_wrong_password(h: Harness, req: Requirement) -> CheckResult:
    if (skip := _session_only(h)) is not None:
        return skip
    user = h.privileged.username
    wrong = "wrong-" + secrets.token_hex(12)
    h.redactor.add(wrong)
    done = []
    if h.target.auth_scheme == "session":
        response = h.target.create_session(user, wrong)
        if response.status != 401:
            return CheckResult.failed(
                f"POST /api/snapservice/sessions with a wrong password got HTTP "
                f"{response.status}, expected 401"
            )
        done.append("session creation")
    response = h.target.get_tasks(
        headers={"Authorization": basic_authorization(user, wrong)}, authenticated=False
    )
    if response.status != 401:
        return CheckResult.failed(
            f"Basic credentials with a wrong password got HTTP {response.status}, expected 401 "
            f"— reproduce: {h.repro(response)}"
        )
    done.append("Basic authentication")
    return CheckResult.passed(f"a wrong password was refused with 401 ({', '.join(done)})")


@requirement(
    id="AUTH-WRONG-PASSWORD-UNDISCLOSED",
    title="A 401 does not tell a wrong password from an unknown user; its data is null",
    level="SHOULD",
    feature="auth",
    sources=(UNAUTHENTICATED_UNDISCLOSED,),
)
def check_unauthenticated_undisclosed(h: Harness, req: Requirement) -> CheckResult:
    if (skip := _session_only(h)) is not None:
        return skip
    user = h.privileged.username
    wrong = "wrong-" + secrets.token_hex(12)
    nobody = "snapconform-nobody-" + secrets.token_hex(6)
    h.redactor.add(wrong)
    known = h.target.get_tasks(
        headers={"Authorization": basic_authorization(user, wrong)}, authenticated=False
    )
    unknown = h.target.get_tasks(
        headers={"Authorization": basic_authorization(nobody, wrong)}, authenticated=False
    )
    if known.status != 401 or unknown.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no pair of 401s to compare (HTTP {known.status} for a wrong password, HTTP"
            f" {unknown.status} for an unknown user; see {declared(check_wrong_password).id})",
        )
    problems = oracle.unauthenticated_disclosures(known.body, unknown.body)
    if problems:
        return CheckResult.failed(
            f"{'; '.join(problems)} — reproduce: {h.repro(known)}",
            h.evidence(known, unknown_user_body=unknown.body),
        )
    return CheckResult.passed(
        "a wrong password and an unknown user got the same 401 messages, data null"
    )


@requirement(
    id="AUTH-SESSION-ENDED",
    title="A session id after DELETE /api/snapservice/sessions gives 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            "Sessions.delete",
            "Terminates the validity of a session token. This is the equivalent of log out.",
        ),
    ),
)
def check_deleted_session(h: Harness, req: Requirement) -> CheckResult:
    if not h.has_password:
        return CheckResult.not_checked(
            "configuration",
            "only a session was given (SNAPCONFORM_SESSION_ID), which snapconform never ends;"
            " a user name and password would let it open (and end) a session of its own",
        )
    if h.target.auth_scheme != "session":
        return CheckResult.not_applicable(
            "target", "the target authenticates with HTTP Basic (no snapservice sessions)"
        )
    with h.new_target() as target:
        h.login(target, h.privileged)
        session_id = target.session_id
        if session_id is None:
            return CheckResult.not_applicable("target", "the login issued no session id")
        deleted = target.delete_session(session_id)
        if deleted.status not in (200, 204):
            return CheckResult.failed(f"DELETE /api/snapservice/sessions got HTTP {deleted.status}")
        response = target.get_tasks(headers={SESSION_HEADER: session_id}, authenticated=False)
    if response.status != 401:
        return CheckResult.failed(
            f"a deleted session id got HTTP {response.status}, expected 401 — reproduce: "
            f"{h.repro(response)}"
        )
    return CheckResult.passed("a deleted session id got 401")


@requirement(
    id="AUTH-PRIVILEGE",
    title="A principal without System.Read gets 403 Unauthorized and no task data",
    level="MUST",
    feature="auth",
    sources=(
        page(
            4,
            "Returns an authorization error if you do not have all of the privileges"
            " described as follows: - Operation execution requires System.Read.",
        ),
        page(156, "[403] if the user doesn't have the required privileges."),
    ),
)
def check_unprivileged_forbidden(h: Harness, req: Requirement) -> CheckResult:
    credentials = h.unprivileged
    if credentials is None:
        return CheckResult.not_checked(
            "configuration",
            "no unprivileged credentials given (--unprivileged-username and"
            " SNAPCONFORM_UNPRIVILEGED_PASSWORD)",
        )
    universe = h.memo("privilege-universe", lambda: h.draw(h.universes(min_tasks=1, max_tasks=10)))
    h.install(universe)
    with h.new_target() as target:
        try:
            h.login(target, credentials)
        except BudgetExhausted:
            raise  # our budget, not the server: verify() skips with "request budget ... spent"
        except Exception as exc:  # LoginRefused or TargetError
            if h.mode == "controlled":
                return CheckResult.failed(
                    f"the unprivileged principal could not even log in: {h.redactor(str(exc))}"
                )
            return CheckResult.not_checked(
                "configuration", f"the unprivileged login was refused: {h.redactor(str(exc))}"
            )
        for spec in (FilterSpec(), FilterSpec(status=("SUCCEEDED",))):
            response = target.list_tasks(spec)
            if response.status == 403:
                h.memo("forbidden-response", lambda response=response: response)
            if response.status != 403:
                return CheckResult.failed(
                    f"a principal without System.Read got HTTP {response.status} for "
                    f"{spec.describe()}, expected 403 — reproduce: {h.repro(response)}"
                )
            leaked = [t for t in universe.by_id if t in response.text]
            if (isinstance(response.body, Mapping) and "items" in response.body) or leaked:
                return CheckResult.failed(
                    f"the 403 body carries task data ({leaked[:3] or 'items'}) — reproduce: "
                    f"{h.repro(response)}"
                )
    return CheckResult.passed("403 Unauthorized without data")


@requirement(
    id="AUTH-PRIVILEGE-UNDISCLOSED",
    title="A 403 does not disclose the missing privilege; its data is null",
    level="SHOULD",
    feature="auth",
    sources=(
        bindings(
            "Unauthorized (vapi.std.errors)",
            "For security reasons, the Error.data attribute in this exception is None, and"
            " the Error.messages attribute in this exception does not disclose why the user"
            " is not authorized to perform the method.",
        ),
    ),
)
def check_privilege_undisclosed(h: Harness, req: Requirement) -> CheckResult:
    credentials = h.unprivileged
    if credentials is None:
        return CheckResult.not_checked(
            "configuration", "no unprivileged credentials given (--unprivileged-username)"
        )

    def fetch() -> Response | None:
        with h.new_target() as target:
            try:
                h.login(target, credentials)
            except Exception:  # LoginRefused or TargetError: AUTH-PRIVILEGE reports it
                return None
            return target.list_tasks(FilterSpec())

    response = h.memo("forbidden-response", fetch)
    if response is None or response.status != 403:
        shown = "no answer" if response is None else f"HTTP {response.status}"
        return CheckResult.not_checked(
            "prerequisite",
            f"no 403 to inspect ({shown}; see {declared(check_unprivileged_forbidden).id})",
        )
    problems = oracle.forbidden_disclosures(response.body, "System.Read")
    if problems:
        return CheckResult.failed(
            f"the 403 body discloses: {'; '.join(problems)} — reproduce: {h.repro(response)}",
            h.evidence(response),
        )
    return CheckResult.passed("the 403 names no privilege; data null")


@requirement(
    id="AUTH-VISIBILITY",
    modes=("controlled", "declared"),
    title="A principal never sees tasks outside its visible set",
    level="MUST",
    feature="auth",
    sources=(AT_MOST_1000_VISIBLE,),
    alternatives=("cap-counts",),
)
def check_visibility(h: Harness, req: Requirement) -> CheckResult:
    if h.mode == "observed":
        return CheckResult.not_applicable(
            "mode", "the visible set of a principal is unknown in observed mode"
        )
    judged = 0
    if isinstance(h.source, ControlledSource):
        source = h.source
        assert h.principals is not None
        limited = h.principals.limited

        def prop(case: tuple[Universe, list[FilterSpec]]) -> None:
            nonlocal judged
            full, specs = case
            h.install(full)
            universe = source.limited_view(full)
            with h.new_target() as target:
                h.login(target, type(h.privileged)(*limited))
                for spec in [FilterSpec(), *specs]:
                    response = target.list_tasks(spec)
                    judged += 1
                    if not _list_or_fail(h, universe, spec, response, req):
                        continue
                    leaked = _ids(response) - (universe.visible or frozenset())
                    if leaked:
                        raise _problem(
                            h,
                            spec,
                            response,
                            f"{len(leaked)} task(s) outside the principal's visible set, e.g. "
                            f"{sorted(leaked)[:3]} (universe of {len(full.items)}, "
                            f"{len(universe.visible or ())} visible)",
                            universe=universe,
                            expected=universe.expected(spec),
                            actual=_ids(response),
                            principal="limited (harness)",
                        )
                    outside = universe.outside(spec, _ids(response))
                    if outside:
                        raise _problem(
                            h,
                            spec,
                            response,
                            f"not the visible matching set: {outside}",
                            universe=universe,
                            expected=universe.expected(spec),
                            actual=_ids(response),
                            principal="limited (harness)",
                        )

        result = h.explore(_with_filters(h, 8, min_tasks=1), prop)
        return _finish(
            h,
            req,
            result,
            f"{judged} responses to a limited principal stayed within its visible set",
        )
    universe = h.source.universe  # type: ignore[attr-defined]
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
                if not _is_list(response):
                    matching_all = len(oracle.expected_ids(universe.items, spec, None))
                    if _is_too_many(response) and matching_all > CAP >= len(view.expected(spec)):
                        h.choices.record("cap-counts", "all-matching", spec.describe())
                        continue  # the cap may count every matching task (documented)
                    refused = (over_cap(view, spec) is True and _is_too_many(response)) or (
                        _documented_refusal(h, view, spec, response)
                    )
                    if refused:
                        continue
                    return CheckResult.failed(
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
                    actual=_ids(response),
                )
                if _ids(response) - visible:
                    return CheckResult.failed(
                        f"tasks outside the visible set: "
                        f"{sorted(_ids(response) - visible)[:3]} — reproduce: {h.repro(response)}",
                        evidence,
                    )
                outside = view.outside(spec, _ids(response))
                if outside:
                    return CheckResult.failed(
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
    invisible ids.
    """
    values = Vocabulary.of(universe.items).values
    invisible = sorted(set(universe.by_id) - visible)[:3]
    seen = sorted(visible & set(universe.by_id))[:2]
    # Narrow filters first: a leak then shows as the invisible tasks themselves.
    specs = [FilterSpec(tasks=tuple(invisible)), FilterSpec(tasks=(*seen, *invisible))]
    specs = specs if invisible else []
    specs += [FilterSpec(status=(status,)) for status in values.get("status", ())]
    specs += [FilterSpec(services=(service,)) for service in values.get("services", ())[:6]]
    specs += [FilterSpec(), FilterSpec(status=("SUCCEEDED", "FAILED"))]
    return list(dict.fromkeys(specs))


# --- faults -------------------------------------------------------------------------------------


def _fault(h: Harness, error_type: str, status: int) -> CheckResult | str:
    if h.control is None:
        return CheckResult.not_applicable(
            "mode", "fault injection needs controlled mode ({control}/faults)"
        )
    universe = h.memo("fault-universe", lambda: h.draw(h.universes(max_tasks=5)))
    h.install(universe)
    if not h.control.inject_fault(error_type, 1):
        return CheckResult.not_applicable(
            "mode", f"the control endpoint has no fault injection ({h.control.control_url}/faults)"
        )
    response = h.target.list_tasks(FilterSpec())
    if response.status != status:
        return CheckResult.failed(
            f"an injected {error_type} fault gave HTTP {response.status}, expected {status}"
        )
    problems = oracle.error_body_violations(status, response.body, h.contracts)
    type_problem = oracle.error_type_violation(status, response.body)
    problems += [type_problem] if type_problem else []
    problems += oracle.message_violations(response.body)
    if problems:
        return CheckResult.failed(
            f"{error_type} body: {'; '.join(problems[:3])} — reproduce: {h.repro(response)}"
        )
    chosen = _error_type(response)
    if error_type == "ERROR" and chosen in ("ERROR", "INTERNAL_SERVER_ERROR"):
        h.choices.record("error-500-type", chosen, "an injected system failure")
    shown = f" ({chosen})" if chosen not in (None, error_type) else ""
    return f"{error_type} -> HTTP {status}{shown} with a valid body"


@requirement(
    id="FAULT-503",
    modes=("controlled",),
    title="503 ServiceUnavailable bodies are valid",
    level="MUST",
    feature="faults",
    sources=(
        page(
            225,
            "[503] if the system is unable to communicate with a service to complete the request.",
        ),
    ),
)
def check_fault_503(h: Harness, req: Requirement) -> CheckResult:
    outcome = _fault(h, "SERVICE_UNAVAILABLE", 503)
    return outcome if isinstance(outcome, CheckResult) else CheckResult.passed(outcome)


@requirement(
    id="FAULT-500",
    modes=("controlled",),
    title="500 Error (or InternalServerError) and ResourceInaccessible bodies are valid",
    level="MUST",
    feature="faults",
    sources=(
        page(
            187,
            "Vapi Std Errors Error if the system reports an error while responding to the request.",
        ),
        OVER_1000_INACCESSIBLE,
        bindings(
            "InternalServerError (vapi.std.errors)",
            "it could occur in response to the invocation of any method.",
        ),
    ),
    alternatives=("error-500-type",),
)
def check_fault_500(h: Harness, req: Requirement) -> CheckResult:
    done = []
    for error_type in ("ERROR", "RESOURCE_INACCESSIBLE"):
        outcome = _fault(h, error_type, 500)
        if isinstance(outcome, CheckResult):
            return outcome
        done.append(outcome)
    return CheckResult.passed("; ".join(done))


# --- fuzzing ------------------------------------------------------------------------------------


@requirement(
    id="FUZZ-SCHEMATHESIS",
    title="Schema-driven fuzzing finds no contract violation",
    level="MUST",
    feature="fuzzing",
    sources=(
        INVALID_PARAMETERS_400,
        bindings(
            "Tasks.list",
            "the parameters, return type and errors of the operation"
            " (contracts/openapi.yaml restates them)",
        ),
    ),
    alternatives=(
        "filter-without-tasks-or-services",
        "repeated-values",
        "unknown-status",
        "unknown-identifiers",
    ),
)
def check_fuzzing(h: Harness, req: Requirement) -> CheckResult:
    """Hook: ``snapconform.engine.fuzzing.fuzz_target`` (schemathesis) through the run's Target."""
    try:
        from snapconform.engine import fuzzing
    except ImportError:
        return CheckResult.not_checked("error", "fuzzing module not available")
    fuzz_target = getattr(fuzzing, "fuzz_target", None)
    if fuzz_target is None:
        return CheckResult.not_checked("error", "fuzzing module not available (no fuzz_target)")
    report = fuzz_target(
        h.target, max_examples=max(5, h.max_examples), seed=h.seed, api_version=h.config.api_version
    )
    sent = f"{report.requests_sent} fuzzed requests"
    if report.findings:
        shown = " | ".join(
            f"{f.check} on {f.request} -> HTTP {f.status}: {h.redactor(f.message)[:200]}"
            for f in report.findings[:3]
        )
        return CheckResult.failed(
            f"{len(report.findings)} deviation(s) in {sent}: {shown} [seed {h.seed}]"
        )
    if report.transport_errors:
        return CheckResult.failed(f"{report.transport_errors} transport error(s) in {sent}")
    minimum = h.minimum_requests(req.id)
    if report.budget_exhausted and report.requests_sent < minimum:
        # Fewer fuzzed requests than a verdict needs, without a deviation, are no pass.
        expired = h.plan is not None and h.plan.expired()
        why = "time" if expired or h.marks.refused_why == "time" else "budget"
        ended = "the time box (--max-duration) ended" if why == "time" else "budget exhausted"
        return CheckResult.not_checked(
            why,
            f"{ended} after {report.requests_sent} fuzzed request(s), fewer than the {minimum}"
            " a verdict needs",
        )
    return CheckResult.passed(
        f"{sent}, no deviation" + (" (budget exhausted)" if report.budget_exhausted else "")
    )
