"""Secrets never leave the harness: the one place that knows what a secret is and how it is masked.

Everything that records, logs or reports goes through here: the Target's :class:`Redactor`
(passwords and session ids it has handled, masked in every recorded exchange and message), the
report's :func:`mask_headers` / :func:`mask_url` / :func:`mask_text` (the second line, before
anything is attached), and :func:`header_secrets` (the secret values inside credential headers,
for code that only sees the headers, such as the fuzzing layer).

Finding leaks after the fact (every encoded form of a secret in a report directory) is
:mod:`snapconform.report.redaction`'s job.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit

from snapconform.wire import SESSION_HEADER

#: What stands where a secret was.
MASK = "********"

#: Header names whose values are credentials (compared case-insensitively).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        SESSION_HEADER,
        "cookie",
        "set-cookie",
        "x-api-key",
    }
)

#: A shorter value is too common in ordinary text to be masked everywhere it appears.
MIN_MASKED_LENGTH = 3


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value replaced (longest first, so prefixes stay masked)."""
    return _masked(text, _longest_first(secrets))


def _longest_first(secrets: Iterable[str]) -> tuple[str, ...]:
    """The non-empty secrets in the order ``_masked`` needs: a secret that contains another is
    replaced before it."""
    return tuple(sorted((s for s in secrets if s), key=len, reverse=True))


def _masked(text: str, longest_first: Sequence[str]) -> str:
    for secret in longest_first:
        text = text.replace(secret, MASK)
    return text


def mask_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers with credential values replaced by :data:`MASK`.

    ``Authorization: Basic …`` keeps its scheme so a reader still sees which auth was used.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    masked: dict[str, str] = {}
    for name, value in items:
        if name.lower() not in SECRET_HEADERS:
            masked[name] = value
            continue
        scheme, _, rest = value.partition(" ")
        keep_scheme = name.lower().endswith("authorization") and rest
        masked[name] = f"{scheme} {MASK}" if keep_scheme else MASK
    return masked


def mask_url(url: str) -> str:
    """The URL without a password in its userinfo (``https://user:********@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:{MASK}@{host}" if parts.username else f"{MASK}@{host}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The secret values carried by credential headers, longest first.

    A header's whole value, and for ``Basic`` its base64 token and the password inside it (so a
    password that surfaces decoded in a message is masked too).
    """
    secrets: list[str] = []
    for name, value in headers.items():
        if name.lower() not in SECRET_HEADERS:
            continue
        secrets.append(value)
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic" and token:
            try:
                decoded = base64.b64decode(token).decode("utf-8", "replace")
            except ValueError:
                continue
            secrets.append(token)
            password = decoded.partition(":")[2]
            if len(password) >= MIN_MASKED_LENGTH:
                secrets.append(password)
    return sorted(secrets, key=len, reverse=True)


class Redactor:
    """Masks every known secret in text: passwords and session ids the Target has handled."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        #: The secrets longest first, as ``mask_text`` orders them: sorted once per new secret,
        #: not per masked text (a run masks every header value of every exchange it records).
        self._longest_first: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_MASKED_LENGTH:
            with self._lock:
                if secret not in self._secrets:
                    self._secrets.add(secret)
                    self._longest_first = _longest_first(self._secrets)

    def __call__(self, text: str) -> str:
        return _masked(text, self._longest_first)  # one tuple, replaced whole by ``add``

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Credential headers masked whole (scheme included); secrets masked in the others."""
        return {
            name: MASK if name.lower() in SECRET_HEADERS else self(value) for name, value in headers
        }
