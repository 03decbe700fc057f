"""Run-wide checks: the shape of a requirement every response of a run must meet.

A run-wide check has the shape schemathesis 4 gives checks that span a run (a class with
``after_response`` and ``after_run``, see ``schemathesis.checks.ResponseCheck``/``RunCheck``):
``after_response(exchange)`` judges one response and records what it found, ``after_run()``
gives the requirement's verdict for the whole run. One class per requirement, used by

- the engine's response audit (:mod:`snapconform.engine.audit`): every response of
  ``GET /api/snapservice/tasks`` the run receives, whichever check caused it;
- the fuzzing layer (:mod:`snapconform.engine.fuzzing.checks`): each fuzzed response, a
  finding per response that violates a MUST; and a bare ``schemathesis run`` given that module
  as a hook file.

Findings stay bounded: the count is exact, :data:`KEEP_FINDINGS` examples are kept, and a
ListResult over the cap is judged deeply on its first :data:`EXAMINED_ITEMS` items only. The
part left out is reported as not examined (``not_checked``, reason ``prerequisite``), never as
passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import oracle
from snapconform.engine.safety import TargetSafetyError, parse_json
from snapconform.engine.target import TASKS_PATH
from snapconform.engine.verdicts import CheckResult
from snapconform.fastvalidate import fast_validator

if TYPE_CHECKING:
    from snapconform.engine.registry import Requirement
    from snapconform.engine.target import Response

#: Findings kept per requirement (the count is always exact).
KEEP_FINDINGS = 5
#: Items of one ListResult judged deeply. More than CAP items already violates CAP-NEVER-MORE;
#: the first CAP + 1 show that and bound the work per response (a hostile 100 000-item 200
#: would otherwise cost minutes per response); the rest are counted, not examined.
EXAMINED_ITEMS = oracle.CAP + 1

#: (struct, text) -> why the bindings cannot decode it (None: they can).
Decoder = Callable[[str, oracle.BindingsType], str | None]


# --- what a check sees ---------------------------------------------------------------------------


def _schema_names(node: Any) -> tuple[str, ...]:
    if not isinstance(node, dict):
        return ()
    ref = node.get("$ref")
    if isinstance(ref, str):
        return (ref.rsplit("/", 1)[-1].removesuffix(".json"),)
    names: list[str] = []
    for key in ("anyOf", "oneOf"):
        for part in node.get(key, []):
            names.extend(_schema_names(part))
    return tuple(names)


_OPERATIONS: dict[object, dict[tuple[str, str], dict[int, tuple[str, ...]]]] = {}


def documented_responses(
    method: str, path: str, contracts: Contracts | None = None
) -> Mapping[int, tuple[str, ...]] | None:
    """The statuses the contract documents for an operation, each with its body schemas.

    Read from ``contracts/openapi.yaml`` (a bodiless status, such as ``204``, has no schema).
    None: the operation is not in the contract.
    """
    contracts = contracts or default_contracts()
    operations = _OPERATIONS.get(contracts.root)
    if operations is None:
        operations = {}
        for item_path, item in contracts.openapi()["paths"].items():
            for item_method, operation in item.items():
                by_status: dict[int, tuple[str, ...]] = {}
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {}).get("application/json", {})
                    by_status[int(status)] = _schema_names(content.get("schema"))
                operations[(item_method.upper(), item_path)] = by_status
        _OPERATIONS[contracts.root] = operations
    return operations.get((method.upper(), path))


@dataclass(eq=False)
class Exchange:
    """One response as a run-wide check judges it, with its request's method and path.

    Built from the engine's :class:`~snapconform.engine.target.Response` (:meth:`of`) or from
    what a fuzzed request got back (:meth:`parse`); derived views are computed once and shared
    by every check that judges the response.
    """

    method: str
    path: str
    status: int
    content_type: str | None
    text: str
    #: The decoded body (None when there is none or it is not JSON: see ``json_error``).
    body: Any
    json_error: str | None
    contracts: Contracts = field(default_factory=default_contracts)
    #: A command line that sends the request again (for a finding), computed only when needed.
    reproduce: Callable[[], str] = field(default=lambda: "", repr=False)
    #: The request's query string (as sent; empty when unknown).
    query: str = ""

    @classmethod
    def of(
        cls,
        response: Response,
        contracts: Contracts | None = None,
        reproduce: Callable[[], str] | None = None,
    ) -> Exchange:
        return cls(
            response.method,
            response.path,
            response.status,
            response.content_type,
            response.text,
            response.body,
            response.json_error,
            contracts or default_contracts(),
            reproduce or (lambda: ""),
            response.query,
        )

    @classmethod
    def parse(
        cls,
        method: str,
        path: str,
        status: int,
        content_type: str | None,
        content: bytes,
        contracts: Contracts | None = None,
    ) -> Exchange:
        """Decode ``content`` as the engine's Target does (strict JSON, bounded depth)."""
        body: Any = None
        json_error: str | None = None
        if content:
            try:
                body = parse_json(content)
            except TargetSafetyError as exc:
                json_error = str(exc)
        return cls(
            method.upper(),
            path,
            status,
            content_type,
            content.decode("utf-8", errors="replace"),
            body,
            json_error,
            contracts or default_contracts(),
        )

    @cached_property
    def documented(self) -> Mapping[int, tuple[str, ...]]:
        """The operation's documented statuses and their body schemas (empty: not an operation)."""
        return documented_responses(self.method, self.path, self.contracts) or {}

    @property
    def is_list(self) -> bool:
        """A 200 of ``GET /api/snapservice/tasks``: a ListResult is owed."""
        return self.status == 200 and self.method == "GET" and self.path == TASKS_PATH

    @property
    def is_error(self) -> bool:
        """Not a success of the operation: an error body (or an undocumented status) is judged."""
        return self.status >= 400 or (self.status not in self.documented)

    @property
    def error_schemas(self) -> tuple[str, ...]:
        """The error schemas documented for this status (empty: none, or not an error status)."""
        return self.documented.get(self.status, ()) if self.status >= 400 else ()

    @cached_property
    def item_count(self) -> int:
        items = self.body.get("items") if isinstance(self.body, Mapping) else None
        return len(items) if isinstance(items, list) else 0

    @cached_property
    def scope(self) -> str:
        """What part of an over-cap list is judged deeply ('' for the whole body)."""
        if self.is_list and self.item_count > EXAMINED_ITEMS:
            return f" (only the first {EXAMINED_ITEMS} of {self.item_count} items were examined)"
        return ""

    @cached_property
    def examined_body(self) -> Any:
        """The body the deep checks judge: an over-cap list's first EXAMINED_ITEMS items."""
        if not self.scope:
            return self.body
        return {**self.body, "items": self.body["items"][:EXAMINED_ITEMS]}

    @cached_property
    def declares_every_property(self) -> bool:
        """The examined ListResult passes the closed contracts (fast; False means "look")."""
        validator = fast_validator(self.contracts)
        return validator.declares_every_property("ListResult", self.examined_body)

    @cached_property
    def list_violations(self) -> tuple[list[str], list[str]]:
        """(CONTRACT-200-BODY, CONTRACT-STATUS-CONDITIONAL) problems, from one schema pass.

        A body that passes the closed contracts is valid (``closed_valid_means_valid``), so a
        conformant body costs one Rust pass for this and CONTRACT-UNKNOWN-PROPERTIES together.
        """
        body = self.examined_body
        validator = fast_validator(self.contracts)
        if self.declares_every_property and validator.closed_valid_means_valid(body):
            return [], []
        return oracle.list_contract_violations(body, self.contracts)


# --- findings and the run-wide check shape --------------------------------------------------------


@dataclass
class Findings:
    judged: int = 0
    count: int = 0
    examples: list[str] = field(default_factory=list)
    #: Responses judged only in part (an over-cap list: its first EXAMINED_ITEMS items), and
    #: the first one's scope: with no finding, that is no pass.
    partly: int = 0
    partly_scope: str = ""

    def add(self, detail: str) -> None:
        self.count += 1
        if len(self.examples) < KEEP_FINDINGS:
            self.examples.append(detail)


class RunWideCheck:
    """One requirement judged on every response of a run (the schemathesis check-class shape).

    The class is the requirement's judge; its declaration (id, level, sources) is the
    ``@requirement(..., run_wide=TheClass)`` in the checks package, and an instance judges for
    the :class:`~snapconform.engine.registry.Requirement` it is given, so no id is typed here.
    A subclass says what one judged response is called in its verdict (``judged``), which
    responses it judges (``applies``) and how (``problems``); deep checks of a ListResult judge
    ``exchange.examined_body`` and say so (``bounded = True``).
    """

    judged: ClassVar[str] = "response"
    #: Judges an over-cap list only in part (its first EXAMINED_ITEMS items).
    bounded: ClassVar[bool] = False

    def __init__(self, requirement: Requirement) -> None:
        self.requirement = requirement
        self.findings = Findings()

    @property
    def requirement_id(self) -> str:
        return self.requirement.id

    def applies(self, exchange: Exchange) -> bool:
        raise NotImplementedError

    def problems(self, exchange: Exchange) -> list[str]:
        raise NotImplementedError

    def after_response(self, exchange: Exchange) -> list[str]:
        """Judge one response, record the finding; the problems found (empty: none, or n/a)."""
        if not self.applies(exchange):
            return []
        problems = self.problems(exchange)
        scope = exchange.scope if self.bounded else ""
        findings = self.findings
        findings.judged += 1
        if scope:
            findings.partly += 1
            findings.partly_scope = findings.partly_scope or scope
        if problems:
            shown = "; ".join(problems[:3]) + (
                f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            )
            findings.add(
                f"HTTP {exchange.status}: {shown}{scope} — reproduce: {exchange.reproduce()}"
            )
        return problems

    def after_run(self) -> CheckResult:
        """The requirement's verdict over every response judged."""
        findings, what = self.findings, self.judged
        if findings.judged == 0:
            return CheckResult.not_checked("no_evidence", f"no {what} was observed during the run")
        if findings.count:
            return CheckResult.failed(
                f"{findings.count} of {findings.judged} {what}s violate it; first: "
                + " | ".join(findings.examples)
            )
        if findings.partly:
            # Bounded, not blessed: items nobody examined may hold the violation.
            # The part left out is CAP-NEVER-MORE's failure (a list over the cap): "prerequisite".
            return CheckResult.not_checked(
                "prerequisite",
                f"{findings.partly} of {findings.judged} distinct {what}s were judged only in"
                f" part{findings.partly_scope}: they are over the cap (CAP-NEVER-MORE), and no"
                " violation was found in what was examined",
            )
        return CheckResult.passed(f"{findings.judged} distinct {what}s judged")


class ListCheck(RunWideCheck):
    """Judges the 200 ListResults of ``GET /api/snapservice/tasks``."""

    judged = "200 response"

    def applies(self, exchange: Exchange) -> bool:
        return exchange.is_list


class ErrorCheck(RunWideCheck):
    """Judges the error answers an operation documents (their status has an error schema)."""

    judged = "error response"

    def applies(self, exchange: Exchange) -> bool:
        return bool(exchange.error_schemas)
