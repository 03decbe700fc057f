"""RunConfig: every option of ``snapconform run`` as one explicit, immutable object."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["controlled", "declared", "observed"]
AuthMode = Literal["session", "basic"]
API_VERSIONS = ("8.0.3", "9.0", "9.1")


@dataclass(frozen=True)
class Credentials:
    """A principal's login. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RunConfig:
    base_url: str | None = None  # None: start the embedded reference server (controlled mode)
    credentials: Credentials | None = None  # privileged principal (has System.Read)
    unprivileged: Credentials | None = None  # lacks System.Read
    auth: AuthMode = "session"
    control_url: str | None = None  # controlled mode
    state_file: Path | None = None  # declared mode
    api_version: str = "8.0.3"
    report_dir: Path = Path("reports")
    seed: int | None = None
    max_examples: int = 25  # Hypothesis examples per check (a universe with several filters each)
    #: The request budget; the run's plan divides it among the requirements (engine.plan).
    max_requests: int = 750
    rate_limit: float | None = None  # requests per second; None: the default for the target kind
    #: Reads of one batch in flight at once (one connection pool); the budget and the rate
    #: limit stay global caps. 1: one request at a time (the default; a shared vCenter).
    concurrency: int = 1
    insecure: bool = False
    ca_bundle: Path | None = None
    timeout: float = 30.0
    #: A session obtained elsewhere (SNAPCONFORM_SESSION_ID): used, never logged, never deleted.
    session_id: str | None = field(default=None, repr=False)
    max_duration: float | None = None  # seconds: the time box (--max-duration 10m)
    #: When the time box started (time.time()): the moment ``snapconform run`` started.
    started_at: float | None = field(default=None, compare=False)

    @property
    def mode(self) -> Mode:
        if self.control_url is not None or self.base_url is None:
            return "controlled"
        if self.state_file is not None:
            return "declared"
        return "observed"


# --- durations -------------------------------------------------------------------------------

_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(rf"(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s?)?")


def parse_duration(text: object) -> float:
    """``90s``, ``10m``, ``1h30m``, ``1.5h`` or a bare number of seconds -> seconds (> 0)."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like 90s, 10m or 1h30m, got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        raw = text.strip().lower().replace(" ", "")
        match = _DURATION.fullmatch(raw)
        if not raw or match is None or not any(match.groupdict().values()):
            raise ValueError(f"expected a duration like 90s, 10m or 1h30m, got {text!r}")
        parts = match.groupdict()
        seconds = (
            float(parts["h"] or 0) * 3600 + float(parts["m"] or 0) * 60 + float(parts["s"] or 0)
        )
    else:
        raise ValueError(f"expected a duration like 90s, 10m or 1h30m, got {text!r}")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"must be a positive duration like 90s or 10m, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    if whole >= 60 and whole % 60 == 0:
        return f"{whole // 60}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60}s"
    return f"{seconds:g}s"
