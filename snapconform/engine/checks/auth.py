"""Authentication and authorization: 401 without or with wrong credentials, sessions, 403."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

from snapconform.engine import oracle
from snapconform.engine.oracle import FilterSpec
from snapconform.engine.quotes import (
    SNAPSERVICE,
    STD_ERRORS,
    UNAUTHENTICATED_401,
    UNAUTHENTICATED_UNDISCLOSED,
    UNAUTHORIZED_403,
)
from snapconform.engine.registry import (
    Cost,
    Requirement,
    bindings,
    declared,
    ours,
    page,
    requirement,
)
from snapconform.engine.target import (
    SESSION_HEADER,
    BudgetExhausted,
    Exchange,
    basic_authorization,
)
from snapconform.engine.verdicts import CheckResult, Violation

if TYPE_CHECKING:
    from snapconform.engine.harness import Harness


def _unauthenticated(h: Harness) -> Exchange:
    return h.memo("no-credentials", lambda: h.target.get_tasks(authenticated=False))


@requirement(
    id="AUTH-NO-CREDENTIALS",
    title="No credentials give 401 Unauthenticated",
    level="MUST",
    feature="auth",
    sources=(UNAUTHENTICATED_401,),
    cost=Cost(1),
)
def check_no_credentials(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        raise Violation(
            f"a request without credentials got HTTP {response.status}, expected 401 — "
            f"reproduce: {h.repro(response)}"
        )
    return CheckResult.passed("a request without credentials got 401 Unauthenticated")


@requirement(
    id="AUTH-CHALLENGE",
    title="A 401 carries a string challenge",
    level="SHOULD",
    feature="auth",
    sources=(
        page(
            152,
            "Indicates the authentication challenges applicable to the target API provider.",
        ),
        page(
            155,
            "This property is optional because it was added in a newer version than"
            " its parent node.",
        ),
        ours("a 401 should tell the client how to authenticate"),
    ),
    cost=Cost(0),
)
def check_challenge(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no 401 to inspect (HTTP {response.status}; see {declared(check_no_credentials).id})",
        )
    problem = oracle.unauthenticated_challenge_violation(response.body)
    if problem:
        raise Violation(f"{problem} — reproduce: {h.repro(response)}")
    return CheckResult.passed("the 401 carries a string challenge")


@requirement(
    id="AUTH-WWW-AUTHENTICATE",
    title="A 401 carries a WWW-Authenticate header consistent with its challenge",
    level="SHOULD",
    feature="auth",
    sources=(
        page(
            153,
            "a provider using REST may adhere to the WWW-Authenticate HTTP header"
            " specification, RFC7235, section 4.1.",
        ),
    ),
    cost=Cost(0),
)
def check_www_authenticate(h: Harness, req: Requirement) -> CheckResult:
    response = _unauthenticated(h)
    if response.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no 401 to inspect (HTTP {response.status}; see {declared(check_no_credentials).id})",
        )
    problem = oracle.www_authenticate_violation(
        response.body, response.headers.get("www-authenticate")
    )
    if problem:
        raise Violation(f"{problem} — reproduce: {h.repro(response)}")
    return CheckResult.passed("WWW-Authenticate agrees with the challenge")


@requirement(
    id="AUTH-BOGUS-SESSION",
    title="A bogus session id gives 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            f"{STD_ERRORS}.Unauthenticated",
            "The session identifier in the request's security context identifies a session"
            " that has expired.",
        ),
    ),
    cost=Cost(1),
)
def check_bogus_session(h: Harness, req: Requirement) -> CheckResult:
    bogus = "bogus-" + secrets.token_hex(16)
    h.redactor.add(bogus)
    response = h.target.get_tasks(headers={SESSION_HEADER: bogus}, authenticated=False)
    if response.status != 401:
        raise Violation(
            f"an unknown session id got HTTP {response.status}, expected 401 — reproduce: "
            f"{h.repro(response)}"
        )
    return CheckResult.passed("an unknown session id got 401")


def _session_only(h: Harness) -> CheckResult | None:
    if h.has_password:
        return None
    return CheckResult.not_checked(
        "configuration",
        "only a session was given (SNAPCONFORM_SESSION_ID): no user name and password to try",
    )


@requirement(
    id="AUTH-WRONG-PASSWORD",
    title="A wrong password is refused with 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            f"{STD_ERRORS}.Unauthenticated",
            "The user name and password in the request's security context are invalid.",
        ),
        bindings(
            f"{SNAPSERVICE}.Sessions.create",
            "if the session creation fails due to request specific issues.",
            "raises Unauthenticated",
        ),
    ),
    cost=Cost(2),
)
def check_wrong_password(h: Harness, req: Requirement) -> CheckResult:
    if (skip := _session_only(h)) is not None:
        return skip
    user = h.privileged.username
    wrong = "wrong-" + secrets.token_hex(12)
    h.redactor.add(wrong)
    done = []
    if h.target.auth_scheme == "session":
        response = h.target.create_session(user, wrong)
        if response.status != 401:
            raise Violation(
                f"POST /api/snapservice/sessions with a wrong password got HTTP "
                f"{response.status}, expected 401"
            )
        done.append("session creation")
    response = h.target.get_tasks(
        headers={"Authorization": basic_authorization(user, wrong)}, authenticated=False
    )
    if response.status != 401:
        raise Violation(
            f"Basic credentials with a wrong password got HTTP {response.status}, expected 401 "
            f"— reproduce: {h.repro(response)}"
        )
    done.append("Basic authentication")
    return CheckResult.passed(f"a wrong password was refused with 401 ({', '.join(done)})")


@requirement(
    id="AUTH-WRONG-PASSWORD-UNDISCLOSED",
    title="A 401 does not tell a wrong password from an unknown user; its data is null",
    level="SHOULD",
    feature="auth",
    sources=(UNAUTHENTICATED_UNDISCLOSED,),
    cost=Cost(2),
)
def check_unauthenticated_undisclosed(h: Harness, req: Requirement) -> CheckResult:
    if (skip := _session_only(h)) is not None:
        return skip
    user = h.privileged.username
    wrong = "wrong-" + secrets.token_hex(12)
    nobody = "snapconform-nobody-" + secrets.token_hex(6)
    h.redactor.add(wrong)
    known = h.target.get_tasks(
        headers={"Authorization": basic_authorization(user, wrong)}, authenticated=False
    )
    unknown = h.target.get_tasks(
        headers={"Authorization": basic_authorization(nobody, wrong)}, authenticated=False
    )
    if known.status != 401 or unknown.status != 401:
        return CheckResult.not_checked(
            "prerequisite",
            f"no pair of 401s to compare (HTTP {known.status} for a wrong password, HTTP"
            f" {unknown.status} for an unknown user; see {declared(check_wrong_password).id})",
        )
    problems = oracle.unauthenticated_disclosures(known.body, unknown.body)
    if problems:
        raise Violation(
            f"{'; '.join(problems)} — reproduce: {h.repro(known)}",
            h.evidence(known, unknown_user_body=unknown.body),
        )
    return CheckResult.passed(
        "a wrong password and an unknown user got the same 401 messages, data null"
    )


@requirement(
    id="AUTH-SESSION-ENDED",
    title="A session id after DELETE /api/snapservice/sessions gives 401",
    level="MUST",
    feature="auth",
    sources=(
        bindings(
            f"{SNAPSERVICE}.Sessions.delete",
            "Terminates the validity of a session token. This is the equivalent of log out.",
        ),
    ),
    cost=Cost(4),
)
def check_deleted_session(h: Harness, req: Requirement) -> CheckResult:
    if not h.has_password:
        return CheckResult.not_checked(
            "configuration",
            "only a session was given (SNAPCONFORM_SESSION_ID), which snapconform never ends;"
            " a user name and password would let it open (and end) a session of its own",
        )
    if h.target.auth_scheme != "session":
        return CheckResult.not_applicable(
            "target", "the target authenticates with HTTP Basic (no snapservice sessions)"
        )
    with h.new_target() as target:
        h.login(target, h.privileged)
        session_id = target.session_id
        if session_id is None:
            return CheckResult.not_applicable("target", "the login issued no session id")
        deleted = target.delete_session(session_id)
        if deleted.status not in (200, 204):
            raise Violation(f"DELETE /api/snapservice/sessions got HTTP {deleted.status}")
        response = target.get_tasks(headers={SESSION_HEADER: session_id}, authenticated=False)
    if response.status != 401:
        raise Violation(
            f"a deleted session id got HTTP {response.status}, expected 401 — reproduce: "
            f"{h.repro(response)}"
        )
    return CheckResult.passed("a deleted session id got 401")


@requirement(
    id="AUTH-PRIVILEGE",
    title="A principal without System.Read gets 403 Unauthorized and no task data",
    level="MUST",
    feature="auth",
    sources=(
        page(
            4,
            "Returns an authorization error if you do not have all of the privileges"
            " described as follows: - Operation execution requires System.Read.",
        ),
        UNAUTHORIZED_403,
    ),
    cost=Cost(6, needs_unprivileged=True),
)
def check_unprivileged_forbidden(h: Harness, req: Requirement) -> CheckResult:
    credentials = h.unprivileged
    if credentials is None:
        return CheckResult.not_checked(
            "configuration",
            "no unprivileged credentials given (--unprivileged-username and"
            " SNAPCONFORM_UNPRIVILEGED_PASSWORD)",
        )
    universe = h.memo("privilege-universe", lambda: h.draw(h.universes(min_tasks=1, max_tasks=10)))
    h.install(universe)
    with h.new_target() as target:
        try:
            h.login(target, credentials)
        except BudgetExhausted:
            raise  # our budget, not the server: verify() skips with "request budget ... spent"
        except Exception as exc:  # LoginRefused or TargetError
            if h.source.pushes:  # the harness made the principal: the server refused it
                raise Violation(
                    f"the unprivileged principal could not even log in: {h.redactor(str(exc))}"
                ) from None
            return CheckResult.not_checked(
                "configuration", f"the unprivileged login was refused: {h.redactor(str(exc))}"
            )
        for spec in (FilterSpec(), FilterSpec(status=("SUCCEEDED",))):
            response = target.list_tasks(spec)
            if response.status == 403:
                h.memo("forbidden-response", lambda response=response: response)
            if response.status != 403:
                raise Violation(
                    f"a principal without System.Read got HTTP {response.status} for "
                    f"{spec.describe()}, expected 403 — reproduce: {h.repro(response)}"
                )
            leaked = [t for t in universe.by_id if t in response.text]
            if (isinstance(response.body, Mapping) and "items" in response.body) or leaked:
                raise Violation(
                    f"the 403 body carries task data ({leaked[:3] or 'items'}) — reproduce: "
                    f"{h.repro(response)}"
                )
    return CheckResult.passed("403 Unauthorized without data")


@requirement(
    id="AUTH-PRIVILEGE-UNDISCLOSED",
    title="A 403 does not disclose the missing privilege; its data is null",
    level="SHOULD",
    feature="auth",
    sources=(
        bindings(
            f"{STD_ERRORS}.Unauthorized",
            "For security reasons, the Error.data attribute in this exception is None, and"
            " the Error.messages attribute in this exception does not disclose why the user"
            " is not authorized to perform the method.",
        ),
    ),
    cost=Cost(2),
)
def check_privilege_undisclosed(h: Harness, req: Requirement) -> CheckResult:
    credentials = h.unprivileged
    if credentials is None:
        return CheckResult.not_checked(
            "configuration", "no unprivileged credentials given (--unprivileged-username)"
        )

    def fetch() -> Exchange | None:
        with h.new_target() as target:
            try:
                h.login(target, credentials)
            except Exception:  # LoginRefused or TargetError: AUTH-PRIVILEGE reports it
                return None
            return target.list_tasks(FilterSpec())

    response = h.memo("forbidden-response", fetch)
    if response is None or response.status != 403:
        shown = "no answer" if response is None else f"HTTP {response.status}"
        return CheckResult.not_checked(
            "prerequisite",
            f"no 403 to inspect ({shown}; see {declared(check_unprivileged_forbidden).id})",
        )
    problems = oracle.forbidden_disclosures(response.body, "System.Read")
    if problems:
        raise Violation(
            f"the 403 body discloses: {'; '.join(problems)} — reproduce: {h.repro(response)}",
            h.evidence(response),
        )
    return CheckResult.passed("the 403 names no privilege; data null")
