"""A fast verdict for valid bodies, jsonschema's exact errors for invalid ones.

``jsonschema`` (pure Python) needs hundreds of milliseconds for a 1000-item ListResult; the
harness judges every distinct response, so that alone would dominate a run. ``jsonschema-rs``
(Rust) decides validity in about two milliseconds. The two libraries disagree on details that
matter to this contract (``jsonschema-rs`` accepts the leap second ``23:59:60Z`` in
``date-time``, for instance), so the Rust validator is given jsonschema's own format checkers for
every format the contracts use: it is then at most as lenient as jsonschema on formats, and
``tests/fastpaths/test_fastvalidate.py`` proves the verdicts equal on the contract corpus and on
generated bodies.

Integers are strict (``Contracts.validator``: ``100.0`` is not an integer), and jsonschema-rs
follows the JSON Schema rule that counts ``100.0`` as one; so an instance holding a float with a
zero fraction anywhere never gets Rust's verdict (:func:`has_integral_float`, a walk of the
instance). Floats with a fraction Rust rejects as integers by itself.

Only the verdict comes from Rust. When a body is invalid (or the Rust validator cannot take it,
e.g. a lone surrogate in a string), the errors are jsonschema's, produced exactly as
:meth:`Contracts.errors` produces them, so messages, paths and keywords never change.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

if TYPE_CHECKING:  # contracts.py uses this module, never the other way round
    from snapconform.contracts import Contracts


def _formats_used(node: Any) -> Iterator[str]:
    """Every ``format`` keyword value in a schema tree (a property *named* format is skipped)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "format" and isinstance(value, str):
                yield value
            elif key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    yield from _formats_used(sub)
            else:
                yield from _formats_used(value)
    elif isinstance(node, list):
        for item in node:
            yield from _formats_used(item)


def has_integral_float(instance: Any) -> bool:
    """Whether ``instance`` holds a float with a zero fraction (``100.0``, ``1e3``) anywhere.

    Such a value is where jsonschema-rs (``integer`` admits it) and the strict contract
    (``integer`` is a Python int only) may disagree. Iterative: deep bodies cannot overflow.
    """
    stack = [instance]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        kind = type(node)  # exact types first: what json.loads builds, twice as fast
        if kind is dict or kind is list:
            # scalars are judged here, not pushed: most of a body is strings
            for value in node.values() if kind is dict else node:
                kind = type(value)
                if kind is float:
                    if value.is_integer():
                        return True
                elif kind not in _JSON_SCALARS:
                    push(value)
        elif kind is float or isinstance(node, float):
            if node.is_integer():
                return True
        elif kind in _JSON_SCALARS:
            continue
        elif isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


_JSON_SCALARS = (str, int, bool, type(None))


#: RFC 3339 date-times valid whatever checks them (jsonschema's ``date-time`` format, the official
#: bindings' parser): days up to 28 exist in every month, no leap second, ``Z``. Matched in C
#: before the checker is asked; property tests hold it against both checkers.
SAFE_DATETIME = re.compile(
    r"[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z"
)


def _monotone(node: Any, negated: bool = False) -> bool:
    """Whether no ``$ref`` or ``format`` sits under ``not`` or ``if`` in a schema tree.

    Then closing the schemas (``_closed``) and checking formats can only make fewer instances
    valid: an instance valid against the closed schemas is valid against the open ones
    (:meth:`FastValidator.closed_valid_means_valid`).
    """
    if isinstance(node, dict):
        if negated and ("$ref" in node or "format" in node):
            return False
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                if not all(_monotone(sub, negated) for sub in value.values()):
                    return False
            elif not _monotone(value, negated or key in ("not", "if")):
                return False
    elif isinstance(node, list):
        return all(_monotone(item, negated) for item in node)
    return True


def _python_format(name: str) -> Callable[[str], bool]:
    checker = Draft202012Validator.FORMAT_CHECKER
    if name == "date-time":
        safe = SAFE_DATETIME.fullmatch

        def conforms_datetime(instance: str) -> bool:
            # ~1500 date-times a 1000-item body: most are safe, and matched without a call
            return safe(instance) is not None or checker.conforms(instance, name)

        return conforms_datetime

    def conforms(instance: str) -> bool:
        return checker.conforms(instance, name)

    return conforms


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a schema file whose root object admits only the properties it lists.

    ``additionalProperties: false`` (not ``unevaluatedProperties``, three times as slow in
    Rust): a property that only a subschema declares makes the closed schema fail, which is
    "look" for :meth:`FastValidator.declares_every_property`, never a wrong answer. Only roots
    that declare ``properties`` are closed; nested subschemas (the ``then`` parts of Info,
    free-form objects such as ``Error.data``) stay as they are.
    """
    closed = dict(schema)
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


#: Invalid instances whose errors a FastValidator remembers (``remembered_errors``); at this
#: many the memory is emptied and refilled, so a long run's memory stays bounded (the tasks
#: of the largest universe a test serves, 10 000, all fit).
REMEMBERED_ERRORS = 10_000


class FastValidator:
    """Compiled validators for one :class:`Contracts`: Rust for the verdict, Python for errors.

    Validators are compiled on first use per schema name and kept; a ``FastValidator`` is
    safe to share between threads.
    """

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts
        every = [*contracts.schemas.values(), *contracts.documents.values()]
        try:
            self._registry: jsonschema_rs.Registry | None = jsonschema_rs.Registry(
                [(schema["$id"], schema) for schema in every]
            )
        except (jsonschema_rs.ReferencingError, ValueError, TypeError, KeyError):
            self._registry = None  # contracts Rust cannot load: jsonschema alone decides
        known = Draft202012Validator.FORMAT_CHECKER.checkers
        used = {name for schema in every for name in _formats_used(schema)}
        self._formats = {name: _python_format(name) for name in sorted(used) if name in known}
        self._fast: dict[str, jsonschema_rs.Validator | None] = {}
        self._strict: dict[str, jsonschema_rs.Validator | None] = {}
        self._strict_schemas = {
            schema["$id"]: _closed(schema) for schema in every if "$id" in schema
        }
        self._exact: dict[str, Draft202012Validator] = {}
        self._remembered: dict[tuple[str, str], list[ValidationError]] = {}
        self._lock = threading.Lock()
        self._monotone = all(_monotone(schema) for schema in every)

    def _schema(self, name: str) -> dict[str, Any]:
        return self.contracts.documents.get(name) or self.contracts.schema(name)

    def _rust(self, name: str) -> jsonschema_rs.Validator | None:
        """The compiled Rust validator, or None when Rust cannot compile this schema."""
        if name in self._fast:
            return self._fast[name]
        schema = self._schema(name)
        validator: jsonschema_rs.Validator | None = None
        if self._registry is not None:
            try:
                validator = jsonschema_rs.validator_for(
                    schema,
                    registry=self._registry,
                    validate_formats=True,
                    formats=self._formats,
                )
            except (jsonschema_rs.ReferencingError, ValueError, TypeError):
                validator = None  # e.g. a pattern Rust's regex engine rejects
        with self._lock:
            self._fast[name] = validator
        return validator

    def _rust_says_valid(self, name: str, instance: Any) -> bool:
        validator = self._rust(name)
        if validator is None or has_integral_float(instance):
            return False
        try:
            return validator.is_valid(instance)
        except (ValueError, TypeError, OverflowError, UnicodeError):
            return False  # not representable in Rust (lone surrogates, huge ints...)

    def _python(self, name: str) -> Draft202012Validator:
        validator = self._exact.get(name)
        if validator is None:
            validator = self.contracts.validator(name)
            with self._lock:
                self._exact[name] = validator
        return validator

    def _closed_rust(self, name: str) -> jsonschema_rs.Validator | None:
        if name in self._strict:
            return self._strict[name]
        validator: jsonschema_rs.Validator | None = None
        try:
            strict = self._strict_schemas[self._schema(name)["$id"]]
            registry = jsonschema_rs.Registry(list(self._strict_schemas.items()))
            validator = jsonschema_rs.validator_for(
                strict, registry=registry, validate_formats=True, formats=self._formats
            )
        except (jsonschema_rs.ReferencingError, ValueError, TypeError, KeyError):
            validator = None
        with self._lock:
            self._strict[name] = validator
        return validator

    def declares_every_property(self, name: str, instance: Any) -> bool:
        """True only if no property of ``instance`` is undeclared by schema ``name``.

        A fast sufficient test: ``instance`` is valid against the schemas closed with
        ``additionalProperties: false`` (formats checked as the open schemas check them, so a
        True decides validity too: :meth:`closed_valid_means_valid`). False means "look": the
        instance may have unknown properties, or be invalid for another reason, and the
        caller's exact walk (``oracle.unknown_properties``) decides.
        """
        validator = self._closed_rust(name)
        if validator is None:
            return False
        try:
            return validator.is_valid(instance)
        except (ValueError, TypeError, OverflowError, UnicodeError):
            return False

    def closed_valid_means_valid(self, instance: Any) -> bool:
        """Whether ``instance``, when :meth:`declares_every_property` holds for it, is valid.

        True when the contracts are monotone (closing them and checking formats only removes
        valid instances: ``_monotone``) and ``instance`` holds no integral float (where Rust's
        ``integer`` is more lenient than the contract's). The audit then answers
        CONTRACT-200-BODY and CONTRACT-UNKNOWN-PROPERTIES of a conformant body with one Rust
        pass.
        """
        return self._monotone and not has_integral_float(instance)

    def is_valid(self, name: str, instance: Any) -> bool:
        """Whether ``instance`` satisfies schema ``name`` (same verdict as jsonschema)."""
        if self._rust_says_valid(name, instance):
            return True
        return not any(True for _ in self._python(name).iter_errors(instance))

    def errors(self, name: str, instance: Any) -> list[ValidationError]:
        """Exactly :meth:`Contracts.errors`: every violation, deepest first; ``[]`` if valid."""
        if self._rust_says_valid(name, instance):
            return []
        return self._exact_errors(name, instance)

    def _exact_errors(self, name: str, instance: Any) -> list[ValidationError]:
        return sorted(self._python(name).iter_errors(instance), key=lambda e: -len(e.path))

    def says_valid(self, name: str, instance: Any) -> bool:
        """Rust's verdict alone: True means valid (as jsonschema would say); False means "look"
        (invalid, or not Rust's to decide), and :meth:`errors` decides."""
        return self._rust_says_valid(name, instance)

    def remembered_errors(self, name: str, instance: Any) -> list[ValidationError]:
        """:meth:`errors`, the errors of an invalid instance remembered by its JSON text.

        The same task comes back in many bodies of one run (every filter that matches it), and
        jsonschema's errors for it are the costly part of judging an invalid body: each distinct
        invalid item is validated once. ``instance`` is a value as ``json.loads`` builds it
        (dict, list, str, int, float, bool, None): for those the JSON text, key order kept, is
        the instance itself, so the remembered errors are exactly the ones jsonschema would
        give. The list and its errors are shared: read them, never change them.
        """
        if self._rust_says_valid(name, instance):
            return []
        try:
            key = (name, json.dumps(instance))
        except (TypeError, ValueError):  # not JSON (e.g. a cycle): nothing to remember it by
            return self._exact_errors(name, instance)
        found = self._remembered.get(key)
        if found is None:
            found = self._exact_errors(name, instance)
            with self._lock:
                if len(self._remembered) >= REMEMBERED_ERRORS:
                    self._remembered.clear()
                self._remembered[key] = found
        return found


_VALIDATORS: dict[int, FastValidator] = {}
_VALIDATORS_LOCK = threading.Lock()


def fast_validator(contracts: Contracts) -> FastValidator:
    """The :class:`FastValidator` of ``contracts``, built once.

    Keyed by the identity of the ``Contracts`` object (it is immutable); the entry goes away
    with the object.
    """
    key = id(contracts)
    found = _VALIDATORS.get(key)
    if found is not None and found.contracts is contracts:
        return found
    built = FastValidator(contracts)
    with _VALIDATORS_LOCK:
        _VALIDATORS[key] = built
    weakref.finalize(contracts, _VALIDATORS.pop, key, None)
    return built


def validate_fast(contracts: Contracts, name: str, instance: Any) -> list[ValidationError]:
    """Same result as ``contracts.errors(name, instance)`` (empty list ⇔ valid), much faster
    when the body is valid."""
    return fast_validator(contracts).errors(name, instance)
