"""An interrupt that something swallows still ends the run, and decides nothing.

Seen in CI: SIGTERM mid-run, and the run went on to its end (exit 3, no "interrupted"):
Hypothesis had turned the KeyboardInterrupt into an AssertionError (the last test). The
signal handler keeps the signal in the run's InterruptLatch before it raises KeyboardInterrupt,
so a swallowed one is raised again: by the run's target at the next request of the check, and
by the session at the check's end, which does not keep that check's outcome.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from contextlib import suppress
from typing import Any

import pytest

from snapconform.config import RunConfig
from snapconform.engine.cleanup import InterruptLatch
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.requirements import CATALOGUE
from snapconform.engine.verdicts import CheckResult
from snapconform.run import session as session_module
from snapconform.run.runner import interrupts_as_keyboard_interrupt
from snapconform.run.session import RunSession
from snapconform.server.app import ServerConfig
from snapconform.server.runner import serve_in_thread
from tests.engine.helpers import harness_for


def test_once_a_signal_is_received_the_run_target_sends_nothing_until_the_run_closes() -> None:
    latch = InterruptLatch()
    with harness_for() as harness:
        harness.marks.interruption = latch
        harness.target.list_tasks(FilterSpec())
        sent = harness.stats.requests
        with pytest.raises(KeyboardInterrupt):
            latch.receive(signal.SIGTERM)
        try:
            harness.target.list_tasks(FilterSpec())  # a caller that swallowed the first one
        except KeyboardInterrupt:
            pass
        else:
            pytest.fail("a request went out after the interrupt")
        assert harness.stats.requests == sent
        harness.marks.interruption = None  # closing: the logouts go out
        harness.target.list_tasks(FilterSpec())
        assert harness.stats.requests == sent + 1
    assert latch.signal == signal.SIGTERM


def test_a_check_that_swallows_the_interrupt_ends_the_run_as_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requirements = tuple(CATALOGUE[:3])
    judged: list[str] = []
    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        config = RunConfig(
            base_url=server.base_url, control_url=server.control_url, seed=3, max_examples=5
        )
        run_session = RunSession(config, 3, requirements=requirements)

        def swallowing_judge(harness: Any, requirement: Any) -> CheckResult:
            judged.append(requirement.id)
            harness.target.list_tasks(FilterSpec())
            with suppress(KeyboardInterrupt):  # what a library's ``except BaseException`` does
                run_session.interruption.receive(signal.SIGINT)
            return CheckResult.failed("a failure that is the interrupt's doing")

        monkeypatch.setattr(session_module, "judge", swallowing_judge)
        outcomes = run_session.run()
        left = len(server.runtime.sessions)
    assert run_session.interrupted
    assert judged == [requirements[0].id]  # nothing was judged after it
    assert outcomes["requirements"] == {}, outcomes["requirements"]
    assert left == 0  # closing still logged out


def test_an_interrupt_hypothesis_turns_into_an_assertion_error_still_ends_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CI failure's path: SIGTERM inside Hypothesis' ``run_engine`` before its engine exists
    (there: while it computed the test's digest, which drive() no longer asks for; here: while
    it makes the engine). Its ``except BaseException`` then fails ``assert state._runner is not
    None``, and the check saw an AssertionError (a crash: not checked), not the interrupt."""
    import hypothesis.core

    with serve_in_thread(ServerConfig(), "127.0.0.1", 0) as server:
        config = RunConfig(
            base_url=server.base_url, control_url=server.control_url, seed=3, max_examples=5
        )
        run_session = RunSession(config, 3)
        make_engine = hypothesis.core.ConjectureRunner

        def interrupted_engine(*args: Any, **kwargs: Any) -> Any:
            run_session.interruption.receive(signal.SIGTERM)
            return make_engine(*args, **kwargs)

        monkeypatch.setattr(hypothesis.core, "ConjectureRunner", interrupted_engine)
        outcomes = run_session.run()
        left = len(server.runtime.sessions)
    assert run_session.interrupted
    crashed = {rid: r for rid, r in outcomes["requirements"].items() if r["reason"] == "error"}
    assert crashed == {}  # the interrupt is no crash of a check
    assert len(outcomes["requirements"]) < len(run_session.requirements)
    assert left == 0


def test_an_interrupt_that_lands_in_a_gc_callback_is_kept_and_not_printed() -> None:
    """Python runs a signal's handler wherever the main thread is, also in a garbage collector
    callback (Hypothesis keeps one), where the KeyboardInterrupt cannot propagate: it was
    printed with its traceback ("Exception ignored in: <function gc_cumulative_time.<locals>.
    gc_callback ...>") above the run's "snapconform: interrupted". The latch keeps the signal
    (the run ends at its next request) and nothing is printed; any other exception a callback
    cannot raise still is."""
    latch = InterruptLatch()
    fired: list[str] = []
    printed: list[type[BaseException]] = []

    def signalling_callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not fired:
            fired.append(phase)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, inside the callback
                pass

    def failing_callback(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and fired == ["start"]:
            fired.append(phase)
            raise ValueError("a callback's own bug")

    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: printed.append(type(unraisable.exc_value))
    gc.callbacks.extend([signalling_callback, failing_callback])
    try:
        with interrupts_as_keyboard_interrupt(latch):
            gc.collect()
    finally:
        gc.callbacks.remove(signalling_callback)
        gc.callbacks.remove(failing_callback)
        sys.unraisablehook = previous_hook
    assert fired == ["start", "stop"]
    assert latch.signal == signal.SIGTERM
    assert printed == [ValueError]
