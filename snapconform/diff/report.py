"""A diff's outputs: ``diff.json`` (contracts/diff.schema.json), the terminal summary and a
"snapconform diff" section of Allure results next to the run's.

The Allure section has one result per request that differed (failed when confirmed, skipped
with the ``uncertain`` category when not) and one passed result per request kind that answered
alike, so the report stays readable on a long stream. Its files are prefixed ``snapconform-diff-``
and replaced by the next diff into the same directory; the run's own results are left alone.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from snapconform.contracts import default_contracts
from snapconform.diff.engine import DiffResult, Finding, Outcome
from snapconform.diff.observe import ASPECTS
from snapconform.redaction import mask_url
from snapconform.report.results import finalize_allure_results

ALLURE_PREFIX = "snapconform-diff-"
EPIC = "snapconform diff"
#: Differences listed in the terminal summary (diff.json has them all).
SHOWN_IN_TERMINAL = 15


def verdict(result: DiffResult) -> str:
    return "different" if result.confirmed else "no-difference"


def to_document(result: DiffResult) -> dict[str, Any]:
    from snapconform._version import __version__

    by_aspect = Counter(f.difference.aspect for f in result.confirmed)
    uncertain_by_aspect = Counter(f.difference.aspect for f in result.uncertain)
    kinds = Counter(outcome.request.kind for outcome in result.outcomes)
    return {
        "verdict": verdict(result),
        "a": {"target": mask_url(result.base_url_a), "requests": result.requests_a},
        "b": {"target": mask_url(result.base_url_b), "requests": result.requests_b},
        "seed": result.seed,
        "principal": result.principal,
        "unprivileged": result.unprivileged,
        "harness_version": __version__,
        "stream": {
            "requests": len(result.outcomes),
            "by_kind": dict(sorted(kinds.items())),
            "stopped": result.stopped,
        },
        "counts": {
            "requests_differing": sum(1 for o in result.outcomes if _confirmed(o)),
            "requests_uncertain": sum(
                1 for o in result.outcomes if o.findings and not _confirmed(o)
            ),
            "confirmed": len(result.confirmed),
            "uncertain": len(result.uncertain),
            "by_aspect": {a: by_aspect[a] for a in ASPECTS if by_aspect[a]},
            "uncertain_by_aspect": {
                a: uncertain_by_aspect[a] for a in ASPECTS if uncertain_by_aspect[a]
            },
        },
        "differences": [_finding_document(f) for f in result.findings],
        "notes": list(result.notes),
    }


def _confirmed(outcome: Outcome) -> bool:
    return any(f.certainty == "confirmed" for f in outcome.findings)


def _finding_document(finding: Finding) -> dict[str, Any]:
    difference = finding.difference
    return {
        "request": finding.request.to_document(),
        "aspect": difference.aspect,
        "certainty": finding.certainty,
        "detail": difference.detail,
        "a": difference.a,
        "b": difference.b,
        "tasks": sorted(difference.tasks),
    }


def write_document(result: DiffResult, report_dir: Path) -> Path:
    document = to_document(result)
    errors = default_contracts().errors("diff", document)
    if errors:  # a bug here; never write a document that breaks its own schema
        raise RuntimeError(f"diff.json would violate its schema: {errors[0].message}")
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "diff.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def render_terminal(result: DiffResult) -> str:
    document = to_document(result)
    counts = document["counts"]
    lines = [
        f"A: {document['a']['target']} ({result.requests_a} requests)",
        f"B: {document['b']['target']} ({result.requests_b} requests)",
        f"stream: {len(result.outcomes)} requests, seed {result.seed}, as {result.principal}"
        + (f" (+ {result.unprivileged})" if result.unprivileged else "")
        + (f"; stopped: {result.stopped}" if result.stopped else ""),
    ]
    for finding in result.findings[:SHOWN_IN_TERMINAL]:
        mark = "DIFF" if finding.certainty == "confirmed" else "????"
        request = finding.request
        lines.append(
            f"{mark} #{request.index} {request.kind}: {request.description} [{request.auth}]"
            f" — {finding.difference.aspect}: {_short(finding.difference.detail)}"
        )
    if len(result.findings) > SHOWN_IN_TERMINAL:
        lines.append(f"... {len(result.findings) - SHOWN_IN_TERMINAL} more in diff.json")
    by_aspect = ", ".join(f"{a} {n}" for a, n in counts["by_aspect"].items()) or "none"
    lines.append(
        f"verdict: {document['verdict'].upper()} — {counts['requests_differing']} of"
        f" {len(result.outcomes)} requests differ ({by_aspect});"
        f" {counts['uncertain']} uncertain (open tasks that changed between answers)"
    )
    return "\n".join(lines)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Allure


def write_allure(result: DiffResult, results_dir: Path) -> int:
    """Write the diff's Allure results into ``results_dir``; return how many results."""
    results_dir.mkdir(parents=True, exist_ok=True)
    for old in results_dir.glob(f"{ALLURE_PREFIX}*"):
        old.unlink()
    now = int(time.time() * 1000)
    written = 0
    alike: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in result.outcomes:
        if not outcome.findings:
            alike[outcome.request.kind].append(outcome)
            continue
        _write_result(results_dir, _differing_result(result, outcome, results_dir, now))
        written += 1
    for kind, outcomes in sorted(alike.items()):
        listing = "\n".join(
            f"#{o.request.index} [{o.request.auth}] {o.request.description}: HTTP {o.status_a}"
            for o in outcomes
        )
        attachment = _attach(results_dir, "requests answered alike", listing, "text/plain")
        _write_result(
            results_dir,
            _result(
                result,
                name=f"{kind}: {len(outcomes)} request(s) answered alike",
                feature=kind,
                story="no difference",
                status="passed",
                message="",
                attachments=[attachment],
                now=now,
            ),
        )
        written += 1
    finalize_allure_results(results_dir, None)
    return written


def _differing_result(
    result: DiffResult, outcome: Outcome, results_dir: Path, now: int
) -> dict[str, Any]:
    request = outcome.request
    confirmed = [f for f in outcome.findings if f.certainty == "confirmed"]
    shown = confirmed or outcome.findings
    message = "; ".join(f"{f.difference.aspect}: {f.difference.detail}" for f in shown)
    if not confirmed:
        message = f"[uncertain] only open tasks differed and not again: {message}"
    details = json.dumps([_finding_document(f) for f in outcome.findings], indent=2, default=str)
    attachment = _attach(results_dir, "differences", details, "application/json")
    return _result(
        result,
        name=f"#{request.index} {request.description} [{request.auth}]",
        feature=request.kind,
        story=", ".join(sorted({f.difference.aspect for f in shown})),
        status="failed" if confirmed else "skipped",
        message=f"A answered HTTP {outcome.status_a}, B HTTP {outcome.status_b}: {message}",
        attachments=[attachment],
        now=now,
        query=request.query,
        order=request.index,  # the report lists them in stream order
    )


def _result(
    result: DiffResult,
    *,
    name: str,
    feature: str,
    story: str,
    status: str,
    message: str,
    attachments: list[dict[str, str]],
    now: int,
    query: str | None = None,
    order: int = 0,
) -> dict[str, Any]:
    parameters = [
        {"name": "A", "value": mask_url(result.base_url_a)},
        {"name": "B", "value": mask_url(result.base_url_b)},
        {"name": "seed", "value": str(result.seed)},
    ]
    if query is not None:
        parameters.append({"name": "query", "value": query or "(none)"})
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": f"{ALLURE_PREFIX}{feature}:{name}",
        "name": name,
        "fullName": f"{EPIC}: {name}",
        "status": status,
        "statusDetails": {"message": message} if message else {},
        "stage": "finished",
        "start": now + order,
        "stop": now + order,
        "labels": [
            {"name": "epic", "value": EPIC},
            {"name": "feature", "value": f"diff: {feature}"},
            {"name": "story", "value": story},
            {"name": "parentSuite", "value": EPIC},
            {"name": "suite", "value": feature},
        ],
        "parameters": parameters,
        "attachments": attachments,
    }


def _attach(results_dir: Path, name: str, text: str, mime: str) -> dict[str, str]:
    extension = "json" if mime == "application/json" else "txt"
    source = f"{ALLURE_PREFIX}{uuid.uuid4()}-attachment.{extension}"
    (results_dir / source).write_text(text, encoding="utf-8")
    return {"name": name, "source": source, "type": mime}


def _write_result(results_dir: Path, document: dict[str, Any]) -> None:
    path = results_dir / f"{ALLURE_PREFIX}{document['uuid']}-result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
