"""Schema-driven and negative fuzzing of the list endpoint and the session calls (schemathesis 4).

Generation comes from schemathesis (the OpenAPI document in ``contracts/``, bundled so it needs no
file references); transport is the caller's (so every request counts against the engine's budget
and is recorded like any other exchange); checking is schemathesis' built-in conformance checks
plus snapconform's own response checks, registered as schemathesis custom checks so that a bare
``schemathesis run`` loaded with this module as a hook file applies them too.

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
"""

from __future__ import annotations

import base64
import datetime
import enum
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, seed as hypothesis_seed, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import oracle, target as target_module
from snapconform.engine.alternatives import refusal_reasons

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis.checks import CheckContext, CheckFunction
    from schemathesis.core.transport import Response
    from schemathesis.generation.case import Case
    from schemathesis.schemas import APIOperation, BaseSchema

    from snapconform.engine.target import Target

TASKS_PATH = "/api/snapservice/tasks"
SESSIONS_PATH = "/api/snapservice/sessions"
SESSION_HEADER = "vmware-api-session-id"
#: Headers whose values are credentials: never shown in a finding, a log or an exception.
SECRET_HEADERS = frozenset({"authorization", SESSION_HEADER, "cookie", "proxy-authorization"})
MASK = "***"
_MAX_MESSAGE = 800


class Credentials(enum.Enum):
    """Whose credentials a fuzzed request carries."""

    CALLER = "caller"  # the run's own principal (session id or basic login)
    GENERATED = "generated"  # only what schemathesis generated: none, garbage, random logins


@dataclass(frozen=True)
class Scenario:
    """One operation fuzzed in one generation mode with one kind of credentials."""

    method: str
    path: str
    mode: GenerationMode
    credentials: Credentials
    share: float = 1.0  # fraction of max_examples this scenario gets (at least 1)
    #: Keep only these query parameters of each generated case, one value each (None: all).
    #: Every filter field is optional, so dropping some keeps a positive case positive.
    only_query: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        only = f", only {'+'.join(self.only_query)}" if self.only_query else ""
        return (
            f"{self.method} {self.path} "
            f"[{self.mode.value}{only}, {self.credentials.value} credentials]"
        )

    def explicit_cases(self, operation: APIOperation) -> list[Case]:
        """Cases sent before the generated ones: every status value once (``only_query``)."""
        if self.only_query is None or self.mode is not GenerationMode.POSITIVE:
            return []
        return _enum_cases(operation, self.only_query)

    def strategy(self, operation: APIOperation) -> SearchStrategy[Case]:
        """The cases of this scenario: schemathesis' own, narrowed to ``only_query``."""
        strategy = operation.as_strategy(generation_mode=self.mode)
        if self.only_query is None:
            return strategy
        keep = frozenset(self.only_query)
        narrowed = strategy.map(lambda case: _narrowed(case, keep))
        if self.mode is GenerationMode.NEGATIVE:
            # Narrowing may drop the negative part: keep only cases still negative (a status
            # value outside the enum), so a 400 is owed (or, Status being an open enum, a 200
            # listing no task of another status).
            return narrowed.filter(
                lambda case: bool(oracle.unknown_status_values(case_filter(case)))
            )
        return narrowed


def _enum_cases(operation: APIOperation, names: Sequence[str]) -> list[Case]:
    """One case per enum value of each named query parameter (its values read from contracts)."""
    cases: list[Case] = []
    for name in names:
        if name != "status":
            continue
        for value in default_contracts().schema("Status")["enum"]:
            cases.append(operation.Case(query={name: [value]}))
    return cases


def _narrowed(case: Case, keep: frozenset[str]) -> Case:
    """Only the ``keep`` parameters, each with at most its first value.

    One status value selects about a fifth of the default universe: a 200 with items, never the
    cap, so every status's conditional body rules get looked at.
    """
    query: dict[str, Any] = {}
    for name, value in (case.query or {}).items():
        if name in keep:
            query[name] = value[:1] if isinstance(value, list) else value
    case.query = query
    return case


#: What the fuzzer sends, and the only things it may send (see the module docstring).
DEFAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("GET", TASKS_PATH, GenerationMode.POSITIVE, Credentials.CALLER),
    # Random identifiers match no task; one status value selects real tasks, so 200 bodies
    # with items get checked too (the empty filter of the first scenario covers the cap).
    Scenario(
        "GET", TASKS_PATH, GenerationMode.POSITIVE, Credentials.CALLER, 0.4, only_query=("status",)
    ),
    Scenario("GET", TASKS_PATH, GenerationMode.NEGATIVE, Credentials.CALLER),
    # An invalid status value alone: nothing else can empty the result, so a server that drops
    # the value (and lists tasks of every status) shows.
    Scenario(
        "GET", TASKS_PATH, GenerationMode.NEGATIVE, Credentials.CALLER, 0.3, only_query=("status",)
    ),
    Scenario("GET", TASKS_PATH, GenerationMode.POSITIVE, Credentials.GENERATED, share=0.2),
    Scenario("GET", SESSIONS_PATH, GenerationMode.POSITIVE, Credentials.CALLER, share=0.1),
    Scenario("GET", SESSIONS_PATH, GenerationMode.POSITIVE, Credentials.GENERATED, share=0.1),
    Scenario("POST", SESSIONS_PATH, GenerationMode.POSITIVE, Credentials.GENERATED, share=0.1),
    Scenario("DELETE", SESSIONS_PATH, GenerationMode.POSITIVE, Credentials.GENERATED, share=0.1),
)


def scenarios_for(api_version: str, contracts: Contracts | None = None) -> tuple[Scenario, ...]:
    """The default scenarios the API version has: no session calls before 9.0."""
    profile = (contracts or default_contracts()).profile(api_version)
    if profile.get("sessions_endpoint"):
        return DEFAULT_SCENARIOS
    return tuple(scenario for scenario in DEFAULT_SCENARIOS if scenario.path != SESSIONS_PATH)


_ALLOWED_REQUESTS = frozenset({("GET", TASKS_PATH), ("GET", SESSIONS_PATH)})
_ALLOWED_UNAUTHENTICATED = frozenset({("POST", SESSIONS_PATH), ("DELETE", SESSIONS_PATH)})


@dataclass(frozen=True)
class FuzzRequest:
    """One request exactly as it goes on the wire: the URL is already percent-encoded."""

    method: str
    path: str
    url: str
    headers: Mapping[str, str] = field(repr=False)

    def summary(self) -> str:
        """Method and URL path with query, plus the header names (secret values masked)."""
        parsed = urllib.parse.urlsplit(self.url)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        shown = ", ".join(
            f"{name}: {MASK if name.lower() in SECRET_HEADERS else value}"
            for name, value in self.headers.items()
            if name.lower() not in _NOISE_HEADERS
        )
        return f"{self.method} {target}" + (f" ({shown})" if shown else "")


_NOISE_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "accept", "connection", "x-schemathesis-testcaseid"}
)


class Send(Protocol):
    """Sends one request and returns the response; may raise :class:`BudgetExhaustedError`."""

    def __call__(self, request: FuzzRequest) -> httpx.Response: ...


class BudgetExhaustedError(Exception):
    """Raised by a caller's ``send`` (or signalled by ``budget``) when no request may be sent."""


@dataclass(frozen=True)
class FuzzExchange:
    """A request and its response (or the transport error), for the caller's record."""

    request: FuzzRequest
    response: httpx.Response | None
    error: str | None
    elapsed: float


@dataclass(frozen=True)
class FuzzFinding:
    """One distinct deviation: which check, on which request, what status, what went wrong."""

    check: str
    operation: str
    scenario: str
    request: str  # FuzzRequest.summary(): secrets masked
    status: int | None
    message: str
    occurrences: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "operation": self.operation,
            "scenario": self.scenario,
            "request": self.request,
            "status": self.status,
            "message": self.message,
            "occurrences": self.occurrences,
        }


@dataclass(frozen=True)
class FuzzReport:
    findings: tuple[FuzzFinding, ...]
    requests_sent: int
    transport_errors: int
    budget_exhausted: bool
    elapsed: float
    per_scenario: Mapping[str, int]  # requests sent per scenario label

    @property
    def ok(self) -> bool:
        return not self.findings and not self.transport_errors

    def checks_failed(self) -> frozenset[str]:
        return frozenset(finding.check for finding in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "requests_sent": self.requests_sent,
            "transport_errors": self.transport_errors,
            "budget_exhausted": self.budget_exhausted,
            "elapsed": round(self.elapsed, 3),
            "per_scenario": dict(self.per_scenario),
            "findings": [finding.as_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class FuzzConfig:
    """How much to fuzz and what. ``seed`` makes a run reproducible; None draws one."""

    max_examples: int = 50
    seed: int | None = None
    scenarios: tuple[Scenario, ...] = DEFAULT_SCENARIOS
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_examples < 1:
            raise ValueError(f"max_examples must be at least 1, got {self.max_examples}")
        for scenario in self.scenarios:
            key = (scenario.method, scenario.path)
            allowed = key in _ALLOWED_REQUESTS or (
                key in _ALLOWED_UNAUTHENTICATED and scenario.credentials is Credentials.GENERATED
            )
            if not allowed:
                raise ValueError(
                    f"scenario {scenario.label} is not allowed: only GET and unauthenticated "
                    "session calls may be fuzzed"
                )

    def examples_for(self, scenario: Scenario) -> int:
        return max(1, round(self.max_examples * scenario.share))


# --- contract knowledge, derived from contracts/ (never restated) --------------------------------


@dataclass(frozen=True)
class _ResponseContract:
    """Documented statuses of one operation and the contract schema names for each."""

    schemas_by_status: Mapping[int, tuple[str, ...]]


def _schema_names(node: Any) -> tuple[str, ...]:
    if not isinstance(node, dict):
        return ()
    ref = node.get("$ref")
    if isinstance(ref, str):
        return (ref.rsplit("/", 1)[-1].removesuffix(".json"),)
    names: list[str] = []
    for key in ("anyOf", "oneOf"):
        for part in node.get(key, []):
            names.extend(_schema_names(part))
    return tuple(names)


@cache
def _response_contracts() -> dict[tuple[str, str], _ResponseContract]:
    return _load_response_contracts(default_contracts())


def _load_response_contracts(contracts: Contracts) -> dict[tuple[str, str], _ResponseContract]:
    result: dict[tuple[str, str], _ResponseContract] = {}
    for path, item in contracts.openapi()["paths"].items():
        for method, operation in item.items():
            by_status: dict[int, tuple[str, ...]] = {}
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                by_status[int(status)] = _schema_names(content.get("schema"))
            result[(method.upper(), path)] = _ResponseContract(by_status)
    return result


def _operation_key(case: Case) -> tuple[str, str]:
    return (case.method.upper(), case.path)


def _json_body(response: Response) -> Any:
    try:
        return json.loads(response.content or b"")
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()


def _content_type(response: Response) -> str | None:
    values = response.headers.get("content-type")
    return values[0] if values else None


def status_violation(method: str, path: str, status: int) -> str | None:
    """Why ``status`` is not an answer the operation documents (None: it is)."""
    contract = _response_contracts().get((method.upper(), path))
    if contract is None:
        return f"{method} {path} is not an operation of the contract"
    if status in contract.schemas_by_status:
        return None
    documented = ", ".join(str(code) for code in sorted(contract.schemas_by_status))
    return f"status {status} is not documented for {method} {path} (documented: {documented})"


def body_violations(method: str, path: str, status: int, body: Any) -> list[str]:
    """Why ``body`` is not a documented body of ``status`` for the operation (empty: it is).

    Judged by the oracle's functions on the contracts' own schemas (JSON Schema 2020-12 with
    format checking, status-conditional Info rules included); an undocumented status is itself
    a violation.
    """
    problem = status_violation(method, path, status)
    if problem is not None:
        return [problem]
    if status >= 400:
        return oracle.error_body_violations(status, body)
    names = _response_contracts()[(method.upper(), path)].schemas_by_status[status]
    failures: list[str] = []
    for name in names:
        violations = oracle.schema_violations(name, body, conditional=True)
        if name == "ListResult" and not violations:
            violations = _union_violations(body)
        if not violations:
            return []
        failures.append(f"not a valid {name}: {'; '.join(violations[:3])}")
    return failures


def _union_violations(body: Any) -> list[str]:
    """The Info status-conditional rules (the bindings' UnionValidator) for every item."""
    out: list[str] = []
    for index, item in enumerate(body.get("items", []) if isinstance(body, dict) else []):
        info = item.get("info") if isinstance(item, dict) else None
        if isinstance(info, dict):
            out.extend(
                f"items/{index}/info: {problem}"
                for problem in oracle.status_conditional_violations(info)
            )
    return out


# --- schemathesis custom checks -------------------------------------------------------------------


def _fail(title: str, message: str) -> NoReturn:
    raise AssertionError(f"{title}: {message}")


@schemathesis.check
def snapconform_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """5xx only as documented: a documented status with a conforming, agreeing error body.

    Replaces ``not_a_server_error``, which would flag the documented ``500
    RESOURCE_INACCESSIBLE`` (over 1000 matching tasks) and ``500 ERROR``.
    """
    status = response.status_code
    if status < 500:
        return None
    method, path = _operation_key(case)
    body = _json_body(response)
    if body is _NOT_JSON:
        _fail("Server error", f"{status} with a body that is not JSON")
    problems = body_violations(method, path, status, body)
    disagreement = oracle.error_type_violation(status, body)
    if disagreement:
        problems.append(disagreement)
    if problems:
        _fail("Server error", f"{status} is not a documented error answer: " + "; ".join(problems))
    return None


@schemathesis.check
def snapconform_body_contract(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The body conforms to the contract schema documented for this status."""
    method, path = _operation_key(case)
    status = response.status_code
    contract = _response_contracts().get((method, path))
    if contract is None or not contract.schemas_by_status.get(status):
        return None  # undocumented statuses are status_code_conformance's; bodiless ones have none
    body = _json_body(response)
    if body is _NOT_JSON:
        _fail("Body contract", f"{status} body is not JSON")
    problems = body_violations(method, path, status, body)
    if problems:
        _fail("Body contract", "; ".join(problems))
    return None


@schemathesis.check
def snapconform_error_type(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error body's ``error_type`` names the error its status documents."""
    body = _json_body(response)
    if body is _NOT_JSON:
        return None
    problem = oracle.error_type_violation(response.status_code, body)
    if problem:
        _fail("error_type", problem)
    return None


@schemathesis.check
def snapconform_json_content_type(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every response with a body says ``Content-Type: application/json``."""
    if not response.content:
        return None
    content_type = _content_type(response)
    if not oracle.is_json_content_type(content_type):
        _fail("Content type", f"{response.status_code} body sent as {content_type!r}")
    return None


@schemathesis.check
def snapconform_error_messages(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Error bodies carry at least one message, none of them blank."""
    if response.status_code < 400:
        return None
    body = _json_body(response)
    if body is _NOT_JSON:
        return None
    problems = oracle.message_violations(body)
    if problems:
        _fail("Error messages", "; ".join(problems))
    return None


#: snapconform's own response checks, registered with schemathesis above.
SNAPCONFORM_CHECKS: tuple[CheckFunction, ...] = (
    snapconform_server_error,
    snapconform_body_contract,
    snapconform_error_type,
    snapconform_json_content_type,
    snapconform_error_messages,
)


def _unauthenticated_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A request without the caller's credentials is refused with 401 (never served)."""
    if response.status_code != 401:
        _fail(
            "Authentication",
            f"request without valid credentials answered {response.status_code}, expected 401",
        )
    return None


_unauthenticated_refused.__name__ = "snapconform_unauthenticated_refused"


def case_filter(case: Case) -> oracle.FilterSpec:
    """The FilterSpec a generated case's query asks for (values as text, order and repeats kept)."""
    query = case.query or {}
    chosen: dict[str, tuple[str, ...]] = {}
    for name in oracle.FILTER_FIELDS:
        value = query.get(name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        chosen[name] = tuple(str(v) for v in values)
    return oracle.FilterSpec(**chosen)


def documented_refusal(case: Case) -> str | None:
    """Why a documented alternative may answer this schema-valid list request with 400.

    A filter naming neither tasks nor services (bindings: "at least one of tasks or services
    must be specified"), a repeated value (the fields are sets), or an identifier the fuzzer
    cannot know to be held (page: 400 "if any of the specified parameters are invalid"). The
    fuzzer does not know the universe: a 400 for values a task holds is FILTER-COMPLETENESS's to
    judge, with the universe at hand.
    """
    spec = case_filter(case)
    reasons = refusal_reasons(spec)
    if reasons:
        return ", ".join(reasons)
    if any(spec.constraints().get(name) for name in ("tasks", "operations", "services", "users")):
        return "identifiers the fuzzer cannot know to be held"
    return None


def _valid_request_served(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A valid request with valid credentials is served: 200, or a documented answer.

    The documented ``500 RESOURCE_INACCESSIBLE`` (over 1000 matching tasks, or a task whose
    state cannot be accessed) is a business answer, and so is a ``400`` that a documented
    alternative allows (``documented_refusal``); a ``500 ERROR``, a ``503`` or a ``400`` no source
    allows to a request the contract calls valid is a deviation (an unknown task id that crashes
    the lookup).
    """
    status = response.status_code
    if status == 200:
        return None
    body = _json_body(response)
    error_type = body.get("error_type") if isinstance(body, dict) else None
    if status == 500 and error_type == "RESOURCE_INACCESSIBLE" and case.path == TASKS_PATH:
        return None
    if status == 400 and case.path == TASKS_PATH and documented_refusal(case) is not None:
        return None
    shown = f"{status} {error_type}" if error_type else str(status)
    _fail(
        "Valid request refused",
        f"a valid request with valid credentials answered {shown}; expected 200"
        + (" (or 500 RESOURCE_INACCESSIBLE over the cap)" if case.path == TASKS_PATH else ""),
    )


_valid_request_served.__name__ = "snapconform_valid_request_served"


def _negative_data_rejection(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """schemathesis' negative-data rejection (400), except for a documented open enum.

    Status is an open enum (bindings: "Newer versions of the enumerated type may contain new
    values"): a status value outside the enum may be accepted and match no task. A 200 to such
    a case passes when every task it lists has one of the case's enum status values; tasks of
    any other status are still a deviation.
    """
    from schemathesis.specs.openapi import checks as openapi_checks

    if response.status_code == 200 and case.path == TASKS_PATH:
        spec = case_filter(case)
        unknown = oracle.unknown_status_values(spec)
        body = _json_body(response)
        items = body.get("items") if isinstance(body, dict) else None
        if unknown and isinstance(items, list):
            valid = set(spec.status or ()) - set(unknown)
            statuses = [
                (item.get("info") or {}).get("status") if isinstance(item, dict) else None
                for item in items
            ]
            if all(status in valid for status in statuses):
                return None
    return openapi_checks.negative_data_rejection(ctx, response, case)


# The same name as schemathesis' check: findings and the scenario filters use it.
_negative_data_rejection.__name__ = "negative_data_rejection"


def _builtin_checks() -> tuple[CheckFunction, ...]:
    """schemathesis' own checks that only look at the response (none of them re-sends)."""
    from schemathesis.specs.openapi import checks as openapi_checks

    return (
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
        openapi_checks.response_schema_conformance,
        _negative_data_rejection,
    )


# --- the run ---------------------------------------------------------------------------------


def load_schema(contracts: Contracts | None = None) -> BaseSchema:
    """The contracts' OpenAPI document as a schemathesis schema (self-contained, no file refs)."""
    document = (contracts or default_contracts()).bundled_openapi()
    return schemathesis.openapi.from_dict(document, config=_schemathesis_config())


def _schemathesis_config() -> schemathesis.Config:
    """An explicit configuration (no schemathesis.toml discovered from the working directory).

    An invalid filter sent with valid credentials must be refused with 400 InvalidArgument
    ("if any of the specified parameters are invalid"); schemathesis' default would also accept
    any 5xx, so a server that crashes into a tidy ``500 ERROR`` on bad input would pass.
    """
    return schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": ["400"]}}}
    )


def _httpx_sender(base_url: str, timeout: float) -> tuple[Send, Callable[[], None]]:
    client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def send(request: FuzzRequest) -> httpx.Response:
        return client.request(request.method, request.url, headers=dict(request.headers))

    return send, client.close


def _prepare(
    case: Case, base_url: str, auth_headers: Mapping[str, str], credentials: Credentials
) -> FuzzRequest:
    """Serialize a case as schemathesis would, then put the right credentials on it."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers: dict[str, str] = {str(k): str(v) for k, v in kwargs["headers"].items()}
    if kwargs.get("auth") is not None:
        user, password = kwargs["auth"]
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if credentials is Credentials.CALLER:
        for name in list(headers):
            if name.lower() in SECRET_HEADERS:
                del headers[name]
        headers.update(auth_headers)
    prepared = requests.Request(
        method=kwargs["method"], url=kwargs["url"], params=kwargs.get("params")
    ).prepare()
    return FuzzRequest(
        method=str(kwargs["method"]).upper(),
        path=case.path,
        url=str(prepared.url),
        headers=headers,
    )


def _is_sendable(request: FuzzRequest) -> bool:
    """Whether the request can be put on the wire at all (generated header names may not)."""
    try:
        httpx.Request(request.method, request.url, headers=dict(request.headers))
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        return False
    return all(
        name.isascii() and name.isprintable() and value.isascii() and "\n" not in value
        for name, value in request.headers.items()
    )


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _secrets_of(auth_headers: Mapping[str, str]) -> list[str]:
    secrets: list[str] = []
    for name, value in auth_headers.items():
        if name.lower() not in SECRET_HEADERS:
            continue
        secrets.append(value)
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic" and token:
            try:
                decoded = base64.b64decode(token).decode("utf-8", "replace")
            except ValueError:
                continue
            secrets.append(token)
            password = decoded.partition(":")[2]
            if len(password) >= 3:
                secrets.append(password)
    return sorted(secrets, key=len, reverse=True)


def _failure_message(failure: Failure) -> str:
    if failure.title.startswith("Custom check failed"):
        return failure.message  # the check's own text; its name is the finding's ``check``
    return f"{failure.title}: {failure.message}" if failure.message else failure.title


@dataclass
class _Collector:
    """Accumulates distinct findings and counts during one run (lives only inside run_fuzzing)."""

    secrets: list[str]
    findings: dict[tuple[str, str, str, int | None, str], FuzzFinding] = field(default_factory=dict)
    requests_sent: int = 0
    transport_errors: int = 0
    budget_exhausted: bool = False
    per_scenario: dict[str, int] = field(default_factory=dict)

    def add(
        self, check: str, scenario: Scenario, request: FuzzRequest, status: int | None, text: str
    ) -> None:
        message = _redact(text, self.secrets)
        if len(message) > _MAX_MESSAGE:
            message = message[:_MAX_MESSAGE] + " …"
        operation = f"{scenario.method} {scenario.path}"
        first_line = message.splitlines()[0] if message else ""
        key = (check, operation, scenario.label, status, first_line)
        existing = self.findings.get(key)
        if existing is not None:
            self.findings[key] = FuzzFinding(
                **{**existing.as_dict(), "occurrences": existing.occurrences + 1}
            )
            return
        self.findings[key] = FuzzFinding(
            check=check,
            operation=operation,
            scenario=scenario.label,
            request=_redact(request.summary(), self.secrets),
            status=status,
            message=message,
        )


def _name_of(failure: Failure, checks: Sequence[CheckFunction]) -> str:
    title = failure.title
    for check in checks:
        if f"`{check.__name__}`" in title:
            return check.__name__
    return _BUILTIN_FAILURE_NAMES.get(type(failure).__name__, type(failure).__name__)


_BUILTIN_FAILURE_NAMES = {
    "UndefinedStatusCode": "status_code_conformance",
    "UndefinedContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "JsonSchemaError": "response_schema_conformance",
    "MalformedJson": "response_schema_conformance",
    "AcceptedNegativeData": "negative_data_rejection",
    "RejectedPositiveData": "positive_data_acceptance",
    "ServerError": "not_a_server_error",
}


def target_sender(target: Target) -> Send:
    """A ``send`` that goes through the engine's Target: its allow-list, budget, rate limit,
    redaction and exchange record apply to every fuzzed request."""

    def send(request: FuzzRequest) -> httpx.Response:
        query = urllib.parse.urlsplit(request.url).query
        try:
            # Target.send is the single exit point: the allow-list and the budget apply.
            answer = target.send(request.method, request.path, query, headers=request.headers)
        except target_module.BudgetExhausted as exc:
            raise BudgetExhaustedError(str(exc)) from None
        except target_module.TargetError as exc:
            raise httpx.TransportError(str(exc)) from None
        headers = [
            (name, value)
            for name, value in answer.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        started = time.perf_counter()
        response = httpx.Response(
            answer.status,
            headers=headers,
            content=answer.text.encode("utf-8"),
            request=httpx.Request(request.method, request.url),
        )
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return response

    return send


def fuzz_target(
    target: Target,
    *,
    max_examples: int = 50,
    seed: int | None = None,
    api_version: str = "8.0.3",
    config: FuzzConfig | None = None,
) -> FuzzReport:
    """Fuzz through a logged-in Target (the engine's entry point): its credentials, its budget.

    The session calls are fuzzed only where ``api_version`` has them (9.0+).
    """
    config = config or FuzzConfig(
        max_examples=max_examples,
        seed=seed,
        scenarios=scenarios_for(api_version),
        timeout=target.settings.timeout,
    )
    # auth_headers: the credentials the Target itself attaches (session id, or Basic).
    return run_fuzzing(
        target.base_url, target.auth_headers(), send=target_sender(target), config=config
    )


def run_fuzzing(
    base_url: str,
    auth_headers: Mapping[str, str],
    *,
    max_examples: int = 50,
    seed: int | None = None,
    budget: Callable[[], bool] | None = None,
    send: Send | None = None,
    record: Callable[[FuzzExchange], None] | None = None,
    config: FuzzConfig | None = None,
) -> FuzzReport:
    """Fuzz the list endpoint and the session calls; return every distinct deviation found.

    ``auth_headers`` are the caller's credentials (``vmware-api-session-id`` or a basic
    ``Authorization``), attached to the requests that need them. ``send`` puts one request on
    the wire (default: a private httpx client); ``budget`` is asked before each request and stops
    the run when it answers False (``send`` may also raise :class:`BudgetExhaustedError`);
    ``record`` sees every exchange. Findings never contain the credentials.
    """
    config = config or FuzzConfig(max_examples=max_examples, seed=seed)
    schema = load_schema()
    base_url = base_url.rstrip("/")
    close: Callable[[], None] | None = None
    if send is None:
        send, close = _httpx_sender(base_url, config.timeout)
    collector = _Collector(secrets=_secrets_of(auth_headers))
    started = time.perf_counter()
    try:
        for scenario in config.scenarios:
            if collector.budget_exhausted:
                break
            operation = schema[scenario.path][scenario.method]
            _fuzz_scenario(
                operation, scenario, config, base_url, auth_headers, send, budget, record, collector
            )
    finally:
        if close is not None:
            close()
    findings = tuple(
        sorted(collector.findings.values(), key=lambda f: (f.operation, f.check, f.status or 0))
    )
    return FuzzReport(
        findings=findings,
        requests_sent=collector.requests_sent,
        transport_errors=collector.transport_errors,
        budget_exhausted=collector.budget_exhausted,
        elapsed=time.perf_counter() - started,
        per_scenario=dict(collector.per_scenario),
    )


def _fuzz_scenario(
    operation: APIOperation,
    scenario: Scenario,
    config: FuzzConfig,
    base_url: str,
    auth_headers: Mapping[str, str],
    send: Send,
    budget: Callable[[], bool] | None,
    record: Callable[[FuzzExchange], None] | None,
    collector: _Collector,
) -> None:
    checks: list[CheckFunction] = [*_builtin_checks(), *SNAPCONFORM_CHECKS]
    if scenario.credentials is Credentials.GENERATED:
        # Without credentials the filter is never looked at: 401 is the only right answer, and
        # schemathesis' negative-data expectations do not apply.
        checks = [check for check in checks if check.__name__ != "negative_data_rejection"]
        checks.append(_unauthenticated_refused)
    elif scenario.mode is GenerationMode.POSITIVE:
        checks.append(_valid_request_served)
    collector.per_scenario.setdefault(scenario.label, 0)

    def exercise(case: Case) -> None:
        if collector.budget_exhausted:
            return
        request = _prepare(case, base_url, auth_headers, scenario.credentials)
        if not _is_sendable(request):
            return
        if budget is not None and not budget():
            collector.budget_exhausted = True
            return
        started = time.perf_counter()
        try:
            response = send(request)
        except BudgetExhaustedError:
            collector.budget_exhausted = True
            return
        except httpx.HTTPError as exc:
            collector.requests_sent += 1
            collector.per_scenario[scenario.label] += 1
            collector.transport_errors += 1
            text = f"{type(exc).__name__}: {exc}"
            if record is not None:
                record(FuzzExchange(request, None, text, time.perf_counter() - started))
            collector.add("transport", scenario, request, None, text)
            return
        collector.requests_sent += 1
        collector.per_scenario[scenario.label] += 1
        if record is not None:
            record(FuzzExchange(request, response, None, time.perf_counter() - started))
        _validate(case, response, checks, scenario, request, collector)

    runner = given(scenario.strategy(operation))(exercise)
    for case in reversed(scenario.explicit_cases(operation)):
        runner = example(case)(runner)
    runner = settings(
        max_examples=config.examples_for(scenario),
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),  # never shrink: a finding is not re-sent
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )(runner)
    if config.seed is not None:
        runner = hypothesis_seed(config.seed)(runner)
    runner()


def _over_cap_count(response: httpx.Response) -> int | None:
    """The item count of a 200 list with more than CAP + 1 items, else None.

    A body too small to hold that many items is not parsed here (validating it is cheap).
    """
    if response.status_code != 200 or len(response.content) < 16 * (oracle.CAP + 1):
        return None
    try:
        items = json.loads(response.content).get("items")
    except (ValueError, AttributeError):
        return None
    return len(items) if isinstance(items, list) and len(items) > oracle.CAP + 1 else None


def _validate(
    case: Case,
    response: httpx.Response,
    checks: Sequence[CheckFunction],
    scenario: Scenario,
    request: FuzzRequest,
    collector: _Collector,
) -> None:
    over = _over_cap_count(response)
    if over is not None:
        # Validating every item of a hostile 100 000-item list costs minutes per response; the
        # run's audit judges its first CAP + 1 items and fails CAP-NEVER-MORE.
        collector.add(
            "snapconform_cap",
            scenario,
            request,
            response.status_code,
            f"200 with {over} tasks, more than the cap of {oracle.CAP}: not validated further",
        )
        return
    try:
        case.validate_response(response, checks=list(checks))
    except FailureGroup as group:
        for failure in group.exceptions:
            collector.add(
                _name_of(failure, checks),
                scenario,
                request,
                response.status_code,
                _failure_message(failure),
            )
