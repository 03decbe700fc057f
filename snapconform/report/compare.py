"""Compare the outcomes of two runs: what changed, regressions first.

A regression is a requirement that fails now and did not fail before (passed -> failed first,
then not checked / not applicable -> failed); a fix is failed -> anything else. Requirements that
appear or disappear, or move between passed, not checked and not applicable, are listed as other
changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapconform.report.summary import Summary

_ABSENT = "absent"


@dataclass(frozen=True)
class Change:
    requirement_id: str
    title: str
    level: str
    before: str  # passed | failed | not_applicable | not_checked | absent
    after: str

    @property
    def kind(self) -> str:
        if self.after == "failed" and self.before in {"passed", "not_checked", "not_applicable"}:
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
    return Comparison(old, new, tuple(changes), unchanged)


def render_comparison(comparison: Comparison) -> str:
    """Plain text for a terminal or a CI log: verdicts, then each group of changes."""
    old, new = comparison.old, comparison.new
    lines = [
        f"comparing {old.path.parent} -> {new.path.parent}",
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
