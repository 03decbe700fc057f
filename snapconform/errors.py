"""Every error snapconform raises on purpose, in one tree.

Each message is one line, names what went wrong and never holds a secret. Catch
:class:`SnapconformError` for "snapconform refused or could not go on"; anything else that
escapes is a bug.

The hierarchy (classes that also derive from a builtin say so, so that ``except ValueError``
and friends keep working)::

    SnapconformError
    ├── ContractError
    │   ├── UnknownSchemaError (KeyError) ...... a schema name with no file in contracts/schemas
    │   └── StateDocumentError (ValueError) .... a state document that is refused
    ├── SettingsError (ValueError) ............. a configuration key or value is wrong
    ├── TargetError ............................ the target cannot be used
    │   ├── LoginRefused ....................... the target refused the credentials
    │   ├── ConnectionLostError ................ the network lost a request (no answer to judge)
    │   └── BudgetExhausted .................... the request budget is spent
    │       ├── ShareSpent ..................... this check's share of the plan is spent
    │       ├── TimeBoxExpired ................. the run's time box is over
    │       └── CheckingStopped ................ the run stopped checking (selftest --until-caught)
    ├── TargetSafetyError ...................... an answer the harness refuses to process
    │   ├── BodyTooLargeError
    │   ├── UnsupportedEncodingError
    │   ├── CorruptEncodingError
    │   ├── InvalidJsonError
    │   │   ├── DuplicateKeyError
    │   │   └── TooDeepError
    │   ├── RedirectRefusedError
    │   └── DeadlineExceededError
    ├── ForbiddenRequest (RuntimeError) ........ a request outside the allow-list (never sent)
    ├── HarnessError ........................... no verdict is possible
    ├── ServerStartError (RuntimeError) ........ the reference server did not start
    ├── UnknownVariantError (KeyError) ......... no such server variant
    ├── UnknownMutantError (KeyError) .......... no such mutant
    ├── RenderError (RuntimeError) ............. the HTML report could not be rendered
    ├── SummaryError (ValueError) .............. summary.json missing, not JSON or invalid
    ├── CaptureError ........................... nothing could be captured
    ├── DiffError .............................. no comparison possible
    └── SelftestError .......................... bad selftest input

Not errors, so not in the tree: ``snapconform.engine.verdicts.Violation`` and ``Uncertain``
(how a check reports a failure or an unconfirmed finding), the reference server's
``EndpointError`` (an HTTP error answer, rendered as the standard error body), and the
explorer's ``_StopShrinking`` and ``_Stopped`` (BaseExceptions that end a Hypothesis
exploration; they never leave ``Harness.explore``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class SnapconformError(Exception):
    """The root: snapconform refused something or could not go on (one line, no secrets)."""


class _NamedKeyError(KeyError):
    """A KeyError whose ``str()`` is its message (KeyError would show it quoted)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- contract layer --------------------------------------------------------------------------


class ContractError(SnapconformError):
    """A contract input (a schema name, a state document) that cannot be used."""


class UnknownSchemaError(ContractError, KeyError):
    """A schema name that has no file in ``contracts/schemas``."""


class StateDocumentError(ContractError, ValueError):
    """A state document that is refused; the message names the problem and its JSON path."""


class SettingsError(SnapconformError, ValueError):
    """A configuration key or value is wrong; ``str()`` is one line naming where it came from."""


# --- the target ------------------------------------------------------------------------------


class TargetError(SnapconformError):
    """The target could not be used (unreachable, TLS failure, timeout). Message has no secrets."""


class LoginRefused(TargetError):  # noqa: N818 - public name
    """The target refused the credentials."""


class ConnectionLostError(TargetError):
    """The connection closed before any response byte, also on the retry (or the request could
    not be retried: a POST). No answer of the server exists: what the request was to show is not
    checked, never failed and never passed."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        #: the transport's exception name (RemoteProtocolError, ReadError, ...)
        self.kind = kind


class BudgetExhausted(TargetError):  # noqa: N818 - public name
    """The request budget (--max-requests) is spent."""


class ShareSpent(BudgetExhausted):
    """The current check has spent its allowance of the run's plan (``RunPlan.allowance``)."""


class TimeBoxExpired(BudgetExhausted):
    """The run's time box (``--max-duration``) is over: nothing more is sent."""


class CheckingStopped(BudgetExhausted):
    """The run stopped checking (``stop_when_failed``, e.g. ``selftest --until-caught``): the
    response audit flagged one of the requirements it was waiting for, so the current check
    sends nothing more."""


class TargetSafetyError(SnapconformError):
    """The target answered in a way the harness refuses to process; the message is one line."""

    #: short machine-readable kind, used in reports and tests
    kind: str = "unsafe-response"

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class BodyTooLargeError(TargetSafetyError):
    kind = "body-too-large"


class UnsupportedEncodingError(TargetSafetyError):
    kind = "unsupported-encoding"


class CorruptEncodingError(TargetSafetyError):
    kind = "corrupt-encoding"


class InvalidJsonError(TargetSafetyError):
    kind = "invalid-json"


class DuplicateKeyError(InvalidJsonError):
    kind = "duplicate-key"


class TooDeepError(InvalidJsonError):
    kind = "too-deep"


class RedirectRefusedError(TargetSafetyError):
    kind = "redirect-refused"


class DeadlineExceededError(TargetSafetyError):
    """The whole exchange took longer than allowed (a trickle defeats per-read timeouts)."""

    kind = "deadline-exceeded"


class ForbiddenRequest(SnapconformError, RuntimeError):  # noqa: N818 - public name
    """A request outside ALLOWED_REQUESTS: a harness bug, never sent."""


class HarnessError(SnapconformError):
    """No verdict is possible (unreachable target, refused login, bad state file). One line.

    ``mock_state``: in controlled mode, whether the mock's state was restored on the way out.
    """

    mock_state: dict[str, Any] | None = None
    #: requests sent to the target before the run gave up (the pre-flight's)
    requests: int = 0


# --- the reference server and the mutants ----------------------------------------------------


class ServerStartError(SnapconformError, RuntimeError):
    """The server did not start listening in time."""


class UnknownVariantError(SnapconformError, _NamedKeyError):
    """A variant name that is not in the registry; the message suggests close names."""


class UnknownMutantError(SnapconformError, _NamedKeyError):
    """A mutant name that is not in the library; the message suggests close names."""

    @classmethod
    def for_name(cls, name: str, known: Iterable[str]) -> UnknownMutantError:
        close = close_names(name, known, limit=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else " (snapconform selftest --list)"
        return cls(f"unknown mutant {name!r}{hint}")


# --- reports and the commands around a run ---------------------------------------------------


class RenderError(SnapconformError, RuntimeError):
    """The HTML report could not be rendered; the message says why and what to do."""


class SummaryError(SnapconformError, ValueError):
    """A summary.json that is missing, not JSON or not valid against its schema."""


class CaptureError(SnapconformError):
    """Nothing could be captured (one line, no secrets)."""


class DiffError(SnapconformError):
    """No comparison possible (unreachable target, refused login). One line, no secrets."""


class SelftestError(SnapconformError):
    """Bad selftest input (unknown mutant or mode, unusable paths). One line."""


# --- suggestions for a mistyped name ---------------------------------------------------------


def close_names(
    name: str, known: Iterable[str], *, limit: int = 1, cutoff: float = 0.6
) -> list[str]:
    """The known names closest to a mistyped ``name`` (best first; at most ``limit``)."""
    return difflib.get_close_matches(name, list(known), n=limit, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'base_url'?)`` for the one known name close to ``name``, else ``''``."""
    close = close_names(name, known)
    return f" (did you mean {close[0]!r}?)" if close else ""
