"""RunConfig: every option of ``snapconform run`` as one explicit, immutable object."""

from __future__ import annotations

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
    max_requests: int = 1500
    rate_limit: float | None = None  # requests per second; None: the default for the target kind
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
