"""The response audit: every response of GET /api/snapservice/tasks judged once, as it arrives.

The body-level requirements (contract, unique ids, never more than the cap) hold for *every*
response of the run, whichever check caused it; the audit records findings per requirement id
and the audit checks of ``checks.py`` report them at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import oracle
from snapconform.engine.target import TASKS_PATH, Response
from snapconform.engine.verdicts import CheckResult

#: Findings kept per requirement (the count is always exact).
KEEP_FINDINGS = 5
#: Items of one ListResult judged deeply. More than CAP items already violates CAP-NEVER-MORE;
#: the first CAP + 1 show that and bound the work per response (a hostile 100 000-item 200
#: would otherwise cost minutes per response); the rest are counted, not examined.
EXAMINED_ITEMS = oracle.CAP + 1

#: (struct, text) -> why the bindings cannot decode it (None: they can).
Decoder = Callable[[str, oracle.BindingsType], str | None]


def _canonical(value: Any) -> str:
    """One JSON text per value: the bytes the bindings decode and the cache key both come from."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class BindingsVerdicts:
    """CONTRACT-BINDINGS for a ListResult, decoding each distinct item once per run.

    The envelope (the body without its items) and every item are decoded on their own and
    their verdicts cached by a hash of their canonical JSON, so a task that comes back in later
    responses is not decoded again. When anything fails, the whole body is decoded as the
    bindings would decode it, so the reported problem is exactly the whole-body decode's.
    """

    decode: Decoder = oracle.bindings_decode_error
    _verdicts: dict[tuple[str, bytes], bool] = field(default_factory=dict)

    def _decodes(self, struct: oracle.BindingsType, value: Any) -> bool:
        text = _canonical(value)
        key = (struct, hashlib.blake2b(text.encode()).digest())
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self.decode(text, struct) is None
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


@dataclass
class ResponseAudit:
    """Judges responses with the oracle; ``repro(response)`` renders a curl line for a finding."""

    repro: Callable[[Response], str]
    contracts: Contracts = field(default_factory=default_contracts)
    bindings: bool = field(default_factory=oracle.bindings_available)
    findings: dict[str, Findings] = field(default_factory=dict)
    bindings_verdicts: BindingsVerdicts = field(default_factory=BindingsVerdicts)
    _seen: set[bytes] = field(default_factory=set)

    def _for(self, requirement_id: str) -> Findings:
        return self.findings.setdefault(requirement_id, Findings())

    def _judge(
        self, requirement_id: str, problems: list[str], response: Response, scope: str = ""
    ) -> None:
        findings = self._for(requirement_id)
        findings.judged += 1
        if scope:
            findings.partly += 1
            findings.partly_scope = findings.partly_scope or scope
        if problems:
            shown = "; ".join(problems[:3]) + (
                f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            )
            findings.add(
                f"HTTP {response.status}: {shown}{scope} — reproduce: {self.repro(response)}"
            )

    def __call__(self, response: Response) -> None:
        if response.path != TASKS_PATH or response.method != "GET":
            return
        digest = hashlib.sha256(
            f"{response.status}\n{response.content_type}\n{response.text}".encode()
        ).digest()
        if digest in self._seen:
            return  # the very same response was judged already (repeated queries)
        self._seen.add(digest)
        self._judge("CONTRACT-JSON", _json_problems(response), response)
        body = response.body
        if response.status == 200:
            self._judge_list(response, body)
        else:
            self._judge_error(response, body)

    def _judge_list(self, response: Response, body: Any) -> None:
        items = body.get("items") if isinstance(body, Mapping) else None
        count = len(items) if isinstance(items, list) else 0
        # Ids are cheap to compare on every item, however many: uniqueness is judged whole.
        duplicates = oracle.duplicate_ids(body)
        scope = ""
        if isinstance(items, list) and count > EXAMINED_ITEMS:
            # Already a CAP-NEVER-MORE violation: judge the first items deeply, count the rest.
            items = items[:EXAMINED_ITEMS]
            body = {**body, "items": items}
            scope = f" (only the first {EXAMINED_ITEMS} of {count} items were examined)"
        self._judge(
            "CAP-NEVER-MORE",
            [f"200 with {count} tasks (cap {oracle.CAP}){scope}"] if count > oracle.CAP else [],
            response,
        )
        general, conditional = oracle.list_contract_violations(body, self.contracts)
        self._judge("CONTRACT-200-BODY", general, response, scope)
        self._judge("CONTRACT-STATUS-CONDITIONAL", conditional, response, scope)
        self._judge(
            "CONTRACT-UNIQUE-IDS",
            [f"task id {d!r} occurs more than once" for d in duplicates[:5]],
            response,
        )
        unknown = oracle.unknown_properties("ListResult", body, self.contracts)
        self._judge(
            "CONTRACT-UNKNOWN-PROPERTIES",
            [f"unknown property {p}" for p in unknown[:5]],
            response,
            scope,
        )
        self._judge("CONTRACT-DATETIME-UTC", oracle.non_utc_datetimes(body)[:5], response, scope)
        if self.bindings:
            text = _canonical(body) if scope else response.text
            problem = self.bindings_verdicts.problem(text, body)
            self._judge("CONTRACT-BINDINGS", [problem] if problem else [], response, scope)

    def _judge_error(self, response: Response, body: Any) -> None:
        status = response.status
        self._judge(
            "CONTRACT-ERROR-BODY",
            oracle.error_body_violations(status, body, self.contracts),
            response,
        )
        if not oracle.error_schema_names(status):
            return
        problem = oracle.error_type_violation(status, body)
        self._judge("CONTRACT-ERROR-TYPE", [problem] if problem else [], response)
        self._judge("CONTRACT-ERROR-MESSAGES", oracle.message_violations(body), response)
        names = oracle.error_schema_names(status)
        unknown = min((oracle.unknown_properties(n, body, self.contracts) for n in names), key=len)
        self._judge(
            "CONTRACT-UNKNOWN-PROPERTIES", [f"unknown property {p}" for p in unknown[:5]], response
        )

    def result(self, requirement_id: str, what: str) -> CheckResult:
        findings = self.findings.get(requirement_id)
        if findings is None or findings.judged == 0:
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


def _json_problems(response: Response) -> list[str]:
    problems = []
    if response.text and response.json_error:
        problems.append(response.json_error)
    if response.text and not oracle.is_json_content_type(response.content_type):
        problems.append(f"content type {response.content_type!r} is not application/json")
    if response.status in (200, 400, 401, 403, 500, 503) and not response.text:
        problems.append("empty body")
    return problems
