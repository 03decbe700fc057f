"""Unit tests of snapconform.engine.safety: each policy against the input that would defeat it."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from email.utils import formatdate

import pytest

from snapconform.engine.cleanup import SessionLedger
from snapconform.engine.safety import (
    AttemptLog,
    BodyTooLargeError,
    CorruptEncodingError,
    DuplicateKeyError,
    InvalidJsonError,
    RedirectRefusedError,
    RetryPolicy,
    SafetyLimits,
    TooDeepError,
    UnsupportedEncodingError,
    check_redirect,
    decode_capped,
    json_depth,
    parse_json,
    parse_retry_after,
)
from snapconform.redaction import MASK, Redactor, mask_text

MIB = 1024 * 1024


def chunks(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- body caps --------------------------------------------------------------------------------


def test_identity_body_under_the_cap_is_returned_whole() -> None:
    body = b'{"items": []}' * 1000
    assert decode_capped(chunks(body, 7), None, len(body)) == body


def test_identity_body_one_byte_over_the_cap_is_refused() -> None:
    body = b"x" * (MIB + 1)
    with pytest.raises(BodyTooLargeError, match="cap of 1048576"):
        decode_capped(chunks(body), "identity", MIB)


def test_gzip_body_is_decoded() -> None:
    body = json.dumps({"items": [{"task": str(i)} for i in range(500)]}).encode()
    assert decode_capped(chunks(gzip.compress(body), 100), "gzip", MIB) == body


def test_gzip_bomb_is_stopped_at_the_cap_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (200 * MIB), compresslevel=9)  # about 200 KB on the wire
    assert len(bomb) < MIB
    started = time.perf_counter()
    with pytest.raises(BodyTooLargeError, match="once decoded"):
        decode_capped(chunks(bomb), "gzip", MIB)
    assert time.perf_counter() - started < 2.0


def test_zlib_and_raw_deflate_are_both_accepted_as_deflate() -> None:
    body = b'{"items": []}'
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(body) + raw.flush()
    assert decode_capped([zlib.compress(body)], "deflate", MIB) == body
    assert decode_capped([raw_deflate], "deflate", MIB) == body


def test_truncated_gzip_is_reported_as_corrupt() -> None:
    data = gzip.compress(b'{"items": []}' * 100)
    with pytest.raises(CorruptEncodingError, match="truncated"):
        decode_capped([data[: len(data) // 2]], "gzip", MIB)


def test_garbage_declared_as_gzip_is_reported_as_corrupt() -> None:
    with pytest.raises(CorruptEncodingError, match="not valid gzip"):
        decode_capped([b"this is not gzip"], "gzip", MIB)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip"])
def test_unknown_or_stacked_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(UnsupportedEncodingError):
        decode_capped([b"x"], encoding, MIB)


# --- JSON -------------------------------------------------------------------------------------


def test_valid_json_is_parsed() -> None:
    assert parse_json(b'{"items": [{"task": "t-1", "info": {}}]}') == {
        "items": [{"task": "t-1", "info": {}}]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>nope</html>", "not JSON"),
        (b'{"items": [', "not JSON"),
        (b'{"items": "\xff\xfe"}', "not UTF-8"),
        (b"", "empty"),
        (b'{"d": NaN}', "NaN"),
        ("\ufeff{}".encode(), "byte-order mark"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, message: str) -> None:
    with pytest.raises(InvalidJsonError, match=message):
        parse_json(body)


def test_duplicate_keys_are_refused_at_any_depth() -> None:
    with pytest.raises(DuplicateKeyError, match="'status' twice"):
        parse_json(b'{"items": [{"info": {"status": "RUNNING", "status": "FAILED"}}]}')


def test_depth_at_the_limit_is_accepted_and_one_more_is_refused() -> None:
    assert json_depth(parse_json(b"[" * 8 + b"]" * 8, max_depth=8)) == 8
    with pytest.raises(TooDeepError):
        parse_json(b"[" * 9 + b"]" * 9, max_depth=8)


def test_nesting_far_past_the_recursion_limit_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(TooDeepError):
        parse_json(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)


def test_error_messages_are_one_line() -> None:
    with pytest.raises(InvalidJsonError) as caught:
        parse_json(b'{\n"a":\n')
    assert "\n" not in str(caught.value)


# --- retries ----------------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date_are_understood() -> None:
    assert parse_retry_after("3") == 3.0
    now = time.time()
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now=now) == pytest.approx(10, abs=1)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_429_with_retry_after_is_honoured() -> None:
    decision = RetryPolicy().decide(1, 429, "2")
    assert decision.retry and decision.wait == 2.0


def test_retry_after_over_the_limit_is_not_waited_for() -> None:
    decision = RetryPolicy(max_wait=30).decide(1, 503, "3600")
    assert not decision.retry and "3600" in decision.reason


def test_throttling_is_never_retried_forever() -> None:
    policy = RetryPolicy(max_attempts=4)
    assert [policy.decide(n, 429, "0").retry for n in range(1, 6)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_no_retry_without_budget() -> None:
    decision = RetryPolicy().decide(1, 429, "1", budget_left=0)
    assert not decision.retry and "budget" in decision.reason


def test_a_500_is_retried_once_only() -> None:
    policy = RetryPolicy()
    assert policy.decide(1, 500).retry
    assert not policy.decide(2, 500).retry
    assert policy.decide(1, None).retry  # transport failure


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404])
def test_answers_that_are_not_failures_are_never_retried(status: int) -> None:
    assert not RetryPolicy().decide(1, status).retry


@pytest.mark.parametrize(
    ("outcomes", "flaky"),
    [
        (["500", "200"], True),
        (["ReadTimeout", "200"], True),
        (["500", "500"], False),
        (["429", "200"], False),
        (["503", "200"], False),
        (["200"], False),
    ],
)
def test_a_failure_that_vanishes_on_retry_is_flaky(outcomes: list[str], flaky: bool) -> None:
    assert AttemptLog(outcomes=outcomes).flaky is flaky


# --- redirects --------------------------------------------------------------------------------

LIMITS = SafetyLimits(max_redirects=3)
URL = "https://vc.example:443/api/snapservice/tasks"


def test_same_origin_redirect_is_followed() -> None:
    assert check_redirect(URL, "/api/snapservice/tasks/", 0, LIMITS) == (
        "https://vc.example:443/api/snapservice/tasks/"
    )
    assert check_redirect(URL, "https://VC.example/x", 0, LIMITS) == "https://VC.example/x"


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/api/snapservice/tasks",
        "https://vc.example:8443/api/snapservice/tasks",
        "http://vc.example/api/snapservice/tasks",
        "//evil.example/steal",
    ],
)
def test_cross_origin_redirect_is_refused(location: str) -> None:
    with pytest.raises(RedirectRefusedError, match="another origin"):
        check_redirect(URL, location, 0, LIMITS)


def test_redirect_loops_are_bounded() -> None:
    with pytest.raises(RedirectRefusedError, match="more than 3"):
        check_redirect(URL, "/again", 3, LIMITS)


# --- sessions ---------------------------------------------------------------------------------


def test_every_open_session_is_deleted_when_the_run_fails() -> None:
    deleted: list[str] = []
    ledger = SessionLedger()
    with pytest.raises(RuntimeError), ledger.guard(deleted.append):
        ledger.opened("s-1")
        ledger.opened("s-2")
        ledger.opened("s-3")
        ledger.closed("s-2")  # the suite logged this one out itself
        raise RuntimeError("a check crashed")
    assert sorted(deleted) == ["s-1", "s-3"]
    assert (ledger.created, ledger.deleted, ledger.open_count) == (3, 3, 0)


def test_one_failed_logout_does_not_leak_the_others_and_hides_the_id() -> None:
    attempted: list[str] = []

    def delete(session_id: str) -> None:
        attempted.append(session_id)
        if session_id == "secret-token-1":
            raise ConnectionError(f"could not delete {session_id}")

    ledger = SessionLedger()
    ledger.opened("secret-token-1")
    ledger.opened("secret-token-2")
    ledger.close_all(delete)
    assert sorted(attempted) == ["secret-token-1", "secret-token-2"]
    assert ledger.failures == [f"ConnectionError: could not delete {MASK}"]


def test_sessions_are_deleted_on_keyboard_interrupt() -> None:
    deleted: list[str] = []
    ledger = SessionLedger()
    with pytest.raises(KeyboardInterrupt), ledger.guard(deleted.append):
        ledger.opened("s-1")
        raise KeyboardInterrupt
    assert deleted == ["s-1"]


def test_decoding_pauses_the_collector_and_gives_it_back_as_it_was() -> None:
    # parse_json holds the cyclic collector off while it decodes (a big body decodes faster);
    # afterwards the collector is as the process had it, also after a refused body and when
    # the process had it off already; nested and concurrent pauses give it back once.
    import gc
    import threading

    from snapconform.engine.safety import CollectorPause

    assert gc.isenabled()
    assert parse_json(b'{"items": [{"task": "t-1"}]}') == {"items": [{"task": "t-1"}]}
    assert gc.isenabled()
    with pytest.raises(DuplicateKeyError):
        parse_json(b'{"a": 1, "a": 2}')
    assert gc.isenabled()
    pause = CollectorPause()
    with pause:
        assert not gc.isenabled()
        with pause:
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer holder still decodes
    assert gc.isenabled()
    gc.disable()
    try:
        parse_json(b"[1, 2]")
        assert not gc.isenabled()  # the process's choice stands
    finally:
        gc.enable()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pause:
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    with pause:
        pass
    assert not gc.isenabled()  # the other thread still holds the pause
    release.set()
    holder.join(10)
    assert gc.isenabled()


def test_a_run_tunes_the_collector_and_gives_the_process_its_own_back() -> None:
    import gc

    from snapconform.collector import RUN_GC_THRESHOLD, collector_tuned

    own = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt), collector_tuned():
        assert gc.get_threshold() == RUN_GC_THRESHOLD
        raise KeyboardInterrupt  # a run ended by Ctrl-C leaves the process as it found it
    assert gc.get_threshold() == own


def test_a_secret_that_contains_another_is_masked_whole() -> None:
    """Longest first: masking the shorter secret first would leave the rest of the longer one
    (a session id that starts with a password, a Basic token that contains a user name)."""
    text = "id=abcdef-123 user=abc"
    expected = f"id={MASK} user={MASK}"
    assert mask_text(text, ["abc", "abcdef-123"]) == expected
    redactor = Redactor()
    for secret in ("abc", "abcdef-123"):
        redactor.add(secret)
    assert redactor(text) == expected
