"""What goes on the wire: the endpoint's paths, header and privilege names (one definition each).

These are facts of the published API (the reference page and the official bindings), shared by
the harness that sends requests, the reference server that answers them and the reports that
describe them.
"""

from __future__ import annotations

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
