"""``snapconform selftest`` on the command line: its arguments, and the run that prints the
matrix and writes the result."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from snapconform.config import RunConfig
from snapconform.mutants import AREAS, MUTANTS, UnknownMutantError, get
from snapconform.selftest.cells import (
    MODES,
    CellResult,
    SelftestConfig,
    SelftestError,
    plan,
    variant_subject,
)
from snapconform.selftest.render import (
    README_START,
    render_markdown,
    render_text,
    result_document,
    update_readme,
)
from snapconform.selftest.runner import run_matrix
from snapconform.server.variants import VARIANTS, UnknownVariantError, get as get_variant
from snapconform.settings import use_hypothesis_storage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        metavar="MODE",
        help="modes to run (controlled declared observed; default: all)",
    )
    parser.add_argument(
        "--mutants", nargs="+", metavar="NAME", help="mutants to run (default: all; see --list)"
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        metavar="NAME",
        help="documented variants the faithful server plays, each must be conformant (default:"
        " all; none: --variants with no name)",
    )
    parser.add_argument(
        "--areas",
        nargs="+",
        choices=AREAS,
        metavar="AREA",
        help=f"only mutants of these areas ({', '.join(AREAS)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    parser.add_argument(
        "--faithful-seeds",
        type=int,
        default=1,
        metavar="N",
        help="runs of the faithful server per mode, seeds seed..seed+N-1 (default 1)",
    )
    parser.add_argument("--max-examples", type=int, default=RunConfig.max_examples)
    parser.add_argument("--max-requests", type=int, default=RunConfig.max_requests)
    parser.add_argument("--jobs", type=int, default=2, help="cells run in parallel (default 2)")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("reports/selftest.json"),
        metavar="FILE",
        help="JSON result (default reports/selftest.json)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="also write the matrix as Markdown; a file with the marker block keeps its prose",
    )
    parser.add_argument(
        "--update-readme",
        type=Path,
        nargs="?",
        const=Path("README.md"),
        metavar="README",
        help="rewrite the mutation-matrix block of README.md",
    )
    parser.add_argument(
        "--focus",
        action="store_true",
        help="mutant runs check only their own requirements (fast); faithful runs stay whole",
    )
    parser.add_argument(
        "--until-caught",
        action="store_true",
        help="a mutant's run (the whole default run, same plan) ends once one of its requirements"
        " failed or the response audit flagged it, also within a check: the same detections"
        " and @N, in a fraction of the time",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        metavar="DIR",
        help="keep each cell's report directory (summary.json, run.log, worker.log and the"
        " run's reports) under DIR (default: a temporary directory, removed at the end, with"
        " summary.json alone)",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")


def config_from(args: argparse.Namespace) -> SelftestConfig:
    names = list(args.mutants) if args.mutants else list(MUTANTS)
    try:
        chosen = [get(name) for name in names]
    except UnknownMutantError as exc:
        raise SelftestError(str(exc)) from None
    if args.areas:
        chosen = [m for m in chosen if m.area in args.areas]
    if args.max_examples < 1 or args.max_requests < 1 or args.jobs < 1:
        raise SelftestError("--max-examples, --max-requests and --jobs must be at least 1")
    if args.faithful_seeds < 0:
        raise SelftestError("--faithful-seeds must be at least 0")
    modes = tuple(m for m in MODES if m in args.modes)
    variants = list(VARIANTS) if args.variants is None else list(args.variants)
    try:
        variants = [get_variant(name).name for name in variants]
    except UnknownVariantError as exc:
        raise SelftestError(str(exc)) from None
    return SelftestConfig(
        mutants=tuple(m.name for m in chosen),
        variants=tuple(variants),
        modes=modes,
        seed=args.seed,
        faithful_seeds=tuple(range(args.seed, args.seed + args.faithful_seeds)),
        max_examples=args.max_examples,
        max_requests=args.max_requests,
        jobs=args.jobs,
        focus=args.focus,
        until_caught=args.until_caught,
        work_dir=args.work_dir,
    )


def main(args: argparse.Namespace) -> int:
    if args.list:
        for mutant in MUTANTS.values():
            modes = ",".join(m for m in MODES if m in mutant.modes)
            print(f"{mutant.name:<38} {mutant.area:<12} {modes:<27} {mutant.description}")
        for variant in VARIANTS.values():
            subject = variant_subject(variant.name)
            print(
                f"{subject:<38} {'variant':<12} {'all (must be conformant)':<27}"
                f" {variant.description}"
            )
        return 0
    try:
        config = config_from(args)
    except SelftestError as exc:
        print(f"snapconform selftest: {exc}")
        return 2
    # each run's Hypothesis writes below its own report directory; this process' below the
    # output's (never .hypothesis/ in the working directory)
    use_hypothesis_storage(args.output.absolute().parent, os.environ)
    cells = plan(config)
    print(f"snapconform selftest: {len(cells)} runs ({config.jobs} in parallel)", flush=True)

    def progress(result: CellResult) -> None:
        mark = "ok  " if result.ok else "FAIL"
        print(
            f"  {mark} {result.subject}/{result.mode}/seed {result.seed}: {result.verdict}"
            f" ({', '.join(result.caught_by or result.failed) or '-'}; {result.seconds} s)",
            flush=True,
        )

    results = run_matrix(config, cells, progress)
    print()
    print(render_text(results, config.modes))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(result_document(results, config), indent=2) + "\n", encoding="utf-8"
    )
    markdown = render_markdown(results, config)
    if args.markdown is not None:
        # A document with the marker block (docs/mutation.md) keeps its prose around the table.
        has_block = args.markdown.is_file() and README_START in args.markdown.read_text("utf-8")
        if has_block:
            update_readme(args.markdown, markdown)
        else:
            args.markdown.write_text(markdown + "\n", encoding="utf-8")
    if args.update_readme is not None:
        try:
            update_readme(args.update_readme, markdown)
        except (OSError, SelftestError) as exc:
            print(f"snapconform selftest: {exc}")
            return 2
    return 0 if all(r.ok for r in results) else 1
