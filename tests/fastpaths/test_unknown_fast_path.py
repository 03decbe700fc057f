"""``FastValidator.declares_every_property`` never hides an unknown property.

It is a sufficient test: True must mean that both walkers (``oracle``'s, used by the audit, and
``Contracts.unknown_properties``) find nothing. Checked on the corpus, on bodies with an extra
key injected at every object position of a valid ListResult, and on generated bodies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from snapconform.contracts import Contracts, default_contracts
from snapconform.engine import contract_oracle, oracle
from snapconform.fastvalidate import FastValidator

CORPUS = Path(__file__).resolve().parents[1] / "contracts" / "corpus"
CORPUS_FILES = sorted((CORPUS / "valid").glob("*.json")) + sorted(
    (CORPUS / "invalid").glob("*.json")
)


def walk(contracts: Contracts, name: str, body: Any) -> list[str]:
    """oracle.unknown_properties without the fast path (the exact walk)."""
    out: list[str] = []
    contract_oracle._walk_unknown(contracts.schema(name), body, contracts, "$", out)
    return out


def assert_sound(contracts: Contracts, name: str, body: Any) -> bool:
    fast = FastValidator(contracts).declares_every_property(name, body)
    if fast:
        assert walk(contracts, name, body) == [], json.dumps(body)[:400]
        assert contracts.unknown_properties(name, body) == []
    assert oracle.unknown_properties(name, body, contracts) == walk(contracts, name, body)
    return fast


def objects(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every JSON object in ``node`` (the root included)."""
    out: list[tuple[Any, ...]] = [path] if isinstance(node, dict) else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in children:
        out.extend(objects(value, (*path, key)))
    return out


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return default_contracts()


@pytest.fixture(scope="module")
def every_status() -> dict[str, Any]:
    return json.loads((CORPUS / "valid" / "ListResult--every-status.json").read_text("utf-8"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus(contracts: Contracts, path: Path) -> None:
    assert_sound(contracts, path.stem.split("--", 1)[0], json.loads(path.read_text("utf-8")))


def test_valid_body_without_extras_takes_the_fast_path(
    contracts: Contracts, every_status: dict[str, Any]
) -> None:
    assert walk(contracts, "ListResult", every_status) == []
    assert assert_sound(contracts, "ListResult", every_status)


def test_an_extra_key_anywhere_is_seen(contracts: Contracts, every_status: dict[str, Any]) -> None:
    """At every object position: declared objects report it, free-form ones must not."""
    reported = 0
    for where in objects(every_status):
        body = copy.deepcopy(every_status)
        target = body
        for key in where:
            target = target[key]
        target["zz_unknown"] = {"nested": True}
        fast = assert_sound(contracts, "ListResult", body)
        if walk(contracts, "ListResult", body):
            reported += 1
            assert not fast
    assert reported >= 5


def test_unknown_in_error_bodies(contracts: Contracts) -> None:
    body = json.loads((CORPUS / "valid" / "InvalidArgument--full.json").read_text("utf-8"))
    assert_sound(contracts, "InvalidArgument", body)
    body["zz_unknown"] = 1
    assert not FastValidator(contracts).declares_every_property("InvalidArgument", body)
    assert oracle.unknown_properties("InvalidArgument", body, contracts) == ["$.zz_unknown"]


keys = st.sampled_from(("zz", "task", "info", "status", "id", "args", "progress", "type"))
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=4))
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(keys, children, max_size=2),
    max_leaves=4,
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_injections(data: st.DataObject) -> None:
    contracts = default_contracts()
    body = json.loads((CORPUS / "valid" / "ListResult--every-status.json").read_text("utf-8"))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(objects(body)))
        target = body
        for key in where:
            target = target[key]
        target[data.draw(keys)] = data.draw(json_values)
    assert_sound(contracts, "ListResult", body)
