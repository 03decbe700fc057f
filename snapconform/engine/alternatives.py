"""Documented alternatives: the questions the sources leave open, and what the target chose.

Where the page and the official bindings allow more than one behaviour, a real vCenter may take
either side: the engine accepts every documented answer, fails only what no source allows, and
records the target's answer here. The record goes to summary.json
(``variants``), summary.md and the Allure environment.

The reference server plays each non-default answer as a variant (``snapconform.server.variants``);
a variant's ``question``/``choice`` are keys of ``QUESTIONS`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapconform.engine import quotes
from snapconform.engine.registry import Source, ours, page
from snapconform.filterspec import FilterSpec, unknown_status_values


@dataclass(frozen=True)
class Question:
    key: str
    title: str
    #: choice -> what it means.
    choices: Mapping[str, str]
    #: Its sources, quoted verbatim (``engine.registry.Source``).
    sources: tuple[Source, ...]


QUESTIONS: Mapping[str, Question] = {
    q.key: q
    for q in (
        Question(
            "filter-without-tasks-or-services",
            "A filter naming neither tasks nor services",
            {
                "listed": "200 with every visible matching task",
                "refused": "400 InvalidArgument",
            },
            (
                page(
                    9,
                    "This property may be missing or null if other filters are specified.",
                    "tasks",
                ),
                page(17, "This property may be missing or null if tasks is specified.", "services"),
                quotes.TASKS_OR_SERVICES_REQUIRED,
            ),
        ),
        Question(
            "repeated-values",
            "A value repeated within one field",
            {"deduplicated": "200 as for the set of values", "refused": "400 InvalidArgument"},
            (quotes.FIELDS_ARE_SETS, quotes.DUPLICATE_NOT_A_SET, quotes.INVALID_PARAMETERS_400),
        ),
        Question(
            "unknown-status",
            "A status value outside the Status enum",
            {"refused": "400 InvalidArgument", "matches-none": "200; no task has that status"},
            (quotes.STATUS_IS_OPEN, quotes.INVALID_PARAMETERS_400),
        ),
        Question(
            "users-case",
            "How users compare",
            {
                "case-sensitive": "exact string equality",
                "case-insensitive": "a user name matches in any case",
            },
            (
                quotes.USERS_FIELD,
                quotes.FIELDS_ARE_SETS,
                ours(
                    "users is a set of plain strings and no source gives it a comparison rule;"
                    " a vCenter may compare SSO principal names case-insensitively"
                ),
            ),
        ),
        Question(
            "unknown-identifiers",
            "A task, operation, service or user that no task holds",
            {
                "omitted": "200 without it",
                "refused": "400 InvalidArgument",
                "inaccessible": "500 ResourceInaccessible (task ids)",
            },
            (quotes.INVALID_PARAMETERS_400, quotes.OVER_1000_INACCESSIBLE),
        ),
        Question(
            "error-500-type",
            "The error_type of a generic system failure (HTTP 500)",
            {"ERROR": "Error", "INTERNAL_SERVER_ERROR": "InternalServerError"},
            (quotes.SYSTEM_ERROR_500, quotes.INTERNAL_SERVER_ERROR_ANY_METHOD),
        ),
        Question(
            "inaccessible-status",
            "The HTTP status of ResourceInaccessible (the cap error, an inaccessible task)",
            {
                "500": "HTTP 500, as the page lists it",
                "400": "HTTP 400, the vAPI REST runtime's error map",
            },
            (quotes.OVER_1000_INACCESSIBLE, quotes.INACCESSIBLE_AS_400),
        ),
        Question(
            "cap-counts",
            "What the 1000-task cap counts",
            {
                "visible-matching": "the visible tasks matching the filter",
                "all-matching": "every task matching the filter, invisible ones included",
            },
            (quotes.AT_MOST_1000_VISIBLE, quotes.OVER_1000_INACCESSIBLE),
        ),
    )
}


# --- the reasons a documented alternative may refuse a schema-valid filter ------------------

#: Questions whose answer the server gives per FilterSpec field (an unknown user may be refused
#: where an unknown task id is omitted): one rule per field. Every other question is one rule.
PER_FIELD: frozenset[str] = frozenset({"unknown-identifiers"})
#: The answer of each question that refuses (400 InvalidArgument) a schema-valid filter.
REFUSED = "refused"


@dataclass(frozen=True)
class Reason:
    """One documented reason a server may refuse a filter: a question, per field where the
    question is asked per field (``PER_FIELD``)."""

    key: str
    field: str | None = None

    @property
    def rule(self) -> str:
        return self.key if self.field is None else f"{self.key}[{self.field}]"

    def describe(self) -> str:
        what = {
            "filter-without-tasks-or-services": "it names neither tasks nor services",
            "repeated-values": "a value is repeated",
            "unknown-status": "a status is outside the enum",
            "unknown-identifiers": f"a {self.field or 'value'} value no task holds",
        }
        return what.get(self.key, self.key)


def refusal_reasons(spec: FilterSpec) -> list[str]:
    """Questions whose documented ``refused`` answer covers a 400 for ``spec`` (no universe).

    Unknown identifiers need the universe (``Universe.is_unknown``): the caller adds them.
    """
    reasons = []
    if not spec.tasks and not spec.services:
        reasons.append("filter-without-tasks-or-services")
    if any(len(set(values)) != len(values) for values in spec.constraints().values()):
        reasons.append("repeated-values")
    if unknown_status_values(spec):
        reasons.append("unknown-status")
    return reasons


@dataclass(frozen=True)
class Choice:
    """The answer a target gave to one rule, and the request that showed it."""

    key: str
    choice: str
    #: The filter (described) whose answer decided it.
    example: str
    field: str | None = None
    #: The request (query string) that decided it.
    request: str = ""
    #: Whether the decisive probe (early in the run) made it, rather than a later answer.
    probe: bool = False

    @property
    def rule(self) -> str:
        return Reason(self.key, self.field).rule

    def describe(self) -> str:
        query = f" (GET ?{self.request})" if self.request else ""
        return f"{self.choice} for {self.example}{query}"


@dataclass
class ChoiceLog:
    """What one run saw the target choose: one choice per rule, held for the whole run.

    The first answer that shows a rule's choice (the decisive probe's, early in the run) records
    it; a later answer choosing otherwise is a contradiction: ``record`` returns the recorded
    choice and keeps it (the caller fails the requirement it was checking, naming both).
    """

    chosen: dict[str, Choice] = field(default_factory=dict)
    #: Contradictions seen (for the summary): "<rule>: <recorded> / <later>".
    contradictions: list[str] = field(default_factory=list)

    def record(
        self,
        key: str,
        choice: str,
        example: str,
        *,
        field: str | None = None,
        request: str = "",
        probe: bool = False,
    ) -> Choice | None:
        """Record ``choice`` for the rule; the earlier, different choice when it contradicts."""
        if key not in QUESTIONS or choice not in QUESTIONS[key].choices:
            raise ValueError(f"unknown alternative {key}={choice}")
        made = Choice(key, choice, example, field if key in PER_FIELD else None, request, probe)
        earlier = self.chosen.setdefault(made.rule, made)
        if earlier.choice == choice:
            return None
        self.contradictions.append(f"{made.rule}: {earlier.describe()}; then {made.describe()}")
        return earlier

    def chosen_for(self, key: str, field: str | None = None) -> str | None:
        """The recorded choice of one rule (None: not seen yet)."""
        made = self.chosen.get(Reason(key, field if key in PER_FIELD else None).rule)
        return made.choice if made is not None else None

    def choices(self, key: str) -> frozenset[str]:
        """Every choice recorded for ``key`` (over its fields)."""
        return frozenset(c.choice for c in self.chosen.values() if c.key == key)

    def document(self) -> dict[str, Any]:
        """``variants`` of summary.json: every question, the one choice per rule seen (or none)."""
        out: dict[str, Any] = {}
        for key, question in QUESTIONS.items():
            observed = []
            for made in self.chosen.values():
                if made.key != key:
                    continue
                entry = {
                    "choice": made.choice,
                    "meaning": question.choices[made.choice],
                    "example": made.example,
                    "request": made.request,
                    "decided_by": "probe" if made.probe else "answer",
                }
                if made.field is not None:
                    entry["field"] = made.field
                observed.append(entry)
            out[key] = {
                "question": question.title,
                "observed": observed,
                "allowed": [
                    {"choice": choice, "meaning": meaning}
                    for choice, meaning in question.choices.items()
                ],
                "sources": [source.render() for source in question.sources],
                "contradictions": [
                    c for c in self.contradictions if c.split(":", 1)[0].split("[")[0] == key
                ],
            }
        return out
