"""contracts/state.schema.json: the state document the reference server loads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from snapconform.contracts import Contracts

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def state() -> dict[str, Any]:
    listing = json.loads(
        (CORPUS / "valid" / "ListResult--every-status.json").read_text(encoding="utf-8")
    )
    return {
        "tasks": listing["items"],
        "principals": [
            {"username": "reader", "password": "secret-1", "privileges": ["System.Read"]},
            {
                "username": "VSPHERE.LOCAL\\alice",
                "password": "secret-2",
                "privileges": ["System.Read"],
                "visible_tasks": ["task-1", "task-3"],
            },
            {"username": "nobody", "password": "", "privileges": [], "visible_tasks": None},
        ],
    }


def _violations(contracts: Contracts, document: Any) -> list[tuple[str, str]]:
    return [
        ("/".join(map(str, e.absolute_path)), str(e.validator))
        for e in contracts.errors("state", document)
    ]


def test_valid_state_document(contracts: Contracts, state: dict[str, Any]) -> None:
    assert _violations(contracts, state) == []
    assert _violations(contracts, {"tasks": [], "principals": []}) == []


def _break(state: dict[str, Any], how: str) -> dict[str, Any]:
    doc = copy.deepcopy(state)
    if how == "missing-principals":
        del doc["principals"]
    elif how == "missing-tasks":
        del doc["tasks"]
    elif how == "visible_tasks-not-array":
        doc["principals"][1]["visible_tasks"] = "task-1"
    elif how == "visible_tasks-not-strings":
        doc["principals"][1]["visible_tasks"] = [1]
    elif how == "principal-without-password":
        del doc["principals"][0]["password"]
    elif how == "principal-empty-username":
        doc["principals"][0]["username"] = ""
    elif how == "principal-unknown-field":
        doc["principals"][0]["role"] = "admin"
    elif how == "unknown-top-level-field":
        doc["sessions"] = []
    elif how == "task-breaks-union":
        del doc["tasks"][1]["info"]["start_time"]  # RUNNING without start_time
    elif how == "task-bad-date-time":
        doc["tasks"][1]["info"]["start_time"] = "2026-01-01 10:00:00"
    elif how == "task-without-info":
        del doc["tasks"][0]["info"]
    else:
        raise AssertionError(how)
    return doc


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("missing-principals", ("", "required")),
        ("missing-tasks", ("", "required")),
        ("visible_tasks-not-array", ("principals/1/visible_tasks", "type")),
        ("visible_tasks-not-strings", ("principals/1/visible_tasks/0", "type")),
        ("principal-without-password", ("principals/0", "required")),
        ("principal-empty-username", ("principals/0/username", "minLength")),
        ("principal-unknown-field", ("principals/0", "additionalProperties")),
        ("unknown-top-level-field", ("", "additionalProperties")),
        ("task-breaks-union", ("tasks/1/info", "required")),
        ("task-bad-date-time", ("tasks/1/info/start_time", "anyOf")),
        ("task-without-info", ("tasks/0", "required")),
    ],
)
def test_invalid_state_document(
    contracts: Contracts, state: dict[str, Any], how: str, expected: tuple[str, str]
) -> None:
    assert _violations(contracts, _break(state, how)) == [expected]
