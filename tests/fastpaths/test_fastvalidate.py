"""``validate_fast`` gives exactly ``Contracts.errors``' result, on every body we can think of.

The fast path trusts jsonschema-rs only for "valid"; so the danger is a body jsonschema-rs
accepts and jsonschema rejects. These tests compare verdicts *and* the error lists (message,
path, keyword) on the contract corpus, on the date-times the contract must reject, on every
combination of the status-conditional (x-union) fields, and on generated bodies with one
random part replaced by arbitrary JSON.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from snapconform.contracts import Contracts, default_contracts
from snapconform.fastvalidate import SAFE_DATETIME, FastValidator, fast_validator, validate_fast
from snapconform.strategies.contract_data import statuses, union_fields
from snapconform.strategies.states import Pools, list_items

CORPUS = Path(__file__).resolve().parents[1] / "contracts" / "corpus"
CORPUS_FILES = sorted((CORPUS / "valid").glob("*.json")) + sorted(
    (CORPUS / "invalid").glob("*.json")
)

#: Strings the contract's DateTime must reject, each for its own reason.
BAD_DATETIMES = (
    "2026-01-01 10:00:00",  # space instead of T, no offset
    "2026-13-01T00:00:00Z",  # month 13
    "2026-02-30T00:00:00Z",  # no such day
    "2026-01-01T24:00:00Z",  # hour 24
    "2026-01-01T23:59:60Z",  # leap second: jsonschema-rs alone accepts it
    "2026-01-01T10:00:00",  # no offset
    "2026-01-01T10:00:00z",  # lowercase z (pattern)
    "2026-01-01t10:00:00Z",  # lowercase t (pattern)
    "2026-01-01T10:00:00+25:00",  # offset hour 25
    "2026-01-01T10:00:00.Z",  # empty fraction
    "26-01-01T10:00:00Z",
    "\u0662\u0660\u0662\u0666-01-01T10:00:00Z",  # Arabic-Indic digits match Python's \d
    "",
)
GOOD_DATETIMES = (
    "2026-01-01T10:00:00Z",
    "2026-01-01T10:00:00.123Z",
    "2026-01-01T10:00:00.123456789+05:30",
    "2024-02-29T23:59:59-00:00",
)


def error_view(errors: list[Any]) -> list[tuple[str, list[Any], list[Any], str]]:
    return [
        (e.message, list(e.absolute_path), list(e.absolute_schema_path), str(e.validator))
        for e in errors
    ]


def assert_same(contracts: Contracts, name: str, body: Any) -> None:
    expected = contracts.exact_errors(name, body)
    got = validate_fast(contracts, name, body)
    assert error_view(got) == error_view(expected), json.dumps(body, default=repr)[:500]
    assert error_view(contracts.errors(name, body)) == error_view(expected)
    validator = fast_validator(contracts)
    assert validator.is_valid(name, body) is (not expected)
    # the audit's shortcut: a body the closed contracts accept is judged valid without errors()
    if validator.declares_every_property(name, body) and validator.closed_valid_means_valid(body):
        assert expected == [], json.dumps(body, default=repr)[:500]


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return default_contracts()


@pytest.fixture(scope="module")
def valid_list(contracts: Contracts) -> dict[str, Any]:
    body = json.loads((CORPUS / "valid" / "ListResult--every-status.json").read_text("utf-8"))
    assert contracts.errors("ListResult", body) == []
    return body


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 60


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_verdicts_and_errors_equal(contracts: Contracts, path: Path) -> None:
    name = path.stem.split("--", 1)[0]
    body = json.loads(path.read_text(encoding="utf-8"))
    assert_same(contracts, name, body)
    assert fast_validator(contracts).is_valid(name, body) is (path.parent.name == "valid")


def _with_start_time(body: dict[str, Any], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    running = next(i for i in changed["items"] if i["info"]["status"] == "RUNNING")
    running["info"]["start_time"] = value
    return changed


@pytest.mark.parametrize("value", BAD_DATETIMES)
def test_bad_datetimes_rejected(
    contracts: Contracts, valid_list: dict[str, Any], value: str
) -> None:
    body = _with_start_time(valid_list, value)
    assert validate_fast(contracts, "ListResult", body) != []
    assert_same(contracts, "ListResult", body)


@pytest.mark.parametrize("value", GOOD_DATETIMES)
def test_good_datetimes_accepted(
    contracts: Contracts, valid_list: dict[str, Any], value: str
) -> None:
    assert validate_fast(contracts, "ListResult", _with_start_time(valid_list, value)) == []


def test_bare_jsonschema_rs_would_accept_a_leap_second(contracts: Contracts) -> None:
    """Why FastValidator hands jsonschema's format checkers to Rust: without them it errs."""
    every = [*contracts.schemas.values(), *contracts.documents.values()]
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in every])
    bare = jsonschema_rs.validator_for(
        contracts.schema("DateTime"), registry=registry, validate_formats=True
    )
    assert bare.is_valid("2026-01-01T23:59:60Z")
    assert not FastValidator(contracts).is_valid("DateTime", "2026-01-01T23:59:60Z")


SAMPLE_VALUES: dict[str, Any] = {
    "progress": {
        "total": 100,
        "completed": 5,
        "message": {"id": "m", "default_message": "m", "args": []},
    },
    "result": {"anything": 1},
    "error": {"error_type": "ERROR", "messages": []},
    "start_time": "2026-01-01T10:00:00.000Z",
    "end_time": "2026-01-01T10:05:00.000Z",
}


@pytest.mark.slow
def test_every_union_combination_same_verdict(contracts: Contracts) -> None:
    """Status x (absent | null | value)^fields: the x-union rules, brute force."""
    fields = sorted(union_fields())
    assert set(fields) <= set(SAMPLE_VALUES), "a new conditional field needs a sample value"
    validator = FastValidator(contracts)
    base = {
        "description": {"id": "d", "default_message": "d", "args": []},
        "service": "s",
        "operation": "o",
        "cancelable": False,
    }
    seen_valid = seen_invalid = 0
    for status in statuses():
        for choice in itertools.product(("absent", "null", "value"), repeat=len(fields)):
            info: dict[str, Any] = {**base, "status": status}
            for field_name, how in zip(fields, choice, strict=True):
                if how != "absent":
                    info[field_name] = None if how == "null" else SAMPLE_VALUES[field_name]
            expected = contracts.exact_errors("Info", info)
            assert validator.is_valid("Info", info) is (not expected), (status, choice)
            seen_valid += not expected
            seen_invalid += bool(expected)
    assert seen_valid and seen_invalid


#: Arbitrary JSON, biased towards values that are almost right.
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.sampled_from(BAD_DATETIMES + GOOD_DATETIMES + tuple(statuses())),
        st.sampled_from(("PENDING ", "running", "ERROR", "INVALID_ARGUMENT")),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value inside ``node`` (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    keys = (
        node.keys()
        if isinstance(node, dict)
        else range(len(node))
        if isinstance(node, list)
        else ()
    )
    for key in keys:
        out.append((*path, key))
        out.extend(_containers(node[key], (*path, key)))
    return out


@st.composite
def mutated_list_results(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ListResult with one value replaced by arbitrary JSON, removed, or kept.

    Composite because the path to change depends on the drawn body.
    """
    pool = Pools(services=("svc.a", "svc.b"), operations=("create",), users=("u", None))
    body: dict[str, Any] = {"items": draw(list_items(pool, min_size=1, max_size=4))}
    paths = _containers(body)
    path = draw(st.sampled_from(paths))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(("replace", "delete", "keep")))
    if action == "replace":
        parent[path[-1]] = draw(json_values)
    elif action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    return body


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated_list_results())
def test_generated_bodies_same_errors(body: dict[str, Any]) -> None:
    assert_same(default_contracts(), "ListResult", body)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(body=json_values)
def test_arbitrary_json_same_errors_for_every_error_schema(body: Any) -> None:
    contracts = default_contracts()
    for name in ("Error", "InvalidArgument", "Unauthenticated", "ResourceInaccessible"):
        assert_same(contracts, name, body)


@pytest.mark.parametrize(
    "odd",
    ["\ud800", 10**40, -(10**40), 1e308, 1.0, True],
    ids=["lone-surrogate", "huge-int", "huge-negative-int", "huge-float", "integral-float", "bool"],
)
def test_values_rust_may_not_represent(
    contracts: Contracts, valid_list: dict[str, Any], odd: Any
) -> None:
    for field_name in ("start_time", "cancelable"):
        changed = copy.deepcopy(valid_list)
        changed["items"][0]["info"][field_name] = odd
        assert_same(contracts, "ListResult", changed)
    changed = copy.deepcopy(valid_list)
    changed["items"][0]["task"] = odd
    assert_same(contracts, "ListResult", changed)


def test_one_compiled_validator_per_contracts(contracts: Contracts) -> None:
    assert fast_validator(contracts) is fast_validator(contracts)
    other = Contracts.load()
    assert fast_validator(other) is not fast_validator(contracts)
    assert fast_validator(other).contracts is other


def test_rust_compile_failure_falls_back_to_jsonschema(tmp_path: Path) -> None:
    """A schema Rust cannot compile (look-behind regex) still validates, via jsonschema."""
    import shutil

    root = tmp_path / "contracts"
    shutil.copytree(default_contracts().root, root)
    schema_path = root / "schemas" / "DynamicID.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema["properties"]["id"]["pattern"] = "(?<=x)y|^[a-z]+$"
    schema_path.write_text(json.dumps(schema), "utf-8")
    odd = Contracts.load(root)
    assert odd.errors("DynamicID", {"type": "t", "id": "abc"}) == []
    assert [e.validator for e in odd.errors("DynamicID", {"type": "t", "id": "ABC"})] == ["pattern"]


def _progress_of(body: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in body["items"] if i["info"]["status"] == "RUNNING")["info"]["progress"]


@pytest.mark.parametrize("field_name", ["total", "completed"])
@pytest.mark.parametrize("value", [100.0, 0.0, -3.0, 1e3, True, False])
def test_integers_are_strict(
    contracts: Contracts, valid_list: dict[str, Any], field_name: str, value: Any
) -> None:
    """``100.0`` (and a bool) is not a JSON integer for the contract, fast path included."""
    body = copy.deepcopy(valid_list)
    _progress_of(body)[field_name] = value
    assert validate_fast(contracts, "ListResult", body) != []
    assert not fast_validator(contracts).is_valid("ListResult", body)
    validator = fast_validator(contracts)
    assert not (
        validator.declares_every_property("ListResult", body)
        and validator.closed_valid_means_valid(body)
    )
    assert_same(contracts, "ListResult", body)
    # The same body parsed from the wire: json.loads gives a float for "100.0" and "1e3".
    assert not fast_validator(contracts).is_valid("ListResult", json.loads(json.dumps(body)))


def test_bare_jsonschema_rs_counts_an_integral_float_as_an_integer(contracts: Contracts) -> None:
    """Why FastValidator never trusts Rust on an instance holding an integral float."""
    every = [*contracts.schemas.values(), *contracts.documents.values()]
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in every])
    progress = {"total": 100.0, "completed": 1, "message": {"id": "m", "default_message": "m"}}
    progress["message"]["args"] = []
    bare = jsonschema_rs.validator_for(contracts.schema("Progress"), registry=registry)
    assert bare.is_valid(progress)
    assert not FastValidator(contracts).is_valid("Progress", progress)
    assert [e.validator for e in contracts.errors("Progress", progress)] == ["type"]


def test_integral_floats_where_the_contract_allows_numbers_or_anything(
    contracts: Contracts, valid_list: dict[str, Any]
) -> None:
    """Strict integers only: a ``number`` (LocalizationParam.d) or free-form data keeps 1.0."""
    body = copy.deepcopy(valid_list)
    _progress_of(body)["message"]["params"] = {"p": {"d": 1.0}}
    assert validate_fast(contracts, "ListResult", body) == []
    assert_same(contracts, "ListResult", body)
    message = {"id": "m", "default_message": "m", "args": []}
    error = {"error_type": "ERROR", "messages": [message], "data": {"count": 2.0}}
    assert validate_fast(contracts, "Error", error) == []
    assert_same(contracts, "Error", error)


def test_fractional_floats_stay_on_the_fast_path(
    contracts: Contracts, valid_list: dict[str, Any]
) -> None:
    """Rust rejects 0.5 as an integer itself; only zero-fraction floats force the exact path."""
    from snapconform.fastvalidate import has_integral_float

    assert not has_integral_float(valid_list)
    assert not has_integral_float({"a": [0.5, {"b": 1}, "1.0"]})
    assert has_integral_float({"a": [0.5, {"b": [2.0]}]})
    body = copy.deepcopy(valid_list)
    _progress_of(body)["total"] = 0.5
    assert_same(contracts, "ListResult", body)


def test_a_conformant_list_passes_the_closed_contracts(
    contracts: Contracts, valid_list: dict[str, Any]
) -> None:
    """The audit's one-pass case: closed contracts accept it, and that decides validity."""
    validator = fast_validator(contracts)
    assert validator.declares_every_property("ListResult", valid_list)
    assert validator.closed_valid_means_valid(valid_list)
    extra = copy.deepcopy(valid_list)
    extra["items"][0]["info"]["colour"] = "blue"
    assert not validator.declares_every_property("ListResult", extra)
    bad_time = _with_start_time(valid_list, "2026-01-01T23:59:60Z")
    assert not validator.declares_every_property("ListResult", bad_time)  # formats checked


@pytest.mark.parametrize(
    ("schema", "monotone"),
    [
        ({"properties": {"a": {"$ref": "x"}}}, True),
        ({"allOf": [{"$ref": "x"}, {"format": "date-time"}]}, True),
        ({"not": {"type": "null"}}, True),
        ({"properties": {"not": {"$ref": "x"}}}, True),  # a property named "not"
        ({"not": {"$ref": "x"}}, False),
        ({"properties": {"a": {"not": {"format": "date-time"}}}}, False),
        ({"if": {"properties": {"a": {"$ref": "x"}}}, "then": {}}, False),
    ],
)
def test_monotone_contracts(schema: dict[str, Any], monotone: bool) -> None:
    """Closing a schema under ``not``/``if`` could make MORE instances valid: no shortcut then."""
    from snapconform.fastvalidate import _monotone

    assert _monotone(schema) is monotone


def test_the_shipped_contracts_are_monotone(contracts: Contracts) -> None:
    assert fast_validator(contracts)._monotone


def test_no_shortcut_for_contracts_that_are_not_monotone(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "contracts"
    shutil.copytree(default_contracts().root, root)
    schema_path = root / "schemas" / "DynamicID.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema["not"] = {"$ref": schema["$id"]}  # nonsense, but legal: the shortcut must step aside
    schema_path.write_text(json.dumps(schema), "utf-8")
    odd = Contracts.load(root)
    assert not fast_validator(odd).closed_valid_means_valid({"items": []})


@settings(max_examples=300, deadline=None)
@given(st.from_regex(SAFE_DATETIME, fullmatch=True))
def test_every_date_time_taken_without_the_format_checker_is_one_it_accepts(text: str) -> None:
    """``SAFE_DATETIME`` answers for jsonschema's date-time checker: it must never be laxer."""
    from jsonschema import Draft202012Validator

    assert Draft202012Validator.FORMAT_CHECKER.conforms(text, "date-time")
