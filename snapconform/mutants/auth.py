"""Authentication and authorisation mutants: 401, 403, sessions, visibility."""

from __future__ import annotations

from collections.abc import Mapping

from snapconform.mutants.base import ALL_MODES, KNOWN_STATE, Mutant
from snapconform.server.behaviour import SESSION_HEADER, Behaviour, EndpointError, Reply
from snapconform.server.runtime import Runtime, Snapshot
from snapconform.server.store import FilterSpec, QueryResult, TaskStore
from snapconform.state import SYSTEM_READ, Principal


def _first_reader(snapshot: Snapshot) -> Principal | None:
    """The first principal holding System.Read (whom a sloppy fallback lets in)."""
    for principal in snapshot.principals.values():
        if SYSTEM_READ in principal.privileges:
            return principal
    return None


class NoChallenge(Behaviour):
    """401 (and 9.1's 403) carry neither a ``challenge`` nor WWW-Authenticate."""

    def challenge(self) -> str | None:
        return None


class NoWwwAuthenticateHeader(Behaviour):
    """401 has the body ``challenge`` but no WWW-Authenticate header."""

    def unauthenticated_reply(self) -> Reply:
        reply = super().unauthenticated_reply()
        headers = tuple((k, v) for k, v in reply.headers if k.lower() != "www-authenticate")
        return Reply(reply.status, reply.body, headers)


class Swaps401And403(Behaviour):
    """Unauthenticated is answered with 403 and Unauthorized with 401."""

    def status_for(self, error_type: str) -> int:
        swapped = {"UNAUTHENTICATED": 403, "UNAUTHORIZED": 401}
        return swapped.get(error_type, super().status_for(error_type))


class NoPrivilegeCheck(Behaviour):
    """Every authenticated principal may list, System.Read or not."""

    def authorised(self, principal: Principal) -> bool:
        return True


class LogoutIgnored(Behaviour):
    """DELETE /api/snapservice/sessions answers 204 but the session stays valid."""

    def end_session(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        token = headers.get(SESSION_HEADER)
        if not token or runtime.sessions.touch(token, runtime.clock()) is None:
            return self.unauthenticated_reply()
        return Reply(204)


class AnyPassword(Behaviour):
    """A known username logs in with any password."""

    def password_ok(self, principal: Principal, password: str) -> bool:
        return True


class VisibilityLeak(Behaviour):
    """Every principal sees every task (visible_tasks ignored)."""

    def visible(self, principal: Principal) -> frozenset[str] | None:
        return None


class VisibilityLeakUnderUsers(Behaviour):
    """A filter naming users shows every task of those users, the invisible ones included;
    every other filter keeps to the principal's visible set."""

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        return super().select(store, spec, None if spec.users else visible)


class NoAuthenticationRequired(Behaviour):
    """A request without usable credentials runs as the first System.Read principal."""

    def authenticate(self, runtime: Runtime, headers: Mapping[str, str]) -> Principal | None:
        principal = super().authenticate(runtime, headers)
        return principal if principal is not None else _first_reader(runtime.snapshot)


class BogusSessionAccepted(Behaviour):
    """An unknown session id is taken as the first System.Read principal's session."""

    def session_principal(self, runtime: Runtime, token: str) -> Principal | None:
        principal = super().session_principal(runtime, token)
        return principal if principal is not None else _first_reader(runtime.snapshot)


class UnauthorizedAsUnauthenticated(Behaviour):
    """A principal without System.Read gets 401 Unauthenticated instead of 403."""

    def unauthorized_reply(self, runtime: Runtime, principal: Principal) -> Reply:
        return self.unauthenticated_reply()


class ForbiddenWithData(Behaviour):
    """403 is sent, but its body is the list the principal asked for."""

    def unauthorized_reply(self, runtime: Runtime, principal: Principal) -> Reply:
        store = runtime.snapshot.store
        body = self.render_list([self.render_item(store, p) for p in range(min(len(store), 5))])
        return Reply(self.status_for("UNAUTHORIZED"), body, (("content-type", self.media_type()),))


class ForbiddenNamesPrivilege(Behaviour):
    """403 says which privilege is missing (and carries it as data)."""

    def unauthorized_reply(self, runtime: Runtime, principal: Principal) -> Reply:
        error = EndpointError(
            "UNAUTHORIZED",
            "vapi.security.authorization.invalid",
            f"Unable to authorize user: the operation requires the {SYSTEM_READ} privilege.",
            (SYSTEM_READ,),
        )
        return self.json_reply(
            self.status_for(error.error_type),
            self.error_document(error, data={"missing_privilege": SYSTEM_READ}),
        )


class TellsWrongPassword(Behaviour):
    """A known user with a wrong password is told so (the 401 differs from an unknown user's)."""

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        credentials = self.basic_credentials(headers)
        if credentials is not None and not headers.get(SESSION_HEADER):
            known = runtime.snapshot.principals.get(credentials[0])
            if known is not None and not self.password_ok(known, credentials[1]):
                error = EndpointError(
                    "UNAUTHENTICATED",
                    "com.vmware.vapi.endpoint.method.authentication.wrong_password",
                    f"Wrong password for user {credentials[0]}.",
                )
                challenge = self.challenge()
                return self.json_reply(
                    self.status_for(error.error_type),
                    self.error_document(error, challenge=challenge),
                    (("www-authenticate", challenge),) if challenge else (),
                )
        return super().list_tasks(runtime, headers, raw_query)


AUTH_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        name="auth-no-challenge",
        area="auth",
        description="401 without a challenge (no body field, no WWW-Authenticate)",
        requirements=("AUTH-CHALLENGE", "AUTH-WWW-AUTHENTICATE"),
        modes=ALL_MODES,
        behaviour_class=NoChallenge,
    ),
    Mutant(
        name="auth-no-www-authenticate",
        area="auth",
        description="401 with a body challenge but no WWW-Authenticate header",
        requirements=("AUTH-WWW-AUTHENTICATE",),
        modes=ALL_MODES,
        behaviour_class=NoWwwAuthenticateHeader,
    ),
    Mutant(
        name="auth-401-403-swapped",
        area="auth",
        description="Unauthenticated answered with 403, Unauthorized with 401",
        requirements=("AUTH-NO-CREDENTIALS", "AUTH-PRIVILEGE", "CONTRACT-ERROR-TYPE"),
        modes=ALL_MODES,
        behaviour_class=Swaps401And403,
    ),
    Mutant(
        name="auth-unauthorized-as-401",
        area="auth",
        description="a principal without System.Read gets 401 Unauthenticated instead of 403",
        requirements=("AUTH-PRIVILEGE",),
        modes=ALL_MODES,
        behaviour_class=UnauthorizedAsUnauthenticated,
    ),
    Mutant(
        name="auth-no-privilege-check",
        area="auth",
        description="a principal without System.Read gets the list",
        requirements=("AUTH-PRIVILEGE",),
        modes=ALL_MODES,
        behaviour_class=NoPrivilegeCheck,
    ),
    Mutant(
        name="auth-forbidden-with-data",
        area="auth",
        description="403 whose body is task data instead of an Unauthorized error",
        requirements=("AUTH-PRIVILEGE", "CONTRACT-ERROR-BODY"),
        modes=ALL_MODES,
        behaviour_class=ForbiddenWithData,
    ),
    Mutant(
        name="auth-logout-ignored",
        area="auth",
        description="DELETE /api/snapservice/sessions answers 204 but the session stays valid",
        requirements=("AUTH-SESSION-ENDED",),
        modes=ALL_MODES,
        behaviour_class=LogoutIgnored,
        api_version="9.0",
    ),
    Mutant(
        name="auth-any-password",
        area="auth",
        description="a known username logs in with any password",
        requirements=("AUTH-WRONG-PASSWORD",),
        modes=ALL_MODES,
        behaviour_class=AnyPassword,
    ),
    Mutant(
        name="auth-no-authentication",
        area="auth",
        description="a request without credentials is served as an administrator",
        requirements=("AUTH-NO-CREDENTIALS",),
        modes=ALL_MODES,
        behaviour_class=NoAuthenticationRequired,
    ),
    Mutant(
        name="auth-bogus-session",
        area="auth",
        description="an unknown session id is accepted",
        requirements=("AUTH-BOGUS-SESSION",),
        modes=ALL_MODES,
        behaviour_class=BogusSessionAccepted,
    ),
    Mutant(
        name="auth-403-names-privilege",
        area="auth",
        description="403 names the missing privilege (System.Read) and carries it as data",
        requirements=("AUTH-PRIVILEGE-UNDISCLOSED",),
        modes=ALL_MODES,
        behaviour_class=ForbiddenNamesPrivilege,
    ),
    Mutant(
        name="auth-401-tells-wrong-password",
        area="auth",
        description="a known user with a wrong password is told 'Wrong password' (an unknown"
        " user is not)",
        requirements=("AUTH-WRONG-PASSWORD-UNDISCLOSED",),
        modes=ALL_MODES,
        behaviour_class=TellsWrongPassword,
    ),
    Mutant(
        name="auth-visibility-leak",
        area="auth",
        description="a principal with visible_tasks sees every task",
        requirements=("AUTH-VISIBILITY",),
        # Needs a principal whose visible set the harness knows.
        modes=KNOWN_STATE,
        behaviour_class=VisibilityLeak,
    ),
    Mutant(
        name="auth-visibility-leak-under-users",
        area="auth",
        description="a filter naming users shows those users' invisible tasks too",
        requirements=("AUTH-VISIBILITY",),
        # Needs a principal whose visible set the harness knows.
        modes=KNOWN_STATE,
        behaviour_class=VisibilityLeakUnderUsers,
    ),
)
