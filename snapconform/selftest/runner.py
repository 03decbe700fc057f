"""The selftest's runner: each cell's server served in this process, the conformance suite run
against it in a pytest subprocess exactly as ``snapconform run`` does, and the outcome judged."""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from snapconform.config import Credentials, RunConfig
from snapconform.engine.requirements import BY_ID, CATALOGUE
from snapconform.mutants import MUTANTS, Mutant
from snapconform.run.session import Event, RequestsSent, RequirementFinished
from snapconform.selftest.cells import (
    FAITHFUL,
    TRAFFIC,
    VARIANT_PREFIX,
    Cell,
    CellResult,
    SelftestConfig,
    is_variant,
    plan,
)
from snapconform.selftest.probe import ServerProbe, boundary_state, instrumented
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
from snapconform.state import state_to_document


class _FailureRequests:
    """The run's events -> the requests each failing check sent until it failed."""

    def __init__(self) -> None:
        #: Requests the requirement's own check sent until it reported its failure.
        self.failed_at: dict[str, int] = {}
        #: The run's request count when each requirement's check started.
        self.started_at: dict[str, int] = {}
        self._sent = 0

    def handle(self, event: Event) -> None:
        if isinstance(event, RequestsSent):
            self._sent += event.count
        elif isinstance(event, RequirementFinished):
            requirement = event.requirement.id
            self.started_at[requirement] = event.started_at_request
            if event.result.outcome == "failed":
                self.failed_at.setdefault(requirement, self._sent - event.started_at_request)


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
    }
    if cell.mode == "controlled":
        return RunConfig(control_url=control_url, **common)
    return RunConfig(credentials=admin, unprivileged=noprivs, state_file=state_file, **common)


def run_cell(cell: Cell, config: SelftestConfig, work_dir: Path) -> CellResult:
    """Serve the cell's server, run the suite against it, and judge the outcome."""
    from snapconform.run import runner

    started = time.monotonic()
    variant = get_variant(cell.subject[len(VARIANT_PREFIX) :]) if is_variant(cell.subject) else None
    mutant = None if cell.subject == FAITHFUL or variant else MUTANTS[cell.subject]
    behaviour_class = Behaviour if mutant is None else mutant.behaviour_class
    if variant is not None:
        behaviour_class = behaviour_class_with([variant.name])
    audit_ids = [r for r in (mutant.requirements if mutant is not None else ()) if BY_ID[r].audit]
    probe = ServerProbe(audit_ids)
    behaviour = instrumented(behaviour_class, probe)
    behaviour.name = cell.subject
    cell_dir = work_dir / f"{cell.subject.replace(':', '-')}--{cell.mode}--{cell.seed}"
    cell_dir.mkdir(parents=True, exist_ok=True)
    state_file: Path | None = None
    if cell.mode == "controlled":
        state = default_state(cell.seed, size=20)  # replaced by the harness's first PUT
    elif cell.mode == "declared":
        state = boundary_state(cell.seed)
        state_file = cell_dir / "state.json"
        state_file.write_text(json.dumps(state_to_document(state)), encoding="utf-8")
    else:
        state = default_state(cell.seed)
    server_config = ServerConfig(
        state=state,
        behaviour=behaviour,
        api_version=mutant.api_version if mutant is not None else "8.0.3",
        control=cell.mode == "controlled",
        seed=cell.seed,
    )
    with serve_in_thread(server_config) as server:
        run_config = _run_config(
            cell, mutant, (server.base_url, server.control_url), config, state_file, cell_dir
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
        follower = _FailureRequests()
        with (cell_dir / "run.log").open("w", encoding="utf-8") as log:
            summary = runner.run(
                run_config,
                out=log,
                environ={"CI": "true"},
                requirements=focus,
                stop_when_failed=stop,
                handlers=[follower],
            ).summary
    failed = tuple(r["id"] for r in summary["requirements"] if r["outcome"] == "failed")
    details = {
        r["id"]: r["detail"][:300] for r in summary["requirements"] if r["outcome"] == "failed"
    }
    caught_by = tuple(r for r in (mutant.requirements if mutant else ()) if r in failed)
    first_failure = {
        r["id"]: r.get("first_failure_request")
        for r in summary["requirements"]
        if r["outcome"] == "failed"
    }
    detect: list[int] = []
    for requirement_id in caught_by:
        at = _requests_to_detect(requirement_id, first_failure.get(requirement_id), follower, probe)
        if at is not None:
            detect.append(at)
    return CellResult(
        subject=cell.subject,
        mode=cell.mode,
        seed=cell.seed,
        verdict=summary["verdict"],
        failed=failed,
        caught_by=caught_by,
        requests=probe.count,
        requests_to_detect=min(detect) if detect else None,
        seconds=round(time.monotonic() - started, 1),
        reason=summary.get("reason"),
        details=details,
        recorded=tuple(
            o["choice"]
            for o in (summary.get("variants") or {}).get(variant.question, {}).get("observed", [])
        )
        if variant is not None
        else (),
    )


def _requests_to_detect(
    requirement_id: str,
    first_failure_request: int | None,
    follower: _FailureRequests,
    probe: ServerProbe,
) -> int | None:
    """Requests until ``requirement_id`` was seen failing.

    From the engine's ``first_failure_request`` (the run's request count at the first
    violation, before shrinking) when the summary carries it: for an audit requirement that
    count itself (the response the audit first flagged), for a check the part of it the check
    sent. Otherwise measured outside the engine: the server's numbering for an audit, the
    requests the check sent until it reported its failure (shrinking included).
    """
    audit = BY_ID[requirement_id].audit
    if isinstance(first_failure_request, int) and first_failure_request > 0:
        if audit:
            return first_failure_request
        started = follower.started_at.get(requirement_id)
        if started is not None and first_failure_request > started:
            return first_failure_request - started
    return (
        probe.first_finding.get(requirement_id) if audit else follower.failed_at.get(requirement_id)
    )


def run_matrix(
    config: SelftestConfig,
    cells: Sequence[Cell] | None = None,
    on_result: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    """Run ``cells`` (default: ``plan(config)``), ``config.jobs`` at a time.

    One job runs the cells here, one after the other. More run in worker processes (each cell
    is CPU-bound Python: threads would share one core): a terminal's Ctrl-C reaches every
    worker, whose run ends as interrupted with its sessions deleted.
    """
    cells = list(cells if cells is not None else plan(config))
    with tempfile.TemporaryDirectory(prefix="snapconform-selftest-") as scratch:
        work_dir = config.work_dir or Path(scratch)
        if config.jobs <= 1:
            results = []
            for cell in cells:
                result = run_cell(cell, config, work_dir)
                if on_result is not None:
                    on_result(result)
                results.append(result)
            return results
        spawn = multiprocessing.get_context("spawn")  # no threads copied into the workers
        with ProcessPoolExecutor(max_workers=config.jobs, mp_context=spawn) as pool:
            futures = [pool.submit(run_cell, cell, config, work_dir) for cell in cells]
            results = []
            for future in futures:
                result = future.result()
                if on_result is not None:
                    on_result(result)
                results.append(result)
    return results
