"""A check fails one way: it raises ``Violation`` with its evidence; ``Requirement.check`` makes
the failed result, its message redacted (issue 26)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snapconform.engine.registry import Requirement
from snapconform.engine.requirements import BY_ID
from snapconform.engine.verdicts import CheckResult, Evidence, Violation
from snapconform.redaction import MASK, Redactor

CHECKS = Path(__file__).resolve().parents[2] / "snapconform" / "engine" / "checks"


def _failed_results(path: Path) -> list[int]:
    """Lines of ``path`` that build a failed result (``CheckResult.failed``) themselves."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "failed"
        and isinstance(node.value, ast.Name)
        and node.value.id == "CheckResult"
    ]


def test_no_check_builds_a_failed_result_itself() -> None:
    modules = sorted(CHECKS.glob("*.py"))
    assert len(modules) > 10, f"the checks package moved? {CHECKS}"
    found = {path.name: lines for path in modules if (lines := _failed_results(path))}
    assert not found, f"checks fail by raising Violation, not returning a result: {found}"


def _with_check(raises: BaseException | None) -> Requirement:
    def check(h: Any, req: Requirement) -> CheckResult:
        if raises is not None:
            raise raises
        return CheckResult.passed("held")

    return dataclasses.replace(BY_ID["AUTH-NO-CREDENTIALS"], function=check)


def test_a_raised_violation_is_the_failed_result_with_its_evidence_and_secrets_masked() -> None:
    redactor = Redactor()
    redactor.add("s3cret-session-id")
    evidence = Evidence.of(expected=["task-1"], actual=[], curl="curl -sS 'http://127.0.0.1:1/'")
    violation = Violation("session s3cret-session-id listed nothing — reproduce: …", evidence)
    result = _with_check(violation).check(SimpleNamespace(redactor=redactor))  # type: ignore[arg-type]
    assert result.outcome == "failed"
    assert result.detail == f"session {MASK} listed nothing — reproduce: …"
    assert result.evidence == evidence


def test_a_check_that_returns_keeps_its_result_and_other_errors_propagate() -> None:
    harness = SimpleNamespace(redactor=Redactor())
    assert _with_check(None).check(harness).outcome == "passed"  # type: ignore[arg-type]
    with pytest.raises(KeyError):  # a crash is the session's to settle (not checked), not a fail
        _with_check(KeyError("bug")).check(harness)  # type: ignore[arg-type]
