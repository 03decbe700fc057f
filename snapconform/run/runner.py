"""run(RunConfig) -> RunResult: the conformance suite in a pytest subprocess; summary.json.

The suite (tests/conformance) runs as
``python -m pytest <suite> -p snapconform.pytest_plugin -p snapconform.run.engine_plugin``
(plugins named by module, autoload off) with the run's options as ``--snapconform-*``
flags and every secret in the environment (never argv), progress events in a scratch file that
:mod:`snapconform.progress` renders while the suite runs, Allure results in
REPORT_DIR/allure-results and JUnit XML in REPORT_DIR/junit.xml. The plugin writes
per-requirement outcomes; this module turns them into REPORT_DIR/summary.json
(contracts/summary.schema.json) and the verdict: 0 conformant, 1 non-conformant, 2 no verdict,
3 incomplete (an applicable MUST was not checked, none failed), 130 interrupted.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

from snapconform._version import __version__
from snapconform.config import RunConfig
from snapconform.contracts import default_contracts
from snapconform.engine.plan import RunPlan
from snapconform.engine.requirements import CATALOGUE
from snapconform.engine.verdicts import OUTCOMES, outcome_label, verdict_of
from snapconform.progress import ProgressDisplay, ProgressFollower
from snapconform.pytest_plugin import suite_dir
from snapconform.report.finish import finish_run
from snapconform.report.first_screen import (
    change_to_check,
    failures_first,
    not_checked,
    split_detail,
)
from snapconform.report.summary import SUMMARY_MD
from snapconform.settings import HYPOTHESIS_STORAGE_ENV, hypothesis_storage

EXIT_CONFORMANT = 0
EXIT_NON_CONFORMANT = 1
EXIT_NO_VERDICT = 2
#: No MUST failed, but at least one applicable MUST was not checked (budget, time, ...).
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130
#: summary.json's reason when Ctrl-C (or SIGTERM) stopped the run
INTERRUPTED = "interrupted"
#: How long an interrupted suite may take to tear down (delete its sessions) before it is killed.
INTERRUPT_GRACE_SECONDS = 30.0
#: A child still running this long after the forwarded SIGINT gets one more: a library that
#: swallowed the first (a fuzzing or property engine stopping "gracefully") would otherwise run
#: on until the grace period ends and be terminated before its sessions are deleted. The
#: child's cleanup defers SIGINT, so the second one cannot cut it short.
INTERRUPT_RESEND_SECONDS = 10.0
#: Requests per second against a non-loopback target when --rate-limit is not given: what a
#: shared staging vCenter tolerates next to its real users (a default run then takes minutes).
REMOTE_RATE_LIMIT = 5.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: The conformance suite this run drives: the installed package's copy, else the checkout's.
SUITE_DIR = suite_dir()
#: The suite's pytest configuration (passed with -c: the caller's ini files never apply).
SUITE_INI = Path(__file__).resolve().parent / "suite_pytest.ini"


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


#: The plugin that owns ``--snapconform-progress`` (no entry point: loaded only when named).
TOP_LEVEL_PLUGIN = "snapconform.pytest_plugin"


#: pytest11 entry point -> module: the plugins the suite needs besides the engine's. allure
#: writes allure-results; hypothesis' plugin is what an autoloading pytest would have added.
SUITE_PLUGINS = {
    "allure_pytest": "allure_pytest.plugin",
    "hypothesispytest": "_hypothesis_pytestplugin",
}


def plugin_arguments() -> list[str]:
    """``-p`` for every plugin the suite needs (plugin autoload is off in the subprocess)."""
    names = [TOP_LEVEL_PLUGIN, "snapconform.run.engine_plugin"]
    for entry, module in SUITE_PLUGINS.items():
        names.append(entry if entry_points(group="pytest11", name=entry) else module)
    return [argument for name in names for argument in ("-p", name)]


def pytest_command(
    config: RunConfig, seed: int, outcomes: Path, progress: Path | None = None
) -> list[str]:
    """The subprocess command line (no secrets: they travel in the environment)."""
    report_dir = config.report_dir
    args = [
        sys.executable,
        # -P: the working directory is not put on sys.path, so a snapconform/ folder (or a
        # checkout of this repository) where the run starts never shadows the installed package
        "-P",
        "-m",
        "pytest",
        str(SUITE_DIR),
        # the suite's own ini file: none of the caller's (pytest.ini, pyproject.toml, tox.ini,
        # setup.cfg) applies, and no conftest.py above the suite is loaded
        "-c",
        str(SUITE_INI),
        f"--confcutdir={SUITE_DIR}",
        *plugin_arguments(),
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-rN",
        "--color=no",
        # The suite reports through CheckResult, not bare asserts. Without this, pytest
        # re-parses and recompiles every module of hypothesis, schemathesis, allure and xdist
        # (pytest11 plugin distributions) on import when bytecode is not cached
        # (PYTHONDONTWRITEBYTECODE, read-only venvs): ~40% of a default run (bench/RESULTS.md).
        "--assert=plain",
        # the packaged suite has no ini file around it: say how to import it explicitly
        "--import-mode=importlib",
        f"--rootdir={SUITE_DIR.parent.parent}",
        f"--alluredir={report_dir / 'allure-results'}",
        "--clean-alluredir",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--snapconform-outcomes={outcomes}",
        f"--snapconform-seed={seed}",
        f"--snapconform-api-version={config.api_version}",
        f"--snapconform-auth={config.auth}",
        f"--snapconform-max-examples={config.max_examples}",
        f"--snapconform-max-requests={config.max_requests}",
        f"--snapconform-timeout={config.timeout}",
    ]
    if config.max_duration is not None:
        args.append(f"--snapconform-max-duration={config.max_duration}")
        if config.started_at is not None:
            args.append(f"--snapconform-started-at={config.started_at}")
    rate = effective_rate_limit(config)
    if rate is not None:
        args.append(f"--snapconform-rate-limit={rate}")
    for flag, value in (
        ("base-url", config.base_url),
        ("control-url", config.control_url),
        ("state-file", config.state_file),
        ("ca-bundle", config.ca_bundle),
    ):
        if value is not None:
            args.append(f"--snapconform-{flag}={value}")
    if config.insecure:
        args.append("--snapconform-insecure")
    if progress is not None:
        args.append(f"--snapconform-progress={progress}")
    return args


#: A user's pytest settings for their own tests; the suite's command line is complete without
#: them (PYTEST_ADDOPTS would add -k or -x, PYTEST_PLUGINS foreign plugins).
FOREIGN_PYTEST_ENV = frozenset(
    {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
)


def subprocess_environment(config: RunConfig) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SNAPCONFORM_") and k not in FOREIGN_PYTEST_ENV
    }
    if config.credentials is not None:
        env["SNAPCONFORM_USERNAME"] = config.credentials.username
        env["SNAPCONFORM_PASSWORD"] = config.credentials.password
    if config.session_id is not None:
        env["SNAPCONFORM_SESSION_ID"] = config.session_id
    if config.unprivileged is not None:
        env["SNAPCONFORM_UNPRIVILEGED_USERNAME"] = config.unprivileged.username
        env["SNAPCONFORM_UNPRIVILEGED_PASSWORD"] = config.unprivileged.password
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    # Hypothesis writes caches (and would write its database) below the report directory,
    # never into the user's working directory
    env[HYPOTHESIS_STORAGE_ENV] = str(hypothesis_storage(config.report_dir, os.environ))
    # Only the plugins the suite names (plugin_arguments) load: no plugin installed next to
    # snapconform (a team's own, pytest-randomly, ...) reshapes the run. PYTHONSAFEPATH is -P
    # for any Python process the suite starts.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONSAFEPATH"] = "1"
    return env


def run_plan(config: RunConfig) -> RunPlan:
    """The plan the suite will follow (the same function of the configuration in both places)."""
    return RunPlan.make(
        config.mode,
        config.max_requests,
        max_duration=config.max_duration,
        unprivileged=config.unprivileged is not None or config.mode == "controlled",
    )


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
        missing = ("deselected", "not run: the suite did not collect or run this check")
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


def run(
    config: RunConfig, *, out: TextIO = sys.stdout, environ: Mapping[str, str] = os.environ
) -> RunResult:
    """Run the suite against ``config``'s target and write REPORT_DIR/summary.json.

    Progress is shown on *out* while the suite runs: a status line redrawn in place on a
    terminal, one plain line per finished check elsewhere (or when *environ* says ``CI=true``).
    """
    started = time.monotonic()
    if config.max_duration is not None and config.started_at is None:
        config = replace(config, started_at=time.time())  # the time box includes start-up
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    report_dir = config.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path = report_dir / "summary.json"
    outcomes_path = report_dir / "outcomes.json"
    outcomes_path.unlink(missing_ok=True)
    reason = usage_problem(config)
    outcomes: dict[str, Any] | None = None
    if reason is None:
        rate = effective_rate_limit(config)
        target = config.base_url or "embedded reference server (loopback)"
        print(
            f"snapconform: {config.mode} run against {target} (API {config.api_version}, seed "
            f"{seed});"
            f" budget {config.max_requests} requests, rate limit"
            f" {'none' if rate is None else f'{rate:g}/s'}, {config.max_examples} examples per "
            f"check"
            + ("" if config.max_duration is None else f", time box {config.max_duration:g} s"),
            file=out,
            flush=True,
        )
        plan = run_plan(config)
        reason = plan.refusal()
        if reason is None:
            print("\n".join(plan.lines()), file=out, flush=True)
    if reason is None:
        log_path = report_dir / "pytest.log"
        with (
            log_path.open("w", encoding="utf-8") as log,
            tempfile.TemporaryDirectory(prefix="snapconform-progress-") as scratch,
        ):
            progress_path = Path(scratch) / "progress.jsonl"
            command = pytest_command(config, seed, outcomes_path, progress_path)
            display = ProgressDisplay.for_stream(out, environ)
            with ProgressFollower(progress_path, display):
                returncode, interrupted = run_suite(command, subprocess_environment(config), log)
        if outcomes_path.is_file():
            outcomes = json.loads(outcomes_path.read_text(encoding="utf-8"))
            reason = outcomes.get("error")
        else:
            reason = (
                "the conformance suite ended without outcomes"
                f" (pytest exit {returncode}; see {log_path})"
            )
        if interrupted:
            reason = INTERRUPTED
    summary = build_summary(config, seed, outcomes, reason)
    summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
    errors = default_contracts().errors("summary", summary)
    if errors:  # a bug in this module; say so rather than write an invalid summary
        raise RuntimeError(f"summary.json would violate its schema: {errors[0].message}")
    summary_path.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    # report hook (snapconform.report): allure categories/environment/diffs, summary.md
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


def run_suite(
    command: list[str],
    env: dict[str, str],
    log: TextIO,
    *,
    grace: float = INTERRUPT_GRACE_SECONDS,
    resend: float = INTERRUPT_RESEND_SECONDS,
) -> tuple[int, bool]:
    """Run the pytest child to its end: ``(exit status, whether it was interrupted)``.

    Ctrl-C (or SIGTERM, SIGHUP) is not allowed to kill the child: the child's session teardown
    is what deletes the sessions it created on the target. The child runs in its own process
    group, so a terminal's Ctrl-C reaches only this process, which forwards one SIGINT (pytest
    stops, tears its fixtures down, writes its outcomes) and waits up to *grace* seconds before
    terminating it.
    """
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0
    )
    stop = _ForwardInterrupt(process)
    resent = False
    with stop.installed():
        while True:
            try:
                return process.wait(timeout=0.2), stop.received is not None
            except subprocess.TimeoutExpired:
                pass
            waited = time.monotonic() - stop.received if stop.received is not None else 0.0
            if stop.received is not None and not resent and waited > resend:
                resent = True
                with suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
            if stop.received is not None and waited > grace:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                return process.wait(), True


#: Ctrl-C, a CI job's cancellation, a closed terminal (the child, in its own process group,
#: would not see the hangup and would run on unattended).
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _ForwardInterrupt:
    """Signal handler: the first of FORWARDED_SIGNALS becomes one SIGINT to the child; later
    ones wait for it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.received: float | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return  # a second Ctrl-C must not cut the child's cleanup short
        self.received = time.monotonic()
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread receives signals; nothing to forward
            return
        previous = {signum: signal.signal(signum, self) for signum in FORWARDED_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


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
