"""Where the README's test command spends its CPU (issue 27: at most 10 minutes on 2 cores).

    python bench/test_cpu_bench.py [--results bench/test_cpu_results.json]

One run of the README's test command (``test_command_bench.readme_test_command``: the same
command, ``CI=true``, from the checkout) with ``per_test_cpu_plugin`` added (``-p``), which
records each test's CPU seconds: its process' (every thread, so the in-thread reference servers
too) plus the child processes it waited for. The suite is CPU-bound on 2 cores (section 8), so
its wall time follows its CPU; this says which tests that CPU is, by file, by test function and,
for the mutation matrix (``test_ci_matrix_cell``), by kind of cell and mode. The rest of the
command's CPU (collection, the workers' start-up and imports) is shown apart. Figures of one
run: a breakdown, not a timing (section 8 times the command without the plugin).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import test_command_bench
from benchlib import BENCH_DIR, git_commit, machine
from per_test_cpu_plugin import DIRECTORY_VARIABLE

RESULTS = BENCH_DIR / "test_cpu_results.json"
PLUGIN = "per_test_cpu_plugin"
#: ``test_ci_matrix_cell[<subject>-<mode>-seed<N>]``, ``-sweep`` for the faithful server's
#: extra seeds (tests/mutants/test_selftest.py).
MATRIX_CELL = re.compile(
    r"::test_ci_matrix_cell\[(?P<subject>.+)-(?P<mode>controlled|declared|observed)"
    r"-seed\d+(?P<sweep>-sweep)?\]$"
)
TOP = 20


def cell_kind(nodeid: str) -> tuple[str, str] | None:
    """(kind, mode) of a mutation-matrix cell: faithful, variant, sweep or mutant; else None."""
    found = MATRIX_CELL.search(nodeid)
    if found is None:
        return None
    subject = found["subject"]
    if found["sweep"]:
        kind = "faithful, extra seed"
    elif subject == "faithful":
        kind = "faithful"
    elif subject.startswith("variant:"):
        kind = "documented variant"
    else:
        kind = "mutant"
    return kind, found["mode"]


def read_rows(directory: Path) -> list[tuple[str, float, float]]:
    rows = []
    for path in sorted(directory.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            nodeid, cpu, wall = line.rsplit("\t", 2)
            rows.append((nodeid, float(cpu), float(wall)))
    return rows


def breakdown(rows: list[tuple[str, float, float]]) -> dict[str, Any]:
    """Per file, per test function (parameters summed) and per matrix cell kind and mode."""
    by_file: dict[str, list[float]] = defaultdict(list)
    by_function: dict[str, list[float]] = defaultdict(list)
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    for nodeid, cpu, _ in rows:
        by_file[nodeid.split("::", 1)[0]].append(cpu)
        by_function[nodeid.split("[", 1)[0]].append(cpu)
        kind = cell_kind(nodeid)
        if kind is not None:
            by_cell[kind].append(cpu)

    def table(groups: dict[Any, list[float]], top: int | None) -> list[dict[str, Any]]:
        ranked = sorted(groups.items(), key=lambda entry: -sum(entry[1]))
        return [
            {
                "name": name if isinstance(name, str) else list(name),
                "tests": len(cpus),
                "cpu_seconds": round(sum(cpus), 1),
                "median_cpu_seconds": round(statistics.median(cpus), 2),
            }
            for name, cpus in ranked[:top]
        ]

    return {
        "tests": len(rows),
        "cpu_seconds": round(sum(cpu for _, cpu, _ in rows), 1),
        "wall_seconds_summed": round(sum(wall for _, _, wall in rows), 1),
        "files": table(by_file, TOP),
        "functions": table(by_function, TOP),
        "matrix_cells": table(by_cell, None),
    }


def one_run(command: list[str], directory: Path) -> dict[str, Any]:
    """``test_command_bench.one_run`` with the plugin, which writes into ``directory``."""
    python_path = [str(BENCH_DIR), os.environ.get("PYTHONPATH")]
    return test_command_bench.one_run(
        [*command, "-p", PLUGIN],
        {
            "PYTHONPATH": os.pathsep.join(part for part in python_path if part),
            DIRECTORY_VARIABLE: str(directory),
        },
    )


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def markdown(document: dict[str, Any]) -> list[str]:
    run, split = document["run"], document["breakdown"]
    whole = run["cpu_seconds"]
    rest = round(whole - split["cpu_seconds"], 1)
    out = [
        f"One run of `{' '.join(document['command'])}` with `CI=true` on commit"
        f" `{document['commit']}`, each test's CPU recorded (`bench/per_test_cpu_plugin.py`):"
        f" exit {run['exit_status']}, {run['passed']} passed, {run['failed']} failed,"
        f" {run['skipped']} skipped; {run['wall_seconds']} s wall, {whole} CPU-s, load"
        f" {run['load_before']} before, {run['load_after']} after.",
        "",
        f"The tests: {split['cpu_seconds']} CPU-s ({_share(split['cpu_seconds'], whole)});"
        f" the rest, {rest} CPU-s, is collection and the workers' start-up. A test's CPU is its"
        " worker's (every thread, the in-thread servers included) and its child processes'.",
        "",
        "The mutation matrix (`tests/mutants/test_selftest.py::test_ci_matrix_cell`), by kind of"
        " cell:",
        "",
        "| cells | mode | tests | CPU-s | median CPU-s per cell | share of the command |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for entry in split["matrix_cells"]:
        kind, mode = entry["name"]
        out.append(
            f"| {kind} | {mode} | {entry['tests']} | {entry['cpu_seconds']} |"
            f" {entry['median_cpu_seconds']} | {_share(entry['cpu_seconds'], whole)} |"
        )
    for title, key in (("test file", "files"), ("test function (parameters summed)", "functions")):
        out += [
            "",
            f"The {TOP} costliest by {title}:",
            "",
            f"| {title} | tests | CPU-s | median CPU-s per test | share of the command |",
            "|---|---:|---:|---:|---:|",
        ]
        out += [
            f"| `{entry['name']}` | {entry['tests']} | {entry['cpu_seconds']} |"
            f" {entry['median_cpu_seconds']} | {_share(entry['cpu_seconds'], whole)} |"
            for entry in split[key]
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = test_command_bench.readme_test_command()
    with tempfile.TemporaryDirectory(prefix="snapconform-test-cpu-") as directory:
        run = one_run(command, Path(directory))
        rows = read_rows(Path(directory))
    document: dict[str, Any] = {
        "machine": machine(),
        "commit": git_commit(),
        "command": ["python3.11" if w == sys.executable else w for w in command],
        "run": run,
        "breakdown": breakdown(rows),
    }
    args.results.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(document)))
    return 0 if run["exit_status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
