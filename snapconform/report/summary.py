"""Read ``summary.json`` and render ``summary.md``: verdict on top, one table, a certificate.

``summary.md`` is meant for one screen: a CI job summary or a PR comment. Failures come first
(MUST before SHOULD), then not checked, not applicable, passed; evidence is one line, shortened
at word boundaries with a ``[…]`` mark (summary.json keeps the full text). An incomplete verdict
says so under the headline and lists what was not checked and why.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snapconform.contracts import default_contracts
from snapconform.engine.verdicts import OUTCOMES, outcome_label
from snapconform.errors import SummaryError
from snapconform.redaction import mask_url
from snapconform.report.first_screen import change_to_check

SUMMARY_FILE = "summary.json"
SUMMARY_MD = "summary.md"
EVIDENCE_WIDTH = 140

_VERDICT_BADGE = {
    "conformant": "✅ CONFORMANT",
    "non-conformant": "❌ NON-CONFORMANT",
    "incomplete": "⚠️ INCOMPLETE (not a conformance verdict)",
    "error": "⚠️ NO VERDICT (error)",
}
_OUTCOME_ICON = {"passed": "✅", "failed": "❌", "not_checked": "⏸️", "not_applicable": "🚫"}
_OUTCOME_ORDER = {"failed": 0, "not_checked": 1, "not_applicable": 2, "passed": 3}
_LEVEL_ORDER = {"MUST": 0, "SHOULD": 1}


@dataclass(frozen=True)
class Summary:
    """A validated summary.json, plus the facts of the file itself."""

    document: dict[str, Any]
    path: Path
    sha256: str
    written_at: datetime

    @property
    def verdict(self) -> str:
        return str(self.document["verdict"])

    @property
    def requirements(self) -> list[dict[str, Any]]:
        return list(self.document["requirements"])

    def outcomes(self) -> dict[str, str]:
        return {r["id"]: r["outcome"] for r in self.requirements}

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for requirement in self.requirements:
            counts[requirement["outcome"]] += 1
        return counts

    def not_checked(self) -> list[dict[str, Any]]:
        """The requirements that apply but were not checked (MUST first)."""
        unchecked = [r for r in self.requirements if r["outcome"] == "not_checked"]
        return sorted(unchecked, key=lambda r: _LEVEL_ORDER[r["level"]])


def load_summary(report_dir: Path) -> Summary:
    """The summary of a report directory, validated against contracts/summary.schema.json."""
    path = report_dir / SUMMARY_FILE
    if not path.is_file():
        raise SummaryError(
            f"{path} does not exist: is {report_dir} a report directory of `snapconform run`?"
        )
    raw = path.read_bytes()
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise SummaryError(f"{path} is not JSON ({error.msg} at line {error.lineno})") from None
    errors = default_contracts().errors("summary", document)
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise SummaryError(
            f"{path} does not match contracts/summary.schema.json at {where}: {first.message}"
        )
    written = _run_date(document) or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Summary(document, path, hashlib.sha256(raw).hexdigest(), written)


def _run_date(document: dict[str, Any]) -> datetime | None:
    for key in ("finished_at", "date", "started_at"):
        value = document.get(key)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


#: Where evidence was shortened; the full text is in summary.json (and the HTML report).
CUT_MARK = " […] "
CUT_NOTE = (
    "[…] marks evidence shortened here: summary.json has it in full, as does the HTML report."
)


def _words_prefix(text: str, width: int) -> str:
    """The longest run of whole words of ``text`` that fits in ``width`` characters."""
    if len(text) <= width:
        return text
    cut = text[: width + 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else ""
    return head.rstrip() or text[:width]  # one word longer than the room: nothing else fits


def _words_suffix(text: str, width: int) -> str:
    """The longest run of whole words at the end of ``text`` that fits in ``width``."""
    if len(text) <= width:
        return text
    cut = text[-(width + 1) :]
    tail = cut.split(" ", 1)[1] if " " in cut else ""
    return tail.lstrip() or text[-width:]


def _cell(text: str, width: int | None = None) -> str:
    """One Markdown table cell: a single line, pipes escaped, cut at a word to ``width``."""
    flat = " ".join(str(text).split())
    if width is not None and len(flat) > width:
        flat = _words_prefix(flat, width - len(CUT_MARK.rstrip())) + CUT_MARK.rstrip()
    return flat.replace("\\", "\\\\").replace("|", "\\|")


_REPRODUCE = re.compile(r" — reproduce: .*?(?= \[seed |$)", re.DOTALL)


def evidence(detail: str, width: int = EVIDENCE_WIDTH) -> str:
    """A check's detail as one table cell: the curl line dropped (the HTML report has it), and
    the middle cut rather than the end, so the verdict at the end of a long filter stays."""
    flat = " ".join(_REPRODUCE.sub("", detail).split())
    if len(flat) > width:
        room = width - len(CUT_MARK)
        head = _words_prefix(flat, room // 5)
        flat = head + CUT_MARK + _words_suffix(flat, room - len(head))
    return _cell(flat)


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def outcome_badge(requirement: dict[str, Any]) -> str:
    """``✅ passed``, ``⏸️ not checked (budget)``, ``🚫 not applicable (mode)``."""
    outcome = requirement["outcome"]
    return f"{_OUTCOME_ICON[outcome]} {outcome_label(outcome, requirement.get('reason'))}"


def headline(summary: Summary) -> str:
    counts = summary.counts()
    failed_must = sum(
        1 for r in summary.requirements if r["outcome"] == "failed" and r["level"] == "MUST"
    )
    parts = [f"{counts[o]} {o.replace('_', ' ')}" for o in OUTCOMES]
    line = f"**{' · '.join(parts)}** of {len(summary.requirements)} requirements"
    if failed_must:
        line += f" ({failed_must} MUST failed)"
    return line


def render_markdown(summary: Summary) -> str:
    """The whole summary.md."""
    doc = summary.document
    target = mask_url(str(doc["target"]))
    seed = "none" if doc["seed"] is None else str(doc["seed"])
    lines = [
        f"## snapconform: {_VERDICT_BADGE[summary.verdict]}",
        "",
        headline(summary),
        f"— target {_code(target)}, mode {doc['mode']}, API {doc['api_version']}, "
        f"seed {seed}, {doc['requests']} requests",
    ]
    if summary.verdict == "error" and doc.get("reason"):
        lines += ["", f"> **Why no verdict:** {_cell(doc['reason'])}"]
    elif doc.get("reason"):
        lines += ["", f"> **The run was {_cell(doc['reason'])}:** the verdict covers what ran."]
    mock_state = doc.get("mock_state")
    if mock_state:
        shown = (
            "not changed"
            if mock_state.get("changed") is False
            else "restored"
            if mock_state["restored"]
            else "**not restored**"
        )
        lines += ["", f"Mock state: {shown} — {_cell(mock_state['detail'])}"]
    lines += not_checked_lines(summary)
    ordered = sorted(
        summary.requirements,
        key=lambda r: (_OUTCOME_ORDER[r["outcome"]], _LEVEL_ORDER[r["level"]]),
    )
    lines += [
        "",
        "| Requirement | Level | Outcome | Evidence | Sources |",
        "|---|---|---|---|---|",
    ]
    for r in ordered:
        requirement = f"{_code(r['id'])} {_cell(r['title'], 80)}"
        shown = evidence(r["detail"]) or "—"
        where = "; ".join(s.split(":", 1)[0] for s in r.get("sources") or []) or "—"
        lines.append(
            f"| {requirement} | {r['level']} | {outcome_badge(r)} | {shown} | {_cell(where)} |"
        )
    if any(CUT_MARK.strip() in line for line in lines[-len(ordered) :]):
        lines += ["", f"<sub>{CUT_NOTE}</sub>"]
    lines += source_lines(summary.requirements)
    lines += variant_lines(doc)
    lines += ["", *certificate_lines(summary)]
    return "\n".join(lines) + "\n"


def source_lines(requirements: list[dict[str, Any]]) -> list[str]:
    """Each requirement's sources, quoted (a collapsed block under the table)."""
    quoted = [r for r in requirements if r.get("sources")]
    if not quoted:
        return []
    lines = ["", "<details><summary>Sources of each requirement (quoted)</summary>", ""]
    for r in quoted:
        lines.append(
            f"- {_code(r['id'])} ({r['level']}): " + " · ".join(_cell(s) for s in r["sources"])
        )
    return [*lines, "", "</details>"]


def variant_lines(doc: dict[str, Any]) -> list[str]:
    """The documented alternatives (what the target chose) and how the universe was found."""
    lines: list[str] = []
    discovery = doc.get("discovery")
    if isinstance(discovery, dict):
        complete = "complete" if discovery.get("complete") else "**incomplete**"
        lines += [
            "",
            f"**Universe (observed):** discovered through {_cell(str(discovery.get('method')))}"
            f" — {_cell(str(discovery.get('how', '')))}; {discovery.get('tasks', '?')} tasks in"
            f" {discovery.get('parts', '?')} parts, {complete}. Certain:"
            f" {_cell(str(discovery.get('certain', '')))}.",
        ]
    variants = doc.get("variants") or {}
    if not variants:
        return lines
    lines += [
        "",
        "### Documented alternatives",
        "",
        "Where the page and the official bindings allow more than one behaviour, every documented"
        " answer passes; this is what the target chose, once per rule (a later answer choosing"
        " otherwise fails the requirement being checked).",
        "",
        "| Question | Target's answer | Allowed | Sources |",
        "|---|---|---|---|",
    ]
    for entry in variants.values():
        observed = [
            (f"{o['field']}: " if o.get("field") else "")
            + f"{o['choice']} ({_cell(str(o.get('example', '')), 60)})"
            for o in entry.get("observed") or []
        ]
        observed += [
            f"**contradicted:** {_cell(str(c), 120)}" for c in entry.get("contradictions") or []
        ]
        allowed = ", ".join(f"{a['choice']}: {a['meaning']}" for a in entry.get("allowed") or [])
        sources = "<br>".join(_cell(s) for s in entry.get("sources") or [])
        lines.append(
            f"| {_cell(entry.get('question', ''))} | {'<br>'.join(observed) or 'not seen'}"
            f" | {_cell(allowed)} | {sources} |"
        )
    return lines


def not_checked_lines(summary: Summary) -> list[str]:
    """Under the headline: why an incomplete verdict is one, and every requirement not checked."""
    unchecked = summary.not_checked()
    if not unchecked:
        return []
    musts = sum(1 for r in unchecked if r["level"] == "MUST")
    lines = [""]
    if summary.verdict == "incomplete":
        lines.append(
            f"> **Incomplete:** no MUST requirement failed, but {musts} applicable MUST"
            " requirement(s) were not checked, so this run certifies nothing (exit code 3)."
        )
        lines.append("")
    lines.append("**Not checked:**")
    lines.append("")
    for r in unchecked:
        note = "" if r["level"] == "MUST" else " — SHOULD: does not change the verdict"
        lines.append(
            f"- {_code(r['id'])} ({r['level']}, {outcome_label('not_checked', r.get('reason'))}):"
            f" {evidence(r['detail'])}{note} — **to check it:** {_cell(change_to_check(r))}"
        )
    return lines


def certificate_lines(summary: Summary) -> list[str]:
    """The certificate for a mock server: what was checked, how, when, with which result."""
    from snapconform._version import __version__

    doc = summary.document
    counts = summary.counts()
    rows = [
        ("Target", _code(mask_url(str(doc["target"])))),
        ("API version", doc["api_version"]),
        ("Mode", doc["mode"]),
        ("Seed", "none" if doc["seed"] is None else str(doc["seed"])),
        ("Date", summary.written_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Harness", f"snapconform {doc.get('harness_version') or __version__}"),
        ("Requests", str(doc["requests"])),
        (
            "Requirements",
            f"{len(summary.requirements)}: {counts['passed']} passed, "
            f"{counts['failed']} failed, {counts['not_checked']} not checked, "
            f"{counts['not_applicable']} not applicable",
        ),
        ("Verdict", f"**{summary.verdict}**"),
        ("summary.json sha256", _code(summary.sha256)),
    ]
    lines = [
        "### Certificate",
        "",
        "<details><summary>Conformance certificate for this target</summary>",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "</details>"]
    return lines


def write_markdown(report_dir: Path) -> Path:
    """Render ``summary.md`` beside ``summary.json``; return its path."""
    summary = load_summary(report_dir)
    path = report_dir / SUMMARY_MD
    path.write_text(render_markdown(summary), encoding="utf-8")
    return path
