"""Every requirement family catches a deliberately broken server; the reference passes.

Each broken server is a small Behaviour subclass with one deviation; the engine runs in-process
(Harness + the catalogue's check) in controlled mode against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from snapconform.server.behaviour import Behaviour
from tests.engine.helpers import harness_for, run_checks

pytestmark = pytest.mark.slow


class CaseInsensitiveIdentifiers(Behaviour):
    """Identifiers compare case-insensitively (users may: a documented alternative)."""

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        if field_name != "users" and isinstance(actual, str):
            return actual.lower() in {w.lower() for w in wanted}
        return super().field_matches(field_name, wanted, actual)


class FirstValueOnly(Behaviour):
    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        return super().field_matches(field_name, wanted[:1], actual)


class OrAcrossFields(Behaviour):
    def task_matches(self, item: Mapping[str, Any], spec: Any) -> bool:
        constraints = spec.constraints()
        if not constraints:
            return True
        return any(self.field_matches(n, w, _value(item, n)) for n, w in constraints.items())


def _value(item: Mapping[str, Any], name: str) -> Any:
    from snapconform.engine.oracle import item_value

    return item_value(item, name)


class CapCountsStore(Behaviour):
    def exceeds_cap(self, result: Any, store: Any) -> bool:
        return len(store) > self.cap


class NoCap(Behaviour):
    def exceeds_cap(self, result: Any, store: Any) -> bool:
        return False


class NoPrivilegeCheck(Behaviour):
    def authorised(self, principal: Any) -> bool:
        return True


class IgnoresVisibility(Behaviour):
    def visible(self, principal: Any) -> frozenset[str] | None:
        return None


class NoChallenge(Behaviour):
    def challenge(self) -> str | None:
        return None


class TextPlain(Behaviour):
    def media_type(self) -> str:
        return "text/plain"


class WrongErrorType(Behaviour):
    def error_type_value(self, error_type: str) -> str:
        return "ERROR" if error_type == "INVALID_ARGUMENT" else error_type


class UnavailableAs500(Behaviour):
    def status_for(self, error_type: str) -> int:
        return 500 if error_type == "SERVICE_UNAVAILABLE" else super().status_for(error_type)


CASES = [
    pytest.param(
        CaseInsensitiveIdentifiers(), ["FILTER-EXACT-ENCODED"], id="filter-case-insensitive"
    ),
    pytest.param(
        FirstValueOnly(),
        ["FILTER-COMPLETENESS", "FILTER-OR-AND", "FILTER-ORDER-REPEATS"],
        id="filter-first-value-only",
    ),
    pytest.param(
        OrAcrossFields(), ["FILTER-SOUNDNESS", "FILTER-OR-AND"], id="filter-or-across-fields"
    ),
    pytest.param(CapCountsStore(), ["CAP-COUNTS-MATCHING"], id="cap-counts-store"),
    pytest.param(NoCap(), ["CAP-OVER-LIMIT", "CAP-NEVER-MORE"], id="cap-truncates-never"),
    pytest.param(NoPrivilegeCheck(), ["AUTH-PRIVILEGE"], id="auth-no-privilege-check"),
    pytest.param(IgnoresVisibility(), ["AUTH-VISIBILITY"], id="auth-ignores-visibility"),
    pytest.param(
        NoChallenge(), ["AUTH-CHALLENGE", "AUTH-WWW-AUTHENTICATE"], id="auth-no-challenge"
    ),
    pytest.param(TextPlain(), ["CONTRACT-JSON"], id="contract-text-plain"),
    pytest.param(
        WrongErrorType(),
        ["CONTRACT-ERROR-TYPE", "CONTRACT-ERROR-BODY"],
        id="contract-wrong-error-type",
    ),
    pytest.param(UnavailableAs500(), ["FAULT-503"], id="faults-503-as-500"),
]


@pytest.mark.parametrize(("behaviour", "caught_by"), CASES)
def test_broken_server_is_caught(behaviour: Behaviour, caught_by: list[str]) -> None:
    with harness_for(behaviour, max_examples=6) as harness:
        results = run_checks(harness, caught_by)
    for rid, result in results.items():
        assert result.outcome == "failed", (
            f"{rid} missed {type(behaviour).__name__}: {result.detail}"
        )
        assert "***" not in result.detail or "Sc-" not in result.detail


def test_failure_detail_has_seed_and_a_curl_line_without_secrets() -> None:
    with harness_for(FirstValueOnly(), max_examples=6, seed=7) as harness:
        result = run_checks(harness, ["FILTER-COMPLETENESS"])["FILTER-COMPLETENESS"]
        passwords = [p[1] for p in (harness.principals.privileged, harness.principals.limited)]  # type: ignore[union-attr]
    assert result.outcome == "failed"
    assert "seed 7" in result.detail and "curl -sS" in result.detail
    # the credentials are read from the environment when the line is pasted, never inlined
    assert (
        '"vmware-api-session-id: $SNAPCONFORM_SESSION_ID"' in result.detail
        or '-u "$SNAPCONFORM_USERNAME:$SNAPCONFORM_PASSWORD"' in result.detail
    )
    assert not any(p in result.detail for p in passwords)


ALL_IDS = [
    "FILTER-EMPTY",
    "FILTER-SOUNDNESS",
    "FILTER-COMPLETENESS",
    "FILTER-OR-AND",
    "FILTER-ORDER-REPEATS",
    "FILTER-EXACT-ENCODED",
    "FILTER-UNKNOWN-IDS",
    "FILTER-INVALID-STATUS",
    "FILTER-DETERMINISTIC",
    "CAP-AT-LIMIT",
    "CAP-OVER-LIMIT",
    "CAP-COUNTS-MATCHING",
    "AUTH-NO-CREDENTIALS",
    "AUTH-CHALLENGE",
    "AUTH-WWW-AUTHENTICATE",
    "AUTH-BOGUS-SESSION",
    "AUTH-WRONG-PASSWORD",
    "AUTH-SESSION-ENDED",
    "AUTH-PRIVILEGE",
    "AUTH-VISIBILITY",
    "FAULT-503",
    "FAULT-500",
    "CONTRACT-200-BODY",
    "CONTRACT-STATUS-CONDITIONAL",
    "CONTRACT-ERROR-BODY",
    "CONTRACT-ERROR-TYPE",
    "CONTRACT-ERROR-MESSAGES",
    "CONTRACT-JSON",
    "CONTRACT-UNIQUE-IDS",
    "CONTRACT-DATETIME-UTC",
    "CAP-NEVER-MORE",
    "AUTH-PRIVILEGE-UNDISCLOSED",
    "AUTH-WRONG-PASSWORD-UNDISCLOSED",
]


@pytest.mark.parametrize("api_version", ["8.0.3", "9.1"])
def test_reference_server_passes_controlled(api_version: str) -> None:
    # No plan: every check runs whole (4 examples each), 850 to 950 requests in all; a budget of
    # the test's own, not the run's default, which a plan divides.
    run = {"api_version": api_version, "max_requests": 2000}
    with harness_for(server={"api_version": api_version}, run=run, seed=11) as harness:
        results = run_checks(harness, ALL_IDS)
    failed = {rid: r.detail for rid, r in results.items() if r.outcome == "failed"}
    assert not failed
