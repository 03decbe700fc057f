"""A ListResult's errors listed item by item equal jsonschema's errors for the whole body.

``list_contract_violations`` validates each distinct item once per process (the same task comes
back in many bodies of a run) and assembles the body's errors from its items'. The verdicts and
the reported lines must be exactly what validating the whole body gives: these tests hold the
assembled list to ``Contracts.exact_errors`` (jsonschema alone, whole body) on the contract
corpus, on the list bodies of every mutant that answers a 200, and on edge cases (repeated
items, key order, items that are not objects, bodies that are not ListResults).
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.engine import contract_oracle, oracle
from snapconform.fastvalidate import fast_validator
from snapconform.mutants import MUTANTS, Mutant
from snapconform.server.app import ServerConfig, create_app
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, default_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CORPUS = Path(__file__).resolve().parent.parent / "contracts" / "corpus"
BODIES = sorted(CORPUS.glob("*/ListResult--*.json"))


def whole_body(body: Any) -> list[tuple[str, bool]]:
    """The reference: jsonschema's errors for the whole body, as the audit words them."""
    return [
        (
            f"{contract_oracle._path(e.absolute_path)}: {contract_oracle._short(e.message)}",
            contract_oracle._is_status_conditional(e),
        )
        for e in default_contracts().exact_errors("ListResult", body)
    ]


def assert_same(body: Any) -> None:
    expected = whole_body(body)
    assert contract_oracle._list_result_errors(body, default_contracts()) == expected
    # twice: the second time every invalid item's errors are remembered ones
    assert contract_oracle._list_result_errors(body, default_contracts()) == expected
    general, conditional = oracle.list_contract_violations(body)
    assert general == [line for line, is_conditional in expected if not is_conditional]
    assert bool(conditional) == any(is_conditional for _, is_conditional in expected)


def test_the_contract_is_a_list_of_items() -> None:
    # The item-by-item listing applies to the contract as written (else it validates whole).
    assert contract_oracle._item_schema(default_contracts()) == "ListItem"


@pytest.mark.parametrize("path", BODIES, ids=lambda p: p.stem)
def test_corpus_bodies(path: Path) -> None:
    assert_same(json.loads(path.read_text(encoding="utf-8")))


def _mutant_bodies(mutant: Mutant) -> list[Any]:
    state = default_state(seed=7, size=40)
    config = ServerConfig(state=state, behaviour=mutant.behaviour(), api_version="9.0")
    client = TestClient(create_app(config), raise_server_exceptions=False)
    bodies = []
    with client:
        client.auth = (ADMIN_USERNAME, ADMIN_PASSWORD)
        for query in ("", "?status=RUNNING&status=FAILED", "?status=PENDING", ""):
            response = client.get("/api/snapservice/tasks" + query)
            if response.status_code == 200:
                try:
                    bodies.append(response.json())
                except ValueError:
                    continue  # not JSON: CONTRACT-JSON's, no schema errors to list
    return bodies


@pytest.mark.parametrize(
    "mutant", [m for m in MUTANTS.values() if m.area == "contract"], ids=lambda m: m.name
)
def test_contract_mutant_bodies(mutant: Mutant) -> None:
    bodies = _mutant_bodies(mutant)
    assert bodies, "no 200 to compare"
    for body in bodies:
        assert_same(body)


def _invalid_body() -> dict[str, Any]:
    body = json.loads((CORPUS / "valid").glob("ListResult--*.json").__next__().read_text())
    items = [copy.deepcopy(item) for item in body["items"] for _ in range(2)]
    assert items, "the corpus body has items"
    items[0]["info"]["status"] = "running"  # an enum error in one item
    items[1]["task"] = 7  # a type error at another depth
    items[-1]["extra"] = {"x": 1.0}  # tolerated, but holds an integral float (no Rust verdict)
    items.append("not an object")
    items.append({"info": {}})
    return {"items": items}


def test_edge_cases() -> None:
    body = _invalid_body()
    assert whole_body(body), "the body is invalid"
    assert_same(body)
    # the same items again, their keys in another order: still the whole body's listing
    reordered = {
        "items": [
            dict(reversed(list(i.items()))) if isinstance(i, dict) else i for i in body["items"]
        ]
    }
    assert_same(reordered)
    for other in ({}, {"items": "x"}, [], {"items": [], "extra": 1}, {"items": [{}], "total": 1.0}):
        assert_same(other)


def _described(errors: list[Any]) -> list[tuple[str, list[Any], list[Any]]]:
    return [(e.message, list(e.absolute_path), list(e.absolute_schema_path)) for e in errors]


def test_remembered_errors_are_jsonschemas() -> None:
    fast = fast_validator(default_contracts())
    for item in _invalid_body()["items"]:
        exact = _described(default_contracts().exact_errors("ListItem", item))
        assert _described(fast.remembered_errors("ListItem", item)) == exact
        assert _described(fast.remembered_errors("ListItem", item)) == exact  # remembered


def test_a_list_result_that_asks_more_is_validated_whole(tmp_path: Path) -> None:
    # An array-level keyword (here maxItems) is no item's error: with it, the item-by-item
    # listing would miss it, so the body is validated whole and the error is reported.
    import shutil

    from snapconform.contracts import Contracts, contracts_dir

    shutil.copytree(contracts_dir(), tmp_path / "contracts")
    path = tmp_path / "contracts" / "schemas" / "ListResult.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["items"]["maxItems"] = 1
    path.write_text(json.dumps(schema), encoding="utf-8")
    contracts = Contracts.load(tmp_path / "contracts")
    assert contract_oracle._item_schema(contracts) is None
    items = json.loads(next((CORPUS / "valid").glob("ListResult--*.json")).read_text())["items"]
    body = {"items": [items[0], items[0]]}
    general, _ = oracle.list_contract_violations(body, contracts)
    assert any(line.startswith("$.items: ") for line in general), general
    assert oracle.list_contract_violations(body) == ([], [])


def test_items_that_differ_only_in_a_number_type_are_told_apart() -> None:
    # 100 and 100.0 are one value to Python (==, hash): remembered by value, the second item
    # would be given the first one's errors and lose its integer error.
    with_progress = [
        item
        for path in sorted((CORPUS / "valid").glob("ListResult--*.json"))
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]
        if isinstance(item["info"].get("progress"), dict)
    ]
    assert with_progress, "the corpus has a task with progress"
    whole = copy.deepcopy(with_progress[0])
    whole["info"]["status"] = "running"  # invalid: its errors are remembered
    floating = copy.deepcopy(whole)
    floating["info"]["progress"]["total"] = float(whole["info"]["progress"]["total"])
    assert whole_body({"items": [floating]}) != whole_body({"items": [whole]})
    assert_same({"items": [whole, floating]})
