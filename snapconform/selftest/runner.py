"""The selftest's runner: each cell run (:mod:`~snapconform.selftest.worker`), then judged from
its ``summary.json`` alone.

A cell's run writes ``<cell dir>/summary.json`` (``contracts/summary.schema.json``), the only
thing that crosses from a cell's run to the matrix: :func:`read_cell` validates it and
:func:`result_of` turns it, with the cell's own identity, into the :class:`CellResult`. With one
job the cells run here, one after the other; with more, each in a worker process of its own
(``python -m snapconform.selftest``), ``jobs`` at a time. A run that crashes, or a worker
that dies or writes no valid summary, is that cell's error (verdict ``error``, with the reason
and where the traceback is), never the whole matrix's.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from snapconform.engine.requirements import BY_ID
from snapconform.errors import SummaryError
from snapconform.mutants import MUTANTS
from snapconform.report.summary import SUMMARY_FILE, load_summary
from snapconform.selftest.cells import (
    VARIANT_PREFIX,
    Cell,
    CellResult,
    SelftestConfig,
    is_variant,
    plan,
)
from snapconform.selftest.worker import WORKER_LOG, cell_dir, command, execute
from snapconform.server.variants import get as get_variant

#: How often the parent looks whether a worker ended (a cell takes seconds to minutes).
POLL_SECONDS = 0.1
#: After Ctrl-C (which reaches the workers too) how long each may take to end its run as
#: interrupted and write its summary, before it is interrupted again, then killed.
GRACE_SECONDS = 20.0


def requests_to_detect(requirement: Mapping[str, Any]) -> int | None:
    """Requests until a failed requirement was seen failing, from its summary.json entry.

    An audit requirement (judged on every response of the run): ``first_failure_request``, the
    response the audit first flagged. A check: the requests it sent until its first violation
    (``first_failure_request - started_at_request``, before shrinking); when the violation came
    with no request of its own, the requests it sent until it ended (shrinking included).
    """
    first = requirement.get("first_failure_request")
    started = requirement.get("started_at_request")
    ended = requirement.get("ended_at_request")
    if BY_ID[requirement["id"]].audit:
        return first if isinstance(first, int) and first > 0 else None
    if isinstance(first, int) and isinstance(started, int) and first > started:
        return first - started
    if isinstance(started, int) and isinstance(ended, int):
        return ended - started
    return None


def result_of(cell: Cell, summary: Mapping[str, Any]) -> CellResult:
    """The cell's result from its run's summary.json (validated) and its own identity."""
    mutant = MUTANTS.get(cell.subject)
    variant = get_variant(cell.subject[len(VARIANT_PREFIX) :]) if is_variant(cell.subject) else None
    failing = [r for r in summary["requirements"] if r["outcome"] == "failed"]
    failed = tuple(r["id"] for r in failing)
    caught_by = tuple(r for r in (mutant.requirements if mutant else ()) if r in failed)
    by_id = {r["id"]: r for r in failing}
    detect = [at for r in caught_by if (at := requests_to_detect(by_id[r])) is not None]
    recorded: tuple[str, ...] = ()
    if variant is not None:
        question = (summary.get("variants") or {}).get(variant.question, {})
        recorded = tuple(o["choice"] for o in question.get("observed", []))
    return CellResult(
        subject=cell.subject,
        mode=cell.mode,
        seed=cell.seed,
        verdict=summary["verdict"],
        failed=failed,
        caught_by=caught_by,
        # every request the server received: the checks' and the logouts of closing
        requests=summary["requests"] + summary.get("closing_requests", 0),
        requests_to_detect=min(detect) if detect else None,
        seconds=round(summary.get("elapsed_seconds") or 0.0, 1),
        reason=summary.get("reason"),
        details={r["id"]: r["detail"][:300] for r in failing},
        recorded=recorded,
    )


def error_result(cell: Cell, reason: str, seconds: float) -> CellResult:
    """A cell whose run gave no summary to judge: no verdict, and why."""
    return CellResult(
        subject=cell.subject,
        mode=cell.mode,
        seed=cell.seed,
        verdict="error",
        failed=(),
        caught_by=(),
        requests=0,
        requests_to_detect=None,
        seconds=round(seconds, 1),
        reason=reason,
    )


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text("utf-8", errors="replace").splitlines() if line]
    except OSError:
        return ""
    return f": {lines[-1].strip()[:300]}" if lines else ""


def read_cell(
    cell: Cell, directory: Path, seconds: float, crash: str | None = None, *, kept: bool = True
) -> CellResult:
    """``cell``'s result from ``directory/summary.json``; a cell error when its run crashed
    (``crash`` says how) or left no valid summary. ``kept``: the directory outlives the matrix
    (a work directory was given), so the reason may point at its traceback."""
    log = directory / WORKER_LOG
    if crash is not None:
        where = f"its output: {log}" if kept else "--work-dir keeps its output"
        return error_result(cell, f"{crash}{_last_line(log)} ({where})", seconds)
    try:
        summary = load_summary(directory)
    except SummaryError as exc:
        return error_result(cell, f"the cell's run wrote no valid summary: {exc}", seconds)
    return result_of(cell, summary.document)


def _prepare(cell: Cell, work_dir: Path) -> Path:
    """The cell's directory, without a summary of an earlier run (a crash must not find one)."""
    directory = cell_dir(work_dir, cell)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SUMMARY_FILE).unlink(missing_ok=True)
    (directory / WORKER_LOG).unlink(missing_ok=True)
    return directory


def run_cell(cell: Cell, config: SelftestConfig, work_dir: Path) -> CellResult:
    """Run ``cell`` in this process and judge it from its summary.json."""
    directory = _prepare(cell, work_dir)
    started = time.monotonic()
    try:
        # the cell's reports are written only where they are kept (--work-dir)
        execute(cell, config, directory, reports=config.work_dir is not None)
    except Exception as exc:
        (directory / WORKER_LOG).write_text(traceback.format_exc(), encoding="utf-8")
        crash = f"the cell's run crashed ({type(exc).__name__})"
        kept = config.work_dir is not None
        return read_cell(cell, directory, time.monotonic() - started, crash, kept=kept)
    return read_cell(cell, directory, time.monotonic() - started)


@dataclass
class _Worker:
    """A worker process running one cell, its output going to the cell's worker.log."""

    index: int
    cell: Cell
    directory: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float
    kept: bool

    @classmethod
    def start(cls, index: int, cell: Cell, config: SelftestConfig, work_dir: Path) -> _Worker:
        directory = _prepare(cell, work_dir)
        log = (directory / WORKER_LOG).open("wb")
        # the same process group: a terminal's Ctrl-C reaches the worker, whose run ends as
        # interrupted with its sessions deleted
        process = subprocess.Popen(
            command(cell, config, directory),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
        kept = config.work_dir is not None
        return cls(index, cell, directory, process, log, time.monotonic(), kept)

    def result(self) -> CellResult:
        self.log.close()
        status = self.process.returncode
        crash = None
        if status < 0:
            crash = f"the cell's worker process was killed by {signal.Signals(-status).name}"
        elif status != 0:
            crash = f"the cell's worker process exited with status {status}"
        seconds = time.monotonic() - self.started
        return read_cell(self.cell, self.directory, seconds, crash, kept=self.kept)


def _stop(workers: Sequence[_Worker], *, interrupted: bool) -> None:
    """End the workers still running when the matrix stops early.

    After Ctrl-C (which reached them too) each gets GRACE_SECONDS to end its run as interrupted;
    otherwise, or then, each is interrupted (SIGINT: its sessions are deleted, a mock's state put
    back) and given as long again, then killed.
    """
    steps = ((None, GRACE_SECONDS if interrupted else 0.0), (signal.SIGINT, GRACE_SECONDS))
    for action, seconds in steps:
        alive = [w for w in workers if w.process.poll() is None]
        for worker in alive:
            if action is not None:
                worker.process.send_signal(action)
        deadline = time.monotonic() + seconds
        while alive and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            alive = [w for w in alive if w.process.poll() is None]
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()
        worker.log.close()


def _run_in_workers(
    cells: Sequence[Cell],
    config: SelftestConfig,
    work_dir: Path,
    on_result: Callable[[CellResult], None] | None,
) -> list[CellResult]:
    """Every cell in a worker process, ``config.jobs`` at a time; results in the cells' order."""
    waiting = list(enumerate(cells))
    running: list[_Worker] = []
    results: dict[int, CellResult] = {}
    reported = 0
    interrupted = False
    try:
        while waiting or running:
            while waiting and len(running) < config.jobs:
                index, cell = waiting.pop(0)
                running.append(_Worker.start(index, cell, config, work_dir))
            time.sleep(POLL_SECONDS)
            for worker in [w for w in running if w.process.poll() is not None]:
                running.remove(worker)
                results[worker.index] = worker.result()
            while reported in results:
                if on_result is not None:
                    on_result(results[reported])
                reported += 1
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        _stop(running, interrupted=interrupted)
    return [results[index] for index in range(len(cells))]


def run_matrix(
    config: SelftestConfig,
    cells: Sequence[Cell] | None = None,
    on_result: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    """Run ``cells`` (default: ``plan(config)``), ``config.jobs`` at a time.

    One job runs the cells here, one after the other. More run each cell in a worker process
    (each cell is CPU-bound Python: threads would share one core). ``on_result`` sees each
    result in the cells' order.
    """
    cells = list(cells if cells is not None else plan(config))
    with tempfile.TemporaryDirectory(prefix="snapconform-selftest-") as scratch:
        work_dir = (config.work_dir or Path(scratch)).absolute()
        if config.jobs > 1:
            return _run_in_workers(cells, config, work_dir, on_result)
        results = []
        for cell in cells:
            result = run_cell(cell, config, work_dir)
            if on_result is not None:
                on_result(result)
            results.append(result)
        return results
