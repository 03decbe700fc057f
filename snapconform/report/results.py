"""Finish an ``allure-results`` directory: environment, categories, expected/actual diffs.

The run writes raw Allure results (``snapconform run``: its :class:`AllureWriter`, one result per
requirement; under the pytest plugin, allure-pytest's, given ``--alluredir``);
:func:`finalize_allure_results` adds what only the run as a whole knows and what Allure needs to
present a failure well:

- ``environment.properties``: target (password-free), mode, API version, seed, harness version;
- ``categories.json``: contract violation, semantic violation, auth, target error, uncertain,
  not checked, not applicable;
- every failed, broken or uncertain result gets a ``category`` label and its message a
  ``[category]`` prefix (so Allure 2's message-only category rules match as well as Allure 3's);
- a failed result with ``expected task ids`` / ``actual task ids`` attachments gets them as its
  ``statusDetails.expected`` / ``actual``, which Allure 3 shows as a side-by-side diff.

It is idempotent: the runner calls it after the run and ``snapconform report`` again before
rendering.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapconform.redaction import mask_url
from snapconform.report.allure_steps import ACTUAL_IDS_ATTACHMENT, EXPECTED_IDS_ATTACHMENT

CATEGORY_LABEL = "category"


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    statuses: tuple[str, ...]

    @property
    def tag(self) -> str:
        return f"[{self.name}]"


CONTRACT = Category(
    "contract violation",
    "A body, status or header does not match the published contract (JSON Schemas).",
    ("failed",),
)
SEMANTIC = Category(
    "semantic violation",
    "Well-formed answers with the wrong content: filter semantics, the 1000-task cap, faults.",
    ("failed",),
)
AUTH = Category(
    "auth",
    "Authentication or authorization behaves unlike the endpoint (401 challenge, 403 privilege).",
    ("failed",),
)
TARGET_ERROR = Category(
    "target error",
    "The check could not complete: the target errored, timed out or answered unparseably.",
    ("broken",),
)
UNCERTAIN = Category(
    "uncertain",
    "The harness could not decide (e.g. the data changed under it in observed mode).",
    ("skipped",),
)
NOT_CHECKED = Category(
    "not checked",
    "The requirement applies but was not checked (budget, time, interrupted, deselected, ...):"
    " a MUST here makes the verdict INCOMPLETE, never conformant.",
    ("skipped",),
)
NOT_APPLICABLE = Category(
    "not applicable",
    "The run's mode or the target's data cannot show this requirement (no gap in the verdict).",
    ("skipped",),
)
CATEGORIES: tuple[Category, ...] = (
    CONTRACT,
    SEMANTIC,
    AUTH,
    TARGET_ERROR,
    UNCERTAIN,
    NOT_CHECKED,
    NOT_APPLICABLE,
)

_CONTRACT_FEATURE = re.compile(r"contract|schema|fuzz", re.IGNORECASE)
_AUTH_FEATURE = re.compile(r"auth|privilege|session", re.IGNORECASE)
_UNCERTAIN_MESSAGE = re.compile(r"uncertain|inconclusive|undecidable", re.IGNORECASE)
#: The engine's skip messages: ``REQ-ID: not checked (budget): ...`` (run.engine_plugin.verify).
_NOT_CHECKED_MESSAGE = re.compile(r"(?:^|: )not checked\b")
_NOT_APPLICABLE_MESSAGE = re.compile(r"(?:^|: )not applicable\b")
_TAG = re.compile(r"^\[(" + "|".join(re.escape(c.name) for c in CATEGORIES) + r")\] ")


def classify(status: str, labels: Mapping[str, list[str]], message: str) -> Category | None:
    """The category of one result, or None when it needs none (passed, plainly skipped)."""
    tagged = _TAG.match(message)
    if tagged:
        return next(c for c in CATEGORIES if c.name == tagged.group(1))
    if status == "broken":
        return TARGET_ERROR
    if status == "skipped":
        if _UNCERTAIN_MESSAGE.search(message):
            return UNCERTAIN
        if _NOT_CHECKED_MESSAGE.search(message):
            return NOT_CHECKED
        if _NOT_APPLICABLE_MESSAGE.search(message):
            return NOT_APPLICABLE
        return None
    if status != "failed":
        return None
    features = " ".join(labels.get("feature", []))
    if _CONTRACT_FEATURE.search(features):
        return CONTRACT
    if _AUTH_FEATURE.search(features):
        return AUTH
    return SEMANTIC


def categories_document() -> list[dict[str, Any]]:
    """``categories.json`` in the Allure 2 format (Java regexes match the whole message)."""
    return [
        {
            "name": c.name,
            "description": c.description,
            "matchedStatuses": list(c.statuses),
            "messageRegex": "(?s)" + re.escape(c.tag) + ".*",
        }
        for c in CATEGORIES
    ]


def allure3_categories() -> list[dict[str, Any]]:
    """The same categories as Allure 3 rules (matched on the label this module sets)."""
    return [
        {
            "id": c.name.replace(" ", "-"),
            "name": c.name,
            "matchers": [{"labels": {CATEGORY_LABEL: f"^{re.escape(c.name)}$"}}],
        }
        for c in CATEGORIES
    ]


@dataclass(frozen=True)
class RunEnvironment:
    """What ``environment.properties`` says about the run."""

    target: str
    mode: str
    api_version: str
    seed: int | None
    harness_version: str
    #: Documented alternative -> the answers the target gave (``variants`` of summary.json).
    variants: Mapping[str, str] = field(default_factory=dict)
    #: How the observed universe was discovered (empty in the other modes).
    discovery: str = ""
    verdict: str = ""
    #: ``ID (reason)`` of every requirement not checked (MUST and SHOULD).
    not_checked: tuple[str, ...] = ()

    def properties(self) -> dict[str, str]:
        out = {
            "target": mask_url(self.target),
            "mode": self.mode,
            "api_version": self.api_version,
            "seed": "none" if self.seed is None else str(self.seed),
            "harness_version": self.harness_version,
        }
        if self.verdict:
            out["verdict"] = self.verdict
            out["not_checked"] = ", ".join(self.not_checked) or "none"
        if self.discovery:
            out["discovery"] = self.discovery
        out.update({f"variant.{key}": value for key, value in self.variants.items()})
        return out

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> RunEnvironment:
        from snapconform._version import __version__

        return cls(
            target=str(summary.get("target", "")),
            mode=str(summary.get("mode", "")),
            api_version=str(summary.get("api_version", "")),
            seed=summary.get("seed"),
            harness_version=str(summary.get("harness_version") or __version__),
            variants=variant_answers(summary),
            discovery=discovery_line(summary),
            verdict=str(summary.get("verdict", "")),
            not_checked=tuple(
                f"{r['id']} [{r['level']}] ({r.get('reason')})"
                for r in summary.get("requirements", [])
                if r.get("outcome") == "not_checked"
            ),
        )


def variant_answers(summary: Mapping[str, Any]) -> dict[str, str]:
    """Each documented alternative the run saw: question key -> the answers, or 'not seen'."""
    out: dict[str, str] = {}
    for key, entry in (summary.get("variants") or {}).items():
        observed = [
            (f"{o['field']}: " if o.get("field") else "") + str(o.get("choice"))
            for o in entry.get("observed") or []
        ]
        if entry.get("contradictions"):
            observed.append(f"contradicted ({len(entry['contradictions'])})")
        out[key] = ", ".join(observed) if observed else "not seen"
    return out


def discovery_line(summary: Mapping[str, Any]) -> str:
    """One line on how the observed universe was discovered (empty when it was not)."""
    discovery = summary.get("discovery")
    if not isinstance(discovery, Mapping):
        return ""
    complete = "complete" if discovery.get("complete") else "incomplete"
    return (
        f"{discovery.get('method')}: {discovery.get('tasks', '?')} tasks in"
        f" {discovery.get('parts', '?')} parts, {complete}; certain: {discovery.get('certain')}"
    )


def _escape_property(text: str, *, key: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        text = text.replace("=", "\\=").replace(":", "\\:").replace(" ", "\\ ")
    return text


def write_environment(results_dir: Path, environment: RunEnvironment) -> Path:
    path = results_dir / "environment.properties"
    lines = [
        f"{_escape_property(k, key=True)}={_escape_property(v, key=False)}"
        for k, v in environment.properties().items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_categories(results_dir: Path) -> Path:
    path = results_dir / "categories.json"
    path.write_text(json.dumps(categories_document(), indent=2) + "\n", encoding="utf-8")
    return path


def _labels(result: Mapping[str, Any]) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in result.get("labels", []):
        labels.setdefault(str(label.get("name")), []).append(str(label.get("value", "")))
    return labels


def _attachments(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from node.get("attachments", [])
    for step in node.get("steps", []):
        yield from _attachments(step)


def _attachment_text(results_dir: Path, result: Mapping[str, Any], name: str) -> str | None:
    for attachment in _attachments(result):
        if attachment.get("name") == name and attachment.get("source"):
            source = results_dir / str(attachment["source"])
            if source.is_file() and source.parent == results_dir:
                return source.read_text(encoding="utf-8", errors="replace")
    return None


def enrich_result(results_dir: Path, result: dict[str, Any]) -> bool:
    """Categorise one result and give it expected/actual; True when something changed."""
    status = str(result.get("status", ""))
    details = result.setdefault("statusDetails", {}) or {}
    result["statusDetails"] = details
    message = str(details.get("message") or "")
    labels = _labels(result)
    changed = False
    category = classify(status, labels, message)
    if category is not None:
        if not message.startswith(category.tag):
            details["message"] = f"{category.tag} {message}".rstrip()
            changed = True
        if labels.get(CATEGORY_LABEL) != [category.name]:
            result["labels"] = [
                label for label in result.get("labels", []) if label.get("name") != CATEGORY_LABEL
            ] + [{"name": CATEGORY_LABEL, "value": category.name}]
            changed = True
    if status in {"failed", "broken"} and "expected" not in details:
        expected = _attachment_text(results_dir, result, EXPECTED_IDS_ATTACHMENT)
        actual = _attachment_text(results_dir, result, ACTUAL_IDS_ATTACHMENT)
        if expected is not None and actual is not None:
            details["expected"], details["actual"] = expected, actual
            changed = True
    return changed


def finalize_allure_results(results_dir: Path, environment: RunEnvironment | None) -> int:
    """Write environment and categories, enrich every result; return how many results changed."""
    if not results_dir.is_dir():
        raise FileNotFoundError(f"no Allure results at {results_dir}")
    if environment is not None:
        write_environment(results_dir, environment)
    write_categories(results_dir)
    changed = 0
    for path in sorted(results_dir.glob("*-result.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if enrich_result(results_dir, result):
            path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
            changed += 1
    return changed
