"""Compare the outcomes of two runs: what changed, regressions first.

A regression is a requirement that fails now and did not fail before (passed -> failed first,
then not checked / not applicable -> failed); a fix is failed -> anything else. Requirements that
appear or disappear, or move between passed, not checked and not applicable, are listed as other
changes.

A summary written by an earlier snapconform is compared all the same when its requirements can
be read (id, title, level, outcome): the first ones had three outcomes, ``skipped`` standing for
what is now ``not_checked`` or ``not_applicable``, shown as it was written. One that cannot be
read is refused in one line naming the version that wrote it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snapconform.engine.verdicts import OUTCOMES
from snapconform.errors import SummaryError
from snapconform.report.summary import SUMMARY_FILE, Summary, load_summary

_ABSENT = "absent"
#: The outcome of the summaries written before the four outcomes: not decided, for whatever
#: reason (now not_checked or not_applicable).
LEGACY_SKIPPED = "skipped"
_UNDECIDED = {"not_checked", "not_applicable", LEGACY_SKIPPED}


@dataclass(frozen=True)
class Change:
    requirement_id: str
    title: str
    level: str
    before: str  # passed | failed | not_applicable | not_checked | absent
    after: str

    @property
    def kind(self) -> str:
        if self.after == "failed" and self.before in {"passed", *_UNDECIDED}:
            return "regression"
        if self.before == "failed" and self.after != "failed":
            return "fix"
        return "other"

    def sort_key(self) -> tuple[int, int, int, str]:
        kind_rank = {"regression": 0, "fix": 1, "other": 2}[self.kind]
        before_rank = {
            "passed": 0,
            "not_checked": 1,
            "not_applicable": 1,
            LEGACY_SKIPPED: 1,
            "failed": 2,
            _ABSENT: 3,
        }[self.before]
        level_rank = 0 if self.level == "MUST" else 1
        return (kind_rank, before_rank, level_rank, self.requirement_id)


@dataclass(frozen=True)
class Comparison:
    old: Summary
    new: Summary
    changes: tuple[Change, ...]
    unchanged: int
    #: What the reader must know about the comparison (an older summary's vocabulary).
    notes: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "regression")

    @property
    def fixes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "fix")

    @property
    def others(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "other")


def compare(old: Summary, new: Summary) -> Comparison:
    before = {r["id"]: r for r in old.requirements}
    after = {r["id"]: r for r in new.requirements}
    changes: list[Change] = []
    unchanged = 0
    for requirement_id in sorted(before.keys() | after.keys()):
        then, now = before.get(requirement_id), after.get(requirement_id)
        reference = now or then
        assert reference is not None
        old_outcome = then["outcome"] if then else _ABSENT
        new_outcome = now["outcome"] if now else _ABSENT
        if old_outcome == new_outcome:
            unchanged += 1
            continue
        changes.append(
            Change(
                requirement_id,
                str(reference["title"]),
                str(reference["level"]),
                old_outcome,
                new_outcome,
            )
        )
    changes.sort(key=Change.sort_key)
    notes = tuple(
        f"{summary.path} was written by {written_by(summary.document)} (outcome"
        f" '{LEGACY_SKIPPED}': not decided, now not_checked or not_applicable)"
        for summary in (old, new)
        if any(r["outcome"] == LEGACY_SKIPPED for r in summary.requirements)
    )
    return Comparison(old, new, tuple(changes), unchanged, notes)


def written_by(document: Any) -> str:
    """Which snapconform wrote a summary (``harness_version``, recorded since issue 24)."""
    version = document.get("harness_version") if isinstance(document, dict) else None
    if isinstance(version, str) and version:
        return f"snapconform {version}"
    return "an earlier snapconform (no harness_version in it)"


def load_comparable(report_dir: Path) -> Summary:
    """The summary of ``report_dir`` for ``--compare``: a current one, or an older one whose
    requirements can still be read; else SummaryError naming the version that wrote it."""
    try:
        return load_summary(report_dir)
    except SummaryError as error:
        path = report_dir / SUMMARY_FILE
        try:
            raw = path.read_bytes()
            document = json.loads(raw)
        except (OSError, ValueError):
            raise error from None  # missing or not JSON: the usual message
        if not _readable_requirements(document):
            raise SummaryError(
                f"{path} cannot be compared: written by {written_by(document)}, in a format"
                f" this version does not read ({error}); compare reports of the same version"
            ) from None
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return Summary(document, path, hashlib.sha256(raw).hexdigest(), written)


def _readable_requirements(document: Any) -> bool:
    """Whether an older summary has what a comparison reads: a verdict and requirements with
    id, title, level and a known outcome."""
    if not isinstance(document, dict) or not isinstance(document.get("verdict"), str):
        return False
    requirements = document.get("requirements")
    return isinstance(requirements, list) and all(
        isinstance(r, dict)
        and all(isinstance(r.get(key), str) for key in ("id", "title", "level"))
        and r.get("outcome") in {*OUTCOMES, LEGACY_SKIPPED}
        for r in requirements
    )


def render_comparison(comparison: Comparison) -> str:
    """Plain text for a terminal or a CI log: verdicts, then each group of changes."""
    old, new = comparison.old, comparison.new
    lines = [
        f"comparing {old.path.parent} -> {new.path.parent}",
        *(f"note: {note}" for note in comparison.notes),
        f"verdict: {old.verdict} -> {new.verdict}",
    ]
    groups = (
        ("regressions", comparison.regressions),
        ("fixes", comparison.fixes),
        ("other changes", comparison.others),
    )
    width = max((len(c.requirement_id) for c in comparison.changes), default=0)
    for title, changes in groups:
        if not changes:
            continue
        lines.append(f"{title} ({len(changes)}):")
        for change in changes:
            lines.append(
                f"  {change.requirement_id:<{width}}  {change.level:<6}  "
                f"{change.before} -> {change.after}  {change.title}"
            )
    if not comparison.changes:
        lines.append("no requirement changed outcome")
    lines.append(
        f"{len(comparison.regressions)} regressions, {len(comparison.fixes)} fixes, "
        f"{len(comparison.others)} other changes, {comparison.unchanged} unchanged"
    )
    return "\n".join(lines) + "\n"
