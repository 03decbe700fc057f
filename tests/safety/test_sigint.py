"""Ctrl-C during a run: one line, exit 130, and every session it created is deleted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snapconform.contracts import default_contracts
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread
from tests.safety.hostile import SESSIONS_PATH, TASKS_PATH, RecordingProxy

pytestmark = pytest.mark.slow


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    "started",
    [
        "with SIGINT handled",
        # a command started with `&` from a script, or by some CI job runners: the run
        # inherits SIGINT ignored (the CI failure: the run went on and was killed)
        "with SIGINT ignored",
        # a CI job's cancellation
        "then SIGTERM",
    ],
)
def test_sigint_mid_run_deletes_every_created_session(tmp_path: Path, started: str) -> None:
    with (
        serve_in_thread(ServerConfig(api_version="9.0")) as server,
        RecordingProxy(server.base_url) as proxy,
    ):
        args = [
            sys.executable, "-m", "snapconform", "run", "--base-url", proxy.base_url,
            "--username", ADMIN_USERNAME, "--report-dir", str(tmp_path), "--seed", "1",
            "--max-examples", "50", "--api-version", "9.0",
        ]  # fmt: skip
        process = subprocess.Popen(
            args,
            # the user's environment without SNAPCONFORM_* (a variable the run does not know
            # prints a warning line on stderr, which this test reads)
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("SNAPCONFORM_")},
                "SNAPCONFORM_PASSWORD": ADMIN_PASSWORD,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ignore_sigint if started == "with SIGINT ignored" else None,
        )

        # Synchronise on the run's work, not on time (a loaded machine is slow): a session
        # exists and the run is past its pre-flight, listing tasks. Bounded by the run itself.
        def listed() -> int:
            return proxy.recorder.calls().count(("GET", TASKS_PATH))

        for _ in range(6000):  # a bound against a hung run, far beyond any machine's pace
            if ("POST", SESSIONS_PATH) in proxy.recorder.calls() and listed() >= 30:
                break
            assert process.poll() is None, "the run ended before it was interrupted"
            time.sleep(0.1)
        else:
            pytest.fail("the run neither logged in nor listed tasks")
        process.send_signal(signal.SIGTERM if started == "then SIGTERM" else signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        calls = proxy.recorder.calls()
        left = len(server.runtime.sessions)
    # one line with both (a short test summary shows the message's first line only): a run of
    # the suite once failed here with nothing but "snapconform: interrupted" to go on
    outcome = (process.returncode, stderr.strip())
    assert outcome == (130, "snapconform: interrupted"), f"exit and stderr: {outcome!r}"
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    # what ran before the interruption decides nothing on its own: never conformant
    assert summary["verdict"] == "incomplete" and summary["reason"] == "interrupted"
    assert any(n["reason"] == "interrupted" for n in summary["not_checked"])
    assert default_contracts().errors("summary", summary) == []
    # Not every POST creates a session (AUTH-WRONG-PASSWORD's are refused with 401): the server's
    # own count of live sessions is the measure, after a run that did log in and out.
    assert calls.count(("POST", SESSIONS_PATH)) >= 1 and calls.count(("DELETE", SESSIONS_PATH)) >= 1
    assert left == 0, _diagnosis(tmp_path, calls)


def _diagnosis(report_dir: Path, calls: list[tuple[str, str]]) -> str:
    """What a leaked session needs to be explained: the session calls, the run's notes (a
    logout that failed is one) and its harness log."""
    sessions = [(n, call) for n, call in enumerate(calls) if call[1] == SESSIONS_PATH]
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    log = report_dir / "harness.log"
    return (
        f"session calls (index, call) of {len(calls)}: {sessions}; notes {summary['notes']};"
        f" harness.log: {log.read_text(encoding='utf-8')[-2000:] if log.exists() else 'none'}"
    )
