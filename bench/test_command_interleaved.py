"""The README's test command in two checkouts of the same product, interleaved (issue 27).

    python bench/test_command_interleaved.py before=/path/to/checkout after=/path/to/other
                                             [--pairs 3] [--results FILE]

For a change to the test suite (or its configuration) alone: both checkouts test the product this
interpreter has installed, so their ``snapconform/``, ``strategies/`` and ``contracts/`` must be
the same (``git diff`` between them empty: refused otherwise). Each pair runs the README's test
command once in each checkout, as ``test_command_bench.one_run`` runs it (``CI=true``, no cached
assertion rewrite), the order alternating from pair to pair; measured in turn, half an hour
apart, two runs differ by the machine's drift as much as by their suites. Prints every run and
the medians; ``--results`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchlib import load, machine, spread
from test_command_bench import one_run, readme_test_command

PRODUCT = ("snapconform", "strategies", "contracts")


def checkout(text: str) -> tuple[str, Path]:
    label, _, path = text.partition("=")
    root = Path(path).resolve()
    if not label or not (root / "README.md").is_file() or not (root / "tests").is_dir():
        raise argparse.ArgumentTypeError(f"want LABEL=CHECKOUT (a snapconform checkout): {text!r}")
    return label, root


def head(root: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True
    )
    return done.stdout.strip()


def same_product(first: str, second: str, where: Path) -> bool:
    """Whether commits ``first`` and ``second`` (both in the repository at ``where``) hold the
    same product."""
    done = subprocess.run(
        ["git", "diff", "--quiet", first, second, "--", *PRODUCT],
        cwd=where,
        capture_output=True,
    )
    return done.returncode == 0


def markdown(document: dict[str, Any]) -> list[str]:
    """The runs and each checkout's medians, for RESULTS.md."""
    labels = list(document["commits"])
    out = [
        "The README's test command in "
        + " and ".join(f"`{label}` (`{document['commits'][label]}`)" for label in labels)
        + ", two checkouts of the same product, interleaved pair by pair (the order alternating,"
        " `CI=true`, no cached assertion rewrite: `bench/test_command_interleaved.py`).",
        "",
        "| pair | checkout | exit | wall s | CPU s (all its processes) | passed | failed |"
        " skipped | load before | load after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    if document.get("note"):
        out[1:1] = ["", document["note"]]
    for r in document["runs"]:
        out.append(
            f"| {r['pair']} | {r['label']} | {r['exit_status']} | {r['wall_seconds']} |"
            f" {r['cpu_seconds']} | {r['passed']} | {r['failed']} | {r['skipped']} |"
            f" {r['load_before']} | {r['load_after']} |"
        )
    out.append("")
    medians = {}
    for label in labels:
        mine = [r for r in document["runs"] if r["label"] == label]
        walls, cpus = [r["wall_seconds"] for r in mine], [r["cpu_seconds"] for r in mine]
        medians[label] = (statistics.median(walls), statistics.median(cpus))
        out.append(f"- `{label}`: wall {spread(walls)} s; CPU {spread(cpus)} s.")
    if len(labels) == 2:
        (wall_a, cpu_a), (wall_b, cpu_b) = medians[labels[0]], medians[labels[1]]
        out.append(
            f"- `{labels[1]}` over `{labels[0]}`, medians: wall {wall_b / wall_a:.3f},"
            f" CPU {cpu_b / cpu_a:.3f}."
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2, type=checkout, metavar="LABEL=CHECKOUT")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--results", type=Path)
    parser.add_argument("--note", help="what the two checkouts differ by (shown in RESULTS.md)")
    args = parser.parse_args(argv)
    commits = {label: head(root) for label, root in args.checkouts}
    if not same_product(*commits.values(), where=args.checkouts[1][1]):
        print("the checkouts test different products: compare verdicts instead", file=sys.stderr)
        return 2
    document: dict[str, Any] = {
        "machine": machine(),
        "commits": commits,
        "load_before": load(),
        "note": args.note,
        "runs": [],
    }
    for pair in range(args.pairs):
        order = args.checkouts if pair % 2 == 0 else args.checkouts[::-1]
        for label, root in order:
            run = {
                "pair": pair,
                "label": label,
                **one_run(readme_test_command(root / "README.md"), cwd=root),
            }
            document["runs"].append(run)
            print(
                f"pair {pair} {label}: exit {run['exit_status']}, {run['wall_seconds']} s,"
                f" {run['cpu_seconds']} CPU-s, {run['passed']} passed, {run['failed']} failed,"
                f" load {run['load_before']} -> {run['load_after']}",
                flush=True,
            )
            if args.results:
                args.results.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(document)))
    return 0 if all(r["exit_status"] == 0 for r in document["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
