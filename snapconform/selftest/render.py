"""The selftest's report: the mutation matrix as text and Markdown, the README block it
rewrites, and the JSON result document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from snapconform.config import Mode
from snapconform.engine.requirements import BY_ID
from snapconform.mutants import MUTANTS, Mutant
from snapconform.selftest.cells import (
    FAITHFUL,
    MODES,
    CellResult,
    Score,
    SelftestConfig,
    SelftestError,
    score,
    variant_subject,
)
from snapconform.server.variants import VARIANTS

README_START = "<!-- mutation-matrix:start -->"
README_END = "<!-- mutation-matrix:end -->"


def _cell_text(result: CellResult | None, mutant: Mutant, mode: Mode) -> str:
    if mode not in mutant.modes:
        return "n/a"
    if result is None:
        return "not run"
    if result.ok:
        cost = f" @{result.requests_to_detect}" if result.requests_to_detect else ""
        level = " (SHOULD)" if BY_ID[result.caught_by[0]].level == "SHOULD" else ""
        return f"{result.caught_by[0]}{level}{cost}"
    if result.verdict == "error":
        return "ERROR"
    return "MISSED"


def matrix_rows(results: Sequence[CellResult], modes: Sequence[Mode] = MODES) -> list[list[str]]:
    """Header + one row per mutant that was run: name, area, one cell per mode."""
    index = {(r.subject, r.mode): r for r in results if r.subject != FAITHFUL}
    names = [name for name in MUTANTS if any(name == r.subject for r in results)]
    rows = [["mutant", "area", *modes]]
    for name in names:
        mutant = MUTANTS[name]
        rows.append(
            [name, mutant.area, *(_cell_text(index.get((name, m)), mutant, m) for m in modes)]
        )
    for name in VARIANTS:
        subject = variant_subject(name)
        if any(subject == r.subject for r in results):
            rows.append(
                [subject, "variant", *(_variant_text(index.get((subject, m))) for m in modes)]
            )
    return rows


def _variant_text(result: CellResult | None) -> str:
    """A variant cell: conformant (what the engine recorded), or the false positive."""
    if result is None:
        return "not run"
    if result.verdict == "error":
        return "ERROR"
    recorded = f" ({'+'.join(result.recorded)})" if result.recorded else ""
    if result.ok:
        return f"conformant{recorded}"
    return f"FALSE POSITIVE: {', '.join(result.failed) or result.verdict}"


def render_text(results: Sequence[CellResult], modes: Sequence[Mode] = MODES) -> str:
    rows = matrix_rows(results, modes)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", _score_line(score(results)), *_misses(results)])


def _score_line(s: Score) -> str:
    median = "n/a" if s.median_requests_to_detect is None else f"{s.median_requests_to_detect:g}"
    worst = "n/a" if s.worst_requests_to_detect is None else str(s.worst_requests_to_detect)
    return (
        f"mutation score: {s.caught}/{s.cells} cells caught ({s.score:.0%}); "
        f"{s.mutants_caught_everywhere}/{s.mutants} mutants caught in every mode run; "
        f"requests to detect: median {median}, worst {worst}; "
        f"faithful server: {s.faithful_conformant}/{s.faithful_runs} runs conformant"
    )


def _misses(results: Sequence[CellResult]) -> list[str]:
    lines = []
    for r in results:
        if r.ok:
            continue
        if r.verdict == "error" and r.reason:
            # no verdict: neither a false positive nor a miss (the run refused, or crashed)
            lines.append(f"ERROR {r.subject}/{r.mode}/seed {r.seed}: {r.reason}")
        elif r.conformant_expected:
            lines.append(
                f"FALSE POSITIVE {r.subject}/{r.mode}/seed {r.seed}: {r.verdict};"
                f" failed {', '.join(r.failed) or '-'} {r.reason or ''}".rstrip()
            )
        else:
            why = r.reason or (
                f"verdict {r.verdict}; failed: {', '.join(r.failed) or 'nothing'};"
                f" expected one of {', '.join(MUTANTS[r.subject].requirements)}"
            )
            lines.append(f"MISSED {r.subject}/{r.mode}: {why}")
    return lines


def render_markdown(results: Sequence[CellResult], config: SelftestConfig) -> str:
    modes = list(config.modes)
    rows = matrix_rows(results, modes)
    out = [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
    ]
    for row in rows[1:]:
        out.append("| " + " | ".join([f"`{row[0]}`", *row[1:]]) + " |")
    budget = (
        f"seed {config.seed}, max-examples {config.max_examples},"
        f" max-requests {config.max_requests}"
        + (", --focus" if config.focus else "")
        + (", --until-caught" if config.until_caught else "")
    )
    return "\n".join(
        [
            f"Generated by `snapconform selftest` ({budget}). A cell names the requirement that"
            " caught the mutant and `@N` the requests it took; `n/a`: not observable in that"
            " mode.",
            "",
            *out,
            "",
            _score_line(score(results)) + ".",
            *(f"- {line}" for line in _misses(results)),
        ]
    )


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SelftestError(f"{readme} has no {README_START} ... {README_END} block")
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}", encoding="utf-8")


def result_document(results: Sequence[CellResult], config: SelftestConfig) -> dict[str, Any]:
    s = score(results)
    return {
        "config": {
            "seed": config.seed,
            "faithful_seeds": list(config.faithful_seeds),
            "modes": list(config.modes),
            "max_examples": config.max_examples,
            "max_requests": config.max_requests,
        },
        "score": {**asdict(s), "score": round(s.score, 4)},
        "mutants": [MUTANTS[name].to_document() for name in config.mutants],
        "variants": [VARIANTS[name].to_document() for name in config.variants],
        "cells": [r.to_document() for r in results],
    }
