"""Detection per request: snapconform and bare schemathesis against every mutant, side by side.

    .venv/bin/python bench/detection_bench.py [--budgets 100,300,1000,3000] [--repeats 3]
        [--mutants all|NAME,NAME|sample] [--tools schemathesis,observed,controlled]

For each repeat (the seed of both tools), each server (the faithful reference server and every
mutant of ``snapconform.mutants``), each tool and each request budget, a FRESH reference server
is started on loopback with the same data (the default 1500-task universe, seed 0; a mutant at
its API version) and the tool runs against it as a user runs it (its CLI in a subprocess):

* ``snapconform (observed)``: the default run with ``--max-requests B``, credentials only. It
  needs no control protocol, so it is the mode that compares fairly with a bare schemathesis
  run against a mock.
* ``snapconform (controlled)``: the same through the mock's control protocol (it pushes its own
  universes: the strongest mode, not available against a real server).

  Both run as ``snapconform selftest --until-caught`` cells (``snapconform.selftest``): each
  cell is the default run (``snapconform run``'s session, in a selftest worker process with
  ``--jobs`` above 1) on a fresh server (observed: the default 1500-task universe of the seed),
  read back from its summary.json alone, and a mutant's run ends once one of the mutant's declared
  requirements failed. The run is the default one up to that point (same plan, same order),
  so whether it catches the mutant at budget B is what the whole run gives; only what comes
  after the detection (the rest of the check in progress, the checks after it) is left out,
  which is what makes every mutant at every budget and seed affordable. The faithful server's
  runs are whole. A mutant a mode cannot observe (selftest's own rule) is not run in that mode:
  each line says of how many mutants.
* ``schemathesis``: ``schemathesis run OPENAPI --checks all --continue-on-failure`` (every
  default phase, one worker, HTTP Basic as the administrator, ``--generation-database none``).
  Schemathesis has no request budget: it is bounded by ``--max-examples E``, with E chosen per
  budget from a calibration on the faithful server (requests ~ a + b*E, fitted on E=1 and E=100).
  ``--continue-on-failure`` makes it spend its examples: without it, it stops each operation at
  its first failure, and sends ~92 requests whatever E is (the faithful server already gives it
  failures).

The requests each tool sent to ``/api/snapservice/*`` (the control protocol of controlled mode is
set-up, not counted) are the x-axis, not the budget: schemathesis' as the server counts them,
snapconform's as its summary.json does (``requests`` plus the logouts of ``closing_requests``,
the same count: selftest's cells matched the server's numbering request for request).

Cells run ``--jobs`` at a time (default 2): counts of requests and failures do not depend on
the load, but the CPU and wall columns do (they are per run, from the same machine).

A mutant is **caught** by a tool at a budget when the tool reports a failure kind (snapconform: a
failed requirement id; schemathesis: a failure code and title) that the faithful server, run with
the same tool, budget and seed, does not produce. The same rule for both tools. A **false
positive** is the faithful server flagged at all (snapconform: a non-conformant verdict or any
failed requirement; schemathesis: any failure). snapconform's stricter count (one of the
mutant's declared requirements failed, selftest's rule) is reported next to it.

``--append --tools controlled,observed --seeds 0,1,2`` measures snapconform again and keeps the
runs of bare schemathesis, which depend only on the servers, the contract and schemathesis: kept
only when ``git diff`` shows no change to the servers and the contract since they were measured
(else an error), and the section names the commit and the tool versions of each line.

Writes bench/detection_results.json (after every run: an interrupted run keeps its data) and,
with ``--plot``, bench/detection.png.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    counted_server,
    git_commit,
    load,
    machine,
    openapi_file,
    run_schemathesis,
    server_config,
    spread,
)

RESULTS = BENCH_DIR / "detection_results.json"
FIGURE = BENCH_DIR / "detection.png"
TOOLS = ("schemathesis", "observed", "controlled")
LABELS = {
    "schemathesis": "schemathesis run --checks all",
    "observed": "snapconform run (observed mode)",
    "controlled": "snapconform run (controlled mode)",
}
FAITHFUL = "faithful"
#: ``--mutants sample``: one mutant of each area (a quick, representative subset).
SAMPLE = (
    "filter-ignores-status",
    "cap-truncates",
    "auth-no-privilege-check",
    "contract-running-without-progress",
    "intermittent-duplicates",
)
CALIBRATION_EXAMPLES = (1, 100)


def mutant_names(choice: str) -> list[str]:
    from snapconform.mutants import MUTANTS, get

    if choice == "all":
        return list(MUTANTS)
    if choice == "sample":
        return list(SAMPLE)
    names = [n.strip() for n in choice.split(",") if n.strip()]
    for name in names:
        get(name)  # a clear error for an unknown name
    return names


def calibrate(schema: Path) -> dict[str, Any]:
    """Requests schemathesis sends on the faithful server per --max-examples: a + b*E."""
    points = []
    for examples in CALIBRATION_EXAMPLES:
        with counted_server(server_config(None, control=False)) as server:
            run = run_schemathesis(server, schema, seed=0, max_examples=examples)
        points.append((examples, run["requests"]))
        print(f"calibration: --max-examples {examples}: {run['requests']} requests", flush=True)
    (e1, r1), (e2, r2) = points
    slope = max((r2 - r1) / (e2 - e1), 0.1)
    return {"points": points, "intercept": r1 - slope * e1, "slope": slope}


def examples_for(budget: int, calibration: dict[str, Any]) -> int:
    return max(1, round((budget - calibration["intercept"]) / calibration["slope"]))


def one_run(
    tool: str, mutant: str | None, budget: int, seed: int, schema: Path, calibration: Any
) -> dict[str, Any]:
    """One bare schemathesis run on a fresh server (snapconform's runs: ``snapconform_runs``)."""
    assert tool == "schemathesis", tool
    with counted_server(server_config(mutant, control=False)) as server:
        run = run_schemathesis(
            server, schema, seed=seed, max_examples=examples_for(budget, calibration)
        )
    run["kinds"] = run["failure_kinds"]
    run["flagged"] = run["exit_status"] != 0 or bool(run["failure_kinds"])
    run["label"] = run.pop("tool")
    return {**run, "tool": tool, "server": mutant or FAITHFUL, "budget": budget, "seed": seed}


SNAPCONFORM_MODES = ("observed", "controlled")


def snapconform_runs(
    modes: list[str], mutants: list[str], budget: int, seed: int, jobs: int
) -> list[dict[str, Any]]:
    """snapconform's runs at ``budget`` and ``seed``: selftest --until-caught cells."""
    from snapconform.selftest import run_matrix
    from snapconform.selftest.cells import SelftestConfig

    config = SelftestConfig(
        mutants=tuple(mutants),
        variants=(),
        modes=tuple(modes),  # type: ignore[arg-type]
        seed=seed,
        faithful_seeds=(seed,),
        max_requests=budget,
        jobs=jobs,
        until_caught=True,
    )
    runs = []
    for cell in run_matrix(config):
        refused = cell.verdict == "error" and "below the minimum" in (cell.reason or "")
        runs.append(
            {
                "tool": cell.mode,
                "label": f"snapconform selftest --until-caught ({cell.mode})",
                "server": cell.subject,
                "budget": budget,
                "seed": seed,
                "requests": cell.requests,
                "kinds": list(cell.failed),
                "caught_by": list(cell.caught_by),
                "requests_to_detect": cell.requests_to_detect,
                "verdict": cell.verdict,
                "flagged": cell.verdict == "non-conformant" or bool(cell.failed),
                "refused": refused,
                "error": None if refused or cell.verdict != "error" else cell.reason,
                "exit_status": 2 if refused else None,
                "cpu_seconds": None,
                "wall_seconds": cell.seconds,
            }
        )
    return runs


def caught(run: dict[str, Any], faithful: dict[str, Any] | None) -> bool:
    baseline = set(faithful["kinds"]) if faithful else set()
    return bool(set(run["kinds"]) - baseline)


def strictly_caught(run: dict[str, Any]) -> bool:
    from snapconform.mutants import get

    return bool(set(run["kinds"]) & set(get(run["server"]).requirements))


def analyse(document: dict[str, Any]) -> dict[str, Any]:
    """Per tool and budget: caught, strictly caught, false positives, requests (per seed)."""
    runs = document["runs"]
    faithful = {(r["tool"], r["budget"], r["seed"]): r for r in runs if r["server"] == FAITHFUL}
    table: dict[str, dict[str, Any]] = {}
    for tool in document["settings"]["tools"]:
        table[tool] = {}
        for budget in document["settings"]["budgets"]:
            per_seed: dict[int, dict[str, Any]] = {}
            for run in runs:
                if run["tool"] != tool or run["budget"] != budget:
                    continue
                row = per_seed.setdefault(
                    run["seed"],
                    {
                        "caught": 0,
                        "strict": 0,
                        "mutants": 0,
                        "fp": None,
                        "requests": [],
                        "refused": 0,
                        "cpu": [],
                        "wall": [],
                    },
                )
                row["requests"].append(run["requests"])
                if run["cpu_seconds"] is not None:
                    row["cpu"].append(run["cpu_seconds"])
                row["wall"].append(run["wall_seconds"])
                row["refused"] += bool(run.get("refused"))
                if run["server"] == FAITHFUL:
                    row["fp"] = run["flagged"]
                    continue
                row["mutants"] += 1
                baseline = faithful.get((tool, budget, run["seed"]))
                row["caught"] += caught(run, baseline)
                if tool != "schemathesis":
                    row["strict"] += strictly_caught(run)
            if not per_seed:
                continue
            seeds = sorted(per_seed)
            table[tool][str(budget)] = {
                "seeds": seeds,
                "mutants": per_seed[seeds[0]]["mutants"],
                "caught": [per_seed[s]["caught"] for s in seeds],
                "strictly_caught": [per_seed[s]["strict"] for s in seeds]
                if tool != "schemathesis"
                else None,
                "false_positive": [per_seed[s]["fp"] for s in seeds],
                "refused_runs": [per_seed[s]["refused"] for s in seeds],
                # requests per server run, the median server of each seed; snapconform's
                # mutant runs end at detection, so its line uses the faithful (whole) run's
                "requests_per_run": [
                    faithful[(tool, budget, s)]["requests"]
                    if tool != "schemathesis" and (tool, budget, s) in faithful
                    else statistics.median(per_seed[s]["requests"])
                    for s in seeds
                ],
                "cpu_seconds_per_run": [
                    statistics.median(per_seed[s]["cpu"]) for s in seeds if per_seed[s]["cpu"]
                ],
                "wall_seconds_per_run": [statistics.median(per_seed[s]["wall"]) for s in seeds],
            }
    return table


def plot(document: dict[str, Any], path: Path = FIGURE) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = document["analysis"]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    markers = {"schemathesis": "s", "observed": "o", "controlled": "^"}
    mutants = 0
    for tool, rows in table.items():
        xs, ys, lo, hi, fps, refused = [], [], [], [], [], []
        for budget, row in rows.items():
            requests = statistics.median(row["requests_per_run"])
            if requests == 0:  # refused budget: no request sent, no point
                refused.append(str(budget))
                continue
            mutants = max(mutants, row["mutants"])
            caught_counts = row["caught"]
            median = statistics.median(caught_counts)
            xs.append(requests)
            ys.append(median)
            lo.append(median - min(caught_counts))
            hi.append(max(caught_counts) - median)
            fps.append(any(row["false_positive"]))
        if not xs:
            continue
        notes = [f"budget {', '.join(refused)} refused"] if refused else []
        run_on = {row["mutants"] for row in rows.values()}
        if len(run_on) == 1 and (count := run_on.pop()) < len(document["settings"]["mutants"]):
            notes.append(f"run on the {count} mutants this mode can observe")
        label = LABELS[tool] + (f" ({'; '.join(notes)})" if notes else "")
        ax.errorbar(xs, ys, yerr=[lo, hi], marker=markers.get(tool, "o"), capsize=3, label=label)
        for x, y, fp in zip(xs, ys, fps, strict=True):
            if fp:
                ax.annotate(
                    "FP",
                    (x, y),
                    textcoords="offset points",
                    xytext=(4, -12),
                    fontsize=8,
                    color="red",
                )
    ax.set_xscale("log")
    ax.set_xlabel("requests sent per run (counted by the server, median)")
    ax.set_ylabel(f"mutants caught (of {mutants}; median over seeds, bars: min-max)")
    settings = document["settings"]
    ax.set_title(
        f"Detection per request ({len(settings['seeds'])} seeds; FP: faithful server flagged)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(document: dict[str, Any]) -> list[str]:
    """The section of RESULTS.md (bench/run_all.py)."""
    settings = document["settings"]
    which = (
        "all of snapconform.mutants" if settings["all_mutants"] else ", ".join(settings["mutants"])
    )
    out = [
        f"Servers: the faithful reference server and {len(settings['mutants'])} mutant(s)"
        f" ({which}),"
        f" each run on a fresh server with the same 1500-task universe; seeds {settings['seeds']};"
        f" budgets {settings['budgets']}. schemathesis `--max-examples` per budget (calibrated on"
        f" the faithful server, requests ~ {document['calibration']['intercept']:.0f} +"
        f" {document['calibration']['slope']:.2f} x E):"
        f" {settings['schemathesis_examples']}. Load average before/after:"
        f" {document['load_before']} / {document['load_after']}."
        + (
            f" Lines added by later `detection_bench.py` runs: {settings['appended']}."
            if settings.get("appended")
            else ""
        )
        + (
            " Measured on: "
            + "; ".join(
                f"{LABELS[tool]} on {commit}"
                f" ({_versions_text(document.get('versions_of', {}).get(tool))})"
                for tool, commit in document["measured_on"].items()
            )
            + ". Runs of bare schemathesis are kept from an earlier commit only when the servers"
            f" and the contract ({', '.join(SERVER_SOURCES)}) are unchanged since (`git diff`"
            " empty)."
            if len(set(document.get("measured_on", {}).values())) > 1
            else f" Versions: {_versions_text(document.get('versions'))}."
        ),
        "",
        "| tool | budget | requests sent per run | mutants caught | strictly caught"
        " (declared requirement) | faithful flagged (false positive) | refused runs"
        " | CPU s per run (tool) |",
        "|---|---:|---|---|---|---|---:|---|",
    ]
    for tool, rows in document["analysis"].items():
        for budget, row in rows.items():
            strict = spread(row["strictly_caught"]) if row["strictly_caught"] else "n/a"
            fp = sum(bool(x) for x in row["false_positive"])
            out.append(
                f"| {LABELS[tool]} | {budget} | {spread(row['requests_per_run'])} |"
                f" {spread(row['caught'])} of {row['mutants']} | {strict} |"
                f" {fp} of {len(row['false_positive'])} seeds | {sum(row['refused_runs'])} |"
                f" {spread(row['cpu_seconds_per_run']) if row['cpu_seconds_per_run'] else 'n/a'} |"
            )
    return out + like_for_like(document)


def like_for_like(document: dict[str, Any]) -> list[str]:
    """For a snapconform mode run on fewer mutants: which, and schemathesis on the same ones."""
    runs = document["runs"]
    out: list[str] = []
    for tool in SNAPCONFORM_MODES:
        servers = {r["server"] for r in runs if r["tool"] == tool} - {FAITHFUL}
        left_out = sorted(set(document["settings"]["mutants"]) - servers)
        if not servers or not left_out:
            continue
        faithful = {
            (r["budget"], r["seed"]): r
            for r in runs
            if r["tool"] == "schemathesis" and r["server"] == FAITHFUL
        }
        per_budget = []
        for budget in document["settings"]["budgets"]:
            per_seed: dict[int, int] = {}
            for r in runs:
                if r["tool"] == "schemathesis" and r["budget"] == budget and r["server"] in servers:
                    hit = caught(r, faithful.get((budget, r["seed"])))
                    per_seed[r["seed"]] = per_seed.get(r["seed"], 0) + hit
            if per_seed:
                per_budget.append(f"{budget}: {spread(list(per_seed.values()))}")
        out += [
            "",
            f"{LABELS[tool]} is not run on {len(left_out)} mutant(s) it cannot observe"
            f" ({', '.join(f'`{m}`' for m in left_out)}). On the same {len(servers)} mutants,"
            " bare schemathesis caught, per budget: " + ("; ".join(per_budget) or "not run") + ".",
        ]
    return out


#: What a bare schemathesis run depends on besides schemathesis itself: the servers it is run
#: against and the contract it reads. Unchanged since its runs were measured, they still hold.
SERVER_SOURCES = ("snapconform/server", "snapconform/mutants", "contracts")


def tool_versions() -> dict[str, str]:
    """The versions of the tools a detection figure depends on (from this environment)."""
    from importlib.metadata import version

    return {name: version(name) for name in ("schemathesis", "hypothesis")}


def servers_unchanged_since(commit: str, how: str) -> None:
    """ValueError unless the servers and the contract are as at ``commit`` (git diff is empty):
    runs of bare schemathesis kept from ``commit`` then measure the servers of this checkout."""
    import subprocess

    from benchlib import ROOT

    done = subprocess.run(
        ["git", "diff", "--quiet", commit.removesuffix("+dirty"), "--", *SERVER_SOURCES],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise ValueError(
            f"{how}: the schemathesis runs kept were measured on {commit}, and the servers or"
            f" the contract ({', '.join(SERVER_SOURCES)}) changed since (or that commit is"
            " unknown here): run schemathesis again (--tools with schemathesis)"
        )


def _versions_text(versions: dict[str, str] | None) -> str:
    if not versions:
        return "tool versions not recorded"
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def combined(base: dict[str, Any], new: dict[str, Any], how: str) -> dict[str, Any]:
    """``new`` on top of ``base``: new's tools and seeds replace base's runs of them.

    For ``--append`` (``new`` is the run about to start) and ``--merge`` (``new`` was measured
    in another checkout). Same mutants and budgets, or ValueError; base's schemathesis
    calibration is kept, so appended runs spend the same ``--max-examples``; seeds, tools and
    commits are united, seconds added.
    """
    for key in ("budgets", "mutants"):
        if new["settings"][key] != base["settings"][key]:
            raise ValueError(f"{how}: other {key} than bench/{RESULTS.name}")
    ours, theirs = base["settings"], new["settings"]
    replaced = {(tool, seed) for tool in theirs["tools"] for seed in theirs["seeds"]}
    kept_tools = {r["tool"] for r in base["runs"] if (r["tool"], r["seed"]) not in replaced}
    measured_on = {
        **{tool: base.get("measured_on", {}).get(tool, base["commit"]) for tool in kept_tools},
        **{tool: new["commit"] for tool in theirs["tools"]},
    }
    if "schemathesis" in kept_tools and "schemathesis" not in theirs["tools"]:
        servers_unchanged_since(measured_on["schemathesis"], how)
    return {
        "measured_on": measured_on,
        # per tool, the versions its kept runs were measured with (None: not recorded)
        "versions_of": {
            **{
                tool: base.get("versions_of", {}).get(tool, base.get("versions"))
                for tool in kept_tools
            },
            **{tool: new.get("versions") for tool in theirs["tools"]},
        },
        **new,
        "runs": [r for r in base["runs"] if (r["tool"], r["seed"]) not in replaced] + new["runs"],
        "load_before": base["load_before"],
        "calibration": base["calibration"]
        if ours.get("schemathesis_examples")
        else new["calibration"],
        "settings": {
            **theirs,
            "seeds": sorted({*ours["seeds"], *theirs["seeds"]}),
            "tools": [t for t in TOOLS if t in ours["tools"] or t in theirs["tools"]],
            "schemathesis_examples": ours.get("schemathesis_examples")
            or theirs["schemathesis_examples"],
            "appended": [
                *ours.get("appended", []),
                f"{how}: --tools {','.join(theirs['tools'])}"
                f" --seeds {','.join(map(str, theirs['seeds']))}",
            ],
        },
        "commits": sorted(
            {*base.get("commits", [base["commit"]]), *new.get("commits", [new["commit"]])}
        ),
        "seconds": round(base.get("seconds", 0) + new.get("seconds", 0), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="100,300,1000,3000")
    parser.add_argument("--repeats", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument(
        "--seeds", help="these seeds instead of 0..N-1 (e.g. 1,2 with --append to add seeds)"
    )
    parser.add_argument("--mutants", default="all", help="all, sample, or NAME,NAME")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--plot", action="store_true", help="also draw bench/detection.png")
    parser.add_argument("--plot-only", action="store_true", help="redraw from the JSON file")
    parser.add_argument(
        "--append",
        action="store_true",
        help="add these tools' and seeds' runs to the existing results (same mutants and budgets;"
        " schemathesis keeps the existing calibration)",
    )
    parser.add_argument(
        "--merge",
        metavar="OTHER_JSON",
        help="add the runs of another results file (e.g. the observed line, measured in another"
        " checkout at the same time; same mutants and budgets) to bench/detection_results.json",
    )
    args = parser.parse_args(argv)
    if args.plot_only:
        plot(json.loads(RESULTS.read_text("utf-8")))
        return 0
    if args.merge:
        try:
            document = combined(
                json.loads(RESULTS.read_text("utf-8")),
                json.loads(Path(args.merge).read_text("utf-8")),
                "merged from another checkout",
            )
        except ValueError as exc:
            parser.error(str(exc))
        document["analysis"] = analyse(document)
        RESULTS.write_text(json.dumps(document, indent=1) + "\n", "utf-8")
        print("\n".join(markdown(document)))
        plot(document)
        return 0
    budgets = sorted({int(b) for b in args.budgets.split(",")})
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := set(tools) - set(TOOLS):
        parser.error(f"unknown tool(s) {sorted(unknown)}; choose from {TOOLS}")
    mutants = mutant_names(args.mutants)
    seeds = (
        sorted({int(s) for s in args.seeds.split(",")}) if args.seeds else list(range(args.repeats))
    )
    previous = json.loads(RESULTS.read_text("utf-8")) if args.append and RESULTS.exists() else None
    with tempfile.TemporaryDirectory(prefix="snapconform-detection-") as scratch:
        schema = openapi_file(Path(scratch))
        if previous is not None and previous["settings"].get("schemathesis_examples"):
            # Appended schemathesis runs must spend the same --max-examples as the kept ones.
            calibration = previous["calibration"]
        elif "schemathesis" in tools:
            calibration = calibrate(schema)
        else:
            calibration = {"intercept": 0, "slope": 1}
        document: dict[str, Any] = {
            "machine": machine(),
            "versions": tool_versions(),
            "commit": git_commit(),
            "load_before": load(),
            "calibration": calibration,
            "settings": {
                "budgets": budgets,
                "seeds": seeds,
                "tools": tools,
                "mutants": mutants,
                "all_mutants": args.mutants == "all",
                "schemathesis_examples": {b: examples_for(b, calibration) for b in budgets}
                if "schemathesis" in tools
                else None,
            },
            "runs": [],
        }
        if previous is not None:
            try:
                document = combined(previous, document, "appended")
            except ValueError as exc:
                parser.error(str(exc))
        started = time.monotonic()

        def record(run: dict[str, Any]) -> None:
            document["runs"].append(run)
            print(
                f"[{time.monotonic() - started:7.0f}s] seed {run['seed']} {run['server']:36}"
                f" {run['tool']:12} budget {run['budget']:5}: {run['requests']:5} requests,"
                f" exit {run['exit_status']}, kinds {run['kinds'][:4]}",
                flush=True,
            )
            document["load_after"] = load()
            RESULTS.write_text(json.dumps(document, indent=1) + "\n", "utf-8")

        modes = [t for t in tools if t in SNAPCONFORM_MODES]
        for seed in seeds:
            for budget in budgets:
                if modes:
                    for run in snapconform_runs(modes, mutants, budget, seed, args.jobs):
                        record(run)
                if "schemathesis" in tools:
                    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                        cells = [
                            pool.submit(
                                one_run, "schemathesis", mutant, budget, seed, schema, calibration
                            )
                            for mutant in [None, *mutants]
                        ]
                        for cell in cells:
                            record(cell.result())
    document["analysis"] = analyse(document)
    document["load_after"] = load()
    # with --append: the seconds of every run that made the document
    document["seconds"] = round(time.monotonic() - started + document.get("seconds", 0), 1)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n", "utf-8")
    print("\n".join(markdown(document)))
    if args.plot:
        plot(document)
        print(f"wrote {FIGURE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
