"""The part of a value the official bindings' decode verdict depends on: its decode shape.

Decoding a task with the bindings (``TypeConverter.convert_to_python``) costs about 0.2 ms,
90% of the audit's CPU for a new 1000-item page. Most of that work gives the same verdict for
tasks that differ only in free text: the bindings accept any string where the type is a string
or an identifier, and any integer of 64 bits where it is an integer. The shape replaces exactly
those values by their kind, guided by the bindings' own type of the struct, and keeps every
other value as it is: enum values (the status decides which fields the ``UnionValidator``
requires), booleans, doubles, keys, nulls and absent fields, opaque results and errors, and
anything whose JSON type differs from the bindings' type. A date-time keeps its verdict from
the bindings' own RFC 3339 parser. Two values with the same shape therefore decode alike, and
the audit decodes one representative per shape (about 30 per 1000 generated tasks).

Used by ``runwide.contract.BindingsVerdicts``; ``tests/engine/test_bindings_shape.py`` checks,
on generated and corrupted tasks, that equal shapes never hide a different verdict.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from snapconform.engine.bindings_import import defer_uri_validation
from snapconform.fastvalidate import SAFE_DATETIME

#: A value's decode shape: hashable, equal for values the bindings decode alike.
Shape = Hashable

#: Integers the bindings' IntegerType accepts whatever their value (a 64-bit long).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_STRING, _INTEGER, _DATETIME_OK = "<string>", "<integer>", "<date-time>"


def canonical_json(value: Any) -> str:
    """One JSON text per value: the bytes the bindings decode and exact keys both come from."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _as_is(value: Any) -> Shape:
    """A value kept whole: a scalar with its type (``True``, ``1`` and ``1.0`` differ), lists
    and objects as their JSON text (so that they hash)."""
    if value is None or type(value) in (str, int, float, bool):
        return ("=", type(value).__name__, value)
    return ("=", canonical_json(value))


class _Leaf(enum.Enum):
    """How a field's value is shaped when its bindings type is one of the text-free kinds."""

    STRING = "string"  # StringType, IdType: any JSON string
    INTEGER = "integer"  # IntegerType: any JSON integer of 64 bits
    DATETIME = "datetime"  # DateTimeType: a string the RFC 3339 parser accepts
    STRINGS = "strings"  # a list of StringType: any list of JSON strings
    OTHER = "other"  # anything else: shaped by the function of its type


@cache
def _shaper(struct: str) -> Callable[[Any], Shape]:
    """The shape function for ``Tasks.<struct>``, built once from the bindings' type."""
    defer_uri_validation()
    from com.vmware.snapservice_client import Tasks
    from vmware.vapi.bindings import type as bindings_type
    from vmware.vapi.bindings.datetime_helper import DateTimeConverter

    def parses(text: str) -> bool:
        if SAFE_DATETIME.fullmatch(text):
            return True
        try:
            DateTimeConverter.convert_to_datetime(text)
        except Exception:  # the bindings raise their own error types
            return False
        return True

    def resolved(kind: Any) -> Any:
        while isinstance(kind, bindings_type.ReferenceType):
            kind = kind.resolved_type
        return kind

    def without_optional(kind: Any) -> Any:
        """A field's type without its ``OptionalType``."""
        return kind.element_type if isinstance(kind, bindings_type.OptionalType) else kind

    def leaf_of(kind: Any) -> _Leaf:
        kind = resolved(kind)
        if isinstance(kind, (bindings_type.StringType, bindings_type.IdType)):
            return _Leaf.STRING
        if isinstance(kind, bindings_type.IntegerType):
            return _Leaf.INTEGER
        if isinstance(kind, bindings_type.DateTimeType):
            return _Leaf.DATETIME
        if isinstance(kind, bindings_type.ListType) and isinstance(
            resolved(kind.element_type), bindings_type.StringType
        ):
            return _Leaf.STRINGS
        return _Leaf.OTHER

    def build(kind: Any) -> Callable[[Any], Shape]:
        if isinstance(kind, bindings_type.ReferenceType):
            # resolved on first use: structures may refer to themselves
            built: list[Callable[[Any], Shape]] = []

            def referenced(value: Any) -> Shape:
                if not built:
                    built.append(build_resolved(resolved(kind)))
                return built[0](value)

            return referenced
        return build_resolved(kind)

    def field_handler(kind: Any) -> Callable[[Any], Shape]:
        """The shape function of one struct field (its None is shaped once, as None)."""
        # resolved now: handlers are built on a struct's first value, when every type exists
        shape = build_resolved(resolved(without_optional(kind)))
        if isinstance(kind, bindings_type.OptionalType):
            return lambda item: None if item is None else shape(item)
        return shape

    def struct_shaper(kind: Any) -> Callable[[Any], Shape]:
        """The shape function of a struct: each key's value shaped by its field's function.

        The hot path of the audit (~6 structs and ~25 leaves a task): a string in a string or
        identifier field, the most common leaf, is shaped inline; any other value by one call
        of its field's function (an unknown key's value is kept whole).
        """
        fields = {name: kind.get_field(name) for name in kind.get_field_names()}
        strings = frozenset(
            name
            for name, field in fields.items()
            if leaf_of(without_optional(field)) is _Leaf.STRING
        )
        handlers: dict[str, Callable[[Any], Shape]] = {}

        def handler(key: str) -> Callable[[Any], Shape]:
            shape = handlers.get(key)
            if shape is None:
                if key not in fields:
                    return _as_is  # not a field of the bindings: kept whole (and not cached)
                # built on the struct's first value, when every (self-)referenced type exists
                shape = handlers[key] = field_handler(fields[key])
            return shape

        def shape_struct(value: Any) -> Shape:
            if type(value) is not dict:
                return _as_is(value)
            return (
                "{}",
                *[
                    (key, _STRING)
                    if type(item) is str and key in strings
                    else (key, handler(key)(item))
                    for key, item in value.items()
                ],
            )

        return shape_struct

    @cache
    def build_resolved(kind: Any) -> Callable[[Any], Shape]:
        leaf = leaf_of(kind)
        if leaf is not _Leaf.OTHER:
            return lambda value: _shape_leaf(leaf, value, parses)
        if isinstance(kind, bindings_type.OptionalType):
            inner = build(kind.element_type)
            return lambda value: None if value is None else inner(value)
        if isinstance(kind, (bindings_type.ListType, bindings_type.SetType)):
            element = build(kind.element_type)
            return lambda value: (
                ("[]", *map(element, value)) if type(value) is list else _as_is(value)
            )
        if isinstance(kind, bindings_type.MapType):
            entry = build(kind.value_type)
            return lambda value: (
                ("{}", *((key, entry(item)) for key, item in value.items()))
                if type(value) is dict
                else _as_is(value)
            )
        if isinstance(kind, bindings_type.StructType) and not isinstance(
            kind, bindings_type.DynamicStructType
        ):
            return struct_shaper(kind)
        # enums, booleans, doubles, opaque values, errors, dynamic structures: kept whole
        return _as_is

    return build(getattr(Tasks, struct).get_binding_type())


def _shape_leaf(leaf: _Leaf, item: Any, parses: Callable[[str], bool]) -> Shape:
    """``item`` shaped by its kind ``leaf``; kept whole when its JSON type does not fit."""
    if leaf is _Leaf.STRING:
        return _STRING if type(item) is str else _as_is(item)
    if leaf is _Leaf.INTEGER:
        return _INTEGER if type(item) is int and INT64_MIN <= item <= INT64_MAX else _as_is(item)
    if leaf is _Leaf.DATETIME:
        return _DATETIME_OK if type(item) is str and parses(item) else _as_is(item)
    if (
        leaf is _Leaf.STRINGS
        and type(item) is list
        and all(type(element) is str for element in item)
    ):
        return ("[s]", len(item))
    return _as_is(item)


def decode_shape(value: Any, struct: str) -> Shape:
    """The decode shape of ``value`` read as ``Tasks.<struct>`` (``ListItem``, ``ListResult``).

    Needs the optional bindings package (as the decode itself does).
    """
    return _shaper(struct)(value)


def exact_shape(value: Any, struct: str) -> Shape:
    """A key that equals only for equal values: for decoders other than the bindings' own."""
    return hashlib.blake2b(canonical_json(value).encode()).digest()
