"""``snapconform selftest``: run the engine against every mutant and the faithful server.

Prints the mutation matrix (mutant x mode -> the requirement that caught it and the requests it
took), the mutation score, and writes a JSON result. A mutant *cell* is caught when the verdict is
non-conformant AND one of the requirements the mutant declares is among the failed ones; a mutant
whose requirements are all SHOULD-level (it cannot make the verdict non-conformant, by design) is
caught when one of them failed. A faithful cell passes when the verdict is conformant.

Each cell serves its server with ``serve_in_thread`` in this process and runs the conformance
suite in a pytest subprocess exactly as ``snapconform run`` does (the runner's own command line,
environment and verdict), so cells run in parallel (``--jobs``).

Requests-to-detect comes from the engine's summary when it carries ``first_failure_request``
(the run's request count at a requirement's first violation, before shrinking): an audit
requirement's count as is, a check's minus the count at which the check started. Otherwise it is
measured outside the engine. For a requirement judged by a regular check it is the number of
requests that check sent until it reported its failure (from the suite's progress events, which
carry the harness's request count; includes Hypothesis' shrinking). For an audit requirement
(judged on every response) the server numbers every API request (control protocol excluded) and
replays each list response through the engine's own ResponseAudit as it is sent, so it is the
number of the first response the audit flags.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from snapconform.engine.config import Credentials, Mode, RunConfig
from snapconform.engine.requirements import BY_ID
from snapconform.mutants import AREAS, MUTANTS, Mutant, UnknownMutantError, get
from snapconform.server.app import ServerConfig
from snapconform.server.behaviour import Behaviour, Reply
from snapconform.server.defaults import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEFAULT_EPOCH,
    NOPRIVS_PASSWORD,
    NOPRIVS_USERNAME,
    default_principals,
    default_state,
    make_task,
)
from snapconform.server.runner import serve_in_thread
from snapconform.server.runtime import Runtime
from snapconform.server.state import State, state_to_document
from snapconform.server.variants import VARIANTS, UnknownVariantError, behaviour_class_with
from snapconform.server.variants import get as get_variant

MODES: tuple[Mode, ...] = ("controlled", "declared", "observed")
FAITHFUL = "faithful"
#: A cell's subject for the faithful server playing one documented variant: ``variant:NAME``.
VARIANT_PREFIX = "variant:"
README_START = "<!-- mutation-matrix:start -->"
README_END = "<!-- mutation-matrix:end -->"
TASKS_PATH = "/api/snapservice/tasks"
#: Requirements a focused run adds: a cheap source of varied list responses for the audits.
TRAFFIC: tuple[str, ...] = ("FILTER-EMPTY", "FILTER-SOUNDNESS")
#: Declared mode's universe: status counts chosen so single-status filters sit on the cap edges.
BOUNDARY_STATUS_COUNTS: tuple[tuple[str, int], ...] = (
    ("SUCCEEDED", 1000),
    ("FAILED", 1001),
    ("RUNNING", 150),
    ("BLOCKED", 60),
    ("PENDING", 120),
)


class SelftestError(Exception):
    """Bad selftest input (unknown mutant or mode, unusable paths). One line."""


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class SelftestConfig:
    mutants: tuple[str, ...] = tuple(MUTANTS)
    #: Documented variants the faithful server plays (each in every selected mode, seed ``seed``):
    #: every such cell must be conformant.
    variants: tuple[str, ...] = tuple(VARIANTS)
    modes: tuple[Mode, ...] = MODES
    #: Seed of every mutant run (and the first faithful run).
    seed: int = 0
    #: Seeds of the faithful server's runs (each in every selected mode).
    faithful_seeds: tuple[int, ...] = (0,)
    max_examples: int = RunConfig.max_examples
    max_requests: int = RunConfig.max_requests
    jobs: int = 2
    #: Seconds one cell may take before it is reported as an error.
    cell_timeout: float = 900.0
    #: Mutant runs check only the mutant's declared requirements (plus TRAFFIC, so the audit
    #: requirements have responses to judge): the bounded version the test suite runs.
    focus: bool = False
    #: Mutant runs end once one of the mutant's requirements failed. The run is the default one
    #: (same plan, same order), so whether and when it catches the mutant is unchanged; only the
    #: checks after the detection are left out (they cannot undo a failed requirement).
    until_caught: bool = False
    work_dir: Path | None = None


@dataclass(frozen=True)
class Cell:
    subject: str  # a mutant name or FAITHFUL
    mode: Mode
    seed: int


@dataclass(frozen=True)
class CellResult:
    subject: str
    mode: Mode
    seed: int
    verdict: str
    #: Requirement ids that failed (MUST and SHOULD).
    failed: tuple[str, ...]
    #: The mutant's declared requirements among the failed ones (empty for the faithful server).
    caught_by: tuple[str, ...]
    requests: int
    requests_to_detect: int | None
    seconds: float
    reason: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    #: Variant cells: the answers the engine recorded for the variant's question.
    recorded: tuple[str, ...] = ()

    @property
    def conformant_expected(self) -> bool:
        """The faithful server, alone or playing a documented variant."""
        return self.subject == FAITHFUL or is_variant(self.subject)

    @property
    def should_level(self) -> bool:
        """Whether this is a mutant whose declared requirements are all SHOULD-level."""
        mutant = MUTANTS.get(self.subject)
        return mutant is not None and should_only(mutant)

    @property
    def ok(self) -> bool:
        """Caught (mutant) or conformant (faithful server).

        A MUST-level mutant is caught when the verdict is non-conformant and one of its
        requirements failed. A mutant whose requirements are all SHOULDs cannot make the
        verdict non-conformant (only MUST failures do, by design): it is caught when one of
        them failed, whatever the verdict (an error verdict is still no detection). The faithful
        server passes only when conformant: an incomplete verdict certifies nothing.
        """
        if self.conformant_expected:
            return self.verdict == "conformant"
        if self.should_level:
            return self.verdict in ("conformant", "non-conformant", "incomplete") and bool(
                self.caught_by
            )
        return self.verdict == "non-conformant" and bool(self.caught_by)

    def to_document(self) -> dict[str, Any]:
        document = asdict(self)
        document["failed"] = list(self.failed)
        document["caught_by"] = list(self.caught_by)
        document["details"] = dict(self.details)
        document["recorded"] = list(self.recorded)
        document["ok"] = self.ok
        return document


def is_variant(subject: str) -> bool:
    return subject.startswith(VARIANT_PREFIX)


def variant_subject(name: str) -> str:
    return f"{VARIANT_PREFIX}{name}"


def should_only(mutant: Mutant) -> bool:
    """Whether every requirement ``mutant`` must be caught by is SHOULD-level."""
    return all(BY_ID[r].level == "SHOULD" for r in mutant.requirements)


def plan(config: SelftestConfig) -> list[Cell]:
    """Every cell: each mutant in each selected mode where it is observable; faithful per seed."""
    cells = [
        Cell(name, mode, config.seed)
        for name in config.mutants
        for mode in config.modes
        if mode in MUTANTS[name].modes
    ]
    cells += [Cell(FAITHFUL, mode, seed) for seed in config.faithful_seeds for mode in config.modes]
    cells += [
        Cell(variant_subject(name), mode, config.seed)
        for name in config.variants
        for mode in config.modes
    ]
    return cells


# ------------------------------------------------------------------------------ the server side


def boundary_state(seed: int) -> State:
    """Declared mode's universe: SUCCEEDED matches exactly 1000 tasks, FAILED exactly 1001."""
    import random

    rng = random.Random(seed)
    statuses = [status for status, count in BOUNDARY_STATUS_COUNTS for _ in range(count)]
    rng.shuffle(statuses)
    span = timedelta(days=7) / len(statuses)
    start = DEFAULT_EPOCH - timedelta(days=7)
    tasks = [make_task(rng, start + span * i, status) for i, status in enumerate(statuses)]
    return State(tasks=tuple(tasks), principals=default_principals(tasks))


class ServerProbe:
    """Numbers the API requests a served Behaviour answers; replays list replies through the audit.

    ``audit_ids``: audit requirements whose first finding should be located (None: none).
    """

    def __init__(self, audit_ids: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.first_finding: dict[str, int] = {}
        self._pending = set(audit_ids)
        self._audit: Any = None
        if self._pending:
            from snapconform.engine.audit import ResponseAudit

            self._audit = ResponseAudit(repro=lambda response: "")

    def tick(self) -> int:
        with self._lock:
            self.count += 1
            return self.count

    def judge(self, number: int, raw_query: bytes, reply: Reply) -> None:
        if self._audit is None or not self._pending:
            return
        from snapconform.engine.target import Response

        text = (reply.body or b"").decode("utf-8", errors="replace")
        try:
            body, problem = json.loads(text), None
        except ValueError as exc:
            body, problem = None, str(exc)
        response = Response(
            status=reply.status,
            headers=httpx.Headers(list(reply.headers)),
            text=text,
            body=body,
            json_error=problem,
            method="GET",
            path=TASKS_PATH,
            query=raw_query.decode("latin-1"),
        )
        with self._lock:
            self._audit(response)
            for requirement_id in list(self._pending):
                findings = self._audit.findings.get(requirement_id)
                if findings is not None and findings.count:
                    self.first_finding[requirement_id] = number
                    self._pending.discard(requirement_id)


def instrumented(behaviour_class: type[Behaviour], probe: ServerProbe) -> Behaviour:
    """An instance of ``behaviour_class`` whose API requests are numbered by ``probe``."""

    def list_tasks(
        self: Behaviour, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes
    ) -> Reply:
        number = probe.tick()
        reply = behaviour_class.list_tasks(self, runtime, headers, raw_query)
        probe.judge(number, raw_query, reply)
        return reply

    def counted(name: str) -> Callable[..., Reply]:
        method = getattr(behaviour_class, name)

        def call(self: Behaviour, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
            probe.tick()
            return method(self, runtime, headers)

        return call

    namespace: dict[str, Any] = {"list_tasks": list_tasks}
    for name in ("create_session", "session_info", "end_session"):
        namespace[name] = counted(name)
    return type(f"Counted{behaviour_class.__name__}", (behaviour_class,), namespace)()


# ------------------------------------------------------------------------------ one cell


class _ProgressFollower:
    """Tails the suite's progress file: the requests each failing check sent until it failed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        #: Requests the requirement's own check sent until it reported its failure.
        self.failed_at: dict[str, int] = {}
        #: The run's request count when each requirement's check started.
        self.started_at: dict[str, int] = {}
        self._sent = 0
        self._stop = threading.Event()
        self._offset = 0
        self._thread = threading.Thread(target=self._loop, name="selftest-progress", daemon=True)

    def __enter__(self) -> _ProgressFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._poll()

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self._poll()

    def _poll(self) -> None:
        try:
            with self._path.open("rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except FileNotFoundError:
            return
        complete, _, _ = chunk.rpartition(b"\n")
        if not complete:
            return
        self._offset += len(complete) + 1
        for line in complete.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            # The suite flushes its request count before each "check" and "outcome" event, so
            # the "requests" deltas between them are exactly the requests of that check.
            kind, requirement = event.get("event"), str(event.get("requirement"))
            if kind == "requests":
                self._sent += int(event.get("count", 0))
            elif kind == "check":
                self.started_at[requirement] = self._sent
            elif kind == "outcome" and event.get("outcome") in ("failed", "error"):
                started = self.started_at.get(requirement, 0)
                self.failed_at.setdefault(requirement, self._sent - started)


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
    from snapconform.engine import runner

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
    outcomes_path = cell_dir / "outcomes.json"
    progress_path = cell_dir / "progress.jsonl"
    for stale in (outcomes_path, progress_path):
        stale.unlink(missing_ok=True)
    reason: str | None = None
    outcomes: dict[str, Any] | None = None
    with serve_in_thread(server_config) as server:
        run_config = _run_config(
            cell, mutant, (server.base_url, server.control_url), config, state_file, cell_dir
        )
        command = [
            *runner.pytest_command(run_config, cell.seed, outcomes_path),
            f"--snapconform-progress={progress_path}",
        ]
        if config.focus and mutant is not None:
            command += ["-k", " or ".join(sorted({*mutant.requirements, *TRAFFIC}))]
        if config.until_caught and mutant is not None:
            command.append(f"--snapconform-stop-when-failed={','.join(mutant.requirements)}")
        with (
            _ProgressFollower(progress_path) as follower,
            (cell_dir / "pytest.log").open("w", encoding="utf-8") as log,
        ):
            try:
                completed = subprocess.run(
                    command,
                    env=runner.subprocess_environment(run_config),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=config.cell_timeout,
                    check=False,
                )
                returncode: int | None = completed.returncode
            except subprocess.TimeoutExpired:
                returncode = None
                reason = f"the run took longer than {config.cell_timeout:g} s"
    if outcomes_path.is_file():
        outcomes = json.loads(outcomes_path.read_text(encoding="utf-8"))
        reason = reason or outcomes.get("error")
    elif reason is None:
        reason = f"the suite ended without outcomes (pytest exit {returncode}; see {log.name})"
    summary = runner.build_summary(run_config, cell.seed, outcomes, reason)
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
    follower: _ProgressFollower,
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
    """Run ``cells`` (default: ``plan(config)``) with ``config.jobs`` in parallel."""
    cells = list(cells if cells is not None else plan(config))
    with tempfile.TemporaryDirectory(prefix="snapconform-selftest-") as scratch:
        work_dir = config.work_dir or Path(scratch)
        with ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
            futures = [pool.submit(run_cell, cell, config, work_dir) for cell in cells]
            results = []
            for future in futures:
                result = future.result()
                if on_result is not None:
                    on_result(result)
                results.append(result)
    return results


# ------------------------------------------------------------------------------ the matrix


@dataclass(frozen=True)
class Score:
    cells: int
    caught: int
    mutants: int
    mutants_caught_everywhere: int
    faithful_runs: int
    faithful_conformant: int
    median_requests_to_detect: float | None
    worst_requests_to_detect: int | None

    @property
    def score(self) -> float:
        return self.caught / self.cells if self.cells else 0.0


def score(results: Sequence[CellResult]) -> Score:
    mutant_cells = [r for r in results if not r.conformant_expected]
    faithful = [r for r in results if r.conformant_expected]
    by_mutant: dict[str, list[CellResult]] = {}
    for result in mutant_cells:
        by_mutant.setdefault(result.subject, []).append(result)
    costs = [r.requests_to_detect for r in mutant_cells if r.ok and r.requests_to_detect]
    return Score(
        cells=len(mutant_cells),
        caught=sum(r.ok for r in mutant_cells),
        mutants=len(by_mutant),
        mutants_caught_everywhere=sum(all(r.ok for r in rs) for rs in by_mutant.values()),
        faithful_runs=len(faithful),
        faithful_conformant=sum(r.ok for r in faithful),
        median_requests_to_detect=statistics.median(costs) if costs else None,
        worst_requests_to_detect=max(costs) if costs else None,
    )


def _cell_text(result: CellResult | None, mutant: Mutant, mode: Mode) -> str:
    if mode not in mutant.modes:
        return "n/a"
    if result is None:
        return "not run"
    if result.ok:
        cost = f" @{result.requests_to_detect}" if result.requests_to_detect else ""
        level = " (SHOULD)" if BY_ID[result.caught_by[0]].level == "SHOULD" else ""
        return f"{result.caught_by[0]}{level}{cost}"
    if result.verdict == "error":
        return "ERROR"
    return "MISSED"


def matrix_rows(results: Sequence[CellResult], modes: Sequence[Mode] = MODES) -> list[list[str]]:
    """Header + one row per mutant that was run: name, area, one cell per mode."""
    index = {(r.subject, r.mode): r for r in results if r.subject != FAITHFUL}
    names = [name for name in MUTANTS if any(name == r.subject for r in results)]
    rows = [["mutant", "area", *modes]]
    for name in names:
        mutant = MUTANTS[name]
        rows.append(
            [name, mutant.area, *(_cell_text(index.get((name, m)), mutant, m) for m in modes)]
        )
    for name in VARIANTS:
        subject = variant_subject(name)
        if any(subject == r.subject for r in results):
            rows.append(
                [subject, "variant", *(_variant_text(index.get((subject, m))) for m in modes)]
            )
    return rows


def _variant_text(result: CellResult | None) -> str:
    """A variant cell: conformant (what the engine recorded), or the false positive."""
    if result is None:
        return "not run"
    if result.verdict == "error":
        return "ERROR"
    recorded = f" ({'+'.join(result.recorded)})" if result.recorded else ""
    if result.ok:
        return f"conformant{recorded}"
    return f"FALSE POSITIVE: {', '.join(result.failed) or result.verdict}"


def render_text(results: Sequence[CellResult], modes: Sequence[Mode] = MODES) -> str:
    rows = matrix_rows(results, modes)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", _score_line(score(results)), *_misses(results)])


def _score_line(s: Score) -> str:
    median = "n/a" if s.median_requests_to_detect is None else f"{s.median_requests_to_detect:g}"
    worst = "n/a" if s.worst_requests_to_detect is None else str(s.worst_requests_to_detect)
    return (
        f"mutation score: {s.caught}/{s.cells} cells caught ({s.score:.0%}); "
        f"{s.mutants_caught_everywhere}/{s.mutants} mutants caught in every mode run; "
        f"requests to detect: median {median}, worst {worst}; "
        f"faithful server: {s.faithful_conformant}/{s.faithful_runs} runs conformant"
    )


def _misses(results: Sequence[CellResult]) -> list[str]:
    lines = []
    for r in results:
        if r.ok:
            continue
        if r.conformant_expected:
            lines.append(
                f"FALSE POSITIVE {r.subject}/{r.mode}/seed {r.seed}: {r.verdict};"
                f" failed {', '.join(r.failed) or '-'} {r.reason or ''}".rstrip()
            )
        else:
            why = r.reason or (
                f"verdict {r.verdict}; failed: {', '.join(r.failed) or 'nothing'};"
                f" expected one of {', '.join(MUTANTS[r.subject].requirements)}"
            )
            lines.append(f"MISSED {r.subject}/{r.mode}: {why}")
    return lines


def render_markdown(results: Sequence[CellResult], config: SelftestConfig) -> str:
    modes = list(config.modes)
    rows = matrix_rows(results, modes)
    out = [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
    ]
    for row in rows[1:]:
        out.append("| " + " | ".join([f"`{row[0]}`", *row[1:]]) + " |")
    budget = (
        f"seed {config.seed}, max-examples {config.max_examples},"
        f" max-requests {config.max_requests}"
        + (", --focus" if config.focus else "")
        + (", --until-caught" if config.until_caught else "")
    )
    return "\n".join(
        [
            f"Generated by `snapconform selftest` ({budget}). A cell names the requirement that"
            " caught the mutant and `@N` the requests it took; `n/a`: not observable in that"
            " mode.",
            "",
            *out,
            "",
            _score_line(score(results)) + ".",
            *(f"- {line}" for line in _misses(results)),
        ]
    )


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SelftestError(f"{readme} has no {README_START} ... {README_END} block")
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}", encoding="utf-8")


def result_document(results: Sequence[CellResult], config: SelftestConfig) -> dict[str, Any]:
    s = score(results)
    return {
        "config": {
            "seed": config.seed,
            "faithful_seeds": list(config.faithful_seeds),
            "modes": list(config.modes),
            "max_examples": config.max_examples,
            "max_requests": config.max_requests,
        },
        "score": {**asdict(s), "score": round(s.score, 4)},
        "mutants": [MUTANTS[name].to_document() for name in config.mutants],
        "variants": [VARIANTS[name].to_document() for name in config.variants],
        "cells": [r.to_document() for r in results],
    }


# ------------------------------------------------------------------------------ CLI


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
        " failed: the same detections and @N, in a fraction of the time",
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
