"""Sending again: Retry-After honoured within the budget, a lost connection retried once.

``SendRetries`` is the part of ``Target`` that decides whether an answer (429/503 with
Retry-After, a GET's transient 5xx) or a connection closed before any answer is sent again, and
leaves a note for every retry: a retry never hides a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from snapconform.engine.oracle import is_cap_error
from snapconform.engine.safety import (
    AttemptLog,
    RateLimiter,
    RetryDecision,
    TargetSafetyError,
    parse_json,
)
from snapconform.errors import ConnectionLostError

if TYPE_CHECKING:
    from snapconform.engine.exchange import Stats
    from snapconform.engine.target import TargetSettings

#: The note of a 503 without Retry-After. Informational: every controlled run provokes one
#: (FAULT-503), so it must not read like a problem of the server or of the run.
NO_RETRY_AFTER_503 = (
    "a 503 without Retry-After was taken as the server's answer and checked as such (not"
    " retried; FAULT-503 provokes one on purpose in controlled mode)"
)


class SendRetries:
    """A mixin of ``Target``: its ``settings``, ``stats``, ``limiter``, ``_send_once``,
    ``remaining_budget`` and ``_note``."""

    settings: TargetSettings
    stats: Stats
    limiter: RateLimiter
    remaining_budget: int
    _note: Callable[[str], None]
    _send_once: Callable[..., tuple[httpx.Response, bytes, float]]

    def _send_with_retries(
        self, method: str, path: str, url: str, headers: Mapping[str, str]
    ) -> tuple[httpx.Response, bytes, float]:
        """Send, honouring 429/503 Retry-After within the budget and retrying a GET's 5xx once.

        A retry never hides a failure: after a 5xx the first answer is what the checks see, and
        every retry leaves a note (``flaky`` when the failure vanished on retry).
        """
        policy = self.settings.retry
        log = AttemptLog()
        first: tuple[httpx.Response, bytes, float] | None = None
        lost = 0
        while True:
            try:
                # a request that is never sent twice (POST, DELETE /sessions) never goes on a
                # pooled connection the server may have dropped while idle (_fresh_client);
                # the send after a lost connection does not either
                fresh = lost > 0 or method not in policy.retried_methods
                sent = self._send_once(method, path, url, headers, fresh=fresh, resend=lost > 0)
            except ConnectionLostError as closed:
                lost += 1
                log.outcomes.append(closed.kind)
                decision = policy.retry_lost_connection(method, lost, self.remaining_budget)
                if decision.retry:
                    with self.stats.lock:  # reads in flight on several threads count here
                        self.stats.connection_retried += 1
                    continue
                with self.stats.lock:
                    self.stats.connection_lost += 1
                what = f"{method} {path}: {log.summary()} (connection closed before any response"
                self._note(f"{what}; {decision.reason})")
                raise ConnectionLostError(
                    f"{closed} ({decision.reason}): no answer to judge", closed.kind
                ) from None
            raw = sent[0]
            log.outcomes.append(str(raw.status_code))
            first = first or sent
            transient = raw.status_code in policy.transient_statuses
            decision = policy.decide(
                len(log.outcomes) - lost,  # a lost send is no attempt the server answered
                raw.status_code,
                raw.headers.get("retry-after"),
                budget_left=self.remaining_budget,
            )
            # a throttling 503 without Retry-After is an answer, not a request to come back;
            # a POST is never sent twice for a 5xx (it may have created a session)
            if raw.status_code == 503 and "retry-after" not in raw.headers:
                decision = RetryDecision(False, reason=NO_RETRY_AFTER_503)
            if transient and method != "GET":
                decision = RetryDecision(False)
            if decision.retry and is_documented_500(raw.status_code, sent[1]):
                decision = RetryDecision(False)
            if not decision.retry:
                if decision.reason == NO_RETRY_AFTER_503 and not log.retried:
                    self._note(f"{method} {path}: {NO_RETRY_AFTER_503}")
                elif (
                    decision.reason and log.retried
                ) or raw.status_code in policy.throttle_statuses:
                    self._note(f"{method} {path}: {log.summary()}; {decision.reason}".rstrip("; "))
                break
            log.waits.append(decision.wait)
            if raw.status_code in policy.throttle_statuses:
                self.limiter.hold(decision.wait)  # the server asked the whole run to wait
            time.sleep(decision.wait)
        if lost:
            # a lost connection is no answer: the retry's answer is the server's, not flaky
            self._note(
                f"{method} {path}: connection closed before any response, retried on a fresh"
                f" connection (e.g. {log.summary()})"
            )
        elif log.retried:
            verdict = "flaky: a failure that vanished on retry" if log.flaky else "retried"
            self._note(f"{method} {path}: {log.summary()} ({verdict})")
        first_failed = first[0].status_code in policy.transient_statuses
        return first if first_failed else sent


def is_documented_500(status: int, content: bytes) -> bool:
    """A 500 whose body is the documented ResourceInaccessible error: an answer, not a fault.

    The page documents it for a filter matching over 1000 tasks and for a task whose state
    cannot be accessed. Sending it again (a second later) would only cost a request and a second
    per occurrence: the checks judge the first answer anyway, and FILTER-DETERMINISTIC is where
    a request's stability is judged.
    """
    if status != 500 or len(content) > 65536:
        return False
    # decoded strictly, as every answer is: a body no check reads as JSON is no documented error
    try:
        body = parse_json(content)
    except TargetSafetyError:
        return False
    return is_cap_error(status, body)
