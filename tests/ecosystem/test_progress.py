"""Progress: the run's events as plain lines off a terminal or in CI, a redrawn status line on a
terminal."""

from __future__ import annotations

import io
import threading

from snapconform.config import RunConfig
from snapconform.engine.requirements import requirement
from snapconform.engine.verdicts import CheckResult
from snapconform.progress import ProgressDisplay, is_live
from snapconform.run.session import (
    CheckStarted,
    Event,
    RequestsSent,
    RequirementFinished,
    RunStarted,
)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


BODY, CAP, PRIVILEGE = (
    requirement("CONTRACT-200-BODY"),
    requirement("CAP-OVER-LIMIT"),
    requirement("AUTH-PRIVILEGE"),
)


def _finished(req: object, result: CheckResult) -> RequirementFinished:
    return RequirementFinished(req, result, None, 0, (), None, 1, 0, 0)  # type: ignore[arg-type]


EVENTS: list[Event] = [
    RunStarted(RunConfig(), 1, 3),
    CheckStarted(BODY),
    RequestsSent(4),
    _finished(BODY, CheckResult.passed("ok")),
    CheckStarted(CAP),
    RequestsSent(2),
    _finished(CAP, CheckResult.failed("1001 tasks listed")),
    CheckStarted(PRIVILEGE),
    _finished(PRIVILEGE, CheckResult.not_checked("budget", "no requests left")),
]


def test_is_live_only_on_a_terminal_outside_ci() -> None:
    assert is_live(FakeTerminal(), {})
    assert not is_live(io.StringIO(), {})
    assert not is_live(FakeTerminal(), {"CI": "true"})
    assert not is_live(FakeTerminal(), {"TERM": "dumb"})
    assert is_live(FakeTerminal(), {"CI": "false"})


def test_plain_mode_prints_one_line_per_finished_check() -> None:
    stream = io.StringIO()
    display = ProgressDisplay.for_stream(stream, {"CI": "true"})
    for event in EVENTS:
        display.handle(event)
    display.close()
    assert stream.getvalue().splitlines() == [
        f"[1/3] passed  CONTRACT-200-BODY {BODY.title} (4 requests sent, 0 failures so far)",
        f"[2/3] failed  CAP-OVER-LIMIT {CAP.title} (6 requests sent, 1 failure so far)",
        f"[3/3] not checked AUTH-PRIVILEGE {PRIVILEGE.title}"
        " (6 requests sent, 1 failure, 1 not checked so far)",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_live_mode_redraws_a_status_line_and_keeps_failures() -> None:
    stream = FakeTerminal()
    display = ProgressDisplay.for_stream(stream, {})
    assert display.live
    for event in EVENTS[:6]:
        display.handle(event)
    status = stream.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert status.startswith("[1/3] checking CAP-OVER-LIMIT · 6 requests sent, 0 failures so far")
    for event in EVENTS[6:]:
        display.handle(event)
    display.close()
    text = stream.getvalue()
    # what stays on screen: one line per failure, nothing for passes and skips
    kept = [segment.rsplit("\r\x1b[K", 1)[-1] for segment in text.split("\n")[:-1]]
    assert kept == [f"FAILED  CAP-OVER-LIMIT {CAP.title}"]
    assert text.endswith("\r\x1b[K")  # the status line is cleared for the verdict


def test_the_live_count_moves_during_a_long_check_and_stops_with_close() -> None:
    stream = FakeTerminal()
    display = ProgressDisplay(stream, live=True)
    sent = [0]
    ticked = threading.Event()

    def requests() -> int:
        sent[0] += 5
        if sent[0] > 20:
            ticked.set()
        return sent[0]

    display.follow(requests, interval=0.01)
    assert ticked.wait(timeout=60)
    display.close()
    assert "requests sent" in stream.getvalue() and display.state.requests > 0
    settled = sent[0]
    assert sent[0] == settled  # the ticker ended with close()


def test_plain_mode_ignores_the_follower() -> None:
    display = ProgressDisplay(io.StringIO(), live=False)
    display.follow(lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    display.close()
    assert display.state.requests == 0
