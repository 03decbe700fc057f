"""Run every benchmark of issue 9 and write bench/RESULTS.md from their JSON results.

    python bench/run_all.py [--quick] [--only validation,run,throughput,server]
    python bench/run_all.py --report-only     # regenerate RESULTS.md from the JSON files

The scripts run one after the other (never in parallel: the machine has 2 shared cores):

1. bench/server_bench.py      reference server figures (100 000 tasks)   -> server_results.json
2. bench/validation_bench.py  harness CPU per 1000-item response         -> validation_results.json
3. bench/run_bench.py         default ``snapconform run``                -> run_results.json
4. bench/throughput_bench.py  snapconform run vs bare schemathesis run   -> throughput_results.json

RESULTS.md quotes medians and ratios, the machine, and the load average around each script
(other engineers share the machine: high load inflates wall times, not ratios measured
interleaved).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from benchlib import BENCH_DIR, ROOT, load, machine

REPORT = BENCH_DIR / "RESULTS.md"

#: name -> (script, its results file, arguments for a full and for a quick run)
BENCHES: dict[str, tuple[str, str, list[str], list[str]]] = {
    "server": (
        "server_bench.py",
        "server_results.json",
        [],
        ["--tasks", "20000", "--seconds", "2"],
    ),
    "validation": (
        "validation_bench.py",
        "validation_results.json",
        ["--profile"],
        ["--repeats", "5"],
    ),
    "run": ("run_bench.py", "run_results.json", ["--repeats", "2"], ["--skip-counted"]),
    "throughput": (
        "throughput_bench.py",
        "throughput_results.json",
        ["--repeats", "3"],
        ["--repeats", "1"],
    ),
}


def run_script(name: str, quick: bool) -> dict[str, Any]:
    script, _, full, fast = BENCHES[name]
    command = [sys.executable, str(BENCH_DIR / script), *(fast if quick else full)]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    before = load()
    started = time.monotonic()
    completed = subprocess.run(command, cwd=BENCH_DIR, check=False, timeout=3600)
    return {
        "script": script,
        "exit_code": completed.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "load_before": before,
        "load_after": load(),
    }


def read(name: str) -> dict[str, Any] | None:
    path = BENCH_DIR / BENCHES[name][1]
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def goal(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def server_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## 4. Reference server (bench/server_bench.py, H2's script)", ""]
    if not data:
        return [*out, "No bench/server_results.json: run `python bench/server_bench.py`.", ""]
    out += [
        "Figures as written by the server's own benchmark (indexed server next to a naive",
        "full-scan baseline; the ratio is baseline / indexed, > 1 means the server is faster).",
        "",
        "```json",
        json.dumps({k: v for k, v in data.items() if k not in ("machine",)}, indent=2)[:6000],
        "```",
        "",
    ]
    return out


def validation_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## 2. Harness CPU per response (bench/validation_bench.py)", ""]
    if not data:
        return [*out, "not measured", ""]
    out += [
        f"Body: {data['items']}-item ListResult of the generated universe"
        f" ({data['body_bytes']:,} bytes). Medians over interleaved repeats: wall ms, and"
        " this thread's CPU ms (not inflated by waiting for a core on the loaded machine).",
        f"Load average before/after: {data['load_before']} / {data['load_after']}.",
        "",
        "| validator | wall median ms | wall p90 ms | CPU median ms | keeps verdicts |",
        "|---|---:|---:|---:|---|",
    ]
    for name, row in data["validators_ms"].items():
        keeps = "yes" if row["keeps_contract_verdicts"] else "**no**"
        out.append(
            f"| {name} | {fmt(row['median'])} | {fmt(row['p90'])} |"
            f" {fmt(row.get('cpu_median'))} | {keeps} |"
        )
    out += ["", "Verdicts on the probes (True = agrees with the contract):", ""]
    probes = next(iter(data["verdicts"].values())).keys()
    out.append("| validator | " + " | ".join(probes) + " |")
    out.append("|---|" + "---|" * len(probes))
    for name, verdicts in data["verdicts"].items():
        out.append(f"| {name} | " + " | ".join(str(verdicts[p]) for p in probes) + " |")
    out += [
        "",
        "Speed-up of the adopted validator (`snapconform.fastvalidate`, now behind"
        " `Contracts.errors`) over jsonschema:"
        f" **{fmt(data['speedup_validate_fast_vs_contracts_errors'])}x**."
        f" An invalid body still costs jsonschema's time (exact messages):"
        f" {fmt(data['validate_fast_invalid_body_ms']['median'])} ms.",
        "",
        "| oracle part | median ms |",
        "|---|---:|",
    ]
    for name, row in data["oracle_ms"].items():
        out.append(f"| {name} | {fmt(row['median'])} |")
    out.append(
        f"| ResponseAudit (engine, as shipped, per new response) |"
        f" {fmt(data['response_audit_ms']['median'])} |"
    )
    pure = data["oracle_ms"]["validation + pure oracle"]["median"]
    out += [
        "",
        f"Goal: validation + oracle <= {data['goal_ms']} ms median: {fmt(pure)} ms,"
        f" {goal(data['validation_plus_pure_oracle_meets_goal'])}.",
        "",
    ]
    if data.get("audit_profile"):
        out += [
            "Profile of the audit (pyinstrument):",
            "",
            "```",
            data["audit_profile"].strip(),
            "```",
            "",
        ]
    return out


def run_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## 1. Default `snapconform run` (bench/run_bench.py)", ""]
    if not data:
        return [*out, "not measured", ""]
    out += [
        f"Command: `{data['command']}` (embedded reference server, seed 0)."
        f" Load average before/after: {data['load_before']} / {data['load_after']}.",
        "",
        "| run | wall s | exit | verdict | requests | distinct filters (engine) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for index, run in enumerate(data["embedded_runs"]):
        out.append(
            f"| embedded #{index + 1} | {fmt(run['wall_seconds'])} | {run['exit_code']} |"
            f" {run['verdict']} | {fmt(run['requests'])} |"
            f" {fmt(run['distinct_filters_reported'])} |"
        )
    counted = data.get("counted_run")
    if counted:
        out += [
            "",
            f"Counted server-side (a counting Behaviour on the reference server, controlled mode):"
            f" {counted['server_list_calls']} list calls,"
            f" {counted['server_distinct_query_strings']} distinct query strings,"
            f" **{counted['server_distinct_filters']} distinct filters**"
            f" after normalisation; the run took {fmt(counted['wall_seconds'])} s"
            f" ({counted['verdict']}).",
        ]
    out += [
        "",
        f"Goals: median wall {fmt(data['wall_seconds']['median'])} s <= {data['goal_seconds']} s:"
        f" {goal(data['meets_time_goal'])}; >= {data['goal_distinct_filters']} distinct filter"
        f" cases: {goal(data['meets_filter_goal'])}.",
        "",
    ]
    return out


def throughput_section(data: dict[str, Any] | None) -> list[str]:
    out = [
        "## 3. Throughput: snapconform run vs bare schemathesis run (bench/throughput_bench.py)",
        "",
    ]
    if not data:
        return [*out, "not measured", ""]
    out += [
        f"Same reference server (API {data['api_version']}, one uvicorn worker), requests to"
        f" /api/snapservice/* counted by the server, CLI start-up included; budgets"
        f" {data['budget']}. Load average before/after: {data['load_before']}"
        f" / {data['load_after']}.",
        "",
        "| tool | run | requests | wall s | req/s | exit |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tool, rows in data["runs"].items():
        for index, row in enumerate(rows):
            out.append(
                f"| {tool} | {index + 1} | {row['requests']} | {fmt(row['wall_seconds'])} |"
                f" {fmt(row['requests_per_second'])} | {row['exit_status']} |"
            )
    rates = data["requests_per_second"]
    out += [
        "",
        f"Median req/s: snapconform {fmt(rates['snapconform']['median'])}, schemathesis"
        f" {fmt(rates['schemathesis']['median'])};"
        f" ratio **{fmt(data['ratio_snapconform_over_schemathesis'])}**"
        f" (goal >= {data['goal_ratio']}: {goal(data['meets_goal'])}).",
        "",
    ]
    return out


def write_report(runs: dict[str, Any]) -> None:
    host = machine()
    lines = [
        "# Benchmarks (issue 9)",
        "",
        "GENERATED by `python bench/run_all.py` (tox -e bench); do not edit by hand.",
        "",
        f"Machine: {host['nproc']} CPUs, {host['cpu_model']}, Python {host['python']}"
        f" ({host['implementation']}), {host['platform']}.",
        f"Written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load average now {load()}.",
        "",
        "The machine is shared with other engineers' jobs: wall times are inflated by the load",
        "shown per section; ratios between things measured interleaved in one process are the",
        "robust figures. Re-run on an idle machine before quoting absolute numbers.",
        "",
    ]
    if runs:
        lines += [
            "| script | exit | seconds | load before | load after |",
            "|---|---:|---:|---|---|",
        ]
        for run in runs.values():
            lines.append(
                f"| {run['script']} | {run['exit_code']} | {run['seconds']} |"
                f" {run['load_before']} | {run['load_after']} |"
            )
        lines.append("")
    lines += run_section(read("run"))
    lines += validation_section(read("validation"))
    lines += throughput_section(read("throughput"))
    lines += server_section(read("server"))
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster configurations")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    parser.add_argument("--report-only", action="store_true", help="only regenerate RESULTS.md")
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHES)}")
    runs: dict[str, Any] = {}
    if not args.report_only:
        for name in selected:
            runs[name] = run_script(name, args.quick)
    write_report(runs)
    failed = [name for name, run in runs.items() if run["exit_code"] != 0]
    if failed:
        print(f"benchmark script(s) failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
