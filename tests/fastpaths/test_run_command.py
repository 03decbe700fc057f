"""The conformance subprocess runs without pytest's assertion rewriting, and loses nothing by it.

Rewriting recompiles every module of each pytest11 plugin distribution (hypothesis,
schemathesis, allure, xdist) on import whenever bytecode is not cached; bench/run_bench.py
measured it at ~40% of a default run. That is only safe while the suite reports through
CheckResult rather than bare ``assert`` statements, which the second test pins.
"""

from __future__ import annotations

import ast
from pathlib import Path

from snapconform.config import RunConfig
from snapconform.run.runner import SUITE_DIR, pytest_command


def test_suite_runs_with_plain_asserts(tmp_path: Path) -> None:
    command = pytest_command(RunConfig(report_dir=tmp_path), 0, tmp_path / "outcomes.json")
    assert "--assert=plain" in command


def test_conformance_suite_has_no_bare_asserts() -> None:
    files = sorted(Path(SUITE_DIR).rglob("*.py"))
    assert files, f"no conformance suite under {SUITE_DIR}"
    offenders = [
        f"{path.name}:{node.lineno}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert offenders == [], "conformance tests must report via CheckResult, not assert"
