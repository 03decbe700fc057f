"""Find secrets in a report directory, in every form the tool could have written them.

A secret can leave the harness raw (a password in an exception), inside an ``Authorization``
header (``Basic base64(user:password)``), URL-encoded (a query string, a curl line), JSON-escaped
(an attachment), HTML-escaped (the rendered report) or inside a base64 blob (a data URI of the
single-file report). :func:`secret_forms` spells out each of those forms so that
:func:`scan_report_dir` can look for plain bytes; nothing is decoded, so nothing is missed by a
decoder that gives up.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

#: Fewer characters than this cannot be told apart from ordinary report text.
MIN_SECRET_LENGTH = 8
#: How much of a file is read at once while scanning; forms longer than this still match
#: because consecutive chunks overlap by the longest form.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SecretForm:
    """One spelling of a secret: ``label`` says which secret and which encoding, never the value."""

    label: str
    needle: bytes


@dataclass(frozen=True)
class Leak:
    """A secret form found in a file, at a byte offset."""

    path: Path
    label: str
    offset: int

    def __str__(self) -> str:
        return f"{self.path}: {self.label} at byte {self.offset}"


def _embedded_base64(data: bytes) -> Iterator[bytes]:
    """The base64 text that ``data`` produces wherever it sits inside a longer blob.

    Base64 works on 3-byte groups, so the encoding of a substring depends on its offset modulo 3;
    for each alignment the characters influenced by neighbouring bytes are cut off.
    """
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data)
        start = (shift * 4 + 2) // 3  # characters that still carry the padding bytes
        end_bits = (shift + len(data)) * 8
        end = end_bits // 6  # whole characters made only of ``data``'s bits
        core = encoded[start:end]
        if len(core) >= 8:
            yield core
        url_safe = core.replace(b"+", b"-").replace(b"/", b"_")
        if url_safe != core and len(url_safe) >= 8:
            yield url_safe


def _text_forms(text: str) -> dict[str, str]:
    json_escaped = json.dumps(text)[1:-1]
    json_ascii = json.dumps(text, ensure_ascii=True)[1:-1]
    forms = {
        "raw": text,
        "json-escaped": json_escaped,
        "json-ascii-escaped": json_ascii,
        "json-escaped-twice": json.dumps(json_escaped)[1:-1],
        "url-encoded": quote(text, safe=""),
        "url-encoded-plus": quote_plus(text, safe=""),
        "url-encoded-twice": quote(quote(text, safe=""), safe=""),
        "html-escaped": html.escape(text, quote=True),
        "xml-escaped": html.escape(text, quote=False),
        "unicode-escaped": text.encode("unicode_escape").decode("ascii"),
    }
    return forms


def secret_forms(
    secrets: Iterable[str], basic_auth: Iterable[tuple[str, str]] = ()
) -> list[SecretForm]:
    """Every form in which ``secrets`` (and Basic credentials ``(user, password)``) may leak.

    Secrets shorter than :data:`MIN_SECRET_LENGTH` are refused: a scan for them would report
    ordinary text and prove nothing.
    """
    values: dict[str, str] = {}
    for index, secret in enumerate(secrets):
        values[f"secret #{index + 1}"] = secret
    for user, password in basic_auth:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        values[f"basic-auth token of {user!r}"] = token
        values[f"password of {user!r}"] = password
    forms: dict[bytes, str] = {}
    for name, value in values.items():
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"{name} is {len(value)} characters long; a leak scan needs at least "
                f"{MIN_SECRET_LENGTH} distinctive characters"
            )
        for form_name, text in _text_forms(value).items():
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                needle = text.encode(encoding)
                forms.setdefault(needle, f"{name} ({form_name}, {encoding})")
        for core in _embedded_base64(value.encode("utf-8")):
            forms.setdefault(core, f"{name} (inside base64)")
    return [SecretForm(label, needle) for needle, label in forms.items()]


def scan_file(path: Path, forms: list[SecretForm]) -> list[Leak]:
    """Each form found in one file (first occurrence per form), reading it in chunks."""
    longest = max((len(form.needle) for form in forms), default=0)
    leaks: dict[str, Leak] = {}
    with path.open("rb") as stream:
        carried = b""
        consumed = 0  # bytes of the file before ``carried``
        while chunk := stream.read(_CHUNK):
            window = carried + chunk
            for form in forms:
                if form.label in leaks:
                    continue
                at = window.find(form.needle)
                if at >= 0:
                    leaks[form.label] = Leak(path, form.label, consumed + at)
            keep = min(len(window), max(longest - 1, 0))
            consumed += len(window) - keep
            carried = window[len(window) - keep :] if keep else b""
    return list(leaks.values())


def scan_report_dir(root: Path, forms: list[SecretForm]) -> list[Leak]:
    """Every leak under ``root``: each file, whatever its type, including hidden ones."""
    if not forms:
        raise ValueError("no secret forms to look for")
    leaks: list[Leak] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            leaks.extend(scan_file(path, forms))
    return leaks
