"""What ``snapconform run`` can be configured with: every setting's key, parser and help.

A setting is read from the file (its key), the environment (``SNAPCONFORM_<KEY>``) or a flag
(``--<key>``); its parser accepts the typed values of TOML and flags and the strings of the
environment, and raises ValueError with a short reason that ``snapconform.settings`` turns into
one line naming where the value came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from snapconform.config import API_VERSIONS, parse_duration

ENV_PREFIX = "SNAPCONFORM_"

# ---------------------------------------------------------------------------------------------
# value parsers: accept the typed values of TOML and flags and the strings of the environment


def _parse_str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_describe(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def parse_url(value: object) -> str:
    text = _parse_str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL like https://vcenter.example, got {text!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"must not have a query or fragment, got {text!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValueError(f"has an invalid port: {text!r}") from None
    return text.rstrip("/")


#: More reads in flight than this gain nothing against one server and look like an attack.
MAX_CONCURRENCY = 32


def _parse_int(value: object, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {_describe(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
    else:
        raise ValueError(f"expected an integer, got {_describe(value)}")
    if number < minimum:
        raise ValueError(f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"must be at most {maximum}, got {number}")
    return number


def _parse_positive_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_describe(value)}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {_describe(value)}")
    if not number > 0 or number == float("inf"):
        raise ValueError(f"must be a positive number, got {value!r}")
    return number


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {_describe(value)}")


def _parse_choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _parse_str(value).strip()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}; got {text!r}")
        return text

    return parse


def _parse_path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_parse_str(value))


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return repr(value)
    return f"{type(value).__name__} {value!r}"


# ---------------------------------------------------------------------------------------------
# the settings


@dataclass(frozen=True)
class Setting:
    """One configurable value: its key (file key, ``SNAPCONFORM_<KEY>``, flag ``--<key>``)."""

    key: str
    parse: Callable[[object], Any]
    help: str
    secret: bool = False
    is_path: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper()

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", parse_url, "the server under test; unset: the embedded reference server"),
    Setting("username", _parse_str, "privileged principal (has System.Read)"),
    Setting("password", _parse_str, "password of the privileged principal", secret=True),
    Setting("unprivileged_username", _parse_str, "a principal lacking System.Read (403 checks)"),
    Setting(
        "unprivileged_password", _parse_str, "password of the unprivileged principal", secret=True
    ),
    Setting("auth", _parse_choice(("session", "basic")), "session (default) or basic"),
    Setting(
        "session_id",
        _parse_str,
        "a session obtained elsewhere (vmware-api-session-id): used, never deleted",
        secret=True,
    ),
    Setting("control_url", parse_url, "control endpoint of a mock: controlled mode"),
    Setting("state_file", _parse_path, "state document of a mock: declared mode", is_path=True),
    Setting("api_version", _parse_choice(API_VERSIONS), "the API release the target claims"),
    Setting("report_dir", _parse_path, "where summary.json and the reports go", is_path=True),
    Setting("seed", lambda v: _parse_int(v, minimum=0), "Hypothesis seed, for a repeatable run"),
    Setting("max_examples", lambda v: _parse_int(v, minimum=1), "Hypothesis examples per check"),
    Setting("max_requests", lambda v: _parse_int(v, minimum=1), "request budget for the run"),
    Setting("rate_limit", _parse_positive_float, "requests per second"),
    Setting(
        "concurrency",
        lambda v: _parse_int(v, minimum=1, maximum=MAX_CONCURRENCY),
        "reads in flight at once (default 1; the rate limit and budget stay global caps)",
    ),
    Setting("insecure", _parse_bool, "skip TLS certificate verification"),
    Setting("ca_bundle", _parse_path, "CA bundle (PEM) to verify the server with", is_path=True),
    Setting("timeout", _parse_positive_float, "seconds per request"),
    Setting(
        "max_duration",
        parse_duration,
        "time box of the run (90s, 10m, 1h30m): the plan scales examples to finish in time",
    ),
)
SETTINGS_BY_KEY: Mapping[str, Setting] = {setting.key: setting for setting in SETTINGS}
