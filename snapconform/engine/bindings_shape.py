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
the audit decodes one representative per shape (about 20 per 1000 generated tasks).

Used by ``runwide.contract.BindingsVerdicts``; ``tests/engine/test_bindings_shape.py`` checks,
on generated and corrupted tasks, that equal shapes never hide a different verdict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

#: A value's decode shape: hashable, equal for values the bindings decode alike.
Shape = Hashable

#: Integers the bindings' IntegerType accepts whatever their value (a 64-bit long).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_STRING, _INTEGER = "<string>", "<integer>"
_DATETIME_OK = "<date-time>"


def canonical_json(value: Any) -> str:
    """One JSON text per value: the bytes the bindings decode and exact keys both come from."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _as_is(value: Any) -> Shape:
    """A value kept whole (its JSON text, so that lists and objects hash)."""
    return ("=", canonical_json(value))


@cache
def _shaper(struct: str) -> Callable[[Any], Shape]:
    """The shape function for ``Tasks.<struct>``, built once from the bindings' type."""
    from com.vmware.snapservice_client import Tasks
    from vmware.vapi.bindings import type as bindings_type
    from vmware.vapi.bindings.datetime_helper import DateTimeConverter

    def parses(text: str) -> bool:
        try:
            DateTimeConverter.convert_to_datetime(text)
        except Exception:  # the bindings raise their own error types
            return False
        return True

    def build(kind: Any) -> Callable[[Any], Shape]:
        if isinstance(kind, bindings_type.ReferenceType):
            return lambda value: build_resolved(kind)(value)
        return build_resolved(kind)

    @cache
    def build_resolved(kind: Any) -> Callable[[Any], Shape]:
        if isinstance(kind, bindings_type.ReferenceType):
            kind = kind.resolved_type
        if isinstance(kind, (bindings_type.StringType, bindings_type.IdType)):
            return lambda value: _STRING if isinstance(value, str) else _as_is(value)
        if isinstance(kind, bindings_type.IntegerType):
            return lambda value: (
                _INTEGER
                if type(value) is int and INT64_MIN <= value <= INT64_MAX
                else _as_is(value)
            )
        if isinstance(kind, bindings_type.DateTimeType):
            return lambda value: (
                _DATETIME_OK if isinstance(value, str) and parses(value) else _as_is(value)
            )
        if isinstance(kind, bindings_type.OptionalType):
            inner = build(kind.element_type)
            return lambda value: None if value is None else inner(value)
        if isinstance(kind, (bindings_type.ListType, bindings_type.SetType)):
            element = build(kind.element_type)
            return lambda value: (
                ("[]", *map(element, value)) if isinstance(value, list) else _as_is(value)
            )
        if isinstance(kind, bindings_type.MapType):
            entry = build(kind.value_type)
            return lambda value: (
                ("{}", *((key, entry(item)) for key, item in sorted(value.items())))
                if isinstance(value, dict)
                else _as_is(value)
            )
        if isinstance(kind, bindings_type.StructType) and not isinstance(
            kind, bindings_type.DynamicStructType
        ):
            fields = {name: build(kind.get_field(name)) for name in kind.get_field_names()}

            def shape_struct(value: Any) -> Shape:
                if not isinstance(value, dict):
                    return _as_is(value)
                return (
                    "{}",
                    *(
                        (key, fields[key](item) if key in fields else _as_is(item))
                        for key, item in sorted(value.items())
                    ),
                )

            return shape_struct
        # enums, booleans, doubles, opaque values, errors, dynamic structures: kept whole
        return _as_is

    return build(getattr(Tasks, struct).get_binding_type())


def decode_shape(value: Any, struct: str) -> Shape:
    """The decode shape of ``value`` read as ``Tasks.<struct>`` (``ListItem``, ``ListResult``).

    Needs the optional bindings package (as the decode itself does).
    """
    return _shaper(struct)(value)


def exact_shape(value: Any, struct: str) -> Shape:
    """A key that equals only for equal values: for decoders other than the bindings' own."""
    return hashlib.blake2b(canonical_json(value).encode()).digest()
