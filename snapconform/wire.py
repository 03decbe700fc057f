"""What goes on the wire: the endpoint's paths, header and privilege names (one definition each).

These are facts of the published API (the reference page and the official bindings), shared by
the harness that sends requests, the reference server that answers them and the reports that
describe them.
"""

from __future__ import annotations

import shlex

#: The endpoint under test.
TASKS_PATH = "/api/snapservice/tasks"
#: The session calls (the only other requests the harness ever sends).
SESSIONS_PATH = "/api/snapservice/sessions"
#: The header that carries a session id.
SESSION_HEADER = "vmware-api-session-id"
#: The privilege the list operation requires.
SYSTEM_READ = "System.Read"
#: The endpoint as reports name it (the Allure epic).
ENDPOINT = f"GET {TASKS_PATH}"

#: Environment variables a reproduction reads its credentials from (never inlined).
CURL_SESSION_VAR = "SNAPCONFORM_SESSION_ID"
CURL_USERNAME_VAR = "SNAPCONFORM_USERNAME"
CURL_PASSWORD_VAR = "SNAPCONFORM_PASSWORD"


def curl_line(
    url: str, *, auth: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = ()
) -> str:
    """The one copy-paste curl command that reproduces a request (failure details and reports).

    ``auth`` is ``session``, ``basic`` or ``none``; credentials come from the environment
    variables above, so the line holds no secret and runs as it is once they are set.
    ``headers`` are further headers to send (only non-secret ones: Accept, Content-Type).
    """
    words = ["curl", "-sS"]
    if method.upper() != "GET":
        words += ["-X", method.upper()]
    words += [part for name, value in headers for part in ("-H", shlex.quote(f"{name}: {value}"))]
    if auth == "session":
        words += ["-H", f'"{SESSION_HEADER}: ${CURL_SESSION_VAR}"']
    elif auth == "basic":
        words += ["-u", f'"${CURL_USERNAME_VAR}:${CURL_PASSWORD_VAR}"']
    return " ".join([*words, shlex.quote(url)])
