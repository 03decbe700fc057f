"""One schema pass judges a ListResult's types and its status-conditional rules.

``list_contract_violations`` skips the per-item x-union walk when the schema accepts the body;
these tests hold it to the full walk on every ListResult of the contract corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snapconform.engine import oracle

CORPUS = Path(__file__).resolve().parent.parent / "contracts" / "corpus"
BODIES = sorted((CORPUS / "valid").glob("ListResult--*.json")) + sorted(
    (CORPUS / "invalid").glob("ListResult--*.json")
)


def _full_walk(body: Any) -> list[str]:
    items = body.get("items") if isinstance(body, dict) else None
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        info = item.get("info") if isinstance(item, dict) else None
        if isinstance(info, dict):
            out.extend(oracle.status_conditional_violations(info))
    return out


@pytest.mark.parametrize("path", BODIES, ids=lambda p: p.stem)
def test_one_pass_agrees_with_the_full_walk(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    general, conditional = oracle.list_contract_violations(body)
    assert bool(conditional) == bool(_full_walk(body)), (general, conditional)
    assert general == oracle.schema_violations("ListResult", body)


def test_the_corpus_has_both_kinds() -> None:
    verdicts = [
        oracle.list_contract_violations(json.loads(p.read_text(encoding="utf-8"))) for p in BODIES
    ]
    assert any(conditional for _, conditional in verdicts)
    assert any(general and not conditional for general, conditional in verdicts)
    assert any(not general and not conditional for general, conditional in verdicts)
