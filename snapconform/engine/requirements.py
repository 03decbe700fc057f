"""The requirement catalogue: what a conformant GET /api/snapservice/tasks must (or should) do.

One hop from a requirement to its check: ``Requirement.check`` is a function of
``snapconform.engine.checks`` (one per requirement), which judges with the pure functions of
``snapconform.engine.oracle``. ``source`` quotes the published reference page
(``/work/shared/spec/snapservice-tasks-list.txt``, the contracts, or the profile) the
requirement comes from. ``docs/requirements.md`` is generated from this module
(``python -m snapconform.engine.requirements > docs/requirements.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from snapconform.engine import checks

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness
    from snapconform.engine.verdicts import CheckResult

Level = Literal["MUST", "SHOULD"]
Feature = Literal["contract", "filter semantics", "cap", "auth", "faults", "fuzzing"]

#: The published reference page of the operation.
SPEC_URL = (
    "https://developer.broadcom.com/xapis/vsphere-automation-api/latest/api/snapservice/tasks/get/"
)
EPIC = "GET /api/snapservice/tasks"


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    level: Level
    feature: Feature
    source: str
    check: Callable[[Harness], CheckResult]
    #: Checks that judge every response of the run run after all others (``audit``).
    audit: bool = False

    @property
    def check_name(self) -> str:
        return self.check.__name__

    @property
    def severity(self) -> str:
        return "critical" if self.level == "MUST" else "minor"


_LIST_RESULT = (
    "200: ListResult including details of all the tasks. (contracts/schemas/ListResult.json)"
)
_CAP_TEXT = (
    "Returns information about at most 1000 visible (subject to permission checks) tasks matching "
    "the Snapservice Tasks FilterSpec. ... Vapi Std Errors ResourceInaccessible if a task's state "
    "cannot be accessed or over 1000 tasks matching the Snapservice Tasks FilterSpec."
)
_MISSING_EMPTY = (
    "If missing or null or empty, tasks with any identifier / any operation / any service / any "
    "status / any user will match the filter."
)

CATALOGUE: tuple[Requirement, ...] = (
    # --- contract ---------------------------------------------------------------------------
    Requirement(
        "CONTRACT-200-BODY",
        "Every 200 body is a valid ListResult (types, required fields, enums, RFC 3339)",
        "MUST",
        "contract",
        _LIST_RESULT,
        checks.check_list_result_bodies,
        audit=True,
    ),
    Requirement(
        "CONTRACT-STATUS-CONDITIONAL",
        "Each task carries exactly the fields its status allows (Info union case map)",
        "MUST",
        "contract",
        "Info is a union on status (bindings' UnionValidator; contracts/schemas/Info.json "
        "x-union): "
        "progress/start_time required unless PENDING, end_time required for SUCCEEDED/FAILED, "
        "error only for FAILED.",
        checks.check_status_conditional_fields,
        audit=True,
    ),
    Requirement(
        "CONTRACT-ERROR-BODY",
        "Every error body is valid against the schema of its status; no undocumented status",
        "MUST",
        "contract",
        "400 InvalidArgument, 401 Unauthenticated, 403 Unauthorized, 500 "
        "Error/ResourceInaccessible, "
        "503 ServiceUnavailable (contracts/openapi.yaml responses).",
        checks.check_error_bodies,
        audit=True,
    ),
    Requirement(
        "CONTRACT-ERROR-TYPE",
        "error_type agrees with the HTTP status",
        "MUST",
        "contract",
        "Discriminator field to help API consumers identify the structure type. (400 "
        "INVALID_ARGUMENT, "
        "401 UNAUTHENTICATED, 403 UNAUTHORIZED, 500 ERROR or RESOURCE_INACCESSIBLE, 503 "
        "SERVICE_UNAVAILABLE)",
        checks.check_error_types,
        audit=True,
    ),
    Requirement(
        "CONTRACT-ERROR-MESSAGES",
        "Error messages are non-empty (a stack of one or more messages with text)",
        "MUST",
        "contract",
        "Stack of one or more localizable messages for human error consumers.",
        checks.check_error_messages,
        audit=True,
    ),
    Requirement(
        "CONTRACT-JSON",
        "Every response body is JSON with an application/json content type",
        "MUST",
        "contract",
        "content: application/json (contracts/openapi.yaml, every response)",
        checks.check_json_content_type,
        audit=True,
    ),
    Requirement(
        "CONTRACT-UNIQUE-IDS",
        "Task ids in a 200 body are unique",
        "MUST",
        "contract",
        "ListResult including details of all the tasks. (a task is identified by its task id)",
        checks.check_unique_task_ids,
        audit=True,
    ),
    Requirement(
        "CONTRACT-UNKNOWN-PROPERTIES",
        "Bodies carry no properties the contract does not declare",
        "SHOULD",
        "contract",
        "The response schemas (contracts/schemas) list every property; an unknown one breaks "
        "strict clients.",
        checks.check_unknown_properties,
        audit=True,
    ),
    Requirement(
        "CONTRACT-BINDINGS",
        "Every 200 body decodes with the official VMware Python bindings",
        "SHOULD",
        "contract",
        "com.vmware.snapservice_client.Tasks.list returns Tasks.ListResult "
        "(vmware-vsan-data-protection).",
        checks.check_bindings_decode,
        audit=True,
    ),
    # --- filter semantics -------------------------------------------------------------------
    Requirement(
        "FILTER-EMPTY",
        "The empty filter returns every visible task",
        "MUST",
        "filter semantics",
        _MISSING_EMPTY,
        checks.check_empty_filter_returns_all,
    ),
    Requirement(
        "FILTER-SOUNDNESS",
        "Every returned task matches the filter",
        "MUST",
        "filter semantics",
        "Returns information about ... tasks matching the Snapservice Tasks FilterSpec.",
        checks.check_filter_soundness,
    ),
    Requirement(
        "FILTER-COMPLETENESS",
        "No visible task that matches the filter is missing",
        "MUST",
        "filter semantics",
        "Returns information about ... visible ... tasks matching the Snapservice Tasks "
        "FilterSpec.",
        checks.check_filter_completeness,
    ),
    Requirement(
        "FILTER-OR-AND",
        "Values of one field are alternatives (OR); fields combine with AND",
        "MUST",
        "filter semantics",
        "Identifiers of operations. Tasks created by these operations match the filter ... "
        "(FilterSpec: sets of alternatives; across fields all must hold)",
        checks.check_or_within_and_across,
    ),
    Requirement(
        "FILTER-ORDER-REPEATS",
        "Order and repeats of values do not matter; every repeated parameter counts",
        "MUST",
        "filter semantics",
        "Each FilterSpec field is a set of identifiers (form style, exploded query parameters).",
        checks.check_order_and_repeats,
    ),
    Requirement(
        "FILTER-EXACT-ENCODED",
        "Values that need percent-encoding match exactly and case-sensitively",
        "MUST",
        "filter semantics",
        "Users who must have initiated the operation for the associated task to match the filter.",
        checks.check_exact_encoded_values,
    ),
    Requirement(
        "FILTER-UNKNOWN-IDS",
        "Unknown identifiers give 200 without them or 400, never 5xx",
        "MUST",
        "filter semantics",
        "400: if any of the specified parameters are invalid.",
        checks.check_unknown_identifiers,
    ),
    Requirement(
        "FILTER-INVALID-STATUS",
        "An invalid status value (wrong case included) gives 400 InvalidArgument",
        "MUST",
        "filter semantics",
        "Status that a task must have to match the filter (see Snapservice Tasks Status). "
        "400: if any of the specified parameters are invalid.",
        checks.check_invalid_status,
    ),
    Requirement(
        "FILTER-DETERMINISTIC",
        "The same request twice gives the same set of tasks",
        "MUST",
        "filter semantics",
        "Returns information about ... tasks matching the Snapservice Tasks FilterSpec.",
        checks.check_repeatable,
    ),
    # --- cap ----------------------------------------------------------------------------------
    Requirement(
        "CAP-AT-LIMIT",
        "Exactly 1000 matching tasks give 200 with all 1000",
        "MUST",
        "cap",
        _CAP_TEXT,
        checks.check_cap_at_limit,
    ),
    Requirement(
        "CAP-OVER-LIMIT",
        "More than 1000 matching tasks give 500 ResourceInaccessible, never a truncated 200",
        "MUST",
        "cap",
        _CAP_TEXT,
        checks.check_cap_over_limit,
    ),
    Requirement(
        "CAP-COUNTS-MATCHING",
        "The cap counts matching tasks, not the tasks in the store",
        "MUST",
        "cap",
        _CAP_TEXT,
        checks.check_cap_counts_matching,
    ),
    Requirement(
        "CAP-NEVER-MORE",
        "A 200 never carries more than 1000 tasks",
        "MUST",
        "cap",
        _CAP_TEXT,
        checks.check_never_more_than_cap,
        audit=True,
    ),
    # --- auth ---------------------------------------------------------------------------------
    Requirement(
        "AUTH-NO-CREDENTIALS",
        "No credentials give 401 Unauthenticated with a string challenge",
        "MUST",
        "auth",
        "401: if the user can not be authenticated. challenge: Indicates the authentication "
        "challenges applicable to the target API provider.",
        checks.check_no_credentials,
    ),
    Requirement(
        "AUTH-WWW-AUTHENTICATE",
        "A 401 carries a WWW-Authenticate header consistent with its challenge",
        "SHOULD",
        "auth",
        "a provider using REST may adhere to the WWW-Authenticate HTTP header specification, "
        "RFC7235",
        checks.check_www_authenticate,
    ),
    Requirement(
        "AUTH-BOGUS-SESSION",
        "A bogus session id gives 401",
        "MUST",
        "auth",
        "401: if the user can not be authenticated.",
        checks.check_bogus_session,
    ),
    Requirement(
        "AUTH-WRONG-PASSWORD",
        "A wrong password is refused with 401",
        "MUST",
        "auth",
        "401: if the session creation fails due to request specific issues (POST "
        "/api/snapservice/sessions) "
        "/ if the user can not be authenticated.",
        checks.check_wrong_password,
    ),
    Requirement(
        "AUTH-SESSION-ENDED",
        "A session id after DELETE /api/snapservice/sessions gives 401",
        "MUST",
        "auth",
        "401: if the session id is missing or the session cannot be found.",
        checks.check_deleted_session,
    ),
    Requirement(
        "AUTH-PRIVILEGE",
        "A principal without System.Read gets 403 Unauthorized and no data",
        "MUST",
        "auth",
        "Returns an authorization error if you do not have all of the privileges described as "
        "follows: Operation execution requires System.Read.",
        checks.check_unprivileged_forbidden,
    ),
    Requirement(
        "AUTH-VISIBILITY",
        "A principal never sees tasks outside its visible set",
        "MUST",
        "auth",
        "Returns information about at most 1000 visible (subject to permission checks) tasks",
        checks.check_visibility,
    ),
    # --- faults -------------------------------------------------------------------------------
    Requirement(
        "FAULT-503",
        "503 ServiceUnavailable bodies are valid",
        "MUST",
        "faults",
        "503: if the system is unable to communicate with a service to complete the request.",
        checks.check_fault_503,
    ),
    Requirement(
        "FAULT-500",
        "500 Error and ResourceInaccessible bodies are valid",
        "MUST",
        "faults",
        "500: Vapi Std Errors Error if the system reports an error while responding to the "
        "request.",
        checks.check_fault_500,
    ),
    # --- fuzzing ------------------------------------------------------------------------------
    Requirement(
        "FUZZ-SCHEMATHESIS",
        "Schema-driven fuzzing finds no contract violation",
        "MUST",
        "fuzzing",
        "contracts/openapi.yaml: every documented parameter and response of the operation.",
        checks.check_fuzzing,
    ),
)

BY_ID: dict[str, Requirement] = {requirement.id: requirement for requirement in CATALOGUE}


def requirements_for(feature: Feature) -> tuple[Requirement, ...]:
    return tuple(r for r in CATALOGUE if r.feature == feature)


def requirement(requirement_id: str) -> Requirement:
    try:
        return BY_ID[requirement_id]
    except KeyError:
        raise KeyError(f"unknown requirement {requirement_id!r}") from None


def catalogue_markdown() -> str:
    """docs/requirements.md: one line per requirement (id, level, title, check, source)."""
    lines = [
        "# Requirement catalogue",
        "",
        "Generated from `snapconform/engine/requirements.py` by",
        "`python -m snapconform.engine.requirements > docs/requirements.md`; do not edit by hand.",
        f"Spec: {SPEC_URL} (copy: `/work/shared/spec/snapservice-tasks-list.txt`).",
        "Each check is a function of `snapconform/engine/checks.py`.",
        "",
        "| id | level | feature | title | check | source in the spec |",
        "|---|---|---|---|---|---|",
    ]
    for r in CATALOGUE:
        source = r.source.replace("|", "\\|")
        lines.append(
            f"| {r.id} | {r.level} | {r.feature} | {r.title} | `{r.check_name}` | {source} |"
        )
    from snapconform.engine.plan import plan_markdown

    return "\n".join(lines) + "\n\n" + plan_markdown()


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
