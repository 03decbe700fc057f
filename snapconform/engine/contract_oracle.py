"""The contract oracle: what the schemas and the bindings say of one answer's body.

Pure functions, no I/O. Every rule is read from ``contracts/`` (never retyped): the error schemas
per status from ``ERROR_SCHEMAS_BY_STATUS``, the Info status-conditional rules from ``x-union``
in ``Info.json``, declared properties from the schemas themselves; the official bindings decode
a 200 body as ``Tasks.ListResult``. The run-wide audit, the fault and authentication checks and
fuzzing judge bodies with these; ``snapconform.engine.oracle`` exposes them with the filter
oracle, so a check names one oracle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urljoin

from snapconform.contracts import ERROR_SCHEMAS_BY_STATUS, Contracts, default_contracts
from snapconform.engine.bindings_import import defer_uri_validation
from snapconform.fastvalidate import fast_validator

#: The error_type each documented error status must carry (when it carries one).
EXPECTED_ERROR_TYPES: dict[int, frozenset[str]] = {
    # ResourceInaccessible as 400: the vAPI REST runtime's error map (``inaccessible-status``).
    400: frozenset({"INVALID_ARGUMENT", "RESOURCE_INACCESSIBLE"}),
    401: frozenset({"UNAUTHENTICATED"}),
    403: frozenset({"UNAUTHORIZED"}),
    # InternalServerError "could occur in response to the invocation of any method" (bindings,
    # vmware-vapi-common-client), and the vAPI REST mapping answers it with HTTP 500.
    500: frozenset({"ERROR", "RESOURCE_INACCESSIBLE", "INTERNAL_SERVER_ERROR"}),
    503: frozenset({"SERVICE_UNAVAILABLE"}),
}


def _path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _is_status_conditional(error: Any) -> bool:
    # The allOf/if/then rules of Info.json are the status-conditional rules; they are reported
    # by status_conditional_violations under their own requirement.
    return "then" in error.absolute_schema_path


def schema_violations(
    name: str, body: Any, contracts: Contracts | None = None, *, conditional: bool = False
) -> list[str]:
    """Violations of schema ``name`` by ``body`` as ``$.path: message`` lines.

    ``conditional=False`` leaves out the status-conditional (x-union) rules, which have their
    own requirement; everything else (types, required, enums, RFC 3339) is reported.
    """
    contracts = contracts or default_contracts()
    out = []
    for error in contracts.errors(name, body):
        if not conditional and _is_status_conditional(error):
            continue
        out.append(f"{_path(error.absolute_path)}: {_short(error.message)}")
    return out


def list_contract_violations(
    body: Any, contracts: Contracts | None = None
) -> tuple[list[str], list[str]]:
    """A ListResult's (CONTRACT-200-BODY, CONTRACT-STATUS-CONDITIONAL) problems in one pass.

    Info.json enforces the x-union rules as well, so a body the schema accepts has no
    status-conditional problem: the per-item x-union walk, which names each broken rule in the
    bindings' words, runs only when the schema reports a conditional error.
    """
    contracts = contracts or default_contracts()
    errors = _list_result_errors(body, contracts)
    general = [line for line, is_conditional in errors if not is_conditional]
    flagged = [line for line, is_conditional in errors if is_conditional]
    conditional: list[str] = []
    if flagged:
        conditional = info_union_violations(body, contracts)
        if not conditional:  # the schema's own words rather than nothing
            conditional = flagged
    return general, conditional


#: Schema keywords that only annotate (they never make an instance fail).
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "$comment"})


def _item_schema(contracts: Contracts) -> str | None:
    """The schema every item of a ListResult is held to, when ListResult asks nothing else.

    That is ListResult as the contract writes it: an object that requires ``items``, an array
    of ``$ref`` items, and no other keyword. Then a dict body whose ``items`` is a list has no
    error but its items' own, each exactly what validating the item against the referenced
    schema gives (the same subschema, reached with the same validator class). None: ListResult
    asks more, and the body is validated whole.
    """
    root = contracts.schema("ListResult")
    properties = root.get("properties")
    if (
        set(root) - _ANNOTATIONS != {"type", "required", "properties"}
        or root["type"] != "object"
        or root["required"] != ["items"]
        or not isinstance(properties, dict)
        or set(properties) != {"items"}
    ):
        return None
    array = properties["items"]
    ref = array.get("items") if isinstance(array, dict) else None
    if (
        set(array) - _ANNOTATIONS != {"type", "items"}
        or array["type"] != "array"
        or not isinstance(ref, dict)
        or set(ref) != {"$ref"}
        or not isinstance(ref["$ref"], str)
    ):
        return None
    name = ref["$ref"].rsplit("/", 1)[-1].removesuffix(".json")
    target = contracts.schemas.get(name)
    if target is None or target.get("$id") != urljoin(root.get("$id", ""), ref["$ref"]):
        return None
    return name


def _list_result_errors(body: Any, contracts: Contracts) -> list[tuple[str, bool]]:
    """Every error of ``body`` as a ListResult (``$.path: message``, status-conditional or not),
    in :meth:`Contracts.errors`'s order: exactly what validating the whole body gives.

    The items' errors are remembered per distinct item (``FastValidator.remembered_errors``):
    a run lists the same tasks in many bodies, and jsonschema's error list of a 1000-item
    invalid body is the costliest part of judging it. Errors are ordered deepest path first,
    ties in validation order (items in order, each item's errors in its own order): a stable
    sort of the items' errors, each item's already so ordered, is that order.
    """
    items = body.get("items") if isinstance(body, dict) else None
    name = _item_schema(contracts) if isinstance(items, list) else None
    if name is None or not isinstance(items, list):
        return [
            (f"{_path(e.absolute_path)}: {_short(e.message)}", _is_status_conditional(e))
            for e in contracts.errors("ListResult", body)
        ]
    fast = fast_validator(contracts)
    if fast.says_valid("ListResult", body):
        return []
    found: list[tuple[int, str, bool]] = []
    for index, item in enumerate(items):
        for e in fast.remembered_errors(name, item):
            line = f"$.items[{index}]{_path(e.absolute_path)[1:]}: {_short(e.message)}"
            found.append((len(e.path), line, _is_status_conditional(e)))
    found.sort(key=lambda error: -error[0])
    return [(line, is_conditional) for _, line, is_conditional in found]


def list_result_violations(
    body: Any, contracts: Contracts | None = None, item_cache: dict[str, list[str]] | None = None
) -> list[str]:
    """schema_violations("ListResult", body), validating each distinct item only once.

    Big bodies repeat the same task content under different ids; ``item_cache`` (keyed by the
    item's content with a placeholder id) makes a 1000-item body cost its distinct items.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
        return schema_violations("ListResult", body, contracts)
    cache = item_cache if item_cache is not None else {}
    out = schema_violations("ListResult", {**body, "items": []}, contracts)
    for index, item in enumerate(body["items"]):
        probe = (
            {**item, "task": "id"}
            if isinstance(item, Mapping) and isinstance(item.get("task"), str)
            else item
        )
        key = json.dumps(probe, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = schema_violations("ListItem", probe, contracts)
        out.extend(f"$.items[{index}]{problem[1:]}" for problem in cache[key])
    return out


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def x_union(contracts: Contracts | None = None) -> Mapping[str, Any]:
    """Info.json's ``x-union``: discriminant and per-status [field, required] cases."""
    return (contracts or default_contracts()).schema("Info")["x-union"]


def status_conditional_violations(
    info: Mapping[str, Any], contracts: Contracts | None = None
) -> list[str]:
    """The bindings' UnionValidator rules for one Info, read from ``x-union``.

    A field named in some case but not in the task's own case must be absent or null; a field
    marked ``true`` in its own case must be present and not null.
    """
    union = x_union(contracts)
    status = info.get(union["discriminant"])
    cases: Mapping[str, Sequence[Sequence[Any]]] = union["cases"]
    if status not in cases:
        return []  # an invalid status is a schema violation, reported elsewhere
    own = {name: bool(required) for name, required in cases[status]}
    every = {name for case in cases.values() for name, _ in case}
    out = []
    for name in sorted(every):
        present = info.get(name) is not None
        if name not in own and present:
            out.append(f"{name} must be absent or null when status is {status}")
        elif own.get(name) and not present:
            out.append(f"{name} is required (not null) when status is {status}")
    return out


def info_union_violations(body: Any, contracts: Contracts | None = None) -> list[str]:
    """:func:`status_conditional_violations` of every task of a ListResult body, one line each
    (``$.items[i].info: problem``): the one walk the audit and fuzzing share."""
    items = body.get("items") if isinstance(body, Mapping) else None
    out: list[str] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        info = item.get("info") if isinstance(item, Mapping) else None
        if isinstance(info, Mapping):
            out.extend(
                f"$.items[{index}].info: {problem}"
                for problem in status_conditional_violations(info, contracts)
            )
    return out


def list_body_violations(body: Any, contracts: Contracts | None = None) -> list[str]:
    """Every problem of a 200 ListResult body: its schema, then its status-conditional rules."""
    general, conditional = list_contract_violations(body, contracts)
    return general + conditional


def error_schema_names(status: int) -> tuple[str, ...]:
    """The documented error schemas for ``status`` (empty: the status is not documented)."""
    return ERROR_SCHEMAS_BY_STATUS.get(status, ())


def error_body_violations(status: int, body: Any, contracts: Contracts | None = None) -> list[str]:
    """Violations of the error contract for ``status``: valid against one of its schemas."""
    names = error_schema_names(status)
    if not names:
        return [f"HTTP {status} is not a documented status of this operation"]
    per_schema = {name: schema_violations(name, body, contracts) for name in names}
    if any(not problems for problems in per_schema.values()):
        return []
    return [f"not a valid {name}: {problems[0]}" for name, problems in per_schema.items()]


def error_type_violation(status: int, body: Any) -> str | None:
    """The error_type disagrees with the HTTP status (absent or null is allowed)."""
    expected = EXPECTED_ERROR_TYPES.get(status)
    if expected is None or not isinstance(body, Mapping):
        return None
    error_type = body.get("error_type")
    if error_type is None or error_type in expected:
        return None
    return (
        f"HTTP {status} carries error_type {error_type!r}, expected {' or '.join(sorted(expected))}"
    )


def message_violations(body: Any) -> list[str]:
    """An error's message stack holds at least one message (page line 214: "Stack of one or
    more localizable messages")."""
    if not isinstance(body, Mapping):
        return ["error body is not a JSON object"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["messages is missing or empty"]
    return []


def message_text_violations(body: Any) -> list[str]:
    """Each message of the stack has a non-blank ``id`` and ``default_message``: a reading of
    ours (the sources type them as strings, not as non-empty ones)."""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    if not isinstance(messages, list):
        return []
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        for key in ("id", "default_message"):
            value = message.get(key)
            if not isinstance(value, str) or not value.strip():
                out.append(f"$.messages[{index}].{key} is blank")
    return out


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` (any parameters, any case)."""
    if not value:
        return False
    return value.split(";", 1)[0].strip().lower() == "application/json"


def unauthenticated_challenge_violation(body: Any) -> str | None:
    """A 401 must tell the client how to authenticate: a non-empty string ``challenge``."""
    challenge = body.get("challenge") if isinstance(body, Mapping) else None
    if not isinstance(challenge, str) or not challenge.strip():
        return f"401 body has no string challenge (challenge={challenge!r})"
    return None


#: A date-time the bindings write and accept: UTC with a Z (``YYYY-MM-DDThh:mm:ss.sssZ``).
_UTC_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def non_utc_datetimes(body: Any) -> list[str]:
    """start_time/end_time strings of a ListResult that are not UTC with a ``Z``."""
    items = body.get("items") if isinstance(body, Mapping) else None
    out: list[str] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        info = item.get("info") if isinstance(item, Mapping) else None
        if not isinstance(info, Mapping):
            continue
        for key in ("start_time", "end_time"):
            value = info.get(key)
            if isinstance(value, str) and not _UTC_DATETIME.match(value):
                out.append(f"$.items[{index}].info.{key} = {_short(value, 40)!r} is not UTC (…Z)")
    return out


def _message_text(body: Any) -> str:
    """Every human-readable part of an error's messages, lower-cased (for disclosure checks)."""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    return json.dumps(messages if isinstance(messages, list) else [], ensure_ascii=False).lower()


def forbidden_disclosures(body: Any, privilege: str) -> list[str]:
    """What a 403 Unauthorized discloses: non-null ``data``, or the missing privilege's name.

    The bindings (Unauthorized): "the Error.data attribute in this exception is None, and the
    Error.messages attribute ... does not disclose why the user is not authorized".
    """
    out = []
    if isinstance(body, Mapping) and body.get("data") is not None:
        out.append("data is not null")
    if privilege.lower() in _message_text(body):
        out.append(f"a message names the missing privilege {privilege}")
    return out


def unauthenticated_disclosures(wrong_password: Any, unknown_user: Any) -> list[str]:
    """What two 401s disclose: non-null ``data``, or messages that tell a wrong password (for a
    known user) from an unknown user. The bindings (Unauthenticated): the messages do not
    "disclose whether a username or a password is valid or invalid"."""
    out = []
    for name, body in (("wrong password", wrong_password), ("unknown user", unknown_user)):
        if isinstance(body, Mapping) and body.get("data") is not None:
            out.append(f"the 401 for a {name} has data (not null)")
    if _message_text(wrong_password) != _message_text(unknown_user):
        out.append(
            "the messages of a wrong password and of an unknown user differ, so they tell which"
            " one was wrong"
        )
    return out


def www_authenticate_violation(body: Any, header: str | None) -> str | None:
    """The WWW-Authenticate header should be present and carry the body's challenge schemes."""
    if not header:
        return "401 without a WWW-Authenticate header"
    challenge = body.get("challenge") if isinstance(body, Mapping) else None
    if isinstance(challenge, str) and challenge.strip():
        schemes = {part.strip().split(" ", 1)[0].lower() for part in challenge.split(",")}
        header_schemes = {part.strip().split(" ", 1)[0].lower() for part in header.split(",")}
        if not (schemes & header_schemes):
            return f"WWW-Authenticate {header!r} shares no scheme with challenge {challenge!r}"
    return None


# --- unknown properties -----------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any], contracts: Contracts) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return contracts.schema(ref.rsplit("/", 1)[-1].removesuffix(".json"))
    return schema


def _declared(schema: Mapping[str, Any], contracts: Contracts) -> tuple[dict[str, Any], Any]:
    """Declared properties (allOf followed) and the additionalProperties schema of an object."""
    schema = _resolve(schema, contracts)
    props: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        part = _resolve(part, contracts)
        if "properties" in part or "allOf" in part:
            inner, _ = _declared(part, contracts)
            props.update(inner)
    props.update(schema.get("properties", {}))
    return props, schema.get("additionalProperties")


def _object_branch(schema: Mapping[str, Any], contracts: Contracts) -> Mapping[str, Any] | None:
    schema = _resolve(schema, contracts)
    for branch in schema.get("anyOf", []):
        resolved = _resolve(branch, contracts)
        if resolved.get("type") == "object" or "properties" in resolved or "allOf" in resolved:
            return resolved
    return schema


def _walk_unknown(
    schema: Mapping[str, Any], instance: Any, contracts: Contracts, path: str, out: list[str]
) -> None:
    schema = _object_branch(schema, contracts) or {}
    if isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, element in enumerate(instance):
                _walk_unknown(items, element, contracts, f"{path}[{index}]", out)
        return
    if not isinstance(instance, Mapping):
        return
    props, additional = _declared(schema, contracts)
    if not props and not isinstance(additional, Mapping):
        return  # a free-form object (data, error, result): nothing is unknown in it
    for key, value in instance.items():
        if key in props:
            _walk_unknown(props[key], value, contracts, f"{path}.{key}", out)
        elif isinstance(additional, Mapping):
            _walk_unknown(additional, value, contracts, f"{path}.{key}", out)
        else:
            out.append(f"{path}.{key}")


def unknown_properties(
    name: str, instance: Any, contracts: Contracts | None = None, *, fast: bool = True
) -> list[str]:
    """JSON paths of properties that schema ``name`` does not declare (SHOULD-level finding).

    ``fast=False``: the caller already knows the fast test failed; only the exact walk runs.
    """
    contracts = contracts or default_contracts()
    if fast and fast_validator(contracts).declares_every_property(name, instance):
        return []  # the common case, decided in Rust (~5x faster than the walk on 1000 items)
    out: list[str] = []
    _walk_unknown(contracts.schema(name), instance, contracts, "$", out)
    return out


# --- official bindings ------------------------------------------------------------------------


#: The bindings' struct types the audit decodes: the whole body, or one of its items.
BindingsType = Literal["ListResult", "ListItem"]


def bindings_decode_error(text: str, struct: BindingsType = "ListResult") -> str | None:
    """Why ``text`` does not decode as ``Tasks.<struct>`` with the bindings (None: it does).

    ``struct="ListResult"`` is a whole 200 body; ``"ListItem"`` one of its items (the audit
    decodes items one by one and caches the verdicts, see ``audit.BindingsVerdicts``).
    """
    defer_uri_validation()
    from com.vmware.snapservice_client import Tasks
    from vmware.vapi.bindings.converter import RestConverter, TypeConverter
    from vmware.vapi.data.serializers.cleanjson import DataValueConverter

    binding_type = getattr(Tasks, struct).get_binding_type()
    try:
        TypeConverter.convert_to_python(
            DataValueConverter.convert_to_data_value(text),
            binding_type,
            rest_converter_mode=RestConverter.SWAGGER_REST,
        )
    except Exception as exc:  # the bindings raise several unrelated types
        return f"the bindings cannot decode it: {type(exc).__name__}: {_short(str(exc))}"
    return None
