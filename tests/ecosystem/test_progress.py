"""Progress events: plain lines off a terminal or in CI, a redrawn status line on a terminal."""

from __future__ import annotations

import io
import json
import multiprocessing
from pathlib import Path

from snapconform.progress import ProgressDisplay, ProgressFollower, ProgressWriter, is_live


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


EVENTS = [
    {"event": "start", "total": 3},
    {"event": "check", "requirement": "SC-BODY-001"},
    {"event": "requests", "count": 4},
    {"event": "outcome", "requirement": "SC-BODY-001", "outcome": "passed", "title": "valid"},
    {"event": "check", "requirement": "SC-CAP-001"},
    {"event": "requests", "count": 2},
    {"event": "outcome", "requirement": "SC-CAP-001", "outcome": "failed", "title": "cap"},
    {"event": "check", "requirement": "SC-403-001"},
    {"event": "outcome", "requirement": "SC-403-001", "outcome": "skipped"},
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
        "[1/3] passed  SC-BODY-001 valid (4 requests sent, 0 failures so far)",
        "[2/3] failed  SC-CAP-001 cap (6 requests sent, 1 failure so far)",
        "[3/3] skipped SC-403-001 (6 requests sent, 1 failure so far)",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_live_mode_redraws_a_status_line_and_keeps_failures() -> None:
    stream = FakeTerminal()
    display = ProgressDisplay.for_stream(stream, {})
    assert display.live
    for event in EVENTS[:6]:
        display.handle(event)
    status = stream.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert status == "[1/3] checking SC-CAP-001 · 6 requests sent, 0 failures so far"
    for event in EVENTS[6:]:
        display.handle(event)
    display.close()
    text = stream.getvalue()
    # what stays on screen: one line per failure, nothing for passes and skips
    kept = [segment.rsplit("\r\x1b[K", 1)[-1] for segment in text.split("\n")[:-1]]
    assert kept == ["FAILED  SC-CAP-001 cap"]
    assert text.endswith("\r\x1b[K")  # the status line is cleared for the verdict


def test_malformed_events_are_ignored() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, live=False)
    for event in [{"event": "outcome", "outcome": "exploded"}, {"event": "requests", "count": "x"}]:
        display.handle(event)
    assert stream.getvalue() == "" and display.state.requests == 0


def test_follower_reads_partial_lines_and_drains_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    display = ProgressDisplay(io.StringIO(), live=False)
    follower = ProgressFollower(path, display, interval=60)
    follower.poll()  # no file yet: nothing, no error
    first = json.dumps(EVENTS[0]) + "\n" + json.dumps(EVENTS[2])
    path.write_text(first[:-5])
    follower.poll()
    assert display.state.total == 3 and display.state.requests == 0
    with path.open("a") as handle:
        handle.write(first[-5:] + "\nnot json\n")
    follower.poll()
    assert display.state.requests == 4
    with follower:
        ProgressWriter(path).outcome("SC-X", "error")
    assert display.state.failures == 1


def _emit_many(path: str, worker: int) -> None:
    writer = ProgressWriter(Path(path))
    for _ in range(200):
        writer.requests(1)
        writer.check(f"SC-WORKER-{worker}", title="x" * 200)


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_emit_many, args=(str(path), n)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    lines = path.read_text().splitlines()
    assert len(lines) == 1200
    assert sum(json.loads(line).get("count", 0) for line in lines) == 600


def test_reporter_turns_a_growing_request_counter_into_deltas(tmp_path: Path) -> None:
    from snapconform.progress import ProgressReporter

    path = tmp_path / "progress.jsonl"
    sent = [0]
    reporter = ProgressReporter(ProgressWriter(path), lambda: sent[0], tick=60)
    for total in (3, 3, 10):
        sent[0] = total
        reporter._flush_requests()
    counts = [json.loads(line)["count"] for line in path.read_text().splitlines()]
    assert counts == [3, 7]  # nothing for "no change", never a cumulative count


def test_reporter_survives_a_broken_counter(tmp_path: Path) -> None:
    from snapconform.progress import ProgressReporter

    def broken() -> int:
        raise RuntimeError("no harness")

    path = tmp_path / "progress.jsonl"
    ProgressReporter(ProgressWriter(path), broken)._flush_requests()
    assert not path.exists()
