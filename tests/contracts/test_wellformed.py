"""Every contract file is a valid 2020-12 schema with a unique `$id`; every `$ref` resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.exceptions import Unresolvable

from snapconform.contracts import SCHEMA_BASE, Contracts, contracts_dir, iter_refs

ROOT = contracts_dir()
SCHEMA_FILES = sorted((ROOT / "schemas").glob("*.json"))
DOCUMENT_FILES = sorted(ROOT.glob("*.schema.json"))
ALL_FILES = SCHEMA_FILES + DOCUMENT_FILES


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _expected_id(path: Path) -> str:
    return SCHEMA_BASE + path.relative_to(ROOT).as_posix()


def unresolvable_refs(registry: Registry[Any], base_uri: str, schema: Any) -> list[str]:
    """Every ``$ref`` in ``schema`` (read at ``base_uri``) that the registry cannot resolve."""
    resolver = registry.resolver(base_uri=base_uri)
    broken = []
    for ref in iter_refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            broken.append(ref)
    return broken


def test_contract_files_exist() -> None:
    assert len(SCHEMA_FILES) >= 20, SCHEMA_FILES
    names = {p.name for p in DOCUMENT_FILES}
    assert {"state.schema.json", "fault.schema.json", "summary.schema.json"} <= names


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_file_is_a_valid_2020_12_schema(path: Path) -> None:
    schema = _read(path)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_id_matches_file_name(path: Path) -> None:
    assert _read(path)["$id"] == _expected_id(path)


def test_ids_are_unique() -> None:
    ids = [_read(p)["$id"] for p in ALL_FILES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_ref_resolves(contracts: Contracts, path: Path) -> None:
    schema = _read(path)
    assert unresolvable_refs(contracts.registry, schema["$id"], schema) == []


def test_every_openapi_ref_resolves(contracts: Contracts) -> None:
    document = yaml.safe_load(contracts.openapi_path().read_text(encoding="utf-8"))
    refs = list(iter_refs(document))
    assert refs, "openapi.yaml references no schema"
    file_refs = [ref for ref in refs if not ref.startswith("#")]
    for ref in file_refs:
        assert (ROOT / ref).is_file(), f"openapi.yaml: {ref} is not a file in contracts/"
    assert unresolvable_refs(contracts.registry, SCHEMA_BASE + "openapi.yaml", file_refs) == []


def test_ref_check_catches_a_dangling_ref(contracts: Contracts) -> None:
    schema = {"properties": {"x": {"$ref": "NoSuchType.json"}, "y": {"$ref": "Status.json"}}}
    base = SCHEMA_BASE + "schemas/Probe.json"
    assert unresolvable_refs(contracts.registry, base, schema) == ["NoSuchType.json"]


def test_every_type_schema_is_loaded(contracts: Contracts) -> None:
    assert set(contracts.schemas) == {p.stem for p in SCHEMA_FILES}
    assert set(contracts.documents) == {p.name.removesuffix(".schema.json") for p in DOCUMENT_FILES}


def test_validators_check_formats(contracts: Contracts) -> None:
    # The format checker must be wired in: a bare schema validator would accept this.
    assert contracts.errors("DateTime", "2026-13-01T00:00:00Z")
    assert not contracts.errors("DateTime", "2026-01-01T00:00:00.123Z")
