"""Contract requirements (audit): every response of the run is judged by the ResponseAudit; the
contract probe widens its corpus once.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from snapconform.engine import oracle, runwide
from snapconform.engine.checks.common import first_case, probe_errors
from snapconform.engine.checks.examples import Example, first_filters, with_filters
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    INACCESSIBLE_AS_400,
    INTERNAL_SERVER_ERROR_ANY_METHOD,
    INVALID_PARAMETERS_400,
    OVER_1000_INACCESSIBLE,
    SNAPSERVICE,
    SYSTEM_ERROR_500,
    UNAUTHENTICATED_401,
    UNAUTHORIZED_403,
    UNAVAILABLE_503,
)
from snapconform.engine.registry import Cost, Requirement, bindings, ours, page, requirement
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


def probe_contract(h: Harness) -> None:
    """Widen the audit's corpus once: random filters, invalid input, a missing login."""

    def probe() -> bool:
        probe_errors(h)

        def prop(example: Example[list[FilterSpec]]) -> None:
            h.install(example.universe)
            with h.target.list_many(example.case) as answers:
                for _ in answers:
                    pass  # the audit judges every answer
            h.target.get_tasks(oracle.encode_query([("status", "succeeded")]))
            h.target.get_tasks(authenticated=False)

        # First the rich universe (every status, so every status-conditional field) with a few
        # informative filters; then random universes (Hypothesis starts with an empty one).
        rich = h.source.first_universe()
        first_case(h, Example(rich, [FilterSpec(), *first_filters(rich)[:4]]), prop)
        with suppress(Violation):
            # The probe only sends (its property asserts nothing): a target error that ended
            # its exploration is the audits' to judge from the responses, not the caller's.
            h.explore(with_filters(h, 3), prop, max_examples=max(3, h.max_examples // 4))
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
            f"{SNAPSERVICE}.Tasks",
            "'task': type.IdType(resource_types='com.vmware.snapservice.task'),"
            " 'info': type.ReferenceType('com.vmware.snapservice.tasks_client', 'Info'),"
            " … 'items': type.ListType(type.ReferenceType(__name__, 'Tasks.ListItem')),",
            "the binding types of ListItem and ListResult; Info's are in tasks_client",
        ),
    ),
    run_wide=runwide.Contract200Body,
    cost=Cost(20, 0.5, 1),  # the contract probe: every audit judges its responses
)
def check_list_result_bodies(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-STATUS-CONDITIONAL",
    title="Each task carries exactly the fields its status allows (Info union case map)",
    level="MUST",
    feature="contract",
    sources=(
        bindings(
            "com.vmware.snapservice.tasks_client.Info",
            "UnionValidator( 'status', {"
            " 'RUNNING' : [('progress', True), ('result', False), ('start_time', True)],"
            " 'BLOCKED' : [('progress', True), ('result', False), ('start_time', True)],"
            " 'SUCCEEDED' : [('progress', True), ('result', False), ('start_time', True),"
            " ('end_time', True)],"
            " 'FAILED' : [('progress', True), ('result', False), ('error', False),"
            " ('start_time', True), ('end_time', True)],"
            " 'PENDING' : [], }",
            "Info's union case map: a field named in some case is allowed only in its cases,"
            " True: required there",
        ),
    ),
    run_wide=runwide.ContractStatusConditional,
)
def check_status_conditional_fields(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-ERROR-BODY",
    title="Every error body is valid against the schema of its status; no undocumented status",
    level="MUST",
    feature="contract",
    sources=(
        INVALID_PARAMETERS_400,
        UNAUTHENTICATED_401,
        UNAUTHORIZED_403,
        SYSTEM_ERROR_500,
        OVER_1000_INACCESSIBLE,
        UNAVAILABLE_503,
    ),
    run_wide=runwide.ContractErrorBody,
)
def check_error_bodies(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-ERROR-TYPE",
    title="error_type agrees with the HTTP status (500: ERROR, RESOURCE_INACCESSIBLE or"
    " INTERNAL_SERVER_ERROR; 400: INVALID_ARGUMENT, or RESOURCE_INACCESSIBLE where the target"
    " sends it as 400, then always)",
    level="MUST",
    feature="contract",
    sources=(
        page(221, "Discriminator field to help API consumers identify the structure type."),
        INTERNAL_SERVER_ERROR_ANY_METHOD,
        INACCESSIBLE_AS_400,
    ),
    alternatives=("error-500-type", "inaccessible-status"),
    run_wide=runwide.ContractErrorType,
)
def check_error_types(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-ERROR-MESSAGES",
    title="An error carries a stack of one or more messages",
    level="MUST",
    feature="contract",
    sources=(page(214, "Stack of one or more localizable messages for human error consumers."),),
    run_wide=runwide.ContractErrorMessages,
)
def check_error_messages(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-ERROR-MESSAGE-TEXT",
    title="Each error message has a non-blank id and default_message",
    level="SHOULD",
    feature="contract",
    sources=(
        bindings(
            "com.vmware.vapi.std_client.LocalizableMessage",
            "Unique identifier of the localizable string or message template.",
        ),
        ours(
            "the sources type id and default_message as strings, not as non-empty ones; a blank"
            " one identifies nothing and tells the human consumer nothing"
        ),
    ),
    run_wide=runwide.ContractErrorMessageText,
)
def check_error_message_text(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
    return h.audit.result(req.id, "error response")


@requirement(
    id="CONTRACT-JSON",
    title="Every response body is JSON with an application/json content type",
    level="MUST",
    feature="contract",
    sources=(
        page(28, '"items": ['),
        bindings(
            "vmware.vapi.protocol.client.msg.rest_connector.RestClientProvider",
            "# Accept header is needed because any operation can report an error and"
            " # hence could have a body. headers = { HTTP_ACCEPT_HEADER: JSON_CONTENT_TYPE,",
            "the bindings' REST client asks every operation for JSON",
        ),
        bindings("vmware.vapi.lib.constants", "JSON_CONTENT_TYPE = 'application/json'"),
    ),
    run_wide=runwide.ContractJson,
)
def check_json_content_type(h: Harness, req: Requirement) -> CheckResult:
    probe_contract(h)
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
    probe_contract(h)
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
    probe_contract(h)
    return h.audit.result(req.id, "response")


@requirement(
    id="CONTRACT-BINDINGS",
    title="Every 200 body decodes with the official VMware Python bindings",
    level="SHOULD",
    feature="contract",
    sources=(
        bindings(
            f"{SNAPSERVICE}.Tasks.list",
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
    probe_contract(h)
    return h.audit.result(req.id, "200 response")


@requirement(
    id="CONTRACT-DATETIME-UTC",
    title="Date-times are written in UTC with a Z (YYYY-MM-DDThh:mm:ss.sssZ)",
    level="SHOULD",
    feature="contract",
    sources=(
        bindings(
            "vmware.vapi.bindings.datetime_helper.DateTimeConverter.convert_from_datetime",
            "Convert from Python native datetime object to the datetime format in vAPI"
            " Runtime i.e. YYYY-MM-DDThh:mm:ss.sssZ. … The caller to this method should"
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
    probe_contract(h)
    return h.audit.result(req.id, "200 response")
