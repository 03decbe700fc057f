"""Wall and CPU time of the README's test command (issue 27: at most 10 minutes on 2 cores).

    python bench/test_command_bench.py [--repeats 3] [--results bench/test_command_results.json]

The command is read from the README's quick start (the second command, the part after ``&&``:
``python3.11 -m pytest -n auto``), never retyped here, and run as CI runs it: ``CI=true`` from
the checkout, with this interpreter in place of ``python3.11``. Per run: wall seconds, CPU
seconds of the command and all its processes (user + system, ``getrusage(RUSAGE_CHILDREN)``:
the xdist workers and every subprocess they started), pytest's own counts (passed, failed,
skipped) and the load average before and after. A failed run is recorded, never dropped.
Repeats run one after the other (the command uses every core), and each run replaces the
results of earlier runs at another commit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    ROOT,
    child_cpu_seconds,
    clear_rewritten_bytecode,
    git_commit,
    load,
    machine,
    spread,
)

RESULTS = BENCH_DIR / "test_command_results.json"
GOAL_SECONDS = 600.0
#: The quick start's fenced block of commands (the first ```sh block of the README).
QUICK_START = re.compile(r"## Quick start.*?```sh\n(.*?)```", re.DOTALL)
COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?)")


def readme_test_command(readme: Path = ROOT / "README.md") -> list[str]:
    """The README's test command, with this interpreter for ``python3.11``."""
    block = QUICK_START.search(readme.read_text(encoding="utf-8"))
    if block is None:
        raise SystemExit("README.md: no quick start block found")
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    if len(lines) != 2 or "&&" not in lines[1]:
        raise SystemExit(f"README.md: the quick start is not two commands: {lines}")
    words = shlex.split(lines[1].split("&&", 1)[1])
    return [sys.executable if word == "python3.11" else word for word in words]


def one_run(
    command: list[str], environ: Mapping[str, str] | None = None, cwd: Path = ROOT
) -> dict[str, Any]:
    """One run of ``command`` as CI runs it (``CI=true``, from the checkout ``cwd``;
    ``environ`` adds variables): exit status, wall and CPU seconds, pytest's counts, failures
    and load. As on CI's fresh machine, no assertion rewrite is cached
    (``benchlib.clear_rewritten_bytecode``)."""
    environ = {**os.environ, "CI": "true", **(environ or {})}
    clear_rewritten_bytecode(cwd)
    before_load, cpu_before, started = load(), child_cpu_seconds(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True)
    wall = time.perf_counter() - started
    lines = done.stdout.splitlines()
    last = [line for line in lines if " in " in line and "passed" in line]
    counts = {kind: 0 for kind in ("passed", "failed", "skipped", "errors")}
    for number, kind in COUNTS.findall(last[-1] if last else ""):
        counts["errors" if kind.startswith("error") else kind] = int(number)
    return {
        "exit_status": done.returncode,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(child_cpu_seconds() - cpu_before, 1),
        **counts,
        # which tests failed, as pytest's short summary names them (a failed run is data too)
        "failures": [line[:300] for line in lines if line.startswith(("FAILED ", "ERROR "))],
        "load_before": before_load,
        "load_after": load(),
    }


def markdown(document: dict[str, Any]) -> list[str]:
    runs = document["runs"]
    walls = [r["wall_seconds"] for r in runs]
    out = [
        f"`{shlex.join(document['command'])}` with `CI=true` from the checkout, one run after",
        f"another, on commit `{document['commit']}`.",
        "",
        "| run | exit | wall s | CPU s (all its processes) | passed | failed | skipped |"
        " load before | load after |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for number, r in enumerate(runs, 1):
        out.append(
            f"| {number} | {r['exit_status']} | {r['wall_seconds']} | {r['cpu_seconds']} |"
            f" {r['passed']} | {r['failed']} | {r['skipped']} | {r['load_before']} |"
            f" {r['load_after']} |"
        )
    failures = [f"- run {n}: `{x}`" for n, r in enumerate(runs, 1) for x in r.get("failures", [])]
    out += [
        "",
        *([*failures, ""] if failures else []),
        f"Wall: {spread(walls)} s; CPU: {spread([r['cpu_seconds'] for r in runs])} s.",
        f"Goal: at most {GOAL_SECONDS:g} s wall on 2 cores: "
        + ("met." if runs and sorted(walls)[len(walls) // 2] <= GOAL_SECONDS else "not met."),
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = readme_test_command()
    document: dict[str, Any] = {
        "machine": machine(),
        "commit": git_commit(),
        "command": ["python3.11" if w == sys.executable else w for w in command],
        "runs": [],
    }
    for repeat in range(args.repeats):
        run = one_run(command)
        document["runs"].append(run)
        args.results.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"run {repeat + 1}: {run}", flush=True)
    print("\n".join(markdown(document)))
    return 0 if all(r["exit_status"] == 0 for r in document["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
