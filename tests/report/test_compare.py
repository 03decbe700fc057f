"""``report --compare``: changed outcomes, regressions first, exit 1 on a regression."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from snapconform.cli import main as snapconform_main
from snapconform.report.compare import compare, render_comparison
from snapconform.report.summary import load_summary

OLD = [
    ("A-PASS-FAIL", "SHOULD", "passed"),
    ("B-FAIL-PASS", "MUST", "failed"),
    ("C-SKIP-FAIL", "MUST", "not_checked"),
    ("D-PASS-FAIL", "MUST", "passed"),
    ("E-SAME", "MUST", "passed"),
    ("F-PASS-SKIP", "MUST", "passed"),
    ("G-REMOVED", "MUST", "passed"),
    ("H-FAIL-SKIP", "SHOULD", "failed"),
]
NEW = [
    ("A-PASS-FAIL", "SHOULD", "failed"),
    ("B-FAIL-PASS", "MUST", "passed"),
    ("C-SKIP-FAIL", "MUST", "failed"),
    ("D-PASS-FAIL", "MUST", "failed"),
    ("E-SAME", "MUST", "passed"),
    ("F-PASS-SKIP", "MUST", "not_checked"),
    ("H-FAIL-SKIP", "SHOULD", "not_applicable"),
    ("I-ADDED", "MUST", "failed"),
]


@pytest.fixture
def runs(tmp_path: Path, write_summary: Callable[..., Path]) -> tuple[Path, Path]:
    return (
        write_summary(tmp_path / "old", requirements=OLD),
        write_summary(tmp_path / "new", requirements=NEW),
    )


def test_regressions_then_fixes_then_others(runs: tuple[Path, Path]) -> None:
    comparison = compare(load_summary(runs[0]), load_summary(runs[1]))
    assert [c.requirement_id for c in comparison.regressions] == [
        "D-PASS-FAIL",  # passed -> failed, MUST first
        "A-PASS-FAIL",
        "C-SKIP-FAIL",  # not checked -> failed after every passed -> failed
    ]
    assert [c.requirement_id for c in comparison.fixes] == ["B-FAIL-PASS", "H-FAIL-SKIP"]
    assert {c.requirement_id for c in comparison.others} == {"F-PASS-SKIP", "G-REMOVED", "I-ADDED"}
    assert comparison.unchanged == 1


def test_text_lists_regressions_first(runs: tuple[Path, Path]) -> None:
    text = render_comparison(compare(load_summary(runs[0]), load_summary(runs[1])))
    lines = text.splitlines()
    assert lines[1] == "verdict: non-conformant -> non-conformant"
    assert lines[2] == "regressions (3):"
    assert "D-PASS-FAIL" in lines[3] and "passed -> failed" in lines[3]
    assert text.index("regressions") < text.index("fixes") < text.index("other changes")
    assert "absent -> failed" in text and "passed -> absent" in text
    assert lines[-1] == "3 regressions, 2 fixes, 3 other changes, 1 unchanged"


def test_cli_exit_1_on_regression(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = runs
    assert snapconform_main(["report", "--compare", str(old), "--report-dir", str(new)]) == 1
    assert "regressions (3):" in capsys.readouterr().out


def test_cli_no_regression_exits_0(
    tmp_path: Path, write_summary: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old = write_summary(
        tmp_path / "old", requirements=[("X", "MUST", "failed"), ("Y", "MUST", "passed")]
    )
    new = write_summary(
        tmp_path / "new", requirements=[("X", "MUST", "passed"), ("Y", "MUST", "passed")]
    )
    assert snapconform_main(["report", "--compare", str(old), "--report-dir", str(new)]) == 0
    out = capsys.readouterr().out
    assert "fixes (1):" in out and "regressions" not in out.split("\n")[2]


def test_identical_runs(tmp_path: Path, write_summary: Callable[..., Path]) -> None:
    old = write_summary(tmp_path / "old")
    new = write_summary(tmp_path / "new")
    text = render_comparison(compare(load_summary(old), load_summary(new)))
    assert "no requirement changed outcome" in text


def test_cli_bad_old_dir_exits_2(
    tmp_path: Path, write_summary: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    new = write_summary(tmp_path / "new")
    code = snapconform_main(
        ["report", "--compare", str(tmp_path / "nope"), "--report-dir", str(new)]
    )
    assert code == 2
    assert "summary.json does not exist" in capsys.readouterr().err
