"""Unknown properties validate (tolerated) but are reported by ``unknown_properties``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from snapconform.contracts import Contracts, unknown_properties

CORPUS = Path(__file__).parent / "corpus"


def _body(name: str) -> Any:
    return json.loads((CORPUS / "valid" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def every_status() -> Any:
    return _body("ListResult--every-status")


def test_type_schemas_never_forbid_additional_properties(contracts: Contracts) -> None:
    def forbids(node: Any) -> bool:
        if isinstance(node, dict):
            if node.get("additionalProperties") is False:
                return True
            return any(forbids(v) for v in node.values())
        return isinstance(node, list) and any(forbids(v) for v in node)

    assert [name for name, schema in contracts.schemas.items() if forbids(schema)] == []


def test_extra_fields_validate(contracts: Contracts, every_status: Any) -> None:
    body = copy.deepcopy(every_status)
    body["next_page"] = "abc"
    body["items"][3]["info"]["progress"]["message"]["extra"] = {"any": "thing"}
    body["items"][0]["info"]["x_new_field"] = 1
    assert contracts.errors("ListResult", body) == []


@pytest.mark.parametrize(
    "name",
    sorted(p.stem for p in (CORPUS / "valid").glob("*.json") if "unknown" not in p.stem),
)
def test_corpus_bodies_have_no_unknown_properties(contracts: Contracts, name: str) -> None:
    schema = name.split("--", 1)[0]
    assert contracts.unknown_properties(schema, _body(name)) == []


def test_tolerated_corpus_body_reports_its_extras(contracts: Contracts) -> None:
    body = _body("ListResult--unknown-fields-tolerated")
    assert contracts.errors("ListResult", body) == []
    assert contracts.unknown_properties("ListResult", body) == ["$.items[0].info.x_new", "$.next"]


def test_deep_extra_field_is_found(every_status: Any) -> None:
    body = copy.deepcopy(every_status)
    body["items"][3]["info"]["progress"]["message"]["extra"] = 1
    assert unknown_properties("ListResult", body) == ["$.items[3].info.progress.message.extra"]


def test_extras_in_params_and_nested_messages_are_found(every_status: Any) -> None:
    body = copy.deepcopy(every_status)
    params = body["items"][5]["info"]["progress"]["message"]["params"]
    params["ratio"]["unit"] = "%"  # a LocalizationParam field the contract lacks
    params["nested"]["l"]["params"]["deeper"]["l"]["zz"] = 1  # NestedLocalizableMessage, 2 deep
    params["odd key"] = {"s": "fine"}  # a map key: declared by additionalProperties
    body["items"][5]["info"]["target"]["kind"] = "x"
    assert unknown_properties("ListResult", body) == [
        "$.items[5].info.progress.message.params.ratio.unit",
        "$.items[5].info.progress.message.params.nested.l.params.deeper.l.zz",
        "$.items[5].info.target.kind",
    ]


def test_free_form_objects_are_not_looked_into(every_status: Any) -> None:
    # Info.result is opaque, Info.error and Error.data are open objects in the contract.
    body = copy.deepcopy(every_status)
    body["items"][3]["info"]["result"] = {"anything": {"goes": 1}}
    body["items"][4]["info"]["error"]["vendor"] = 1
    assert unknown_properties("ListResult", body) == []
    error = {"messages": [], "data": {"argument": "status"}, "error_type": None}
    assert unknown_properties("InvalidArgument", error) == []


@pytest.mark.parametrize(
    ("name", "extra", "expected"),
    [
        ("Error", {"more": 1}, "$.more"),
        ("InvalidArgument", {"more": 1}, "$.more"),
        ("ServiceUnavailable", {"retry_after": 5}, "$.retry_after"),
        ("ResourceInaccessible", {"more": 1}, "$.more"),
    ],
)
def test_error_bodies_report_extras(name: str, extra: dict[str, Any], expected: str) -> None:
    body = {"messages": [{"id": "a", "default_message": "b", "args": []}], "error_type": None}
    assert unknown_properties(name, {**body, **extra}) == [expected]


def test_subtype_fields_are_declared_only_on_the_subtype() -> None:
    body = {"messages": [{"id": "a", "default_message": "b", "args": [], "hint": 1}]}
    with_challenge = {**body, "challenge": "Basic"}
    assert unknown_properties("Unauthorized", with_challenge) == ["$.messages[0].hint"]
    assert unknown_properties("Unauthenticated", with_challenge) == ["$.messages[0].hint"]
    assert unknown_properties("Error", with_challenge) == ["$.messages[0].hint", "$.challenge"]
    assert unknown_properties("InvalidArgument", with_challenge) == [
        "$.messages[0].hint",
        "$.challenge",
    ]


def test_odd_keys_are_quoted_in_paths() -> None:
    body = {"user": "u", "created_time": "2026-01-01T00:00:00Z", "last_accessed_time": "x"}
    assert unknown_properties("SessionInfo", {**body, "a b": 1}) == ['$["a b"]']


def test_documents_are_walked_too(contracts: Contracts) -> None:
    state = {
        "tasks": [{"task": "t", "info": {"status": "PENDING", "surprise": 1}}],
        "principals": [{"username": "a", "password": "p", "privileges": [], "who": 1}],
    }
    assert contracts.unknown_properties("state", state) == [
        "$.tasks[0].info.surprise",
        "$.principals[0].who",
    ]
