"""Drift between contracts/ and the official VMware bindings (vmware-vsan-data-protection).

Both sides are reduced to the same neutral description (``StructShape`` / ``EnumShape``: field
names, optionality, wire shape, enum values, the Info union) and compared by ``drift()``, a pure
function returning one message per difference, each naming the type and field.  The bindings are
read only through their binding types and validators, never through documentation strings.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from snapconform.contracts import Contracts

pytestmark = pytest.mark.bindings

Schemas = Mapping[str, dict[str, Any]]


@dataclass(frozen=True)
class Shape:
    """What a value looks like on the wire.

    ``kind`` is a JSON type (integer, number, string, boolean, array, map, object), ``date-time``,
    ``any`` (opaque) or ``ref`` (a named struct or enum, by its bindings name, e.g.
    ``com.vmware.snapservice.tasks.progress``). ``const`` pins a string to one enum value.
    """

    kind: str
    ref: str | None = None
    items: Shape | None = None
    const: str | None = None

    def __str__(self) -> str:
        if self.kind == "ref":
            return f"ref {self.ref}"
        if self.kind in {"array", "map"}:
            return f"{self.kind} of {self.items}"
        if self.const is not None:
            return f"string {self.const!r}"
        return self.kind


@dataclass(frozen=True)
class FieldShape:
    shape: Shape
    optional: bool


Union = tuple[str, dict[str, dict[str, bool]]]  # discriminant, case -> field -> required


@dataclass(frozen=True)
class StructShape:
    name: str
    fields: dict[str, FieldShape]
    union: Union | None = None


@dataclass(frozen=True)
class EnumShape:
    name: str
    values: frozenset[str]


TypeShape = StructShape | EnumShape


# --- the contract side (pure) -----------------------------------------------------------------


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].removesuffix(".json")


@dataclass(frozen=True)
class _ContractField:
    shape: Shape
    nullable: bool


def contract_shape(schemas: Schemas, node: dict[str, Any]) -> _ContractField:
    """Shape and nullability of one property schema as the contract writes it."""
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b != {"type": "null"}]
        nullable = len(branches) < len(node["anyOf"])
        if len(branches) != 1:
            return _ContractField(Shape(f"anyOf({len(branches)} branches)"), nullable)
        return _ContractField(contract_shape(schemas, branches[0]).shape, nullable)
    if "$ref" in node:
        name = _ref_name(node["$ref"])
        if name == "DateTime":
            return _ContractField(Shape("date-time"), False)
        title = schemas.get(name, {}).get("title", f"<missing schema {name}>")
        return _ContractField(Shape("ref", ref=title), False)
    if "const" in node:
        return _ContractField(Shape("string", const=node["const"]), node["const"] is None)
    types = node.get("type")
    if types is None:
        return _ContractField(Shape("any"), True)
    type_list = [types] if isinstance(types, str) else list(types)
    nullable = "null" in type_list
    type_list = [t for t in type_list if t != "null"]
    if len(type_list) != 1:
        return _ContractField(Shape("|".join(type_list) or "null"), nullable)
    kind = type_list[0]
    if kind == "array":
        items = contract_shape(schemas, node.get("items", {})).shape
        return _ContractField(Shape("array", items=items), nullable)
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        values = contract_shape(schemas, node["additionalProperties"]).shape
        return _ContractField(Shape("map", items=values), nullable)
    return _ContractField(Shape(kind), nullable)


def _contract_chain(schemas: Schemas, name: str) -> Iterator[dict[str, Any]]:
    """The schema and every schema it extends through ``allOf: [{$ref}]``, base first."""
    schema = schemas[name]
    for part in schema.get("allOf", []):
        if "$ref" in part:
            yield from _contract_chain(schemas, _ref_name(part["$ref"]))
    yield schema


def _describe_field(shape: Shape) -> str:
    return str(shape)


def _compare_shape(
    label: str, contract: Shape, bindings: Shape, enums: Mapping[str, EnumShape]
) -> list[str]:
    if contract.const is not None and bindings.kind == "ref" and bindings.ref in enums:
        if contract.const in enums[bindings.ref].values:
            return []
        return [f"{label}: contract pins {contract.const!r}, not a value of {bindings.ref}"]
    if contract.kind != bindings.kind or contract.ref != bindings.ref:
        return [f"{label}: contract says {contract}, bindings say {bindings}"]
    if contract.items is not None and bindings.items is not None:
        return _compare_shape(f"{label}[]", contract.items, bindings.items, enums)
    return []


def _compare_struct(
    schemas: Schemas, name: str, bindings: StructShape, enums: Mapping[str, EnumShape]
) -> list[str]:
    chain = list(_contract_chain(schemas, name))
    required = set().union(*(set(s.get("required", [])) for s in chain))
    definitions: dict[str, list[dict[str, Any]]] = {}
    for schema in chain:
        for prop, node in schema.get("properties", {}).items():
            definitions.setdefault(prop, []).append(node)
    messages = [
        f"{name}.{prop}: bindings declare the field, the contract does not"
        for prop in bindings.fields
        if prop not in definitions
    ]
    messages += [
        f"{name}.{prop}: contract declares a field the bindings do not have"
        for prop in definitions
        if prop not in bindings.fields
    ]
    for prop, expected in bindings.fields.items():
        if prop not in definitions:
            continue
        label = f"{name}.{prop}"
        contract_optional = prop not in required
        if contract_optional != expected.optional:
            says = "optional" if contract_optional else "required"
            other = "optional" if expected.optional else "required"
            messages.append(f"{label}: contract says {says}, bindings say {other}")
        for node in definitions[prop]:
            found = contract_shape(schemas, node)
            if expected.optional and not found.nullable:
                messages.append(f"{label}: bindings say optional, contract does not accept null")
            if not expected.optional and found.nullable:
                messages.append(f"{label}: contract accepts null, bindings say required")
            messages += _compare_shape(label, found.shape, expected.shape, enums)
    messages += _compare_union(name, schemas[name].get("x-union"), bindings.union)
    return messages


def _compare_union(name: str, contract: dict[str, Any] | None, bindings: Union | None) -> list[str]:
    if contract is None and bindings is None:
        return []
    if contract is None or bindings is None:
        where = "bindings" if contract is None else "contract"
        return [f"{name}: only the {where} declare a union (x-union)"]
    discriminant, cases = bindings
    messages = []
    if contract.get("discriminant") != discriminant:
        messages.append(
            f"{name} union: contract discriminant {contract.get('discriminant')!r}, "
            f"bindings {discriminant!r}"
        )
    contract_cases = {
        case: {f: bool(req) for f, req in pairs} for case, pairs in contract["cases"].items()
    }
    for case in sorted(contract_cases.keys() | cases.keys()):
        if case not in cases or case not in contract_cases:
            where = "contract" if case in contract_cases else "bindings"
            messages.append(f"{name} union case {case}: only in the {where}")
            continue
        ours, theirs = contract_cases[case], cases[case]
        for f in sorted(ours.keys() | theirs.keys()):
            label = f"{name} union case {case}.{f}"
            if f not in theirs:
                messages.append(f"{label}: allowed by the contract, not by the bindings")
            elif f not in ours:
                messages.append(f"{label}: allowed by the bindings, not by the contract")
            elif ours[f] != theirs[f]:
                says = "required" if ours[f] else "optional"
                other = "required" if theirs[f] else "optional"
                messages.append(f"{label}: contract says {says}, bindings say {other}")
    return messages


def drift(schemas: Schemas, bindings: Mapping[str, TypeShape]) -> list[str]:
    """Every difference between the contract schemas and the bindings' types.

    ``schemas`` maps contract names (``Info``) to schemas; a contract schema describes the
    bindings type whose name is its ``title``. Returns messages naming the contract type and
    field, e.g. ``"Info.start_time: contract says required, bindings say optional"``.
    """
    by_title = {schema.get("title"): name for name, schema in schemas.items()}
    enums = {n: t for n, t in bindings.items() if isinstance(t, EnumShape)}
    messages: list[str] = []
    for type_name, described in sorted(bindings.items()):
        name = by_title.get(type_name)
        if name is None:
            messages.append(f"{type_name}: no contract schema has this title")
            continue
        if isinstance(described, EnumShape):
            values = set(schemas[name].get("enum", []))
            messages += [
                f"{name}: enum value {v!r} in the contract, not in the bindings"
                for v in sorted(values - described.values)
            ]
            messages += [
                f"{name}: enum value {v!r} in the bindings, not in the contract"
                for v in sorted(described.values - values)
            ]
        else:
            messages += _compare_struct(schemas, name, described, enums)
    return messages


# --- the bindings side ------------------------------------------------------------------------


def describe_bindings(roots: list[Any]) -> dict[str, TypeShape]:
    """Every struct and enum reachable from the binding classes ``roots``, by bindings name."""
    from vmware.vapi.bindings import type as bt

    found: dict[str, TypeShape] = {}
    pending: list[Any] = [root.get_binding_type() for root in roots]

    def shape_of(binding: Any) -> Shape:
        if isinstance(binding, bt.ReferenceType):
            binding = binding.resolved_type
        if isinstance(binding, bt.DynamicStructType | bt.AnyErrorType):
            return Shape("object")
        if isinstance(binding, bt.StructType | bt.EnumType):
            pending.append(binding)
            return Shape("ref", ref=binding.name)
        if isinstance(binding, bt.ListType | bt.SetType):
            return Shape("array", items=shape_of(binding.element_type))
        if isinstance(binding, bt.MapType):
            return Shape("map", items=shape_of(binding.value_type))
        scalars = {
            bt.IntegerType: "integer",
            bt.DoubleType: "number",
            bt.StringType: "string",
            bt.IdType: "string",
            bt.URIType: "string",
            bt.SecretType: "string",
            bt.BooleanType: "boolean",
            bt.DateTimeType: "date-time",
            bt.OpaqueType: "any",
        }
        for cls, kind in scalars.items():
            if isinstance(binding, cls):
                return Shape(kind)
        raise TypeError(f"unmapped binding type {type(binding).__name__}")

    def field_of(binding: Any) -> FieldShape:
        if isinstance(binding, bt.OptionalType):
            return FieldShape(shape_of(binding.element_type), optional=True)
        return FieldShape(shape_of(binding), optional=False)

    while pending:
        binding = pending.pop()
        if binding.name in found:
            continue
        if isinstance(binding, bt.EnumType):
            values = frozenset(str(v) for v in binding.binding_class.get_values())
            found[binding.name] = EnumShape(binding.name, values)
            continue
        fields = {n: field_of(binding.get_field(n)) for n in binding.get_field_names()}
        found[binding.name] = StructShape(binding.name, fields, _union_of(binding.binding_class))
    return found


def _union_of(binding_class: Any) -> Union | None:
    from vmware.vapi.data.validator import UnionValidator

    unions = [
        v for v in getattr(binding_class, "_validator_list", []) if isinstance(v, UnionValidator)
    ]
    if not unions:
        return None
    assert len(unions) == 1, f"{binding_class.__name__}: several unions"
    union = unions[0]
    cases = {case: dict(pairs) for case, pairs in union._case_map.items()}
    return union._discriminant_name, cases


@pytest.fixture(scope="module")
def described(bindings: Any) -> dict[str, TypeShape]:
    tasks = bindings.snapservice.Tasks
    errors = bindings.errors
    roots = [
        tasks.ListResult,
        tasks.FilterSpec,
        bindings.snapservice.Sessions.Info,
        errors.Error,
        errors.InvalidArgument,
        errors.Unauthenticated,
        errors.Unauthorized,
        errors.ResourceInaccessible,
        errors.ServiceUnavailable,
    ]
    return describe_bindings(roots)


# --- the tests --------------------------------------------------------------------------------


def test_contract_has_no_drift_from_the_bindings(
    contracts: Contracts, described: dict[str, TypeShape]
) -> None:
    assert drift(contracts.schemas, described) == []


def test_every_type_schema_is_compared(
    contracts: Contracts, described: dict[str, TypeShape]
) -> None:
    # Guards the walk: a type the walk missed would silently escape the drift check.
    compared = {name for name, s in contracts.schemas.items() if s.get("title") in described}
    assert compared == set(contracts.schemas) - {"DateTime", "SessionToken"}
    assert "com.vmware.snapservice.tasks.info" in described
    assert "com.vmware.vapi.std.localization_param.date_time_format" in described


def _altered(contracts: Contracts, name: str, change: Callable[[dict[str, Any]], None]) -> Schemas:
    schemas = copy.deepcopy(contracts.schemas)
    change(schemas[name])
    return schemas


ALTERATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "field-removed",
        "Info",
        lambda s: s["properties"].pop("start_time"),
        "Info.start_time: bindings declare the field, the contract does not",
    ),
    (
        "field-added",
        "Progress",
        lambda s: s["properties"].update(percent={"type": "integer"}),
        "Progress.percent: contract declares a field the bindings do not have",
    ),
    (
        "optional-made-required",
        "Info",
        lambda s: s["required"].append("start_time"),
        "Info.start_time: contract says required, bindings say optional",
    ),
    (
        "required-made-optional",
        "LocalizableMessage",
        lambda s: s["required"].remove("args"),
        "LocalizableMessage.args: contract says optional, bindings say required",
    ),
    (
        "null-not-accepted",
        "LocalizationParam",
        lambda s: s["properties"].update(s={"type": "string"}),
        "LocalizationParam.s: bindings say optional, contract does not accept null",
    ),
    (
        "type-changed",
        "Progress",
        lambda s: s["properties"].update(total={"type": "number"}),
        "Progress.total: contract says number, bindings say integer",
    ),
    (
        "double-as-integer",
        "LocalizationParam",
        lambda s: s["properties"].update(d={"type": ["integer", "null"]}),
        "LocalizationParam.d: contract says integer, bindings say number",
    ),
    (
        "date-time-as-string",
        "Info",
        lambda s: s["properties"].update(end_time={"type": ["string", "null"]}),
        "Info.end_time: contract says string, bindings say date-time",
    ),
    (
        "ref-changed",
        "LocalizationParam",
        lambda s: s["properties"]["l"]["anyOf"][0].update({"$ref": "LocalizableMessage.json"}),
        "LocalizationParam.l: contract says ref com.vmware.vapi.std.localizable_message, "
        "bindings say ref com.vmware.vapi.std.nested_localizable_message",
    ),
    (
        "array-items-changed",
        "FilterSpec",
        lambda s: s["properties"]["status"].update(items={"type": "string"}),
        "FilterSpec.status[]: contract says string, bindings say ref "
        "com.vmware.snapservice.tasks.status",
    ),
    (
        "enum-value-added",
        "Status",
        lambda s: s["enum"].append("CANCELED"),
        "Status: enum value 'CANCELED' in the contract, not in the bindings",
    ),
    (
        "enum-value-removed",
        "LocalizationParam.DateTimeFormat",
        lambda s: s["enum"].remove("FULL_TIME"),
        "LocalizationParam.DateTimeFormat: enum value 'FULL_TIME' in the bindings, "
        "not in the contract",
    ),
    (
        "error-type-const-not-in-enum",
        "Unauthorized",
        lambda s: s["properties"]["error_type"]["anyOf"][0].update(const="FORBIDDEN"),
        "Unauthorized.error_type: contract pins 'FORBIDDEN', not a value of "
        "com.vmware.vapi.std.errors.error.type",
    ),
    (
        "union-case-required-flag",
        "Info",
        lambda s: s["x-union"]["cases"]["RUNNING"].__setitem__(2, ["start_time", False]),
        "Info union case RUNNING.start_time: contract says optional, bindings say required",
    ),
    (
        "union-case-field-added",
        "Info",
        lambda s: s["x-union"]["cases"]["SUCCEEDED"].append(["error", False]),
        "Info union case SUCCEEDED.error: allowed by the contract, not by the bindings",
    ),
    (
        "union-case-removed",
        "Info",
        lambda s: s["x-union"]["cases"].pop("BLOCKED"),
        "Info union case BLOCKED: only in the bindings",
    ),
    (
        "title-changed",
        "DynamicID",
        lambda s: s.update(title="com.vmware.vapi.std.dynamic_id"),
        "com.vmware.vapi.std.dynamic_ID: no contract schema has this title",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [pytest.param(n, c, e, id=i) for i, n, c, e in ALTERATIONS],
)
def test_drift_names_the_altered_field(
    contracts: Contracts,
    described: dict[str, TypeShape],
    name: str,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    messages = drift(_altered(contracts, name, change), described)
    assert expected in messages, messages


# --- the union rules (allOf/if/then) enforce what the bindings enforce ------------------------

_MESSAGE = {"id": "m.id", "default_message": "m", "args": []}
_VALUES: dict[str, Any] = {
    "progress": {"total": 2, "completed": 1, "message": _MESSAGE},
    "result": {"snapshot": "s-1"},
    "error": {"messages": [_MESSAGE], "error_type": "ERROR"},
    "start_time": "2026-01-01T10:00:00.000Z",
    "end_time": "2026-01-01T10:05:00.000Z",
}
_ABSENT = object()


@dataclass(frozen=True)
class UnionProbe:
    status: str
    fields: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "description": _MESSAGE,
            "service": "com.vmware.snapservice.svc",
            "operation": "op",
            "status": self.status,
            "cancelable": False,
        }
        info.update({k: v for k, v in self.fields.items() if v is not _ABSENT})
        return info

    def label(self) -> str:
        parts = [
            f"{k}={'absent' if v is _ABSENT else 'null' if v is None else 'set'}"
            for k, v in self.fields.items()
        ]
        return f"{self.status}: " + ", ".join(parts)


def union_probes(cases: Mapping[str, Any]) -> Iterator[UnionProbe]:
    """Every status x every union field absent / null / set (3^5 bodies per status)."""
    union_fields = sorted({f for pairs in cases.values() for f, _ in pairs})
    for status in sorted(cases):
        for choice in itertools.product((_ABSENT, None, "set"), repeat=len(union_fields)):
            values = {
                f: (_VALUES[f] if c == "set" else c)
                for f, c in zip(union_fields, choice, strict=True)
            }
            yield UnionProbe(status, values)


def union_disagreements(
    schema_accepts: Callable[[dict[str, Any]], bool],
    bindings_accept: Callable[[dict[str, Any]], bool],
    probes: Iterator[UnionProbe],
) -> list[str]:
    """Probes on which the schema and the bindings reach different verdicts."""
    out = []
    for probe in probes:
        ours, theirs = schema_accepts(probe.body()), bindings_accept(probe.body())
        if ours != theirs:
            out.append(
                f"Info [{probe.label()}]: schema {'accepts' if ours else 'rejects'}, "
                f"bindings {'accept' if theirs else 'reject'}"
            )
    return out


def _bindings_accept(bindings: Any) -> Callable[[dict[str, Any]], bool]:
    from vmware.vapi.exception import CoreException

    info_class = bindings.tasks.Info

    def accept(info: dict[str, Any]) -> bool:
        try:
            bindings.decode(json.dumps(info), info_class)
        except CoreException:
            return False
        return True

    return accept


def _schema_accepts(contracts: Contracts, schema: dict[str, Any]) -> Callable[[Any], bool]:
    validator = Draft202012Validator(
        schema, registry=contracts.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return validator.is_valid


def test_union_rules_agree_with_the_bindings(contracts: Contracts, bindings: Any) -> None:
    cases = bindings.tasks.Info._validator_list[0]._case_map
    probes = list(union_probes(cases))
    assert len(probes) == len(cases) * 3**5
    accept = _bindings_accept(bindings)
    # Both verdicts occur, so agreement is not vacuous.
    assert {accept(p.body()) for p in probes} == {True, False}
    schema = _schema_accepts(contracts, contracts.schema("Info"))
    assert union_disagreements(schema, accept, iter(probes)) == []


def test_union_check_catches_a_missing_rule(contracts: Contracts, bindings: Any) -> None:
    info = copy.deepcopy(contracts.schema("Info"))
    running = next(
        r for r in info["allOf"] if r["if"]["properties"]["status"]["const"] == "RUNNING"
    )
    running["then"]["allOf"][0]["required"].remove("start_time")
    running["then"]["allOf"][0]["properties"].pop("start_time")
    cases = bindings.tasks.Info._validator_list[0]._case_map
    found = union_disagreements(
        _schema_accepts(contracts, info), _bindings_accept(bindings), union_probes(cases)
    )
    assert found
    assert all(m.startswith("Info [RUNNING: ") for m in found), found
    assert (
        "Info [RUNNING: end_time=absent, error=absent, progress=set, result=absent, "
        "start_time=absent]: schema accepts, bindings reject" in found
    )
