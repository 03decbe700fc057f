"""The redaction scanner finds a secret in every form the tool could write it."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from snapconform.report.redaction import (
    _CHUNK,
    scan_file,
    scan_report_dir,
    secret_forms,
)
from snapconform.report.results import RunEnvironment, finalize_allure_results

SAMPLE_SECRET = "Sample-Secret-7f3c9a!"  # what tests/report/conftest.py hands the sample suite

PASSWORD = 'Pa$$w0rd "quoted" / ü+&='
SESSION = "5f4dcc3b5aa765d61d8327deb882cf99"
USER = "mock-admin@vsphere.local"
CLEAN = "a report that mentions nothing secret at all, only task ids t-1 t-2\n"


def _forms() -> list:
    return secret_forms([PASSWORD, SESSION], basic_auth=[(USER, PASSWORD)])


def _leaks(tmp_path: Path, content: bytes) -> list[str]:
    path = tmp_path / "artefact.bin"
    path.write_bytes(content)
    return [leak.label for leak in scan_file(path, _forms())]


BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("raw", f"password={PASSWORD}".encode()),
        ("json-escaped", json.dumps({"p": PASSWORD}).encode()),
        ("json-ascii-escaped", json.dumps({"p": PASSWORD}, ensure_ascii=True).encode()),
        ("json twice", json.dumps(json.dumps({"p": PASSWORD})).encode()),
        ("url-encoded", f"?p={quote(PASSWORD, safe='')}".encode()),
        ("url-encoded-plus", f"?p={quote_plus(PASSWORD)}".encode()),
        ("html-escaped", f"<td>{html.escape(PASSWORD)}</td>".encode()),
        ("basic auth header", f"Authorization: Basic {BASIC}".encode()),
        ("session id", f'"vmware-api-session-id": "{SESSION}"'.encode()),
        ("utf-16", f"x{PASSWORD}x".encode("utf-16-le")),
        ("base64 blob, offset 0", base64.b64encode(f"{PASSWORD} tail".encode())),
        ("base64 blob, offset 1", base64.b64encode(f"a{PASSWORD} tail".encode())),
        ("base64 blob, offset 2", base64.b64encode(f"ab{PASSWORD} tail".encode())),
        (
            "base64 data URI",
            b"data:text/plain;base64," + base64.b64encode(f"s={SESSION};".encode()),
        ),
    ],
)
def test_every_form_is_found(tmp_path: Path, encoding: str, content: bytes) -> None:
    assert _leaks(tmp_path, content), f"{encoding} form not found"


def test_clean_text_has_no_false_positive(tmp_path: Path) -> None:
    assert _leaks(tmp_path, CLEAN.encode() * 1000) == []
    assert _leaks(tmp_path, base64.b64encode(CLEAN.encode() * 100)) == []


def test_a_secret_across_a_chunk_boundary_is_found(tmp_path: Path) -> None:
    content = b"x" * (_CHUNK - 5) + SESSION.encode() + b"y" * 100
    assert _leaks(tmp_path, content)


def test_leak_report_never_shows_the_secret(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / ".hidden.json").write_text(json.dumps({"token": SESSION}))
    leaks = scan_report_dir(tmp_path, _forms())
    assert len(leaks) == 1
    shown = str(leaks[0])
    assert ".hidden.json" in shown and "secret #2" in shown
    assert SESSION not in shown and PASSWORD not in shown


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 8 distinctive characters"):
        secret_forms(["abc"])


def test_sample_run_leaks_nothing(sample_report: Path) -> None:
    """The sample suite hands raw secrets to the attach helpers; none reach a file."""
    finalize_allure_results(
        sample_report / "allure-results",
        RunEnvironment("http://127.0.0.1:9", "controlled", "8.0.3", 1, "0.1.0"),
    )
    forms = secret_forms([SAMPLE_SECRET], basic_auth=[("admin", SAMPLE_SECRET)])
    assert scan_report_dir(sample_report, forms) == []


def test_the_scan_would_catch_a_leaking_attachment(sample_report: Path) -> None:
    """Negative control: the same directory with one unmasked header is reported."""
    leaky = sample_report / "allure-results" / "leaky-attachment.json"
    leaky.write_text(json.dumps({"headers": {"vmware-api-session-id": SAMPLE_SECRET}}))
    forms = secret_forms([SAMPLE_SECRET])
    assert [leak.path.name for leak in scan_report_dir(sample_report, forms)] == [leaky.name]
