"""Authentication of one principal: a session, HTTP Basic, or a session given elsewhere.

``Target.login`` creates a session (POST /api/snapservice/sessions) where the API version has
the sessions API, else sends HTTP Basic with every request; every session created is put in the
ledger, so ``Target.close`` deletes it. Credentials and tokens are redacted before anything
records them.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from snapconform.engine.cleanup import SessionLedger, interrupts_deferred
from snapconform.engine.exchange import AuthScheme, Exchange
from snapconform.errors import LoginRefused
from snapconform.redaction import Redactor
from snapconform.wire import SESSION_HEADER, SESSIONS_PATH

if TYPE_CHECKING:
    from collections.abc import Callable

    from snapconform.engine.target import TargetSettings


def basic_authorization(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _has_sessions_endpoint(api_version: str) -> bool:
    """Whether the API version's profile has the snapservice sessions API (9.0 and later)."""
    from snapconform.contracts import default_contracts

    try:
        return bool(default_contracts().profile(api_version).get("sessions_endpoint", True))
    except ValueError:
        return True  # an unknown version: try the sessions API (a refusal says what it answered)


class Authentication:
    """The target's job of authenticating its requests as one principal.

    A mixin of ``Target`` (its ``send``, ``settings``, ``redact``, ``sessions``, ``notes``).
    """

    settings: TargetSettings
    base_url: str
    redact: Redactor
    sessions: SessionLedger
    notes: list[str]
    auth_scheme: AuthScheme
    _credentials: tuple[str, str] | None
    _session_id: str | None

    send: Callable[..., Exchange]

    def auth_headers(self) -> dict[str, str]:
        if self.auth_scheme == "session" and self._session_id:
            return {SESSION_HEADER: self._session_id}
        if self.auth_scheme == "basic" and self._credentials:
            return {"Authorization": basic_authorization(*self._credentials)}
        return {}

    # -- sessions ------------------------------------------------------------------------------

    def create_session(self, username: str, password: str) -> Exchange:
        """POST /api/snapservice/sessions with Basic credentials (the token is redacted).

        Ctrl-C waits until the answer is read and the session recorded: interrupted between
        the two, the server would hold a session whose id the harness never learnt (and so
        could never delete)."""
        self.redact.add(password)
        with interrupts_deferred():
            response = self.send(
                "POST",
                SESSIONS_PATH,
                headers={"Authorization": basic_authorization(username, password)},
            )
            if isinstance(response.body, str):
                self.redact.add(response.body)
                if response.status in (200, 201) and response.body:
                    self.sessions.opened(response.body)
        return response

    def delete_session(self, session_id: str | None = None) -> Exchange:
        session_id = session_id or self._session_id
        headers = {SESSION_HEADER: session_id} if session_id else {}
        response = self.send("DELETE", SESSIONS_PATH, headers=headers)
        if session_id and response.status < 500:
            self.sessions.closed(session_id)  # deleted, or already unknown to the server
        if session_id == self._session_id:
            self._session_id = None
        return response

    def login(self, username: str, password: str, *, api_version: str = "8.0.3") -> None:
        """Authenticate as ``username``: a session if configured, else Basic on each request.

        With ``auth=session`` on a profile without the snapservice sessions endpoint (8.0.3,
        ``contracts/profiles.json``), no session call is sent: Basic goes with every request and a
        note says so. Raises LoginRefused when the target rejects the credentials.
        """
        self.redact.add(password)
        self._credentials = (username, password)
        if self.settings.auth == "basic":
            self.auth_scheme = "basic"
            return
        if not _has_sessions_endpoint(api_version):
            # The snapservice sessions API was added in vSphere API 9.0.0.0: no session call is
            # sent to an older target, Basic goes with every request.
            self.auth_scheme = "basic"
            note = (
                f"API {api_version} has no snapservice sessions endpoint (added in 9.0): HTTP"
                " Basic authentication on every request, no session call sent"
            )
            if note not in self.notes:
                self.notes.append(note)
            return
        response = self.create_session(username, password)
        if response.status in (200, 201) and isinstance(response.body, str) and response.body:
            self._session_id = response.body
            self.auth_scheme = "session"
            return
        if response.status == 401:
            raise LoginRefused(f"the target refused the login of {username!r} (HTTP 401)")
        raise LoginRefused(
            f"session creation for {username!r} failed: POST {self.base_url}{SESSIONS_PATH}"
            f" answered HTTP {response.status}"
            + (f" ({response.json_error}; check --base-url)" if response.json_error else "")
        )

    def adopt_session(self, session_id: str) -> None:
        """Authenticate with a session obtained elsewhere (``SNAPCONFORM_SESSION_ID``).

        Redacted like a password; never put in the ledger, so ``close()`` never deletes it:
        the session belongs to whoever created it.
        """
        self.redact.add(session_id)
        self._session_id = session_id
        self.auth_scheme = "session"

    @property
    def session_id(self) -> str | None:
        return self._session_id
