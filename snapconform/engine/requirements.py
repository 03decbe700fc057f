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
class Source:
    """Where a requirement comes from: a page line or a bindings docstring, quoted.

    ``where`` is ``page line N`` (the published reference page, copy in
    ``/work/shared/spec/snapservice-tasks-list.txt``), ``bindings <Class.member>``
    (vmware-vsan-data-protection 9.1.1.0 / vmware-vapi-common-client docstrings), or ``ours``
    (a reading of ours that no source states: such a requirement is SHOULD, and says so).
    """

    where: str
    quote: str

    def render(self) -> str:
        return f"{self.where}: “{self.quote}”"


def page(line: int, quote: str) -> Source:
    return Source(f"page line {line}", quote)


def bindings(member: str, quote: str) -> Source:
    return Source(f"bindings {member}", quote)


def ours(reading: str) -> Source:
    return Source("ours (stricter reading, hence SHOULD)", reading)


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    level: Level
    feature: Feature
    sources: tuple[Source, ...]
    check: Callable[[Harness], CheckResult]
    #: Checks that judge every response of the run run after all others (``audit``).
    audit: bool = False
    #: Documented alternatives the check accepts (summary ``variants`` question keys).
    alternatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"requirement {self.id} has no source")
        if self.level == "MUST" and all(s.where.startswith("ours") for s in self.sources):
            raise ValueError(f"requirement {self.id}: a MUST needs a page or bindings source")

    @property
    def source(self) -> str:
        """Every source, rendered on one line (catalogue, Allure, summary.md)."""
        return " · ".join(source.render() for source in self.sources)

    @property
    def check_name(self) -> str:
        return self.check.__name__

    @property
    def severity(self) -> str:
        return "critical" if self.level == "MUST" else "minor"


_L2 = page(
    2,
    "Returns information about at most 1000 visible (subject to permission checks) tasks"
    " matching the Snapservice Tasks FilterSpec.",
)
_L188 = page(
    188,
    "Vapi Std Errors ResourceInaccessible if a task's state cannot be accessed or over 1000"
    " tasks matching the Snapservice Tasks FilterSpec.",
)
_L99 = page(99, "[400] if any of the specified parameters are invalid.")
_SETS = bindings(
    "Tasks.FilterSpec (type.SetType) and the vmware.vapi converter",
    "tasks/operations/services/users: set of str; status: set of Status;"
    ' List contains duplicate element "%s". Cannot convert to a set',
)
_AND = bindings(
    "Tasks.FilterSpec",
    "If multiple attributes are specified, only tasks matching all of the attributes match the"
    " filter.",
)
_REQUIRES = bindings(
    "Tasks.FilterSpec",
    "Currently at least one of Tasks.FilterSpec.tasks or Tasks.FilterSpec.services must be"
    " specified and not empty.",
)
_UNAUTHENTICATED = bindings(
    "Unauthenticated (vapi.std.errors)",
    "For security reasons, the Error.data attribute in this exception is None, and the"
    " Error.messages attribute in this exception does not disclose which part of the security"
    " context is correct or incorrect.",
)

CATALOGUE: tuple[Requirement, ...] = (
    # --- contract ---------------------------------------------------------------------------
    Requirement(
        "CONTRACT-200-BODY",
        "Every 200 body is a valid ListResult (types, required fields, enums, RFC 3339)",
        "MUST",
        "contract",
        (
            page(26, "ListResult including details of all the tasks."),
            bindings(
                "Tasks.ListResult / Tasks.ListItem / tasks_client.Info",
                "items: list of Tasks.ListItem; task: str; info: Info (field types)",
            ),
        ),
        checks.check_list_result_bodies,
        audit=True,
    ),
    Requirement(
        "CONTRACT-STATUS-CONDITIONAL",
        "Each task carries exactly the fields its status allows (Info union case map)",
        "MUST",
        "contract",
        (
            bindings(
                "tasks_client.Info (UnionValidator on status)",
                "'FAILED': [('error', False), ('start_time', True), ('end_time', True)],"
                " 'RUNNING': [('start_time', True)], 'BLOCKED': [('start_time', True)],"
                " 'SUCCEEDED': [('start_time', True), ('end_time', True)], 'PENDING': []",
            ),
        ),
        checks.check_status_conditional_fields,
        audit=True,
    ),
    Requirement(
        "CONTRACT-ERROR-BODY",
        "Every error body is valid against the schema of its status; no undocumented status",
        "MUST",
        "contract",
        (
            _L99,
            page(125, "[401] if the user can not be authenticated."),
            page(156, "[403] if the user doesn't have the required privileges."),
            page(
                187,
                "Vapi Std Errors Error if the system reports an error while responding to"
                " the request.",
            ),
            page(
                225,
                "[503] if the system is unable to communicate with a service to complete"
                " the request.",
            ),
        ),
        checks.check_error_bodies,
        audit=True,
    ),
    Requirement(
        "CONTRACT-ERROR-TYPE",
        "error_type agrees with the HTTP status (500: ERROR, RESOURCE_INACCESSIBLE or"
        " INTERNAL_SERVER_ERROR)",
        "MUST",
        "contract",
        (
            page(221, "Discriminator field to help API consumers identify the structure type."),
            bindings(
                "InternalServerError (vapi.std.errors)",
                "This exception is reported by the API infrastructure, so it could occur in"
                " response to the invocation of any method.",
            ),
        ),
        checks.check_error_types,
        audit=True,
        alternatives=("error-500-type",),
    ),
    Requirement(
        "CONTRACT-ERROR-MESSAGES",
        "Error messages are non-empty (a stack of one or more messages with text)",
        "MUST",
        "contract",
        (page(214, "Stack of one or more localizable messages for human error consumers."),),
        checks.check_error_messages,
        audit=True,
    ),
    Requirement(
        "CONTRACT-JSON",
        "Every response body is JSON with an application/json content type",
        "MUST",
        "contract",
        (
            page(28, '"items": ['),
            bindings(
                "vmware.vapi REST connector",
                "REST responses are deserialized from JSON (application/json)",
            ),
        ),
        checks.check_json_content_type,
        audit=True,
    ),
    Requirement(
        "CONTRACT-UNIQUE-IDS",
        "Task ids in a 200 body are unique",
        "SHOULD",
        "contract",
        (
            page(97, "List of tasks."),
            ours(
                "a list naming one task twice is not 'details of all the tasks'; ListResult"
                " items is a list, so no source forbids a repeat outright"
            ),
        ),
        checks.check_unique_task_ids,
        audit=True,
    ),
    Requirement(
        "CONTRACT-UNKNOWN-PROPERTIES",
        "Bodies carry no properties the contract does not declare",
        "SHOULD",
        "contract",
        (ours("the response schemas list every property; an unknown one breaks strict clients"),),
        checks.check_unknown_properties,
        audit=True,
    ),
    Requirement(
        "CONTRACT-BINDINGS",
        "Every 200 body decodes with the official VMware Python bindings",
        "SHOULD",
        "contract",
        (
            bindings(
                "Tasks.list",
                ":rtype: Tasks.ListResult :return: ListResult including details of all the tasks.",
            ),
        ),
        checks.check_bindings_decode,
        audit=True,
    ),
    Requirement(
        "CONTRACT-DATETIME-UTC",
        "Date-times are written in UTC with a Z (YYYY-MM-DDThh:mm:ss.sssZ)",
        "SHOULD",
        "contract",
        (
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
        checks.check_datetime_utc,
        audit=True,
    ),
    # --- filter semantics -------------------------------------------------------------------
    Requirement(
        "FILTER-EMPTY",
        "The empty filter, whenever answered with 200, returns every visible task",
        "MUST",
        "filter semantics",
        (
            page(
                9, "If missing or null or empty, tasks with any identifier will match the filter."
            ),
            bindings(
                "Tasks.list",
                "if None, the behavior is equivalent to a Tasks.FilterSpec with all attributes"
                " None which means all tasks match the filter.",
            ),
            _REQUIRES,
        ),
        checks.check_empty_filter_returns_all,
        alternatives=("filter-without-tasks-or-services",),
    ),
    Requirement(
        "FILTER-SOUNDNESS",
        "Every returned task matches the filter",
        "MUST",
        "filter semantics",
        (_L2, _AND),
        checks.check_filter_soundness,
        alternatives=("users-case",),
    ),
    Requirement(
        "FILTER-COMPLETENESS",
        "No visible task that matches the filter is missing",
        "MUST",
        "filter semantics",
        (_L2,),
        checks.check_filter_completeness,
        alternatives=("filter-without-tasks-or-services", "repeated-values"),
    ),
    Requirement(
        "FILTER-OR-AND",
        "Values of one field are alternatives (OR); fields combine with AND",
        "MUST",
        "filter semantics",
        (
            page(
                11, "Identifiers of operations. Tasks created by these operations match the filter"
            ),
            _AND,
        ),
        checks.check_or_within_and_across,
    ),
    Requirement(
        "FILTER-ORDER-REPEATS",
        "Order of values does not matter; a repeated value is ignored or refused with 400",
        "MUST",
        "filter semantics",
        (_SETS, _L99),
        checks.check_order_and_repeats,
        alternatives=("repeated-values",),
    ),
    Requirement(
        "FILTER-EXACT-ENCODED",
        "Values that need percent-encoding match exactly (identifiers case-sensitively)",
        "MUST",
        "filter semantics",
        (
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
        checks.check_exact_encoded_values,
        alternatives=("users-case",),
    ),
    Requirement(
        "FILTER-UNKNOWN-IDS",
        "Unknown identifiers give 200 without them, 400, or (task ids) 500 ResourceInaccessible",
        "MUST",
        "filter semantics",
        (_L99, _L188),
        checks.check_unknown_identifiers,
        alternatives=("unknown-identifiers",),
    ),
    Requirement(
        "FILTER-INVALID-STATUS",
        "A status value outside the enum gives 400, or 200 with no task of that status",
        "MUST",
        "filter semantics",
        (
            bindings(
                "tasks_client.Status",
                "Newer versions of the enumerated type may contain new values.",
            ),
            _L99,
        ),
        checks.check_invalid_status,
        alternatives=("unknown-status",),
    ),
    Requirement(
        "FILTER-DETERMINISTIC",
        "The same request twice gives the same set of tasks",
        "MUST",
        "filter semantics",
        (_L2,),
        checks.check_repeatable,
    ),
    # --- cap ----------------------------------------------------------------------------------
    Requirement(
        "CAP-AT-LIMIT",
        "Exactly 1000 matching tasks give 200 with all 1000",
        "MUST",
        "cap",
        (_L2, _L188),
        checks.check_cap_at_limit,
    ),
    Requirement(
        "CAP-OVER-LIMIT",
        "More than 1000 matching tasks give 500 ResourceInaccessible, never a truncated 200",
        "MUST",
        "cap",
        (_L188,),
        checks.check_cap_over_limit,
    ),
    Requirement(
        "CAP-COUNTS-MATCHING",
        "The cap counts matching tasks (visible ones, or all), never the tasks in the store",
        "MUST",
        "cap",
        (_L2, _L188),
        checks.check_cap_counts_matching,
        alternatives=("cap-counts",),
    ),
    Requirement(
        "CAP-NEVER-MORE",
        "A 200 never carries more than 1000 tasks",
        "MUST",
        "cap",
        (_L2,),
        checks.check_never_more_than_cap,
        audit=True,
    ),
    # --- auth ---------------------------------------------------------------------------------
    Requirement(
        "AUTH-NO-CREDENTIALS",
        "No credentials give 401 Unauthenticated",
        "MUST",
        "auth",
        (page(125, "[401] if the user can not be authenticated."),),
        checks.check_no_credentials,
    ),
    Requirement(
        "AUTH-CHALLENGE",
        "A 401 carries a string challenge",
        "SHOULD",
        "auth",
        (
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
        checks.check_challenge,
    ),
    Requirement(
        "AUTH-WWW-AUTHENTICATE",
        "A 401 carries a WWW-Authenticate header consistent with its challenge",
        "SHOULD",
        "auth",
        (
            page(
                153,
                "a provider using REST may adhere to the WWW-Authenticate HTTP header"
                " specification, RFC7235, section 4.1.",
            ),
        ),
        checks.check_www_authenticate,
    ),
    Requirement(
        "AUTH-BOGUS-SESSION",
        "A bogus session id gives 401",
        "MUST",
        "auth",
        (
            bindings(
                "Unauthenticated (vapi.std.errors)",
                "The session identifier in the request's security context identifies a session"
                " that has expired.",
            ),
        ),
        checks.check_bogus_session,
    ),
    Requirement(
        "AUTH-WRONG-PASSWORD",
        "A wrong password is refused with 401",
        "MUST",
        "auth",
        (
            bindings(
                "Unauthenticated (vapi.std.errors)",
                "The user name and password in the request's security context are invalid.",
            ),
            bindings(
                "Sessions.create",
                "Unauthenticated if the session creation fails due to request specific issues.",
            ),
        ),
        checks.check_wrong_password,
    ),
    Requirement(
        "AUTH-WRONG-PASSWORD-UNDISCLOSED",
        "A 401 does not tell a wrong password from an unknown user; its data is null",
        "SHOULD",
        "auth",
        (_UNAUTHENTICATED,),
        checks.check_unauthenticated_undisclosed,
    ),
    Requirement(
        "AUTH-SESSION-ENDED",
        "A session id after DELETE /api/snapservice/sessions gives 401",
        "MUST",
        "auth",
        (
            bindings(
                "Sessions.delete",
                "Terminates the validity of a session token. This is the equivalent of log out.",
            ),
        ),
        checks.check_deleted_session,
    ),
    Requirement(
        "AUTH-PRIVILEGE",
        "A principal without System.Read gets 403 Unauthorized and no task data",
        "MUST",
        "auth",
        (
            page(
                4,
                "Returns an authorization error if you do not have all of the privileges"
                " described as follows: - Operation execution requires System.Read.",
            ),
            page(156, "[403] if the user doesn't have the required privileges."),
        ),
        checks.check_unprivileged_forbidden,
    ),
    Requirement(
        "AUTH-PRIVILEGE-UNDISCLOSED",
        "A 403 does not disclose the missing privilege; its data is null",
        "SHOULD",
        "auth",
        (
            bindings(
                "Unauthorized (vapi.std.errors)",
                "For security reasons, the Error.data attribute in this exception is None, and"
                " the Error.messages attribute in this exception does not disclose why the user"
                " is not authorized to perform the method.",
            ),
        ),
        checks.check_privilege_undisclosed,
    ),
    Requirement(
        "AUTH-VISIBILITY",
        "A principal never sees tasks outside its visible set",
        "MUST",
        "auth",
        (_L2,),
        checks.check_visibility,
        alternatives=("cap-counts",),
    ),
    # --- faults -------------------------------------------------------------------------------
    Requirement(
        "FAULT-503",
        "503 ServiceUnavailable bodies are valid",
        "MUST",
        "faults",
        (
            page(
                225,
                "[503] if the system is unable to communicate with a service to complete the"
                " request.",
            ),
        ),
        checks.check_fault_503,
    ),
    Requirement(
        "FAULT-500",
        "500 Error (or InternalServerError) and ResourceInaccessible bodies are valid",
        "MUST",
        "faults",
        (
            page(
                187,
                "Vapi Std Errors Error if the system reports an error while responding to"
                " the request.",
            ),
            _L188,
            bindings(
                "InternalServerError (vapi.std.errors)",
                "it could occur in response to the invocation of any method.",
            ),
        ),
        checks.check_fault_500,
        alternatives=("error-500-type",),
    ),
    # --- fuzzing ------------------------------------------------------------------------------
    Requirement(
        "FUZZ-SCHEMATHESIS",
        "Schema-driven fuzzing finds no contract violation",
        "MUST",
        "fuzzing",
        (
            _L99,
            bindings(
                "Tasks.list",
                "the parameters, return type and errors of the operation"
                " (contracts/openapi.yaml restates them)",
            ),
        ),
        checks.check_fuzzing,
        alternatives=(
            "filter-without-tasks-or-services",
            "repeated-values",
            "unknown-status",
            "unknown-identifiers",
        ),
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
        "Every requirement quotes its sources: a line of the page, or a docstring of the official"
        " bindings (`vmware-vsan-data-protection` 9.1.1.0, `vmware-vapi-common-client`). A MUST"
        " rests on a page or bindings source; a stricter reading of ours is a SHOULD and says so"
        " (`ours`). Where the sources allow more than one behaviour, the check accepts each and"
        " records the target's choice (summary `variants`; *alternatives* below,"
        " `snapconform serve --variant` plays them).",
        "",
        "| id | level | feature | title | check | sources | alternatives |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in CATALOGUE:
        sources = "<br>".join(s.render() for s in r.sources).replace("|", "\\|")
        alternatives = ", ".join(f"`{a}`" for a in r.alternatives) or "—"
        lines.append(
            f"| {r.id} | {r.level} | {r.feature} | {r.title} | `{r.check_name}` | {sources}"
            f" | {alternatives} |"
        )
    from snapconform.engine.plan import plan_markdown
    from snapconform.engine.verdicts import outcomes_markdown

    return "\n".join(lines) + "\n\n" + outcomes_markdown() + "\n" + plan_markdown()


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
