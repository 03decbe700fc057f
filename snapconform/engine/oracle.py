"""Pure oracle functions: what a conformant GET /api/snapservice/tasks must answer.

Nothing here does I/O. Every check of ``snapconform.engine.checks`` judges responses with these
functions. This module holds the filter oracle (which tasks a filter selects, the 1000-task cap,
the relations between answers, the open Status enum); what the contract says of a body (its
schemas, ``x-union``, the error types, the bindings' decoding) is in
``snapconform.engine.contract_oracle`` and exposed here too, so a check names one oracle. Every
rule about bodies is read from ``contracts/`` (never retyped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from snapconform.engine.contract_oracle import (
    EXPECTED_ERROR_TYPES as EXPECTED_ERROR_TYPES,
    BindingsType as BindingsType,
    bindings_decode_error as bindings_decode_error,
    error_body_violations as error_body_violations,
    error_schema_names as error_schema_names,
    error_type_violation as error_type_violation,
    forbidden_disclosures as forbidden_disclosures,
    info_union_violations as info_union_violations,
    is_json_content_type as is_json_content_type,
    list_body_violations as list_body_violations,
    list_contract_violations as list_contract_violations,
    list_result_violations as list_result_violations,
    message_text_violations as message_text_violations,
    message_violations as message_violations,
    non_utc_datetimes as non_utc_datetimes,
    schema_violations as schema_violations,
    status_conditional_violations as status_conditional_violations,
    unauthenticated_challenge_violation as unauthenticated_challenge_violation,
    unauthenticated_disclosures as unauthenticated_disclosures,
    unknown_properties as unknown_properties,
    www_authenticate_violation as www_authenticate_violation,
    x_union as x_union,
)
from snapconform.filterspec import (
    CAP as CAP,
    FILTER_FIELDS as FILTER_FIELDS,
    FilterSpec as FilterSpec,
    allowed_ids as allowed_ids,
    encode_query as encode_query,
    expected_ids as expected_ids,
    item_value as item_value,
    matches as matches,
    may_match as may_match,
    parse_canonical_query as parse_canonical_query,
    status_enum as status_enum,
    unknown_status_values as unknown_status_values,
    users_case_only as users_case_only,
)
from snapconform.wire import curl_line as wire_curl_line

#: Statuses a task never leaves: the only ones whose content is stable under churn.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED"})

CapOutcome = Literal["list", "too_many"]


def cap_outcome(matching: int) -> CapOutcome:
    """``list`` (200 with every match) up to CAP matches, ``too_many`` (500 RI) beyond."""
    return "list" if matching <= CAP else "too_many"


def is_cap_error(status: int, body: Any) -> bool:
    """Whether an answer is the cap error: 500 ResourceInaccessible (page line 188), or the same
    error with HTTP 400 (the vAPI runtime's map: ``sources.INACCESSIBLE_AS_400``).

    The one definition every check, the run-wide audit, discovery, fuzzing and the transport's
    retry rule use. ``error_type`` may be absent or null (page line 224: "Can be missing or null
    for compatibility with preceding implementations"): such a 500 can be the cap error, so it
    counts as one; whether the filter was over the cap is the caller's question.
    """
    if not isinstance(body, Mapping):
        return False
    if status == 400:  # only when it says so: a 400 is otherwise InvalidArgument
        return body.get("error_type") == "RESOURCE_INACCESSIBLE"
    return status == 500 and body.get("error_type") in ("RESOURCE_INACCESSIBLE", None)


def is_refusal(status: int, body: Any) -> bool:
    """A 400 that refuses the request (InvalidArgument), not ResourceInaccessible sent as 400."""
    return status == 400 and not is_cap_error(status, body)


def result_ids(body: Any) -> list[str]:
    """Task ids of a ListResult body in response order (ignoring malformed items)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
        return []
    # ``type(item) is dict`` first: decoded JSON objects are dicts, and the ABC check costs
    # more than the rest of the test (a hostile 100 000-item answer: a third of its run)
    return [
        item["task"]
        for item in body["items"]
        if (type(item) is dict or isinstance(item, Mapping)) and "task" in item
    ]


def duplicate_ids(body: Any) -> list[str]:
    """Task ids that occur more than once in a ListResult body."""
    return sorted(task for task, n in Counter(result_ids(body)).items() if n > 1)


# --- the open Status enum -------------------------------------------------------------------


def outside_known_statuses(items: Iterable[Any], spec: FilterSpec) -> list[Any]:
    """Task ids of listed ``items`` whose status is none of ``spec``'s enum values.

    Status is an open enum (bindings: "Newer versions of the enumerated type may contain new
    values"): a status value outside the enum may be accepted and match no task, so a 200 to
    such a filter may list only tasks of the filter's known statuses; any other is wrong.
    """
    known = set(spec.status or ()) - set(unknown_status_values(spec))

    def status(item: Any) -> Any:
        info = item.get("info") if isinstance(item, Mapping) else None
        return info.get("status") if isinstance(info, Mapping) else None

    return [
        item.get("task") if isinstance(item, Mapping) else item
        for item in items
        if status(item) not in known
    ]


# --- metamorphic relations --------------------------------------------------------------------


#: The relations between answers (FILTER-OR-AND), by the name of their rule (the ``rule`` of the
#: relations ``snapconform.strategies.cases`` generates): values of one field are alternatives,
#: so the answer to a field's values is the union of the answers to its parts; fields combine
#: with AND, so the answer to several fields is the intersection of the answers to each.
OR_WITHIN_FIELD = "OR within a field"
AND_ACROSS_FIELDS = "AND across fields"
RELATIONS: Mapping[str, str] = {OR_WITHIN_FIELD: "union", AND_ACROSS_FIELDS: "intersection"}


def unmatched_by_identity(items: Iterable[Any], spec: FilterSpec) -> list[Any]:
    """Listed tasks whose own identity (task id, operation, service, user) shows they do not
    match ``spec``: wrong whenever they were listed, whatever changed in the store meanwhile.

    Status is left out: a task may move on between the server's filtering and its answer.
    Users may compare case-insensitively (``may_match``).
    """
    identity = replace(spec, status=None)
    if not identity.constraints():
        return []
    return [
        item.get("task")
        for item in items
        if isinstance(item, Mapping) and not may_match(item, identity)
    ]


def related_ids(rule: str, parts: Sequence[frozenset[str]]) -> frozenset[str]:
    """What the combined filter's answer must equal, given the answers to its ``parts``."""
    if rule == OR_WITHIN_FIELD:
        return frozenset().union(*parts)
    if rule == AND_ACROSS_FIELDS:
        return frozenset(parts[0]).intersection(*parts[1:]) if parts else frozenset()
    raise ValueError(f"unknown relation {rule!r} (known: {', '.join(RELATIONS)})")


def relation_violation(
    rule: str,
    combined: frozenset[str],
    parts: Sequence[frozenset[str]],
    relevant: frozenset[str] | None = None,
) -> str | None:
    """How the combined answer breaks ``rule`` against its parts' answers (None: it holds).

    ``relevant`` restricts the comparison (observed mode: tasks stable during the run).
    """
    related = related_ids(rule, parts)
    if relevant is not None:
        combined, related = combined & relevant, related & relevant
    if combined == related:
        return None
    return _set_difference("combined filter", combined, f"{RELATIONS[rule]} of the parts", related)


def _set_difference(
    left_name: str, left: frozenset[str], right_name: str, right: frozenset[str]
) -> str:
    extra = sorted(left - right)[:5]
    missing = sorted(right - left)[:5]
    parts = []
    if extra:
        parts.append(
            f"{left_name} has {len(left - right)} task(s) not in the {right_name} (e.g. {extra})"
        )
    if missing:
        parts.append(
            f"{left_name} lacks {len(right - left)} task(s) of the {right_name} (e.g. {missing})"
        )
    return "; ".join(parts)


def set_difference(got: frozenset[str], expected: frozenset[str]) -> str | None:
    """Describe how a returned id set differs from the expected one (None: equal)."""
    if got == expected:
        return None
    return _set_difference("the response", got, "expected set", expected)


def curl_line(base_url: str, path: str, query: str, auth: str) -> str:
    """A curl command that reproduces a request (``wire.curl_line``: no secret inside)."""
    url = base_url.rstrip("/") + path + (f"?{query}" if query else "")
    return wire_curl_line(url, auth=auth)
