"""One cell of the selftest, run: its server served in this process and ``snapconform run``'s
session against it, which writes the cell directory's ``summary.json``.

:func:`execute` does it in the calling process (``--jobs 1``); ``python -m
snapconform.selftest`` (:func:`main`) does it in a worker process (``--jobs`` above 1), the cell
given on its command line (:func:`command`). Either way the cell's outcome leaves only as
``<cell dir>/summary.json`` (``contracts/summary.schema.json``), which the matrix reads: a
worker returns nothing and prints nothing the parent parses.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snapconform.config import Credentials, Mode, RunConfig
from snapconform.engine.requirements import CATALOGUE
from snapconform.mutants import MUTANTS, Mutant
from snapconform.selftest.boundary import boundary_state
from snapconform.selftest.cells import (
    FAITHFUL,
    MODES,
    TRAFFIC,
    VARIANT_PREFIX,
    Cell,
    SelftestConfig,
    is_variant,
)
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_state,
)
from snapconform.server.runner import serve_in_thread
from snapconform.server.variants import behaviour_class_with, get as get_variant
from snapconform.state import State, state_to_document

#: The run's own output (plan, progress, verdict table), in the cell directory.
RUN_LOG = "run.log"
#: A worker process' stdout and stderr: empty unless it crashed (then its traceback).
WORKER_LOG = "worker.log"


def cell_dir(work_dir: Path, cell: Cell) -> Path:
    """Where ``cell``'s run writes its report (its summary.json), below ``work_dir``."""
    return work_dir / f"{cell.subject.replace(':', '-')}--{cell.mode}--{cell.seed}"


def _mutant(cell: Cell) -> Mutant | None:
    return None if cell.subject == FAITHFUL or is_variant(cell.subject) else MUTANTS[cell.subject]


def _run_config(
    cell: Cell,
    mutant: Mutant | None,
    urls: tuple[str, str],
    config: SelftestConfig,
    state_file: Path | None,
    report_dir: Path,
) -> RunConfig:
    base_url, control_url = urls
    admin = Credentials(ADMIN_USERNAME, ADMIN_PASSWORD)
    noprivs = Credentials(NOPRIVS_USERNAME, NOPRIVS_PASSWORD)
    common: dict[str, Any] = {
        "base_url": base_url,
        "api_version": mutant.api_version if mutant is not None else "8.0.3",
        "report_dir": report_dir,
        "seed": cell.seed,
        "max_examples": config.max_examples,
        "max_requests": config.max_requests,
        "concurrency": config.concurrency,
    }
    if cell.mode == "controlled":
        return RunConfig(control_url=control_url, **common)
    return RunConfig(credentials=admin, unprivileged=noprivs, state_file=state_file, **common)


@functools.lru_cache(maxsize=8)
def cell_state(mode: Mode, seed: int) -> tuple[State, str | None]:
    """The universe a cell's server starts with in ``mode``, and in declared mode the text of
    the state file the run is given.

    Built once per process for each mode and seed: it is the same for every cell of them, a
    State is immutable by contract (``snapconform.state.State``), and building it again took
    a sixth of a mutant cell's CPU (issue 27).
    """
    if mode == "controlled":
        return default_state(seed, size=20), None  # replaced by the harness's first PUT
    if mode == "declared":
        state = boundary_state(seed)
        return state, json.dumps(state_to_document(state))
    return default_state(seed), None


def execute(cell: Cell, config: SelftestConfig, directory: Path, *, reports: bool = True) -> None:
    """Serve the cell's server and run against it; the run writes ``directory/summary.json``
    (and, with ``reports``, its Allure results, JUnit and summary.md beside it)."""
    from snapconform.run import runner

    variant = get_variant(cell.subject[len(VARIANT_PREFIX) :]) if is_variant(cell.subject) else None
    mutant = _mutant(cell)
    behaviour_class = Behaviour if mutant is None else mutant.behaviour_class
    if variant is not None:
        behaviour_class = behaviour_class_with([variant.name])
    behaviour = behaviour_class()
    behaviour.name = cell.subject
    directory.mkdir(parents=True, exist_ok=True)
    state, state_text = cell_state(cell.mode, cell.seed)
    state_file: Path | None = None
    if state_text is not None:
        state_file = directory / "state.json"
        state_file.write_text(state_text, encoding="utf-8")
    server_config = ServerConfig(
        state=state,
        behaviour=behaviour,
        api_version=mutant.api_version if mutant is not None else "8.0.3",
        control=cell.mode == "controlled",
        seed=cell.seed,
    )
    with serve_in_thread(server_config) as server:
        run_config = _run_config(
            cell, mutant, (server.base_url, server.control_url), config, state_file, directory
        )
        focus = None
        if config.focus and mutant is not None:
            chosen = {*mutant.requirements, *TRAFFIC}
            focus = [r for r in CATALOGUE if r.id in chosen]
        stop = (
            frozenset(mutant.requirements)
            if config.until_caught and mutant is not None
            else frozenset()
        )
        with (directory / RUN_LOG).open("w", encoding="utf-8") as log:
            runner.run(
                run_config,
                out=log,
                environ={"CI": "true"},
                requirements=focus,
                stop_when_failed=stop,
                reports=reports,
            )


def command(cell: Cell, config: SelftestConfig, directory: Path) -> list[str]:
    """The command line of a worker process that runs ``cell`` into ``directory``."""
    return [
        sys.executable,
        "-m",
        "snapconform.selftest",
        "--subject",
        cell.subject,
        "--mode",
        cell.mode,
        "--seed",
        str(cell.seed),
        "--max-examples",
        str(config.max_examples),
        "--max-requests",
        str(config.max_requests),
        *(["--focus"] if config.focus else []),
        *(["--until-caught"] if config.until_caught else []),
        # a cell's reports are written only where they are kept (--work-dir)
        *(["--reports"] if config.work_dir is not None else []),
        "--cell-dir",
        str(directory.absolute()),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """A worker process: run the cell its command line names; 0 once summary.json is written."""
    parser = argparse.ArgumentParser(
        prog="python -m snapconform.selftest",
        description="a selftest worker: one cell, run into --cell-dir (the command is"
        " `snapconform selftest`)",
    )
    parser.add_argument("--subject", required=True)
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--max-examples", type=int, required=True)
    parser.add_argument("--max-requests", type=int, required=True)
    parser.add_argument("--focus", action="store_true")
    parser.add_argument("--until-caught", action="store_true")
    parser.add_argument("--cell-dir", type=Path, required=True)
    parser.add_argument("--reports", action="store_true", help="also Allure, JUnit, summary.md")
    args = parser.parse_args(argv)
    config = SelftestConfig(
        max_examples=args.max_examples,
        max_requests=args.max_requests,
        focus=args.focus,
        until_caught=args.until_caught,
        jobs=1,
    )
    execute(Cell(args.subject, args.mode, args.seed), config, args.cell_dir, reports=args.reports)
    return 0
