"""Harness CPU per default verdict (issue 27): CPU-seconds of ``snapconform run`` per mode at 0 ms.

    .venv/bin/python bench/cpu_bench.py [--repeats 3] [--label after]
                                        [--modes controlled declared observed embedded]
                                        [--results bench/cpu_results.json]
                                        [--compare LABEL=PYTHON ...]

Each run is the CLI in a subprocess with the default settings, as ``default_run_bench.py`` runs
it (seeds 0..N-1), at 0 ms latency so that CPU, not waiting, is what a run costs:

* controlled / declared / observed: against a freshly started reference server in this process
  (its CPU is not counted: the figure is the harness's, the CLI process);
* embedded: ``snapconform run`` with no target, the reference server inside the run's own
  process (its CPU counts: this is what a user's first ``snapconform run`` costs).

CPU is ``getrusage(RUSAGE_CHILDREN)`` (user + system of the CLI and its children): robust on a
loaded machine, unlike wall time. Modes are interleaved per repeat so that load spreads evenly.
``--label`` names the measured code (e.g. ``before``/``after``); runs with another label already
in ``--results`` are kept, so one file compares two commits measured in turn. Measured in turn,
minutes apart, two commits differ by the machine's drift as much as by their code: ``--compare
LABEL=PYTHON`` runs another checkout's CLI (PYTHON: the interpreter of a venv where it is
installed) right after each run of this one, same mode and seed, against the same server, so
the two labels share the load. Goal (issue 27): a default controlled verdict in at most 4
CPU-seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    child_blocks_read,
    child_cpu_seconds,
    child_system_seconds,
    git_commit,
    load,
    machine,
    reference_cpu_seconds,
    run_summary,
    spread,
    summary,
)
from default_run_bench import one_run

RESULTS = BENCH_DIR / "cpu_results.json"
GOAL_CPU_SECONDS = 4.0
MODES = ("controlled", "declared", "observed", "embedded")


def embedded_run(seed: int, python: str = sys.executable) -> dict[str, Any]:
    """``snapconform run --seed N`` with no target: the embedded reference server."""
    with tempfile.TemporaryDirectory(prefix="snapconform-cpu-") as scratch:
        report = Path(scratch) / "report"
        cpu_before, system_before = child_cpu_seconds(), child_system_seconds()
        blocks_before = child_blocks_read()
        started = time.perf_counter()
        command = [python, "-m", "snapconform", "run", "--seed", str(seed)]
        done = subprocess.run(
            [*command, "--report-dir", str(report)],
            capture_output=True,
            text=True,
            cwd=scratch,
            timeout=1800,
            check=False,
        )
        wall = time.perf_counter() - started
        cpu = child_cpu_seconds() - cpu_before
        system = child_system_seconds() - system_before
        blocks = child_blocks_read() - blocks_before
        document = run_summary(report, missing_ok=True)
    return {
        "mode": "embedded",
        "seed": seed,
        "exit_status": done.returncode,
        "verdict": document.get("verdict"),
        "requests": document.get("requests"),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "system_cpu_seconds": round(system, 3),
        "blocks_read": blocks,
    }


def measure(mode: str, seed: int, python: str = sys.executable) -> dict[str, Any]:
    if mode == "embedded":
        return embedded_run(seed, python)
    run = one_run(mode, 0.0, seed, python)
    keep = (
        *("mode", "seed", "exit_status", "verdict", "requests", "wall_seconds", "cpu_seconds"),
        *("system_cpu_seconds", "blocks_read"),
    )
    return {key: run[key] for key in keep}


def installed_commit(python: str) -> str:
    """The commit of the checkout whose snapconform ``python`` imports (``?`` if none)."""
    where = subprocess.run(
        [
            python,
            "-c",
            "import pathlib, snapconform; print(pathlib.Path(snapconform.__file__).parent.parent)",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tempfile.gettempdir(),
    ).stdout.strip()
    if not where:
        return "?"
    head = subprocess.run(
        ["git", "rev-parse", "--short=10", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        cwd=where,
    ).stdout.strip()
    return head or "?"


def rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    labels = list(dict.fromkeys(r["label"] for r in runs))
    for mode in MODES:
        for label in labels:
            mine = [r for r in runs if r["mode"] == mode and r["label"] == label]
            if mine:
                references = [
                    r["reference_cpu_seconds"] for r in mine if r.get("reference_cpu_seconds")
                ]
                out.append(
                    {
                        "mode": mode,
                        "label": label,
                        "commit": mine[0]["commit"],
                        "verdicts": sorted({str(r["verdict"]) for r in mine}),
                        "requests": [r["requests"] for r in mine],
                        "cpu_seconds": [r["cpu_seconds"] for r in mine],
                        "cpu_median": summary([r["cpu_seconds"] for r in mine])["median"],
                        "system_cpu_seconds": [
                            r["system_cpu_seconds"] for r in mine if "system_cpu_seconds" in r
                        ],
                        "blocks_read": [r["blocks_read"] for r in mine if "blocks_read" in r],
                        "wall_seconds": [r["wall_seconds"] for r in mine],
                        "load": [r["load"] for r in mine],
                        "reference_cpu_seconds": references,
                        "per_reference": [
                            round(r["cpu_seconds"] / r["reference_cpu_seconds"], 2)
                            for r in mine
                            if r.get("reference_cpu_seconds")
                        ],
                    }
                )
    return out


def markdown(document: dict[str, Any]) -> list[str]:
    out = [
        "| mode | code | verdicts | requests | CPU s per verdict | of which system |"
        " blocks read from disk | wall s | load (1 min) | reference workload, CPU s |"
        " verdict CPU / reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in document["rows"]:
        out.append(
            f"| {row['mode']} | {row['label']} (`{row['commit']}`) | {', '.join(row['verdicts'])}"
            f" | {spread(row['requests'])} | {spread(row['cpu_seconds'])} |"
            f" {spread(row.get('system_cpu_seconds') or [])} |"
            f" {spread(row.get('blocks_read') or [])} |"
            f" {spread(row['wall_seconds'])} | {spread([x[0] for x in row['load'] if x])} |"
            f" {spread(row.get('reference_cpu_seconds') or [])} |"
            f" {spread(row.get('per_reference') or [])} |"
        )
    out.append("")
    groups = list(
        dict.fromkeys(tuple(r["interleaved"]) for r in document["runs"] if r.get("interleaved"))
    )
    for group in groups:
        out.append(
            "Measured interleaved, run by run, same mode and seed (`--compare`): "
            + " and ".join(f"`{label}`" for label in group)
            + ". Other labels were measured in turn."
        )
        out.append("")
    out.append(
        "Reference workload: a fixed Python program (`benchlib.REFERENCE_WORKLOAD`), run alone"
        " in a fresh interpreter right before each verdict: the machine's speed at plain Python"
        " work. These machines drift: the same verdict has cost 20-25% more CPU a few minutes"
        " into a bench than on a quiet machine. Where the reference moves with the verdicts,"
        " the machine's speed explains the drift; where it does not, the drift lies in what a"
        " verdict does and the reference does not (a busy server on the other core, files,"
        " sockets, page faults: the system column is the kernel's part). Blocks read from disk"
        " (512 bytes each) show a run that found its interpreter and libraries evicted from the"
        " page cache and read them again, which costs kernel time."
    )
    out.append("")
    out.append(f"Goal: a default controlled verdict in at most {GOAL_CPU_SECONDS:g} CPU-seconds.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--label", default="current")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LABEL=PYTHON",
        help="also run the snapconform installed for PYTHON, interleaved, as LABEL",
    )
    args = parser.parse_args(argv)
    measured = [(args.label, sys.executable, git_commit())]
    for entry in args.compare:
        label, _, python = entry.partition("=")
        if not label or not python or not Path(python).exists():
            parser.error(f"--compare wants LABEL=PYTHON with an existing interpreter: {entry!r}")
        measured.append((label, python, installed_commit(python)))
    previous = (
        json.loads(args.results.read_text("utf-8")) if args.results.exists() else {"runs": []}
    )
    labels = {label for label, _, _ in measured}
    runs = [r for r in previous["runs"] if r["label"] not in labels]
    started = time.monotonic()
    for seed in range(args.repeats):
        for mode in args.modes:
            for label, python, commit in measured:
                before = load()
                reference = reference_cpu_seconds(python)
                result = {
                    **measure(mode, seed, python),
                    "label": label,
                    "commit": commit,
                    "load": before,
                    "reference_cpu_seconds": reference,
                }
                if len(measured) > 1:
                    result["interleaved"] = [name for name, _, _ in measured]
                runs.append(result)
                print(
                    f"[{time.monotonic() - started:5.0f}s] {label} {mode:10} seed {seed}:"
                    f" {result['verdict']}, {result['requests']} requests,"
                    f" {result['cpu_seconds']:.1f} CPU s, {result['wall_seconds']:.1f} s wall,"
                    f" load {before}, reference {reference:.3f} CPU s",
                    flush=True,
                )
    document = {"machine": machine(), "runs": runs, "rows": rows(runs)}
    args.results.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(document)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
