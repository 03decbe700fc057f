"""``report --compare``: changed outcomes, regressions first, exit 1 on a regression."""

from __future__ import annotations

import json
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


def _old_format(directory: Path, requirements: list[tuple[str, str, str]], **extra: object) -> Path:
    """A summary.json as the first snapconform wrote it: three outcomes (passed, failed,
    skipped), no reasons, no counts, no harness_version."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "verdict": "conformant",
        "target": "http://127.0.0.1:1",
        "mode": "controlled",
        "api_version": "8.0.3",
        "seed": 1,
        "requests": 10,
        "requirements": [
            {"id": rid, "title": rid.lower(), "level": level, "outcome": outcome, "detail": ""}
            for rid, level, outcome in requirements
        ],
        **extra,
    }
    (directory / "summary.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


def test_an_old_summary_with_skipped_outcomes_is_compared(
    tmp_path: Path, write_summary: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_format(
        tmp_path / "old",
        [("X", "MUST", "skipped"), ("Y", "MUST", "passed"), ("Z", "MUST", "failed")],
    )
    new = write_summary(
        tmp_path / "new",
        requirements=[("X", "MUST", "failed"), ("Y", "MUST", "passed"), ("Z", "MUST", "passed")],
    )
    assert snapconform_main(["report", "--compare", str(old), "--report-dir", str(new)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "X" in captured.out and "skipped -> failed" in captured.out
    assert "an earlier snapconform (no harness_version in it)" in captured.out
    assert "1 regressions, 1 fixes, 0 other changes, 1 unchanged" in captured.out


def test_an_unreadable_old_summary_is_refused_naming_its_version(
    tmp_path: Path, write_summary: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_format(tmp_path / "old", [("X", "MUST", "inconclusive")], harness_version="0.0.9")
    new = write_summary(tmp_path / "new")
    assert snapconform_main(["report", "--compare", str(old), "--report-dir", str(new)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "cannot be compared: written by snapconform 0.0.9" in err


def test_a_new_summary_names_the_version_that_wrote_it() -> None:
    from snapconform._version import __version__
    from snapconform.config import RunConfig
    from snapconform.run.runner import build_summary

    assert build_summary(RunConfig(), 1, None, None)["harness_version"] == __version__
