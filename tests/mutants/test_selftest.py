"""The engine against the mutants (end to end) and the selftest command's own behaviour.

The end-to-end test is bounded for CI (2 cores, a few minutes): a rotating subset of mutants
(one per area in controlled mode, plus one in declared and one in observed mode), each checked
on its own requirements (``focus``, 5 examples per check), and the faithful server over 20
seeds in controlled mode (whole suite, one example per check) plus one seed in declared and
observed mode. The rotation is the day of the year, or ``SNAPCONFORM_SELFTEST_ROTATION``;
``SNAPCONFORM_SELFTEST_ALL=1`` checks every mutant in every observable mode instead. The
mutants checked are printed and written to ``reports/selftest-ci.json``. The full matrix is
``snapconform selftest``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path

import pytest

from snapconform import selftest
from snapconform.mutants import AREAS, MUTANTS
from snapconform.selftest import (
    FAITHFUL,
    Cell,
    CellResult,
    SelftestConfig,
    SelftestError,
    render_markdown,
    render_text,
    run_matrix,
    update_readme,
)

FAITHFUL_SEEDS = 20
CI_RESULT = Path("reports/selftest-ci.json")
#: Mutants the engine does not catch, left out of the rotation so CI does not fail on some days
#: only (the matrix, `snapconform selftest`, still runs them); each entry says why it is missed.
#: Empty: every mutant is caught in every mode in which it is observable (verified with
#: `snapconform selftest --focus --max-examples 5` before the last entries were removed:
#: cap-counts-invisible, intermittent-skips-cap, and the observed cap / percent-decoding and
#: declared visibility cells below).
KNOWN_MISSES: dict[str, str] = {}
#: Mutants missed in one mode only (same reason to leave them out of that mode's rotation).
KNOWN_MODE_MISSES: dict[tuple[str, str], str] = {}


def _rotation() -> int:
    configured = os.environ.get("SNAPCONFORM_SELFTEST_ROTATION")
    if configured is not None:
        return int(configured)
    return datetime.date.today().timetuple().tm_yday


def ci_cells(rotation: int) -> list[Cell]:
    """One mutant per area (controlled), one declared, one observed; faithful over 20 seeds."""
    if os.environ.get("SNAPCONFORM_SELFTEST_ALL") == "1":
        return selftest.plan(SelftestConfig(faithful_seeds=tuple(range(FAITHFUL_SEEDS))))
    cells: list[Cell] = []
    pool = [m for m in MUTANTS.values() if m.name not in KNOWN_MISSES]
    for area in AREAS:
        names = [m.name for m in pool if m.area == area and "controlled" in m.modes]
        cells.append(Cell(names[rotation % len(names)], "controlled", 0))
    for mode in ("declared", "observed"):
        names = [
            m.name for m in pool if mode in m.modes and (m.name, mode) not in KNOWN_MODE_MISSES
        ]
        cells.append(Cell(names[(rotation * 7 + len(mode)) % len(names)], mode, 0))
    cells += [Cell(FAITHFUL, "controlled", seed) for seed in range(FAITHFUL_SEEDS)]
    cells += [Cell(FAITHFUL, mode, 0) for mode in ("declared", "observed")]
    return cells


@pytest.mark.slow
def test_engine_catches_mutants_and_passes_the_faithful_server() -> None:
    rotation = _rotation()
    cells = ci_cells(rotation)
    config = SelftestConfig(max_examples=1, jobs=2, focus=True, cell_timeout=240)
    mutant_config = SelftestConfig(max_examples=5, jobs=2, focus=True, cell_timeout=240)
    mutant_cells = [c for c in cells if c.subject != FAITHFUL]
    faithful_cells = [c for c in cells if c.subject == FAITHFUL]
    results = run_matrix(mutant_config, mutant_cells) + run_matrix(config, faithful_cells)
    checked = ", ".join(f"{c.subject}/{c.mode}" for c in mutant_cells)
    print(f"\nrotation {rotation}; checked: {checked}")
    print(render_text(results))
    CI_RESULT.parent.mkdir(parents=True, exist_ok=True)
    CI_RESULT.write_text(
        json.dumps({"rotation": rotation, "cells": [r.to_document() for r in results]}, indent=2),
        encoding="utf-8",
    )
    problems = [
        f"{r.subject}/{r.mode}/seed {r.seed}: verdict {r.verdict}, failed {list(r.failed)},"
        f" caught_by {list(r.caught_by)}, reason {r.reason}"
        for r in results
        if not r.ok
    ]
    assert not problems, "\n".join(problems)


def test_error_bodies_are_audited_within_the_first_requests() -> None:
    # The error probe runs after the first check's deterministic case: a 400 body with the wrong
    # error_type is flagged by the audit within ~20 requests of the run, not after the
    # FILTER-EMPTY/FILTER-SOUNDNESS traffic (it was @497 in controlled mode).
    config = SelftestConfig(max_examples=3, jobs=1, focus=True, cell_timeout=120)
    [result] = run_matrix(config, [Cell("contract-wrong-error-type", "controlled", 0)])
    assert result.ok, result
    assert "CONTRACT-ERROR-TYPE" in result.caught_by
    assert result.requests_to_detect is not None and result.requests_to_detect <= 20


# ------------------------------------------------------------------ the command itself (fast)


def _result(subject: str, mode: str, verdict: str, failed: tuple[str, ...]) -> CellResult:
    mutant = MUTANTS.get(subject)
    caught = tuple(r for r in (mutant.requirements if mutant else ()) if r in failed)
    return CellResult(subject, mode, 0, verdict, failed, caught, 100, 7 if caught else None, 1.0)  # type: ignore[arg-type]


def test_known_misses_are_mutants() -> None:
    assert set(KNOWN_MISSES) <= set(MUTANTS)
    assert all(MUTANTS[name].modes >= {mode} for name, mode in KNOWN_MODE_MISSES)


def test_the_rotation_reaches_every_observable_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    # Over a year of rotations every mutant is checked in controlled mode, and in declared and
    # observed mode where observable, except the known misses (each with its reason above).
    monkeypatch.delenv("SNAPCONFORM_SELFTEST_ALL", raising=False)
    reached = {(c.subject, c.mode) for day in range(1, 367) for c in ci_cells(day)}
    owed = {
        (m.name, mode)
        for m in MUTANTS.values()
        for mode in ("controlled", "declared", "observed")
        if mode in m.modes
        and m.name not in KNOWN_MISSES
        and (m.name, mode) not in KNOWN_MODE_MISSES
    }
    assert owed - reached == set()
    # And one day's rotation stays bounded: one mutant per area, one declared, one observed.
    assert len([c for c in ci_cells(1) if c.subject != FAITHFUL]) == len(AREAS) + 2


def test_a_cell_is_caught_only_by_a_declared_requirement() -> None:
    # Non-conformant for some other reason is not "caught": the deviation went unnoticed.
    other = _result("cap-truncates", "controlled", "non-conformant", ("AUTH-PRIVILEGE",))
    assert not other.ok
    caught = _result("cap-truncates", "controlled", "non-conformant", ("CAP-OVER-LIMIT",))
    assert caught.ok and caught.caught_by == ("CAP-OVER-LIMIT",)
    assert not _result(FAITHFUL, "controlled", "non-conformant", ("CAP-AT-LIMIT",)).ok
    assert _result(FAITHFUL, "controlled", "conformant", ()).ok


def test_a_should_level_mutant_is_caught_by_its_failed_should() -> None:
    # Only MUST failures make a verdict non-conformant: a SHOULD-only mutant is caught when its
    # SHOULD requirement failed, the verdict staying conformant.
    name, rid = "auth-no-www-authenticate", "AUTH-WWW-AUTHENTICATE"
    assert selftest.should_only(MUTANTS[name])
    caught = _result(name, "controlled", "conformant", (rid,))
    assert caught.ok and caught.caught_by == (rid,)
    assert not _result(name, "controlled", "conformant", ()).ok
    assert not _result(name, "controlled", "error", (rid,)).ok
    undeclared = _result(
        "contract-undeclared-property", "observed", "conformant", ("CONTRACT-UNKNOWN-PROPERTIES",)
    )
    assert undeclared.ok
    # A MUST-level mutant still needs the non-conformant verdict.
    assert not selftest.should_only(MUTANTS["cap-truncates"])
    assert not _result("cap-truncates", "controlled", "conformant", ("CAP-OVER-LIMIT",)).ok
    # A mutant with a MUST and a SHOULD requirement is MUST-level.
    assert not selftest.should_only(MUTANTS["auth-no-challenge"])
    assert not _result(
        "auth-no-challenge", "controlled", "conformant", ("AUTH-WWW-AUTHENTICATE",)
    ).ok
    text = render_text([caught])
    assert "AUTH-WWW-AUTHENTICATE (SHOULD) @7" in text and "1/1 cells caught" in text


def test_requests_to_detect_prefers_the_engines_first_failure_request(tmp_path: Path) -> None:
    follower = selftest._ProgressFollower(tmp_path / "progress.jsonl")
    follower.started_at["FILTER-SOUNDNESS"] = 40
    follower.failed_at["FILTER-SOUNDNESS"] = 90  # shrinking included
    probe = selftest.ServerProbe()
    probe.first_finding["CONTRACT-200-BODY"] = 12
    detect = selftest._requests_to_detect
    # A check: the requests it sent until its first violation (run count 47 - start 40).
    assert detect("FILTER-SOUNDNESS", 47, follower, probe) == 7
    # No first_failure_request in the summary: the outside measurement.
    assert detect("FILTER-SOUNDNESS", None, follower, probe) == 90
    # An audit requirement: the response the audit first flagged, as the engine counted it.
    assert detect("CONTRACT-200-BODY", 9, follower, probe) == 9
    assert detect("CONTRACT-200-BODY", None, follower, probe) == 12


def test_matrix_rendering_and_score() -> None:
    results = [
        _result("cap-truncates", "controlled", "non-conformant", ("CAP-OVER-LIMIT",)),
        _result("auth-any-password", "controlled", "conformant", ()),
        _result(FAITHFUL, "controlled", "conformant", ()),
    ]
    text = render_text(results)
    assert "CAP-OVER-LIMIT @7" in text and "MISSED" in text
    assert "1/2 cells caught (50%)" in text
    assert "MISSED auth-any-password/controlled" in text
    markdown = render_markdown(results, SelftestConfig())
    assert "| `cap-truncates` | cap | CAP-OVER-LIMIT @7 |" in markdown


def test_update_readme_rewrites_only_the_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- mutation-matrix:start -->\nold\n<!-- mutation-matrix:end -->\noutro\n"
    )
    update_readme(readme, "NEW TABLE")
    assert readme.read_text() == (
        "intro\n<!-- mutation-matrix:start -->\nNEW TABLE\n<!-- mutation-matrix:end -->\noutro\n"
    )
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    with pytest.raises(SelftestError, match="mutation-matrix:start"):
        update_readme(bare, "x")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    selftest.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_unknown_mutant_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest.main(_args("--mutants", "cap-truncate")) == 2
    out = capsys.readouterr().out
    assert "unknown mutant 'cap-truncate'; did you mean cap-truncates" in out
    assert "Traceback" not in out


def test_list_names_every_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest.main(_args("--list")) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MUTANTS)


def test_plan_respects_modes_and_areas() -> None:
    config = selftest.config_from(_args("--areas", "auth", "--modes", "observed"))
    cells = selftest.plan(config)
    assert {c.mode for c in cells} == {"observed"}
    assert all(MUTANTS[c.subject].area == "auth" for c in cells if c.subject != FAITHFUL)
    # auth-visibility-leak is not observable in observed mode: not planned there.
    assert "auth-visibility-leak" not in {c.subject for c in cells}
