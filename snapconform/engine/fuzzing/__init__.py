"""Schema-driven and negative fuzzing of the list endpoint and the session calls (schemathesis 4).

Generation comes from schemathesis (the OpenAPI document in ``contracts/``, bundled so it needs no
file references); transport is the caller's (so every request counts against the engine's budget
and is recorded like any other exchange); checking is schemathesis' built-in conformance checks
plus snapconform's own response checks: the run-wide requirements the engine's audit judges (one
class each, :mod:`snapconform.engine.runwide`) and fuzzing's own, registered as schemathesis
custom checks in :mod:`snapconform.engine.fuzzing.checks`, so that a bare ``schemathesis run``
loaded with that module as a hook file applies them too.

What is sent, and why:

- ``GET /api/snapservice/tasks``: positive and negative filters, always with the caller's
  credentials (a 401 would otherwise hide how the filter is validated); plus a few requests with
  only schemathesis' generated credentials (none, garbage session ids, random basic logins),
  which must be refused with 401.
- ``GET /api/snapservice/sessions``: with the caller's session id (read-only), and unauthenticated.
- ``POST`` and ``DELETE /api/snapservice/sessions``: unauthenticated only. A positive login would
  open sessions on the target, a ``DELETE`` with the caller's session id would end the run's own
  session; neither may happen to a staging vCenter.

Nothing else is ever sent: no other method, no other path, never the reference server's control
endpoints.

The documented ``500`` is not a server error: more than 1000 matching tasks answer
``500 RESOURCE_INACCESSIBLE`` and a system failure answers ``500 ERROR``; schemathesis'
``not_a_server_error`` would report both. :func:`snapconform_server_error` replaces it: a 5xx is
accepted only when its status is documented for the operation and its body conforms to a
documented error schema for that status with an agreeing ``error_type``. Whether a documented
500 was *deserved* (over 1000 matches really) is the oracle's business (the cap requirement),
not the fuzzer's.

The layers, one module each: :mod:`~snapconform.engine.fuzzing.scenarios` (what is generated),
:mod:`~snapconform.engine.fuzzing.wire` (the request on the wire, credentials, redaction),
:mod:`~snapconform.engine.fuzzing.checks` (what a response must meet) and
:mod:`~snapconform.engine.fuzzing.runner` (the run and its report).
"""

from __future__ import annotations

from snapconform.engine.fuzzing.checks import (
    RunWideChecks,
    body_violations,
    check_name,
    fuzzed_requirements,
    snapconform_server_error,
    status_violation,
)
from snapconform.engine.fuzzing.runner import (
    FuzzConfig,
    FuzzFinding,
    FuzzReport,
    fuzz_target,
    load_schema,
    run_fuzzing,
)
from snapconform.engine.fuzzing.scenarios import (
    DEFAULT_SCENARIOS,
    SESSIONS_PATH,
    TASKS_PATH,
    CredentialSource,
    Scenario,
    case_filter,
    documented_refusal,
    scenarios_for,
)
from snapconform.engine.fuzzing.wire import (
    FuzzRequest,
    Send,
    target_sender,
)
from snapconform.redaction import MASK, SECRET_HEADERS
from snapconform.wire import SESSION_HEADER

__all__ = [
    "DEFAULT_SCENARIOS",
    "MASK",
    "SECRET_HEADERS",
    "SESSIONS_PATH",
    "SESSION_HEADER",
    "TASKS_PATH",
    "CredentialSource",
    "FuzzConfig",
    "FuzzFinding",
    "FuzzReport",
    "FuzzRequest",
    "RunWideChecks",
    "Scenario",
    "Send",
    "body_violations",
    "case_filter",
    "check_name",
    "documented_refusal",
    "fuzz_target",
    "fuzzed_requirements",
    "load_schema",
    "run_fuzzing",
    "scenarios_for",
    "snapconform_server_error",
    "status_violation",
    "target_sender",
]
