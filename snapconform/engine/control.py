"""ControlClient: the reference server's control protocol, used only in controlled mode.

``{control}/state`` (GET to save a mock's state, PUT to push a universe and to put the saved
state back) and ``{control}/faults`` (POST to arm an injected fault). It never talks to a
target's API paths, which only ``Target`` reaches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from snapconform.engine.http11 import StdlibTransport
from snapconform.engine.safety import tls_context_source, tls_verification
from snapconform.errors import TargetError, TargetSafetyError


class ControlClient:
    """The reference server's control protocol ({control}/state, {control}/faults).

    Used only in controlled mode; it never talks to a target's API paths.
    """

    def __init__(self, control_url: str, *, timeout: float = 60.0, verify: bool | str = True):
        self.control_url = control_url.rstrip("/")
        try:
            verified = tls_verification(verify)
        except TargetSafetyError as exc:
            raise TargetError(f"control endpoint: {exc}") from None
        self._client = httpx.Client(
            timeout=timeout,
            verify=verified,
            follow_redirects=False,
            transport=StdlibTransport(tls_context_source(verified)),
        )
        self.requests = 0
        #: what the run changed on the mock (its state; a fault armed), to undo at the end
        self.state_pushed = False
        self.fault_armed = False

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, document: Any = None) -> httpx.Response:
        self.requests += 1
        try:
            return self._client.request(method, f"{self.control_url}{path}", json=document)
        except httpx.HTTPError as exc:
            cause = " ".join(str(exc).split()) or "no detail"
            raise TargetError(
                f"control endpoint {method} {self.control_url}{path} failed: "
                f"{type(exc).__name__}: {cause} (is --control-url right and the mock running?)"
            ) from None

    def put_state(self, document: Mapping[str, Any]) -> None:
        try:
            response = self._call("PUT", "/state", document)
        except TargetError:
            self.state_pushed = True  # no answer: the mock may have taken the state all the same
            raise
        if response.status_code >= 300:
            # refused: the mock's state is as it was (nothing to put back for this push)
            raise TargetError(
                f"PUT {self.control_url}/state refused the state document: HTTP"
                f" {response.status_code}{_first_line(response.text)}"
                + (
                    "; is --control-url the control endpoint of a snapconform-compatible mock?"
                    if response.status_code in (404, 405, 501)
                    or not _is_json(response.headers.get("content-type"))
                    else ""
                )
            )
        self.state_pushed = True

    def saved_state(self) -> dict[str, Any] | None:
        """GET {control}/state to put back later; None when the mock does not offer it."""
        response = self._call("GET", "/state")
        if response.status_code in (404, 405, 501):
            return None
        if response.status_code != 200:
            raise TargetError(
                f"GET {self.control_url}/state: HTTP {response.status_code}"
                f"{_first_line(response.text)}; is --control-url the control endpoint of a mock?"
            )
        try:
            document = response.json()
        except ValueError:
            raise TargetError(f"GET {self.control_url}/state: the body is not JSON") from None
        if not isinstance(document, dict):
            raise TargetError(f"GET {self.control_url}/state: the body is not a state document")
        return document

    def inject_fault(self, error_type: str, count: int = 1) -> bool:
        """POST {control}/faults; False when the server has no fault injection (404/405)."""
        response = self._call("POST", "/faults", {"error_type": error_type, "count": count})
        if response.status_code in (404, 405):
            return False
        self.fault_armed = count > 0
        if response.status_code >= 300:
            raise TargetError(f"POST {self.control_url}/faults: HTTP {response.status_code}")
        return True


def _first_line(text: str, limit: int = 160) -> str:
    """`` (first line of a body)``, capped: an HTML error page must not flood the terminal
    (its ``<title>`` says more than its first line, ``<!DOCTYPE html>``)."""
    title = re.search(r"<title[^>]*>([^<]*)</title>", text[:65536], re.IGNORECASE)
    candidates = [title.group(1)] if title and title.group(1).strip() else text.splitlines()
    line = next((" ".join(line.split()) for line in candidates if line.strip()), "")
    if not line:
        return ""
    return f" ({line[:limit]}{'...' if len(line) > limit else ''})"


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
