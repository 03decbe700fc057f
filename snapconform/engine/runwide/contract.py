"""The run-wide requirements of the list endpoint, one class each (declared in the checks package
with ``@requirement(..., run_wide=...)``): the contract of every body, and never more than the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snapconform.engine import oracle
from snapconform.engine.bindings_shape import canonical_json, decode_shape
from snapconform.engine.runwide.base import (
    Decoder,
    ErrorCheck,
    Judged,
    ListCheck,
    RunWideCheck,
)

if TYPE_CHECKING:
    from snapconform.engine.registry import Requirement


class Contract200Body(ListCheck):
    """CONTRACT-200-BODY: every 200 body is a valid ListResult (status-conditional rules aside)."""

    bounded = True

    def problems(self, judged: Judged) -> list[str]:
        return judged.list_violations[0]


class ContractStatusConditional(ListCheck):
    """CONTRACT-STATUS-CONDITIONAL: each task carries exactly the fields its status allows."""

    bounded = True

    def problems(self, judged: Judged) -> list[str]:
        return judged.list_violations[1]


class ContractErrorBody(RunWideCheck):
    """CONTRACT-ERROR-BODY: an error body is valid against its status's schema; no other status."""

    kind = "error response"

    def applies(self, judged: Judged) -> bool:
        return judged.is_error

    def problems(self, judged: Judged) -> list[str]:
        status = judged.exchange.status
        if not judged.error_schemas:
            return [f"HTTP {status} is not a documented status of this operation"]
        return oracle.error_body_violations(status, judged.exchange.body, judged.contracts)


class ContractErrorType(ErrorCheck):
    """CONTRACT-ERROR-TYPE: ``error_type`` agrees with the HTTP status, and ResourceInaccessible
    keeps the one status the target chose for it (500, the page; or 400, the vAPI runtime's map:
    alternative ``inaccessible-status``)."""

    def __init__(self, requirement: Requirement) -> None:
        super().__init__(requirement)
        #: The run's first ResourceInaccessible answer: its status is the target's choice.
        self.first_inaccessible: Judged | None = None

    def problems(self, judged: Judged) -> list[str]:
        status, body = judged.exchange.status, judged.exchange.body
        problem = oracle.error_type_violation(status, body)
        problems = [problem] if problem else []
        if oracle.is_cap_error(status, body) and body.get("error_type") == "RESOURCE_INACCESSIBLE":
            first = self.first_inaccessible
            if first is None:
                self.first_inaccessible = judged
            elif first.exchange.status != status:
                problems.append(
                    f"ResourceInaccessible with HTTP {status}, but with HTTP"
                    f" {first.exchange.status} earlier in the run ({first.reproduce()}): a server"
                    " makes each documented choice once"
                )
        return problems


class ContractErrorMessages(ErrorCheck):
    """CONTRACT-ERROR-MESSAGES: an error carries at least one message."""

    def problems(self, judged: Judged) -> list[str]:
        return oracle.message_violations(judged.exchange.body)


class ContractErrorMessageText(ErrorCheck):
    """CONTRACT-ERROR-MESSAGE-TEXT: each message has a non-blank id and default message."""

    def problems(self, judged: Judged) -> list[str]:
        return oracle.message_text_violations(judged.exchange.body)


class ContractJson(RunWideCheck):
    """CONTRACT-JSON: every body is JSON sent as ``application/json``; a documented answer has one.

    An empty body is a violation where the operation documents a body for the status (every
    answer of the list endpoint, page lines 26-225): a 200 without a body is no ListResult, an
    error without one carries no message. A bodiless documented status (``204``) may be empty.
    """

    def applies(self, judged: Judged) -> bool:
        return True

    def problems(self, judged: Judged) -> list[str]:
        exchange, problems = judged.exchange, []
        if exchange.text and exchange.json_error:
            problems.append(exchange.json_error)
        if exchange.text and not oracle.is_json_content_type(exchange.content_type):
            problems.append(f"content type {exchange.content_type!r} is not application/json")
        if not exchange.text and judged.documented.get(exchange.status):
            problems.append("empty body")
        return problems


class ContractUniqueIds(ListCheck):
    """CONTRACT-UNIQUE-IDS: task ids in a 200 body are unique (cheap: judged on every item)."""

    def problems(self, judged: Judged) -> list[str]:
        duplicates = oracle.duplicate_ids(judged.exchange.body)
        return [f"task id {d!r} occurs more than once" for d in duplicates[:5]]


class ContractUnknownProperties(RunWideCheck):
    """CONTRACT-UNKNOWN-PROPERTIES: bodies carry no property the contract does not declare."""

    bounded = True  # a ListResult's items; an error body has no scope, it is judged whole

    def applies(self, judged: Judged) -> bool:
        return judged.is_list or bool(judged.error_schemas)

    def problems(self, judged: Judged) -> list[str]:
        if judged.is_list:
            if judged.declares_every_property:
                return []
            unknown = oracle.unknown_properties(
                "ListResult", judged.examined_body, judged.contracts, fast=False
            )
        else:
            unknown = min(
                (
                    oracle.unknown_properties(name, judged.exchange.body, judged.contracts)
                    for name in judged.error_schemas
                ),
                key=len,
            )
        return [f"unknown property {p}" for p in unknown[:5]]


class ContractDatetimeUtc(ListCheck):
    """CONTRACT-DATETIME-UTC: date-times are written in UTC with a Z."""

    bounded = True

    def problems(self, judged: Judged) -> list[str]:
        return oracle.non_utc_datetimes(judged.examined_body)[:5]


@dataclass
class BindingsVerdicts:
    """CONTRACT-BINDINGS for a ListResult, decoding one item per decode shape per run.

    The envelope (the body without its items) and every item are judged on their own, and
    their verdicts cached by their decode shape (``bindings_shape``: the value with free text
    and 64-bit integers replaced by their kind, everything the verdict depends on kept), so a
    task that comes back later, or differs from one already decoded only in its text, is not
    decoded again. When anything fails, the whole body is decoded as the bindings would decode
    it, so the reported problem is exactly the whole-body decode's. ``shape`` must match
    ``decode``: a stand-in decoder (tests) needs ``exact_shape``.
    """

    decode: Decoder = oracle.bindings_decode_error
    shape: Callable[[Any, str], Hashable] = decode_shape
    _verdicts: dict[tuple[str, Hashable], bool] = field(default_factory=dict)

    def _decodes(self, struct: oracle.BindingsType, value: Any) -> bool:
        key = (struct, self.shape(value, struct))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self.decode(canonical_json(value), struct) is None
        return verdict

    def problem(self, text: str, body: Any) -> str | None:
        """Why ``body`` (parsed from ``text``) does not decode as ``Tasks.ListResult``."""
        items = body.get("items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            return self.decode(text, "ListResult")  # nothing to cache: judged whole
        envelope = {key: value for key, value in body.items() if key != "items"}
        if self._decodes("ListResult", {**envelope, "items": []}) and all(
            self._decodes("ListItem", item) for item in items
        ):
            return None
        return self.decode(text, "ListResult")


class ContractBindings(ListCheck):
    """CONTRACT-BINDINGS: every 200 body decodes with the official VMware Python bindings.

    Run-wide state: the verdict of every distinct task decoded so far (``verdicts``).
    """

    bounded = True

    def __init__(self, requirement: Requirement, verdicts: BindingsVerdicts | None = None) -> None:
        super().__init__(requirement)
        self.verdicts = verdicts or BindingsVerdicts()

    def problems(self, judged: Judged) -> list[str]:
        body = judged.examined_body
        text = canonical_json(body) if judged.scope else judged.exchange.text
        problem = self.verdicts.problem(text, body)
        return [problem] if problem else []


class CapNeverMore(ListCheck):
    """CAP-NEVER-MORE: a 200 never carries more than 1000 tasks (page line 2: "at most 1000")."""

    def problems(self, judged: Judged) -> list[str]:
        count = judged.item_count
        if count <= oracle.CAP:
            return []
        return [f"200 with {count} tasks (cap {oracle.CAP}){judged.scope}"]


#: Every run-wide check class (each the judge of one requirement).
RUN_WIDE_CHECKS: tuple[type[RunWideCheck], ...] = (
    ContractJson,
    CapNeverMore,
    Contract200Body,
    ContractStatusConditional,
    ContractUniqueIds,
    ContractUnknownProperties,
    ContractDatetimeUtc,
    ContractBindings,
    ContractErrorBody,
    ContractErrorType,
    ContractErrorMessageText,
    ContractErrorMessages,
)
