"""Load the contracts in ``contracts/``: the single source of truth for every body.

Nothing here restates a schema. The JSON Schemas are read from disk, linked through a
``referencing`` registry, and handed out as validators with real format checking.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from snapconform.errors import UnknownSchemaError

if TYPE_CHECKING:
    from referencing._core import Resolver

    #: A subschema together with the resolver its relative ``$ref``s resolve against.
    _Scoped = tuple[dict[str, Any], Resolver[Any]]

SCHEMA_BASE = "https://snapconform.dev/contracts/"

#: Error body schema per documented HTTP status of the list endpoint.
ERROR_SCHEMAS_BY_STATUS: dict[int, tuple[str, ...]] = {
    # ResourceInaccessible as 400: the vAPI REST runtime's error map (``inaccessible-status``).
    400: ("InvalidArgument", "ResourceInaccessible"),
    401: ("Unauthenticated",),
    403: ("Unauthorized",),
    500: ("ResourceInaccessible", "Error"),
    503: ("ServiceUnavailable",),
}


#: The contracts inside an installed wheel (pyproject: contracts/ mapped to snapconform._contracts).
PACKAGED_CONTRACTS = Path(__file__).resolve().parent / "_contracts"
#: The contracts of a source checkout (an editable install has no packaged copy).
CHECKOUT_CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


#: libyaml's parser when PyYAML was built with it: the same document as SafeLoader's
#: (openapi.yaml compared equal, key order included) in ~1/8 of the CPU (7 ms, not 53 ms).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def contracts_dir() -> Path:
    """Where the contracts live: shipped in the wheel, or the checkout's ``contracts/``."""
    if PACKAGED_CONTRACTS.is_dir():
        return PACKAGED_CONTRACTS
    return CHECKOUT_CONTRACTS


def _strict_integer(checker: Any, instance: Any) -> bool:
    """A JSON integer as the wire writes it: a Python int from ``json.loads``, never a bool.

    JSON Schema counts ``100.0`` as an integer (a number with a zero fraction), but a vAPI
    server writes longs as integers and strict clients (Go, Java) refuse ``100.0`` for an int64;
    ``json.loads`` gives a float for any number written with a fraction or an exponent.
    """
    return isinstance(instance, int) and not isinstance(instance, bool)


def _without_dialect(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "$schema"}


#: Draft 2020-12 whose ``integer`` is strict (see :func:`_strict_integer`); formats checked.
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


@dataclass(frozen=True)
class Contracts:
    """The loaded contracts: schemas, registry, the OpenAPI document and version profiles."""

    root: Path
    schemas: dict[str, dict[str, Any]]
    documents: dict[str, dict[str, Any]]
    registry: Registry = field(repr=False)

    @classmethod
    def load(cls, root: Path | None = None) -> Contracts:
        root = root or contracts_dir()
        schemas: dict[str, dict[str, Any]] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for path in sorted((root / "schemas").glob("*.json")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            schemas[path.stem] = schema
            resources.append((schema["$id"], Resource.from_contents(schema)))
        documents: dict[str, dict[str, Any]] = {}
        for path in sorted(root.glob("*.schema.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            documents[path.name.removesuffix(".schema.json")] = document
            resources.append((document["$id"], Resource.from_contents(document)))
        registry: Registry = Registry().with_resources(resources)
        return cls(root=root, schemas=schemas, documents=documents, registry=registry)

    def schema(self, name: str) -> dict[str, Any]:
        try:
            return self.schemas[name]
        except KeyError:
            raise UnknownSchemaError(name) from None

    def validator(self, name: str) -> Draft202012Validator:
        """A validator for a type schema (``ListResult``) or a document (``state``).

        Integers are strict: ``100.0`` is a number, not an integer (:func:`_strict_integer`).
        """
        schema = self.documents.get(name) or self.schema(name)
        return StrictValidator(
            _without_dialect(schema),
            registry=self._strict_registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    @cached_property
    def _strict_registry(self) -> Registry:
        """The registry without ``$schema`` keys, so every ``$ref`` stays strict.

        jsonschema picks the validator class of a referenced schema from its ``$schema``
        (``evolve`` -> ``validator_for``): a file declaring 2020-12 would be checked by the stock
        Draft202012Validator, whose ``integer`` admits ``100.0``. Every file is 2020-12.
        """
        every = [*self.schemas.values(), *self.documents.values()]
        return Registry().with_resources(
            (schema["$id"], DRAFT202012.create_resource(_without_dialect(schema)))
            for schema in every
        )

    def errors(self, name: str, instance: Any) -> list[ValidationError]:
        """Every violation of ``name`` by ``instance``, deepest path first.

        jsonschema-rs recognises valid bodies (``snapconform.fastvalidate``, ~100x faster on a
        1000-item list); the errors of an invalid body are always jsonschema's, from
        :meth:`exact_errors`.
        """
        from snapconform.fastvalidate import fast_validator

        return fast_validator(self).errors(name, instance)

    def exact_errors(self, name: str, instance: Any) -> list[ValidationError]:
        """:meth:`errors` computed by jsonschema alone (the reference the fast path must equal)."""
        return sorted(self.validator(name).iter_errors(instance), key=lambda e: -len(e.path))

    def profiles(self) -> dict[str, Any]:
        return json.loads((self.root / "profiles.json").read_text(encoding="utf-8"))

    def profile(self, api_version: str) -> dict[str, Any]:
        profiles = self.profiles()["profiles"]
        if api_version not in profiles:
            known = ", ".join(profiles)
            raise ValueError(f"unknown API version {api_version!r} (known: {known})")
        return profiles[api_version]

    def openapi_path(self) -> Path:
        return self.root / "openapi.yaml"

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document as written: schema references point into ``schemas/``."""
        return yaml.load(self.openapi_path().read_text(encoding="utf-8"), Loader=_YAML_LOADER)

    def bundled_openapi(self) -> dict[str, Any]:
        """The OpenAPI document with every referenced schema copied into ``components``.

        Tools that cannot follow file references (schemathesis loading from a dict) get one
        self-contained document; the schemas are still the files in ``contracts/schemas``.
        """
        document = self.openapi()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in self.schemas.items():
            inlined = copy.deepcopy(schema)
            inlined.pop("$schema", None)
            inlined.pop("$id", None)
            components[name] = _rewrite_refs(inlined, "#/components/schemas/")
        return _rewrite_refs(document, "#/components/schemas/", prefix="schemas/")

    def property_names(self, name: str) -> frozenset[str]:
        """Property names a schema declares (following ``allOf`` references)."""
        schema = self.schema(name)
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            ref = part.get("$ref")
            if ref:
                names |= self.property_names(_ref_name(ref))
        return frozenset(names)

    def unknown_properties(self, name: str, instance: Any) -> list[str]:
        """JSON paths (``$.items[3].info.extra``) of properties ``name``'s schema does not declare.

        The type schemas tolerate unknown properties (a newer server may add fields), so
        validation passes; the harness reports these paths as warnings. Objects the contract
        leaves free-form (``Error.data``, ``Info.error``, ``Info.result``) are not looked into.
        """
        schema = self.documents.get(name) or self.schema(name)
        resolver = self.registry.resolver(base_uri=schema["$id"])
        found: list[str] = []
        _collect_unknown(list(_applicable(schema, resolver, instance)), instance, "$", found)
        return found


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}


def _admits_type(schema: dict[str, Any], instance: Any) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    names = [declared] if isinstance(declared, str) else declared
    return any(isinstance(instance, _JSON_TYPES.get(n, ())) for n in names)


def _applicable(schema: Any, resolver: Resolver[Any], instance: Any) -> Iterator[_Scoped]:
    """The schema and every subschema that describes the same instance ($ref, allOf, anyOf...)."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        yield from _applicable(resolved.contents, resolved.resolver, instance)
    yield schema, resolver
    for part in schema.get("allOf", []):
        yield from _applicable(part, resolver, instance)
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []):
            if _admits_type(branch, instance):
                yield from _applicable(branch, resolver, instance)


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _collect_unknown(scoped: list[_Scoped], instance: Any, path: str, found: list[str]) -> None:
    if isinstance(instance, dict):
        declared: dict[str, list[_Scoped]] = {}
        additional: list[_Scoped] = []
        for schema, resolver in scoped:
            for prop, sub in schema.get("properties", {}).items():
                declared.setdefault(prop, []).append((sub, resolver))
            if isinstance(schema.get("additionalProperties"), dict):
                additional.append((schema["additionalProperties"], resolver))
        describes_fields = any(
            "properties" in schema or "additionalProperties" in schema for schema, _ in scoped
        )
        for key, value in instance.items():
            child = _child_path(path, key)
            subs = declared.get(key) or additional
            if not subs:
                if describes_fields:
                    found.append(child)
                continue
            _collect_unknown(_expand(subs, value), value, child, found)
    elif isinstance(instance, list):
        items = [(s["items"], r) for s, r in scoped if isinstance(s.get("items"), dict)]
        for index, value in enumerate(instance):
            _collect_unknown(_expand(items, value), value, _child_path(path, index), found)


def _expand(scoped: list[_Scoped], instance: Any) -> list[_Scoped]:
    return [pair for schema, resolver in scoped for pair in _applicable(schema, resolver, instance)]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].removesuffix(".json")


def _rewrite_refs(node: Any, target: str, prefix: str = "") -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            is_file_ref = key == "$ref" and isinstance(value, str) and value.endswith(".json")
            if is_file_ref and (value.startswith(prefix) or not prefix):
                out[key] = target + _ref_name(value)
                continue
            out[key] = _rewrite_refs(value, target, prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, target, prefix) for item in node]
    return node


def iter_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a schema tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


@cache
def default_contracts() -> Contracts:
    """The contracts shipped with this installation, loaded once per process."""
    return Contracts.load()


def unknown_properties(name: str, instance: Any, contracts: Contracts | None = None) -> list[str]:
    """JSON paths of properties in ``instance`` not declared by schema ``name``.

    See :meth:`Contracts.unknown_properties`; uses :func:`default_contracts` unless given.
    """
    return (contracts or default_contracts()).unknown_properties(name, instance)
