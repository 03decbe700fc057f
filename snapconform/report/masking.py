"""Mask secrets before anything is attached to a report.

The engine already records exchanges with secrets redacted; this is the second line: whatever
reaches an attachment goes through :func:`mask_headers` / :func:`mask_url` / :func:`mask_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import SplitResult, urlsplit, urlunsplit

MASK = "********"

#: Header names whose values are credentials (compared case-insensitively).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "vmware-api-session-id",
        "cookie",
        "set-cookie",
        "x-api-key",
    }
)


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
    """The URL without a password in its userinfo (``https://user:***@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:{MASK}@{host}" if parts.username else f"{MASK}@{host}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value replaced (longest first, so prefixes stay masked)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
