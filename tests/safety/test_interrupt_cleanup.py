"""What Ctrl-C must not undo: every session of the run is deleted, however the run unwinds.

The end-to-end test (test_sigint.py) interrupts a real run; these pin down the two ways a
session could outlive an interrupted run: a client of another principal whose ``with`` block
was cut short, and a second SIGINT (the runner resends one after 10 s) during the teardown.
"""

from __future__ import annotations

import os
import signal

import pytest

from snapconform.config import Credentials, RunConfig
from snapconform.engine.harness import Harness
from snapconform.engine.safety import interrupts_deferred
from snapconform.server.app import ServerConfig
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME
from snapconform.server.runner import serve_in_thread


def test_closing_the_harness_deletes_the_sessions_of_every_client_it_opened() -> None:
    with serve_in_thread(ServerConfig(api_version="9.0"), "127.0.0.1", 0) as server:
        config = RunConfig(
            base_url=server.base_url,
            credentials=Credentials(ADMIN_USERNAME, ADMIN_PASSWORD),
            api_version="9.0",
        )
        harness = Harness.open(config, base_url=server.base_url, control_url=None, seed=1)
        assert harness.target.auth_scheme == "session"
        other = harness.new_target()
        harness.login(other, harness.privileged)  # its `with` never ends: Ctrl-C cut it short
        assert len(server.runtime.sessions) == 2
        harness.close()
        assert len(server.runtime.sessions) == 0


def test_a_ctrl_c_during_the_teardown_is_held_until_it_ends_and_then_dropped() -> None:
    finished = []
    # An xdist worker does not run with Python's default SIGINT handler: install it here.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interrupts_deferred(deliver=False):
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the teardown ran to its end")
        assert finished == ["the teardown ran to its end"]  # and no KeyboardInterrupt after it
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: signal.Signals(s).name
)
def test_a_signal_during_the_teardown_is_held_then_given_to_the_handler_it_found(
    signum: int,
) -> None:
    """A CI runner cancels a job with SIGTERM and sends it again to a job still cleaning up:
    a teardown that SIGTERM cut short would leave sessions behind, as a second Ctrl-C would."""
    taken: list[int] = []
    seen_inside: list[list[int]] = []

    def handler(received: int, frame: object) -> None:
        taken.append(received)

    previous = signal.signal(signum, handler)
    try:
        with interrupts_deferred():
            os.kill(os.getpid(), signum)
            for _ in range(1000):  # a pending handler runs at a loop's jump back
                pass
            seen_inside.append(list(taken))
        assert seen_inside == [[]] and taken == [signum]
        assert signal.getsignal(signum) is handler
        with interrupts_deferred(deliver=False):
            os.kill(os.getpid(), signum)
            for _ in range(1000):
                pass
        assert taken == [signum]  # dropped
        assert signal.getsignal(signum) is handler
    finally:
        signal.signal(signum, previous)
