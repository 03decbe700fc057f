"""Documented alternatives: the questions the sources leave open, and what the target chose.

Where the page and the official bindings allow more than one behaviour, a real vCenter may take
either side: the engine accepts every documented answer, fails only what no source allows, and
records the target's answer here. The record goes to outcomes.json and summary.json
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


@dataclass
class ChoiceLog:
    """What one run saw the target choose, per question (an example filter for each)."""

    seen: dict[str, dict[str, str]] = field(default_factory=dict)

    def record(self, key: str, choice: str, example: str) -> None:
        if key not in QUESTIONS or choice not in QUESTIONS[key].choices:
            raise ValueError(f"unknown alternative {key}={choice}")
        self.seen.setdefault(key, {}).setdefault(choice, example)

    def refused(self, spec: FilterSpec, extra: list[str] | None = None) -> None:
        """A 400 to ``spec`` accepted as the documented ``refused`` answer: record it."""
        for key in [*refusal_reasons(spec), *(extra or [])]:
            self.record(key, "refused", spec.describe())

    def choices(self, key: str) -> frozenset[str]:
        return frozenset(self.seen.get(key, {}))

    def document(self) -> dict[str, Any]:
        """``variants`` of summary.json: every question, the answers seen (or none)."""
        out: dict[str, Any] = {}
        for key, question in QUESTIONS.items():
            seen = self.seen.get(key, {})
            out[key] = {
                "question": question.title,
                "observed": [
                    {"choice": choice, "meaning": question.choices[choice], "example": example}
                    for choice, example in seen.items()
                ],
                "allowed": [
                    {"choice": choice, "meaning": meaning}
                    for choice, meaning in question.choices.items()
                ],
                "sources": [source.render() for source in question.sources],
            }
        return out
