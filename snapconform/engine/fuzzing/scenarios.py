"""What the fuzzer sends: scenarios (an operation, a generation mode, whose credentials) and the
cases schemathesis generates for each, narrowed where a scenario asks for it.

Nothing else is ever sent: only ``GET`` of the list endpoint and of the session, and the session
calls without the caller's credentials (see :mod:`snapconform.engine.fuzzing`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from schemathesis import GenerationMode

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import oracle
from snapconform.engine.alternatives import refusal_reasons
from snapconform.wire import SESSIONS_PATH, TASKS_PATH

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis.generation.case import Case
    from schemathesis.schemas import APIOperation


class CredentialSource(enum.Enum):
    """Whose credentials a fuzzed request carries."""

    CALLER = "caller"  # the run's own principal (session id or basic login)
    GENERATED = "generated"  # only what schemathesis generated: none, garbage, random logins


@dataclass(frozen=True)
class Scenario:
    """One operation fuzzed in one generation mode with one kind of credentials."""

    method: str
    path: str
    mode: GenerationMode
    credentials: CredentialSource
    share: float = 1.0  # fraction of max_examples this scenario gets (at least 1)
    #: Keep only these query parameters of each generated case, one value each (None: all).
    #: Every filter field is optional, so dropping some keeps a positive case positive.
    only_query: tuple[str, ...] | None = None
    #: The caller's credentials do not authenticate this operation, so 401 is owed: ``GET`` of
    #: the session with HTTP Basic carries no session id (bindings, ``Sessions.get``: raises
    #: Unauthenticated "if the session id is missing from the request").
    unauthenticated: bool = False

    @property
    def label(self) -> str:
        only = f", only {'+'.join(self.only_query)}" if self.only_query else ""
        who = f"{self.credentials.value} credentials"
        if self.unauthenticated and self.credentials is CredentialSource.CALLER:
            who = "caller's basic credentials, no session id"
        return f"{self.method} {self.path} [{self.mode.value}{only}, {who}]"

    @property
    def is_read(self) -> bool:
        """Whether this scenario reads the task list (its requests may overlap each other)."""
        return self.method == "GET" and self.path == TASKS_PATH

    @property
    def owes_401(self) -> bool:
        """Whether every request of this scenario must be refused with 401."""
        return self.unauthenticated or self.credentials is CredentialSource.GENERATED

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
    Scenario("GET", TASKS_PATH, GenerationMode.POSITIVE, CredentialSource.CALLER),
    # Random identifiers match no task; one status value selects real tasks, so 200 bodies
    # with items get checked too (the empty filter of the first scenario covers the cap).
    Scenario(
        "GET",
        TASKS_PATH,
        GenerationMode.POSITIVE,
        CredentialSource.CALLER,
        0.4,
        only_query=("status",),
    ),
    Scenario("GET", TASKS_PATH, GenerationMode.NEGATIVE, CredentialSource.CALLER),
    # An invalid status value alone: nothing else can empty the result, so a server that drops
    # the value (and lists tasks of every status) shows.
    Scenario(
        "GET",
        TASKS_PATH,
        GenerationMode.NEGATIVE,
        CredentialSource.CALLER,
        0.3,
        only_query=("status",),
    ),
    Scenario("GET", TASKS_PATH, GenerationMode.POSITIVE, CredentialSource.GENERATED, share=0.2),
    Scenario("GET", SESSIONS_PATH, GenerationMode.POSITIVE, CredentialSource.CALLER, share=0.1),
    Scenario("GET", SESSIONS_PATH, GenerationMode.POSITIVE, CredentialSource.GENERATED, share=0.1),
    # The caller's GET of the session is sent as the run authenticates: a session id in session
    # mode (200 owed), Basic credentials in basic mode (401 owed, see ``scenarios_for``).
    Scenario("POST", SESSIONS_PATH, GenerationMode.POSITIVE, CredentialSource.GENERATED, share=0.1),
    Scenario(
        "DELETE", SESSIONS_PATH, GenerationMode.POSITIVE, CredentialSource.GENERATED, share=0.1
    ),
)


def scenarios_for(
    api_version: str, contracts: Contracts | None = None, *, auth: str = "session"
) -> tuple[Scenario, ...]:
    """The default scenarios the API version and the run's authentication have.

    No session calls before 9.0 (no snapservice sessions endpoint). With HTTP Basic (``auth``
    other than "session") the caller holds no session: its ``GET`` of the session carries Basic
    credentials and no session id, which the bindings answer with Unauthenticated
    (``Sessions.get``: "This method expects a valid session token to be supplied"; raises
    Unauthenticated "if the session id is missing from the request"), so 401 is owed there.
    """
    profile = (contracts or default_contracts()).profile(api_version)
    if not profile.get("sessions_endpoint"):
        return tuple(scenario for scenario in DEFAULT_SCENARIOS if scenario.path != SESSIONS_PATH)
    if auth == "session":
        return DEFAULT_SCENARIOS
    return tuple(
        replace(scenario, unauthenticated=True)
        if scenario.path == SESSIONS_PATH and scenario.credentials is CredentialSource.CALLER
        else scenario
        for scenario in DEFAULT_SCENARIOS
    )


_ALLOWED_REQUESTS = frozenset({("GET", TASKS_PATH), ("GET", SESSIONS_PATH)})
_ALLOWED_UNAUTHENTICATED = frozenset({("POST", SESSIONS_PATH), ("DELETE", SESSIONS_PATH)})


def allowed(scenario: Scenario) -> bool:
    """Whether the scenario may be fuzzed: GET, or a session call without the caller's login."""
    key = (scenario.method, scenario.path)
    return key in _ALLOWED_REQUESTS or (
        key in _ALLOWED_UNAUTHENTICATED and scenario.credentials is CredentialSource.GENERATED
    )


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
