"""Run-wide checks: the shape of a requirement every response of a run must meet.

A run-wide check has the shape schemathesis 4 gives checks that span a run (a class with
``after_response`` and ``after_run``, see ``schemathesis.checks.ResponseCheck``/``RunCheck``):
``after_response(judged)`` judges one response (a :class:`Judged` view over the run's one
:class:`~snapconform.engine.exchange.Exchange`) and records what it found, ``after_run()`` gives
the requirement's verdict for the whole run, failing as every check fails: it raises
``Violation`` with the first finding's evidence. One class per requirement, used by

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
from snapconform.engine.verdicts import NO_EVIDENCE, CheckResult, Evidence, Violation
from snapconform.fastvalidate import fast_validator
from snapconform.redaction import Redactor
from snapconform.wire import TASKS_PATH

if TYPE_CHECKING:
    from snapconform.engine.exchange import Exchange
    from snapconform.engine.registry import Requirement

#: Findings kept per requirement (the count is always exact).
KEEP_FINDINGS = 5
#: Items of one ListResult judged deeply. More than CAP items already violates CAP-NEVER-MORE;
#: the first CAP + 1 show that and bound the work per response (a hostile 100 000-item 200
#: would otherwise cost minutes per response); the rest are counted, not examined.
EXAMINED_ITEMS = oracle.CAP + 1

#: (struct, text) -> why the bindings cannot decode it (None: they can).
Decoder = Callable[[str, oracle.BindingsType], str | None]


# --- what a check judges -------------------------------------------------------------------------


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
class Judged:
    """One :class:`~snapconform.engine.exchange.Exchange` as the run-wide checks judge it.

    A view over the exchange (never a copy of its fields): the contracts it is judged by, how
    to send its request again, and the derived views every check shares, each computed once
    (the documented statuses, an over-cap list's examined part, one schema pass for two
    requirements). The audit makes one per distinct response, the fuzzing layer one per fuzzed
    response.
    """

    exchange: Exchange
    contracts: Contracts = field(default_factory=default_contracts)
    #: A command line that sends the request again (for a finding), computed only when needed.
    reproduce: Callable[[], str] = field(default=lambda: "", repr=False)
    #: Masks the secrets of the run in the evidence of a failure (None: credential headers only).
    redactor: Redactor | None = field(default=None, repr=False)

    def evidence(self, curl: str) -> Evidence:
        """The evidence of a failure: the exchange's recorded copy and its curl line, masked."""
        redact = self.redactor or Redactor()
        return Evidence.of(exchange=self.exchange.recorded(redact), curl=redact(curl) or None)

    @cached_property
    def documented(self) -> Mapping[int, tuple[str, ...]]:
        """The operation's documented statuses and their body schemas (empty: not an operation)."""
        return documented_responses(self.exchange.method, self.exchange.path, self.contracts) or {}

    @property
    def is_list(self) -> bool:
        """A 200 of ``GET /api/snapservice/tasks``: a ListResult is owed."""
        exchange = self.exchange
        return exchange.status == 200 and exchange.method == "GET" and exchange.path == TASKS_PATH

    @property
    def is_error(self) -> bool:
        """Not a success of the operation: an error body (or an undocumented status) is judged."""
        status = self.exchange.status
        return status >= 400 or (status not in self.documented)

    @property
    def error_schemas(self) -> tuple[str, ...]:
        """The error schemas documented for this status (empty: none, or not an error status)."""
        status = self.exchange.status
        return self.documented.get(status, ()) if status >= 400 else ()

    @cached_property
    def item_count(self) -> int:
        body = self.exchange.body
        items = body.get("items") if isinstance(body, Mapping) else None
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
        body = self.exchange.body
        if not self.scope:
            return body
        return {**body, "items": body["items"][:EXAMINED_ITEMS]}

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
    #: The first finding's evidence (its exchange recorded: masked, body capped).
    evidence: Evidence = NO_EVIDENCE
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
    A subclass says what one judged response is called in its verdict (``kind``), which
    responses it judges (``applies``) and how (``problems``); deep checks of a ListResult judge
    ``judged.examined_body`` and say so (``bounded = True``). Like every check, it fails one
    way: ``after_run`` raises :class:`~snapconform.engine.verdicts.Violation` with the first
    finding's evidence, and ``Requirement.check`` makes the failed result.
    """

    kind: ClassVar[str] = "response"
    #: Judges an over-cap list only in part (its first EXAMINED_ITEMS items).
    bounded: ClassVar[bool] = False

    def __init__(self, requirement: Requirement) -> None:
        self.requirement = requirement
        self.findings = Findings()

    @property
    def requirement_id(self) -> str:
        return self.requirement.id

    def applies(self, judged: Judged) -> bool:
        raise NotImplementedError

    def problems(self, judged: Judged) -> list[str]:
        raise NotImplementedError

    def after_response(self, judged: Judged) -> list[str]:
        """Judge one response, record the finding; the problems found (empty: none, or n/a)."""
        if not self.applies(judged):
            return []
        problems = self.problems(judged)
        scope = judged.scope if self.bounded else ""
        findings = self.findings
        findings.judged += 1
        if scope:
            findings.partly += 1
            findings.partly_scope = findings.partly_scope or scope
        if problems:
            shown = "; ".join(problems[:3]) + (
                f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            )
            curl = judged.reproduce()
            findings.add(f"HTTP {judged.exchange.status}: {shown}{scope} — reproduce: {curl}")
            if findings.count == 1:
                findings.evidence = judged.evidence(curl)
        return problems

    def after_run(self) -> CheckResult:
        """The requirement's verdict over every response judged; raises :class:`Violation`
        (with the first finding's evidence) when any response violated it."""
        findings, what = self.findings, self.kind
        if findings.judged == 0:
            return CheckResult.not_checked("no_evidence", f"no {what} was observed during the run")
        if findings.count:
            raise Violation(
                f"{findings.count} of {findings.judged} {what}s violate it; first: "
                + " | ".join(findings.examples),
                findings.evidence,
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

    kind = "200 response"

    def applies(self, judged: Judged) -> bool:
        return judged.is_list


class ErrorCheck(RunWideCheck):
    """Judges the error answers an operation documents (their status has an error schema)."""

    kind = "error response"

    def applies(self, judged: Judged) -> bool:
        return bool(judged.error_schemas)
