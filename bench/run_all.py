"""Run the benchmarks of issue 18 and write bench/RESULTS.md and bench/detection.png.

    python bench/run_all.py                    # everything, full size (tox -e bench)
    python bench/run_all.py --quick            # small configurations, for development
    python bench/run_all.py --only detection --mutants sample --budgets 300,1000 --repeats 3
    python bench/run_all.py --report-only      # rewrite RESULTS.md/PNG from the JSON files

The scripts run one after the other (never in parallel: the machine has 2 shared cores), each
as a subprocess writing its JSON file; RESULTS.md is then written from the JSON files alone:

1. detection_bench.py   mutants caught per request sent: snapconform vs bare schemathesis
2. throughput_bench.py  equal work: one recorded request stream replayed by each side
3. default_run_bench.py the cost of a verdict per mode at 0, 40 and 200 ms latency
4. validation_bench.py  harness CPU per 1000-item response (shipped audit, bindings included)
5. server_bench.py      the reference server's own figures
6. cpu_bench.py         harness CPU per default verdict, per mode, at 0 ms (issue 27)
7. concurrency_bench.py a default controlled run at 40 ms latency, --concurrency 1 vs 8
8. test_command_bench.py the README's test command (the whole suite): wall and CPU time

RESULTS.md records the commit, the machine, the load average around each script, the number of
repetitions and the options of every section. Subset options: ``--mutants`` (all, sample, or
names), ``--budgets``, ``--repeats`` (at least 3 for a median with a spread), ``--latencies``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from typing import Any

from benchlib import BENCH_DIR, ROOT, git_commit, load, machine, spread

REPORT = BENCH_DIR / "RESULTS.md"
RUNS = BENCH_DIR / "run_all_results.json"
ORDER = (
    "detection",
    "throughput",
    "verdict",
    "validation",
    "server",
    "cpu",
    "concurrency",
    "testcmd",
    "testcpu",
)
SCRIPTS = {
    "detection": ("detection_bench.py", "detection_results.json"),
    "throughput": ("throughput_bench.py", "throughput_results.json"),
    "verdict": ("default_run_bench.py", "default_run_results.json"),
    "validation": ("validation_bench.py", "validation_results.json"),
    "server": ("server_bench.py", "server_results.json"),
    "cpu": ("cpu_bench.py", "cpu_results.json"),
    "concurrency": ("concurrency_bench.py", "concurrency_results.json"),
    "testcmd": ("test_command_bench.py", "test_command_results.json"),
    "testcpu": ("test_cpu_bench.py", "test_cpu_results.json"),
}


def script_arguments(name: str, args: argparse.Namespace) -> list[str]:
    repeats = args.repeats
    if name == "detection":
        mutants = args.mutants or ("sample" if args.quick else "all")
        budgets = args.budgets or ("300,1000" if args.quick else "100,300,1000,3000")
        out = ["--mutants", mutants, "--budgets", budgets, "--repeats", str(repeats), "--plot"]
        if args.tools:
            out += ["--tools", args.tools]
        return out
    if name == "throughput":
        return ["--repeats", str(repeats), "--record-budget", "450" if args.quick else "1000"]
    if name == "verdict":
        latencies = args.latencies or ("0" if args.quick else "0,40,200")
        return ["--repeats", str(repeats), "--latencies", *latencies.split(",")]
    if name == "validation":
        return ["--repeats", str(max(repeats, 5 if args.quick else 15)), "--profile"]
    if name == "server":
        return ["--tasks", "20000", "--seconds", "2"] if args.quick else []
    if name == "cpu":
        return ["--repeats", str(repeats), "--label", "run_all"]
    if name == "concurrency":
        return ["--repeats", str(repeats)]
    if name == "testcmd":
        return ["--repeats", str(1 if args.quick else repeats)]
    if name == "testcpu":
        return []
    raise ValueError(name)


def run_script(name: str, args: argparse.Namespace) -> dict[str, Any]:
    script = SCRIPTS[name][0]
    command = [sys.executable, str(BENCH_DIR / script), *script_arguments(name, args)]
    print(f"== {name}: {shlex.join(command[1:])}", flush=True)
    before = load()
    started = time.monotonic()
    completed = subprocess.run(command, cwd=BENCH_DIR, check=False, timeout=48 * 3600)
    return {
        "script": f"bench/{script}",
        "arguments": shlex.join(command[2:]),
        "exit_code": completed.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "load_before": before,
        "load_after": load(),
    }


def read(name: str) -> dict[str, Any] | None:
    path = BENCH_DIR / SCRIPTS[name][1]
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def stamp(data: dict[str, Any]) -> str:
    commits = data.get("commits") or [data.get("commit", "unknown")]
    named = ", ".join(f"`{c}`" for c in commits)
    return f"_Measured on commit{'s' if len(commits) > 1 else ''} {named}._"


def detection_section(data: dict[str, Any] | None) -> list[str]:
    import detection_bench

    out = ["## 1. Detection per request: snapconform vs bare schemathesis", ""]
    if data and data.get("runs") and "analysis" not in data:
        data["analysis"] = detection_bench.analyse(data)  # an interrupted run: what it has
    if not data or "analysis" not in data:
        return [*out, "Not measured in this run (`--only detection`).", ""]
    out += [
        stamp(data),
        "",
        "![mutants caught against requests sent](detection.png)",
        "",
        "How each tool's budget is enforced: snapconform by `--max-requests B` (it refuses a",
        "budget below the minimum a complete verdict needs: exit 2, no request sent, shown as",
        "'refused runs'); schemathesis has no request budget, so `--max-examples E` per budget,",
        "E calibrated on the faithful server, with `--continue-on-failure` (without it, it stops",
        "each operation at its first failure and sends ~92 requests whatever E is). The x-axis is",
        "the requests the server counted (API calls only; the control protocol of controlled",
        "mode is set-up, not counted). Which mode compares fairly: **observed** (credentials",
        "only, no control protocol), as a bare schemathesis run against a mock is; controlled",
        "mode (the mock's control protocol) is the strongest mode, not available against a real",
        "vCenter: its line is snapconform at its strongest."
        + (
            " The observed line is drawn next to it."
            if "observed" in data["settings"]["tools"]
            else " **The observed line was not measured in these runs** (see Scope above):"
            " the controlled line is not the like-for-like comparison."
        ),
        "",
        "snapconform's runs are `snapconform selftest --until-caught` cells: the default run",
        "(same plan, same order) on a fresh server, which for a mutant ends once one of the",
        "mutant's declared requirements failed. Whether the run catches the mutant at budget B",
        "is what the whole run gives (only what comes after the detection is left out); its line's",
        "x is the requests of the faithful server's whole run at that budget. A mutant a mode",
        "cannot observe is not run in that mode (each row says of how many mutants).",
        "",
        "Caught: the tool reports a failure kind (snapconform: a failed requirement id;",
        "schemathesis: a failure code and title) that the faithful server does not produce with",
        "the same tool, budget and seed. False positive: the faithful server flagged at all.",
        "",
        *detection_bench.markdown(data),
        "",
    ]
    return out


def throughput_section(data: dict[str, Any] | None) -> list[str]:
    import throughput_bench

    out = ["## 2. Throughput on equal work (one recorded request stream)", ""]
    if not data:
        return [*out, "Not measured in this run.", ""]
    return [
        *out,
        stamp(data),
        "",
        "What differs between the sides, measured separately: the transport (snapconform's",
        "httpx `Target` vs schemathesis' requests session) and the validation (snapconform's",
        "audit: schema + the endpoint's oracle + the official-bindings decode; schemathesis:",
        "its `--checks all` on a replayed GET, schema conformance of the body included). The",
        "validation cost is each side's total minus its transport-only figure.",
        "",
        *throughput_bench.markdown(data),
        "",
    ]


def verdict_section(verdict: dict[str, Any] | None, validation: dict[str, Any] | None) -> list:
    import default_run_bench

    out = ["## 3. The cost of a verdict", "", "### Requests and time to a complete verdict", ""]
    if verdict:
        out += [stamp(verdict), "", *default_run_bench.markdown(verdict), ""]
    else:
        out += ["Not measured in this run.", ""]
    out += ["### Harness CPU per 1000-item response (the shipped audit)", ""]
    if not validation or "response_audit_cpu_ms" not in validation:
        return [*out, "Not measured in this run.", ""]
    out += [
        stamp(validation),
        "",
        "The engine's `ResponseAudit` exactly as `snapconform run` calls it on every list",
        "response (schema, status-conditional rules, duplicate ids, unknown properties, and the",
        "official-bindings decode with its per-run cache), on this thread's CPU time, median",
        f"[min..max] of {validation.get('repeats', '?')} samples. Load average before/after:",
        f"{validation['load_before']} / {validation['load_after']}.",
        "",
        "| 1000-item response | audit CPU ms | audit + JSON parse CPU ms |",
        "|---|---|---|",
    ]
    for name, row in validation["response_audit_cpu_ms"].items():
        audit, parse = row["audit_only"], row["with_parse"]
        out.append(
            f"| {name} | {audit['median']:.1f} [{audit['min']:.1f}..{audit['max']:.1f}] |"
            f" {parse['median']:.1f} [{parse['min']:.1f}..{parse['max']:.1f}] |"
        )
    met = "met" if validation["audit_meets_goal"] else "**not met**"
    out += [
        "",
        f"Goal: at most {validation['goal_ms']:g} ms harness CPU per new 1000-item response:"
        f" {validation['audit_new_response_cpu_ms']:.1f} ms, {met}.",
        "",
    ]
    if validation.get("audit_profile"):
        out += [
            "Where the time goes (cProfile of the audit on new responses):",
            "",
            "```",
            validation["audit_profile"].strip(),
            "```",
            "",
        ]
    return out


def validation_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## 4. Validators and oracle parts on a 1000-item body", ""]
    if not data:
        return [*out, "Not measured in this run.", ""]
    out += [
        stamp(data),
        "",
        f"Body: {data['items']}-item ListResult ({data['body_bytes']:,} bytes). Parts of the",
        "audit measured alone (the audit above is what a run pays); medians, wall and CPU ms.",
        "",
        "| validator | wall ms | CPU ms | keeps the contract's verdicts |",
        "|---|---:|---:|---|",
    ]
    for name, row in data["validators_ms"].items():
        keeps = "yes" if row["keeps_contract_verdicts"] else "**no**"
        out.append(f"| {name} | {row['median']:.2f} | {row['cpu_median']:.2f} | {keeps} |")
    out += ["", "| oracle part | wall ms | CPU ms |", "|---|---:|---:|"]
    for name, row in data["oracle_ms"].items():
        out.append(f"| {name} | {row['median']:.2f} | {row['cpu_median']:.2f} |")
    return [*out, ""]


def server_section(data: dict[str, Any] | None, rerun: bool) -> list[str]:
    out = ["## 5. Reference server (bench/server_bench.py)", ""]
    if not data:
        return [*out, "Not measured in this run.", ""]
    if not rerun:
        out += [
            "_Not re-run by the runs recorded above: bench/server_results.json as last"
            " written (issue 9)._",
            "",
        ]
    if "commit" in data:
        out += [
            stamp(data),
            "",
            f"{data['tasks']:,} tasks; load average before/after: {data['load_before']} /"
            f" {data['load_after']}.",
            "",
        ]
    out += [
        "Indexed server next to a naive full-scan baseline (gain = baseline / ours, on the"
        " medians).",
        "",
        "| metric | ours | naive | gain | target | met |",
        "|---|---|---|---:|---:|---|",
    ]
    for name, row in data.get("metrics", {}).items():
        ours = spread(row["ours_runs"]) if "ours_runs" in row else f"{row['ours']:,.2f}"
        naive = spread(row["naive_runs"]) if "naive_runs" in row else f"{row['naive']:,.2f}"
        out.append(
            f"| {name} | {ours} | {naive} | {row['gain']:,.1f} |"
            f" {row['target']:g} | {'yes' if row['ok'] else '**no**'} |"
        )
    return [*out, ""]


def scope_notes() -> list[str]:
    """Where the figures below were measured on less than the full configuration, say so."""
    notes: list[str] = []
    detection = read("detection")
    if detection and "analysis" in detection:
        from snapconform.mutants import MUTANTS

        settings = detection["settings"]
        reduced = []
        if len(settings["mutants"]) < len(MUTANTS):
            reduced.append(f"{len(settings['mutants'])} of {len(MUTANTS)} mutants")
        if len(settings["seeds"]) < 3:
            reduced.append(f"{len(settings['seeds'])} seed(s), not 3")
        if settings["budgets"] != [100, 300, 1000, 3000]:
            reduced.append(f"budgets {settings['budgets']}, not [100, 300, 1000, 3000]")
        if len(settings["tools"]) < 3:
            reduced.append(f"tools {settings['tools']} only")
        if reduced:
            note = f"Detection (section 1) is a SUBSET: {'; '.join(reduced)}."
            seeds = len(settings["seeds"])
            if seeds < 3 and not settings.get("appended"):
                hours = detection.get("seconds", 0) / 3600
                note += (
                    f" This run took {hours:.1f} h on this machine for {seeds} seed(s); 3 seeds"
                    f" of the same take about {hours * 3 / seeds:.1f} h."
                )
            notes.append(note)
    verdict = read("verdict")
    if verdict:
        latencies = sorted({row["latency_ms"] for row in verdict["rows"]})
        reduced = []
        if verdict["repeats"] < 3:
            reduced.append(f"{verdict['repeats']} repeat(s), not 3")
        if latencies != [0.0, 40.0, 200.0]:
            reduced.append(f"latencies {latencies} ms, not [0, 40, 200]")
        if reduced:
            notes.append(f"The cost of a verdict (section 3) is a SUBSET: {'; '.join(reduced)}.")
    throughput = read("throughput")
    if throughput and throughput["repeats"] < 3:
        notes.append(f"Throughput (section 2): {throughput['repeats']} repeat(s), not 3.")
    if not notes:
        return []
    return ["**Scope.** " + " ".join(notes), ""]


def cpu_section(data: dict[str, Any] | None) -> list[str]:
    import cpu_bench

    out = ["## 6. Harness CPU per default verdict (issue 27)", ""]
    if not data or not data.get("rows"):
        return [*out, "Not measured in this run.", ""]
    return [*out, *cpu_bench.markdown(data), ""]


def concurrency_section(data: dict[str, Any] | None) -> list[str]:
    import concurrency_bench

    out = ["## 7. A remote mock: --concurrency at 40 ms latency (issue 27)", ""]
    if not data or not data.get("runs"):
        return [*out, "Not measured in this run.", ""]
    return [*out, stamp(data), "", *concurrency_bench.markdown(data), ""]


def test_command_section(data: dict[str, Any] | None) -> list[str]:
    import test_command_bench

    out = ["## 8. The README's test command (issue 27)", ""]
    if not data or not data.get("runs"):
        return [*out, "Not measured in this run.", ""]
    return [*out, *test_command_bench.markdown(data), ""]


def test_command_interleaved_section() -> list[str]:
    """Section 8's command in two checkouts, interleaved (written by hand-run
    ``test_command_interleaved.py --results bench/test_command_interleaved_results.json``)."""
    import test_command_interleaved

    path = BENCH_DIR / "test_command_interleaved_results.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    out = ["### The test command before and after a change to the suite, interleaved", ""]
    return [*out, *test_command_interleaved.markdown(data), ""]


def test_cpu_section(data: dict[str, Any] | None) -> list[str]:
    import test_cpu_bench

    out = ["## 9. Where the test command's CPU goes (issue 27)", ""]
    if not data or not data.get("breakdown"):
        return [*out, "Not measured in this run.", ""]
    return [*out, *test_cpu_bench.markdown(data), ""]


def _seconds(value: float | None) -> str:
    return "not recorded" if value is None else f"{value} s"


def write_report(runs: dict[str, Any]) -> None:
    host = machine()
    lines = [
        "# Benchmarks (issue 18)",
        "",
        "GENERATED by `tox -e bench` (`python bench/run_all.py`); do not edit by hand.",
        "",
        f"Commit `{git_commit()}`. Machine: {host['nproc']} CPUs ({host['cpu_model']}),"
        f" Python {host['python']} ({host['implementation']}), {host['platform']}.",
        f"Written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load average now {load()}.",
        "",
        "The machine is shared: wall times are inflated by the load shown per section. CPU times",
        "(this thread's, or the tool's child processes') and request counts are the robust",
        "figures. Every figure is `median [min..max] (n=repeats)`.",
        "",
        "The product's modules are byte-compiled before anything is measured, as a wheel's are"
        " when pip installs it (`benchlib.compile_product`). Figures of commits before 2026-12-04"
        " also counted compiling them afresh in every CLI process (~0.25 CPU-s per run).",
        "",
    ]
    if runs.get("scripts"):
        lines += [
            f"Last `run_all.py` invocation: `{runs['command']}` ({_seconds(runs['seconds'])}).",
            "",
            "| script | arguments | exit | seconds | load before | load after |",
            "|---|---|---:|---:|---|---|",
        ]
        for run in runs["scripts"].values():
            lines.append(
                f"| {run['script']} | `{run['arguments']}` | {run['exit_code']} |"
                f" {_seconds(run['seconds'])} | {run['load_before']} | {run['load_after']} |"
            )
        lines.append("")
    lines += scope_notes()
    lines += detection_section(read("detection"))
    lines += throughput_section(read("throughput"))
    lines += verdict_section(read("verdict"), read("validation"))
    lines += validation_section(read("validation"))
    lines += server_section(read("server"), "server" in runs.get("scripts", {}))
    lines += cpu_section(read("cpu"))
    lines += concurrency_section(read("concurrency"))
    lines += test_command_section(read("testcmd"))
    lines += test_command_interleaved_section()
    lines += test_cpu_section(read("testcpu"))
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small configurations")
    parser.add_argument("--only", default=",".join(ORDER), help=f"subset of {','.join(ORDER)}")
    parser.add_argument("--mutants", help="detection: all (default), sample, or NAME,NAME")
    parser.add_argument("--budgets", help="detection: request budgets (default 100,300,1000,3000)")
    parser.add_argument("--tools", help="detection: schemathesis,observed,controlled (default)")
    parser.add_argument("--latencies", help="verdict: latencies in ms (default 0,40,200)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats/seeds (>= 3: a spread)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite RESULTS.md")
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := sorted(set(selected) - set(ORDER)):
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(ORDER)}")
    if args.repeats < 3:
        print(f"warning: --repeats {args.repeats}: medians of fewer than 3 runs", file=sys.stderr)
    previous = json.loads(RUNS.read_text("utf-8")) if RUNS.exists() else {}
    runs: dict[str, Any] = previous
    if not args.report_only:
        started = time.monotonic()
        scripts = dict(previous.get("scripts", {}))
        for name in ORDER:
            if name in selected:
                scripts[name] = run_script(name, args)
                RUNS.write_text(json.dumps({**runs, "scripts": scripts}, indent=1), "utf-8")
        runs = {
            "command": shlex.join(["python", "bench/run_all.py", *(argv or sys.argv[1:])]),
            "seconds": round(time.monotonic() - started, 1),
            "scripts": scripts,
        }
        RUNS.write_text(json.dumps(runs, indent=1) + "\n", "utf-8")
    if (BENCH_DIR / SCRIPTS["detection"][1]).exists():
        import detection_bench

        data = read("detection")
        if data and data.get("runs"):
            data.setdefault("analysis", detection_bench.analyse(data))
            detection_bench.plot(data)
    write_report(runs)
    failed = [n for n, r in runs.get("scripts", {}).items() if r["exit_code"] != 0]
    if failed:
        print(f"benchmark script(s) failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
