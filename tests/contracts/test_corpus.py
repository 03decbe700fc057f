"""The body corpus: valid bodies pass their schema, each invalid body breaks exactly one rule.

Files are named ``SCHEMA--rule.json``: the schema a body is checked against, then what it shows
(valid/) or the one rule it breaks (invalid/). ``corpus/expectations.json`` records, per invalid
body, where the violation is (``at``, a JSON path; for ``required`` the missing property), which
JSON Schema keyword catches it, and whether the official bindings reject it too (``reject``) or
are lenient there (``accept``, see docs/contracts.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError

from snapconform.contracts import Contracts

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.json"))
INVALID = sorted((CORPUS / "invalid").glob("*.json"))
EXPECTATIONS: dict[str, dict[str, str]] = json.loads(
    (CORPUS / "expectations.json").read_text(encoding="utf-8")
)
BINDING_DECODABLE = {
    "ListResult",
    "SessionInfo",
    "Error",
    "InvalidArgument",
    "Unauthenticated",
    "Unauthorized",
    "ResourceInaccessible",
    "ServiceUnavailable",
}


def schema_of(path: Path) -> str:
    return path.stem.split("--", 1)[0]


def body_of(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def error_sites(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(location, keyword) of an error and of every sub-error that explains it.

    For ``required`` the location names the missing property, so that it points at the rule.
    """
    parts = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        parts.append(missing)
    yield json_path(parts), str(error.validator)
    for sub in error.context or ():
        yield from error_sites(sub)


def test_corpus_is_complete() -> None:
    assert len(VALID) >= 15 and len(INVALID) >= 50
    assert {p.stem for p in INVALID} == set(EXPECTATIONS), "expectations.json out of date"
    for path in VALID + INVALID:
        assert "--" in path.stem, path.name
    names = {schema_of(p) for p in VALID + INVALID}
    assert names == BINDING_DECODABLE
    for name in names:
        assert any(schema_of(p) == name for p in VALID), f"no valid {name} body"
        assert any(schema_of(p) == name for p in INVALID), f"no invalid {name} body"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_body_passes_its_schema(contracts: Contracts, path: Path) -> None:
    errors = contracts.errors(schema_of(path), body_of(path))
    assert errors == [], [f"{json_path(e.absolute_path)}: {e.message}" for e in errors]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_body_breaks_exactly_the_named_rule(contracts: Contracts, path: Path) -> None:
    expected = EXPECTATIONS[path.stem]
    errors = contracts.errors(schema_of(path), body_of(path))
    assert errors, f"{path.name}: the schema accepts a body that breaks {expected}"
    sites = [set(error_sites(e)) for e in errors]
    wanted = (expected["at"], expected["keyword"])
    # Every reported violation is the named one (one rule broken, possibly seen from both the
    # base Error schema and its subtype), and it is reported with the expected keyword.
    for error in errors:
        assert expected["at"].startswith(json_path(error.absolute_path)), (error.message, expected)
    assert any(wanted in found for found in sites), (wanted, sites)


@pytest.mark.bindings
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_body_decodes_with_the_bindings(bindings: Any, path: Path) -> None:
    decoded = bindings.decode(
        path.read_text(encoding="utf-8"), bindings.binding_class(schema_of(path))
    )
    assert decoded is not None


def _bindings_verdict(bindings: Any, path: Path) -> str:
    try:
        bindings.decode(path.read_text(encoding="utf-8"), bindings.binding_class(schema_of(path)))
    except Exception:  # BindingsException, TypeError, AttributeError: a client fails either way
        return "reject"
    return "accept"


@pytest.mark.bindings
@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_bindings_verdict_on_invalid_body(bindings: Any, path: Path) -> None:
    expected = EXPECTATIONS[path.stem]["bindings"]
    assert _bindings_verdict(bindings, path) == expected, (
        f"{path.name}: bindings now {'reject' if expected == 'accept' else 'accept'} it; "
        "if they became stricter/looser, update expectations.json and docs/contracts.md"
    )


UNION_OR_DATE_TIME = ("-without-", "-with-", "-missing-end_time", "-null", "rfc3339", "month-13")


def test_union_and_date_time_breakers_are_rejected_by_the_bindings_too() -> None:
    # The brief's floor: every union-breaking and every bad date-time body is rejected by both.
    chosen = [
        p.stem
        for p in INVALID
        if schema_of(p) == "ListResult" and any(m in p.stem for m in UNION_OR_DATE_TIME)
    ]
    assert len(chosen) >= 15, chosen
    lenient = [name for name in chosen if EXPECTATIONS[name]["bindings"] != "reject"]
    assert lenient == []


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01 10:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01T10:00:60Z",
        "2026-01-01T10:00:00",
        "2026-01-01T10:00:00+2:00",
        "2026-01-01",
        "",
    ],
)
def test_bad_date_time_is_rejected(contracts: Contracts, value: str) -> None:
    assert contracts.errors("DateTime", value)
    body = {"user": "u", "created_time": value, "last_accessed_time": "2026-01-01T10:00:00Z"}
    assert contracts.errors("SessionInfo", body)


@pytest.mark.parametrize(
    "value",
    ["2026-01-01T10:00:00Z", "2026-01-01T10:00:00.123Z", "2026-01-01T10:00:00.5+02:00"],
)
def test_good_date_time_is_accepted(contracts: Contracts, value: str) -> None:
    assert contracts.errors("DateTime", value) == []
