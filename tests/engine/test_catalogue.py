"""The catalogue: one check per requirement, one hop to checks.py, docs in sync."""

from __future__ import annotations

from pathlib import Path

from snapconform.engine import checks
from snapconform.engine.requirements import CATALOGUE, catalogue_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_requirement_has_its_own_named_check() -> None:
    names = [r.check_name for r in CATALOGUE]
    assert len(names) == len(set(names)), "a check serves two requirements"
    for r in CATALOGUE:
        assert getattr(checks, r.check_name) is r.check
        assert r.level in ("MUST", "SHOULD") and r.source and r.title
    assert len({r.id for r in CATALOGUE}) == len(CATALOGUE)


def test_docs_requirements_md_is_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "requirements.md").read_text(encoding="utf-8") == catalogue_markdown()
