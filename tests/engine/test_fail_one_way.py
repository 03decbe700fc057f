"""A check fails one way: it raises ``Violation`` with its evidence; ``Requirement.check`` makes
the failed result, its message redacted (issue 26). Run-wide checks too: ``after_run`` raises,
and the audit requirements' checks let it through to the same conversion."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snapconform.engine.audit import ResponseAudit
from snapconform.engine.exchange import Exchange
from snapconform.engine.registry import Requirement
from snapconform.engine.requirements import BY_ID
from snapconform.engine.verdicts import CheckResult, Evidence, Violation
from snapconform.redaction import MASK, Redactor
from snapconform.wire import SESSION_HEADER, TASKS_PATH
from tests.engine.helpers import audit_verdict

ENGINE = Path(__file__).resolve().parents[2] / "snapconform" / "engine"
CHECKS = ENGINE / "checks"
#: Where a check's verdict is made: the checks, the run-wide checks and the audit, the fuzzing
#: layer's run-wide adapters. None of them builds a failed result; Requirement.check does.
JUDGES = (CHECKS, ENGINE / "runwide", ENGINE / "audit.py", ENGINE / "fuzzing" / "checks.py")
SECRET = "s3cret-session-id-0123"


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
    modules = sorted(
        module
        for judge in JUDGES
        for module in ([judge] if judge.is_file() else judge.glob("*.py"))
    )
    assert len(list(CHECKS.glob("*.py"))) > 10, f"the checks package moved? {CHECKS}"
    assert all(judge.exists() for judge in JUDGES), f"a judging module moved? {JUDGES}"
    found = {
        str(path.relative_to(ENGINE)): lines for path in modules if (lines := _failed_results(path))
    }
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


def test_a_run_wide_check_fails_by_raising_with_its_evidence_and_secrets_masked() -> None:
    redactor = Redactor()
    redactor.add(SECRET)
    audit = ResponseAudit(
        repro=lambda sent: f"curl -sS 'http://127.0.0.1:1{sent.path}?{sent.query}'",
        redactor=redactor,
        bindings=False,
    )
    # not JSON, and not sent as JSON: CONTRACT-JSON's finding, with the secret all over it
    audit(
        Exchange.parse(
            "GET",
            TASKS_PATH,
            200,
            {"content-type": "text/plain", "x-echo": SECRET},
            f"session {SECRET}".encode(),
            query=f"users={SECRET}",
            request_headers={SESSION_HEADER: SECRET},
        )
    )
    with pytest.raises(Violation) as raised:
        audit.checks["CONTRACT-JSON"].after_run()
    evidence = raised.value.evidence
    assert evidence.exchange is not None and evidence.exchange.status == 200
    assert evidence.exchange.body is None  # the recorded copy: no decoded body kept
    assert evidence.curl is not None and evidence.curl.startswith("curl -sS")
    result = audit_verdict(audit, "CONTRACT-JSON")
    assert result.outcome == "failed" and result.detail.startswith("1 of 1 responses violate it")
    assert result.evidence == evidence
    shown = json.dumps([result.detail, evidence.exchange.to_document(), evidence.curl])
    assert SECRET not in shown and MASK in shown


def test_a_run_wide_check_without_a_finding_returns_its_verdict() -> None:
    audit = ResponseAudit(repro=lambda sent: "", bindings=False)
    audit(
        Exchange.parse(
            "GET", TASKS_PATH, 200, {"content-type": "application/json"}, b'{"items": []}'
        )
    )
    assert audit.checks["CONTRACT-JSON"].after_run().outcome == "passed"
    assert audit_verdict(audit, "CONTRACT-JSON").outcome == "passed"
