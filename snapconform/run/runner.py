"""run(RunConfig) -> RunResult: one conformance run in this process; summary.json.

The configuration stays one object from the command line to the verdict: :func:`run` checks it,
prints the plan, drives a :class:`~snapconform.run.session.RunSession` over the ordered catalogue
with its event handlers (the terminal progress, the Allure results written directly), then turns
the outcomes into REPORT_DIR/summary.json (contracts/summary.schema.json), JUnit XML and
summary.md. The verdict: 0 conformant, 1 non-conformant, 2 no verdict, 3 incomplete (an
applicable MUST was not checked, none failed), 130 interrupted.

Ctrl-C, SIGTERM and SIGHUP end the run as interrupted: the session is closed in a ``finally``
(its sessions on the target deleted, a mock's state put back, Ctrl-C held back meanwhile) and the
summary says so.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shlex
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

from snapconform._version import __version__
from snapconform.collector import collector_tuned
from snapconform.config import RunConfig
from snapconform.contracts import default_contracts
from snapconform.engine.cleanup import INTERRUPTING_SIGNALS, InterruptLatch
from snapconform.engine.requirements import CATALOGUE, Requirement
from snapconform.engine.verdicts import OUTCOMES, outcome_label, verdict_of
from snapconform.progress import ProgressDisplay
from snapconform.report.allure_writer import AllureWriter
from snapconform.report.finish import ALLURE_RESULTS, finish_run
from snapconform.report.first_screen import (
    change_to_check,
    failures_first,
    not_checked,
    split_detail,
)
from snapconform.report.summary import SUMMARY_MD
from snapconform.run.session import (
    Event,
    EventHandler,
    RequirementFinished,
    RunSession,
    run_plan,
)
from snapconform.settings import use_hypothesis_storage

EXIT_CONFORMANT = 0
EXIT_NON_CONFORMANT = 1
EXIT_NO_VERDICT = 2
#: No MUST failed, but at least one applicable MUST was not checked (budget, time, ...).
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130
#: summary.json's reason when Ctrl-C (or SIGTERM) stopped the run
INTERRUPTED = "interrupted"
#: Requests per second against a non-loopback target when --rate-limit is not given: what a
#: shared staging vCenter tolerates next to its real users (a default run then takes minutes).
REMOTE_RATE_LIMIT = 5.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    summary: dict[str, Any]
    summary_path: Path


def effective_rate_limit(config: RunConfig) -> float | None:
    """--rate-limit, else unlimited for loopback targets and REMOTE_RATE_LIMIT for others."""
    if config.rate_limit is not None:
        return config.rate_limit
    if config.base_url is None or urlsplit(config.base_url).hostname in LOOPBACK_HOSTS:
        return None
    return REMOTE_RATE_LIMIT


def usage_problem(config: RunConfig) -> str | None:
    if config.control_url and config.state_file:
        return "--control-url and --state-file exclude each other (controlled or declared mode)"
    if config.control_url and not config.base_url:
        return "--control-url needs --base-url"
    if config.state_file and not config.base_url:
        return "--state-file needs --base-url (the server that was loaded with it)"
    if (
        config.base_url
        and not config.control_url
        and config.credentials is None
        and config.session_id is None
    ):
        return (
            "no credentials: give --username and SNAPCONFORM_PASSWORD (privileged principal),"
            " or SNAPCONFORM_SESSION_ID (a session obtained elsewhere)"
        )
    if config.session_id is not None and (config.control_url or not config.base_url):
        return (
            "SNAPCONFORM_SESSION_ID is for a target you do not control (declared or observed"
            " mode): controlled mode replaces the state, which ends every session"
        )
    if config.insecure and config.ca_bundle:
        return "--insecure and --ca-bundle exclude each other"
    if config.max_examples < 1 or config.max_requests < 1:
        return "--max-examples and --max-requests must be at least 1"
    return None


def build_summary(
    config: RunConfig, seed: int, outcomes: dict[str, Any] | None, reason: str | None
) -> dict[str, Any]:
    results = (outcomes or {}).get("requirements", {})
    plan = (outcomes or {}).get("plan") or run_plan(config).document()
    shares = plan.get("shares", {})
    if reason == INTERRUPTED:
        missing = ("interrupted", "the run was interrupted before this check ended")
    elif reason is not None:
        missing = ("error", f"no verdict possible: {reason}")
    else:
        missing = ("deselected", "not run: this run did not select this requirement")
    requirements = []
    for r in CATALOGUE:
        entry = results.get(r.id)
        if entry is None or entry.get("outcome") not in OUTCOMES:
            entry = {"outcome": "not_checked", "reason": missing[0], "detail": missing[1]}
        requirements.append(
            {
                "id": r.id,
                "title": r.title,
                "level": r.level,
                "feature": r.feature,
                "check": r.check_name,
                "sources": [source.render() for source in r.sources],
                "outcome": entry["outcome"],
                "reason": None
                if entry["outcome"] in ("passed", "failed")
                else entry.get("reason") or "error",
                "detail": entry["detail"],
                "first_failure_request": entry.get("first_failure_request")
                if entry["outcome"] == "failed"
                else None,
                "started_at_request": entry.get("started_at_request"),
                "ended_at_request": entry.get("ended_at_request"),
                "planned_requests": shares.get(r.id, {}).get("planned", 0),
                "spent_requests": shares.get(r.id, {}).get("spent", 0),
            }
        )
    # An interrupted run still has a verdict (incomplete, or non-conformant if a MUST failed
    # before the interruption); any other reason means no verdict was possible.
    verdict = "error" if reason not in (None, INTERRUPTED) else verdict_of(requirements)
    outcomes = outcomes or {}
    return {
        "verdict": verdict,
        "reason": reason,
        # which snapconform wrote it: `report --compare` names it when it cannot read a summary
        "harness_version": __version__,
        "counts": {o: sum(1 for r in requirements if r["outcome"] == o) for o in OUTCOMES},
        "not_checked": [
            {"id": r["id"], "level": r["level"], "reason": r["reason"], "detail": r["detail"]}
            for r in requirements
            if r["outcome"] == "not_checked"
        ],
        "target": outcomes.get("target") or config.base_url or "embedded reference server",
        "mode": outcomes.get("mode") or config.mode,
        "api_version": config.api_version,
        "seed": seed,
        "requests": int(outcomes.get("requests", 0)),
        "closing_requests": int(outcomes.get("closing_requests") or 0),
        "distinct_filters": int(outcomes.get("distinct_filters", 0)),
        "filter_cases": int(outcomes.get("filter_cases", 0)),
        "elapsed_seconds": outcomes.get("elapsed_seconds"),
        # requests whose connection closed before any response: sent again / lost for good
        "transport": outcomes.get("transport") or {"retried": 0, "lost": 0},
        "notes": outcomes.get("notes", []),
        "plan": {
            "budget": plan["budget"],
            "minimum": plan["minimum"],
            "max_duration_seconds": plan.get("max_duration_seconds"),
            # requests outside any requirement: the early error probe, observed discovery
            "other": {
                name: share
                for name, share in shares.items()
                if name not in {r.id for r in CATALOGUE}
            },
        },
        **({"mock_state": outcomes["mock_state"]} if outcomes.get("mock_state") else {}),
        "variants": outcomes.get("variants") or {},
        "discovery": outcomes.get("discovery"),
        "requirements": requirements,
    }


class AllureHandler:
    """The run's events -> Allure results written directly (one result per requirement)."""

    def __init__(self, writer: AllureWriter) -> None:
        self.writer = writer

    def handle(self, event: Event) -> None:
        if isinstance(event, RequirementFinished):
            self.writer.write_requirement(
                event.requirement,
                event.result,
                event.exchanges,
                base_url=event.base_url,
                seed=event.seed,
                start_ms=event.start_ms,
                stop_ms=event.stop_ms,
            )


def secrets_of(config: RunConfig) -> tuple[str, ...]:
    """The run's secrets, masked again in every report (the target already masks them)."""
    values = [config.session_id]
    for credentials in (config.credentials, config.unprivileged):
        if credentials is not None:
            values.append(credentials.password)
    return tuple(v for v in values if v)


def run(
    config: RunConfig,
    *,
    out: TextIO = sys.stdout,
    environ: Mapping[str, str] | None = None,
    requirements: Sequence[Requirement] | None = None,
    stop_when_failed: frozenset[str] = frozenset(),
    handlers: Sequence[EventHandler] = (),
    progress: bool = True,
    reports: bool = True,
) -> RunResult:
    """Run the conformance checks against ``config``'s target; write REPORT_DIR/summary.json.

    Progress is shown on *out* while the run goes: a status line redrawn in place on a terminal,
    one plain line per finished check elsewhere (or when *environ* says ``CI=true``).
    ``requirements`` narrows the run (the plan divides the budget among them),
    ``stop_when_failed`` ends it once one of those failed; ``handlers`` receive every event.
    ``reports=False`` writes summary.json (and harness.log) only, no Allure results, JUnit or
    summary.md: for a caller that reads the summary and discards the directory (selftest cells).
    """
    environ = os.environ if environ is None else environ
    started = time.monotonic()
    if config.max_duration is not None and config.started_at is None:
        config = replace(config, started_at=time.time())  # the time box includes start-up
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    report_dir = config.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path = report_dir / "summary.json"
    reason = usage_problem(config)
    outcomes: dict[str, Any] | None = None
    if reason is None:
        rate = effective_rate_limit(config)
        config = replace(config, rate_limit=rate)
        target = config.base_url or "embedded reference server (loopback)"
        print(
            f"snapconform: {config.mode} run against {target} (API {config.api_version}, seed "
            f"{seed});"
            f" budget {config.max_requests} requests, rate limit"
            f" {'none' if rate is None else f'{rate:g}/s'}, {config.max_examples} examples per "
            f"check"
            + ("" if config.concurrency == 1 else f", {config.concurrency} reads in flight")
            + ("" if config.max_duration is None else f", time box {config.max_duration:g} s"),
            file=out,
            flush=True,
        )
        plan = run_plan(config)
        reason = plan.refusal()
        if reason is None:
            print("\n".join(plan.lines()), file=out, flush=True)
    if reason is None:
        # Hypothesis writes caches below the report directory, never the working directory
        use_hypothesis_storage(report_dir, environ)
        session = RunSession(
            config,
            seed,
            requirements=tuple(CATALOGUE if requirements is None else requirements),
            stop_when_failed=stop_when_failed,
        )
        display = ProgressDisplay.for_stream(out, environ) if progress else None
        everyone: list[EventHandler] = list(handlers)
        if reports:
            writer = AllureWriter(report_dir / ALLURE_RESULTS, secrets=secrets_of(config))
            everyone.insert(0, AllureHandler(writer))
        if display is not None:
            everyone.insert(0, display)
            display.follow(lambda: session.requests)
        try:
            with (
                interrupts_as_keyboard_interrupt(session.interruption),
                harness_log(report_dir / HARNESS_LOG),
                collector_tuned(),
            ):
                outcomes = session.run(everyone)
        finally:
            if display is not None:
                display.close()
        reason = INTERRUPTED if session.interrupted else outcomes.get("error")
    summary = build_summary(config, seed, outcomes, reason)
    summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
    errors = default_contracts().errors("summary", summary)
    if errors:  # a bug in this module; say so rather than write an invalid summary
        raise RuntimeError(f"summary.json would violate its schema: {errors[0].message}")
    summary_path.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if reports:
        # report hook (snapconform.report): allure categories/environment/diffs, JUnit, summary.md
        finish_run(report_dir)
    return RunResult(exit_code_of(summary), summary, summary_path)


def exit_code_of(summary: Mapping[str, Any]) -> int:
    """0 conformant, 1 non-conformant, 3 incomplete, 2 no verdict; 130 when interrupted."""
    if summary["reason"] == INTERRUPTED:
        return EXIT_INTERRUPTED
    return {
        "conformant": EXIT_CONFORMANT,
        "non-conformant": EXIT_NON_CONFORMANT,
        "incomplete": EXIT_INCOMPLETE,
    }.get(summary["verdict"], EXIT_NO_VERDICT)


#: Where a check's crash is told in full (its traceback, secrets masked): for debugging the
#: harness, never evidence about the target.
HARNESS_LOG = "harness.log"


@contextmanager
def harness_log(path: Path) -> Iterator[None]:
    """The run's log records (``snapconform.*``: a crashed check's traceback) go to *path*."""
    path.unlink(missing_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("snapconform")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def interrupts_as_keyboard_interrupt(latch: InterruptLatch) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the block (main thread only), and
    ``latch`` keeps the signal, so an interrupt that a library swallows still ends the run.

    SIGINT is set even when it was started ignored (a command run with ``&`` from a script, a
    CI job runner): ignored signals stay ignored across exec, and the run would go on, past the
    interrupt, until it was killed with its sessions open.

    Python runs a signal's handler wherever the main thread is, also in a garbage collector
    callback (Hypothesis keeps one), a ``__del__`` or a weakref callback, where an exception
    cannot propagate and is printed as "Exception ignored in ..." with its traceback. The
    latch holds that signal and the run ends at its next request all the same, so such a
    KeyboardInterrupt is not printed (:func:`held_interrupts_unprinted`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        latch.receive(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in INTERRUPTING_SIGNALS}
    try:
        with held_interrupts_unprinted(latch):
            yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def held_interrupts_unprinted(latch: InterruptLatch) -> Iterator[None]:
    """``sys.unraisablehook`` drops a KeyboardInterrupt that could not propagate once the
    latch holds its signal; every other unraisable exception goes to the hook that was there
    before. Seen under load in the SIGINT test: the run ended as interrupted (exit 130), but
    its stderr began with "Exception ignored in: <function gc_cumulative_time.<locals>.
    gc_callback ...>" and a traceback."""
    previous = sys.unraisablehook

    def unraisable(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and latch.signal is not None:
            return
        previous(unraisable)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous


#: The table's outcome column.
MARKS = {"passed": "PASS", "failed": "FAIL", "not_applicable": "N/A", "not_checked": "NOT CHECKED"}


def render_table(summary: dict[str, Any], width: int = 110) -> str:
    """The per-requirement table printed at the end of a run (details cut to the width), the
    verdict line, then :func:`verdict_explanation`: the failures in full, what was not checked."""
    lines = []
    for r in summary["requirements"]:
        head = f"{MARKS[r['outcome']]:<11} {r['level']:<6} {r['id']:<28}"
        room = max(20, width - len(head) - 1)
        detail = r["title"] if r["outcome"] == "passed" else r["detail"]
        if r["outcome"] in ("not_applicable", "not_checked") and r.get("reason"):
            detail = f"({r['reason'].replace('_', ' ')}) {detail}"
        detail = detail if len(detail) <= room else detail[: room - 1] + "…"
        lines.append(f"{head} {detail}")
    counts = {o: sum(1 for r in summary["requirements"] if r["outcome"] == o) for o in OUTCOMES}
    lines.append(
        f"verdict: {summary['verdict'].upper()} — {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['not_checked']} not checked,"
        f" {counts['not_applicable']} not applicable; {summary['requests']} requests,"
        f" {summary.get('filter_cases', 0)} filter cases ({summary.get('distinct_filters', 0)} "
        f"distinct"
        f" queries), {summary.get('elapsed_seconds')} s"
    )
    lines += verdict_explanation(summary, width)
    return "\n".join(lines)


def verdict_explanation(summary: Mapping[str, Any], width: int = 110) -> list[str]:
    """Plain lines under the verdict: why it is incomplete, every failure (MUST first) with its
    whole first detail wrapped and its reproduction on one line of its own (to copy), then every
    requirement not checked with the change that would check it."""
    unchecked = not_checked(summary)
    musts = [r for r in unchecked if r["level"] == "MUST"]
    lines = []
    if summary["verdict"] == "incomplete":
        lines.append(
            f"INCOMPLETE: no MUST requirement failed, but {len(musts)} applicable MUST"
            f" requirement(s) were not checked; this is not a conformance verdict (exit 3)."
        )
    elif summary["verdict"] == "non-conformant" and musts:
        lines.append(
            f"{len(musts)} MUST requirement(s) were not checked as well (a failure decides)."
        )
    failed = failures_first(summary)
    if failed:
        lines.append(f"failed ({len(failed)}):")
    for r in failed:
        shown, reproduce = split_detail(str(r["detail"]))
        lines.append(f"  {r['id']} [{r['level']}] {r['title']}")
        lines += _wrapped(shown, width)
        if reproduce:
            lines.append(f"    reproduce: {reproduce}")
    if unchecked:
        lines.append("not checked:")
    for r in unchecked:
        label = outcome_label("not_checked", r.get("reason"))
        note = "" if r["level"] == "MUST" else " (SHOULD: does not change the verdict)"
        lines.append(f"  - {r['id']} [{r['level']}] {label}: {r['detail']}{note}")
        lines += _wrapped(f"to check it: {change_to_check(r)}", width)
    return lines


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` wrapped under a list entry; long words (ids, URLs) are kept whole."""
    return textwrap.wrap(
        " ".join(text.split()),
        width=max(40, width),
        initial_indent="    ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    ) or ["    (no detail)"]


def where_lines(report_dir: Path) -> list[str]:
    """The run's last lines: where summary.md is and how to open the HTML report."""
    return [
        f"summary: {report_dir / SUMMARY_MD} (summary.json beside it)",
        f"report:  snapconform report --report-dir {shlex.quote(str(report_dir))}, then open"
        f" {report_dir / 'html' / 'index.html'} in a browser",
    ]
