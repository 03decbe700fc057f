"""Behaviour: every decision the list endpoint and the session calls make, one method each.

The faithful reference server is ``Behaviour()``. A mutant (snapconform/mutants.py) is a
subclass overriding ONE method to deviate in one realistic way, so every method here is small,
documented and independent. The request flow itself (``list_tasks`` and the session handlers)
only composes these methods.

The query-string decisions, documented in docs/reference-server.md:
- form decoding (application/x-www-form-urlencoded): ``+`` is a space, ``%2B`` is a plus;
- a ``%`` not followed by two hex digits, or bytes that are not UTF-8, are an InvalidArgument;
- an unknown parameter name is an InvalidArgument naming it;
- at most MAX_QUERY_BYTES bytes and MAX_QUERY_PARAMS parameters, else InvalidArgument;
- empty pieces (``a=1&&b=2``, a trailing ``&``) are ignored; ``tasks=`` is the value "".
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_to_bytes

from snapconform.server.runtime import Runtime, Snapshot
from snapconform.server.store import (
    FILTER_FIELDS,
    FilterSpec,
    QueryResult,
    TaskStore,
    item_value,
    serialise as serialise_json,
)
from snapconform.state import SYSTEM_READ, Principal
from snapconform.wire import SESSION_HEADER

STATUS_VALUES: tuple[str, ...] = ("PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED")
JSON = "application/json"

#: A query longer than this is refused with InvalidArgument (uvicorn admits up to 4 MiB).
#: Generous enough for a ``tasks`` filter naming more than 1000 ids (to provoke the cap).
MAX_QUERY_BYTES = 512 * 1024
#: More parameters than this are refused with InvalidArgument.
MAX_QUERY_PARAMS = 5000
#: How much of an offending value an error message quotes.
QUOTE_LIMIT = 60

_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Reply:
    """What the server answers: status, body bytes (None: no body) and headers."""

    status: int
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EndpointError(Exception):
    """A request the endpoint refuses; rendered as the standard error ``error_type``."""

    error_type: str
    message_id: str
    default_message: str
    args: tuple[str, ...] = field(default=())


def quoted(text: str) -> str:
    """``text`` shortened for an error message (never echo a megabyte back)."""
    return repr(text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "...")


def invalid(message_id: str, default_message: str, *args: str) -> EndpointError:
    return EndpointError(
        "INVALID_ARGUMENT", f"com.vmware.snapservice.tasks.{message_id}", default_message, args
    )


def _matching_changed_for(cls: type[Behaviour]) -> frozenset[str] | None:
    """The fields whose matching ``cls.field_matches`` changes, when the class that defines it
    declares them (``field_matching_changed``); None when unknown (a full scan is exact)."""
    owner = next(k for k in cls.__mro__ if "field_matches" in vars(k))
    declared = vars(owner).get("field_matching_changed")
    return declared if isinstance(declared, frozenset) else None


class Behaviour:
    """The faithful endpoint. Subclass and override ONE method to build a mutant."""

    #: Shown by selftest and reports.
    name: str = "faithful"
    #: Most tasks one response may hold; more matching visible tasks is ResourceInaccessible.
    cap: int = 1000
    realm: str = "snapconform"

    # ------------------------------------------------------------------ query parsing

    def parse_query(self, raw_query: bytes) -> FilterSpec:
        """The FilterSpec a raw query string asks for; raises EndpointError (InvalidArgument)."""
        pairs = self.split_query(raw_query)
        spec = self.build_filter(pairs)
        self.check_status_values(spec.status or ())
        return spec

    def split_query(self, raw_query: bytes) -> list[tuple[str, str]]:
        """Decoded (name, value) pairs in order, within the size and count limits."""
        if len(raw_query) > MAX_QUERY_BYTES:
            raise invalid(
                "query_too_long",
                f"The query string is {len(raw_query)} bytes long; at most {MAX_QUERY_BYTES}"
                " bytes are accepted.",
                str(len(raw_query)),
                str(MAX_QUERY_BYTES),
            )
        pieces = [piece for piece in raw_query.split(b"&") if piece]
        if len(pieces) > MAX_QUERY_PARAMS:
            raise invalid(
                "too_many_parameters",
                f"The query has {len(pieces)} parameters; at most {MAX_QUERY_PARAMS} are accepted.",
                str(len(pieces)),
                str(MAX_QUERY_PARAMS),
            )
        pairs: list[tuple[str, str]] = []
        for piece in pieces:
            name, _, value = piece.partition(b"=")
            pairs.append((self.decode_component(name), self.decode_component(value)))
        return pairs

    def decode_component(self, raw: bytes) -> str:
        """Form-decode one name or value: ``+`` is a space, ``%XX`` a byte, then strict UTF-8."""
        text_for_errors = raw.decode("latin-1")
        bad = _BAD_PERCENT.search(raw)
        if bad is not None:
            raise invalid(
                "bad_percent_encoding",
                f"Malformed percent-encoding at offset {bad.start()} in {quoted(text_for_errors)}:"
                " '%' must be followed by two hexadecimal digits.",
                text_for_errors[:QUOTE_LIMIT],
            )
        decoded = unquote_to_bytes(raw.replace(b"+", b" "))
        try:
            return decoded.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid(
                "bad_utf8",
                f"The query component {quoted(text_for_errors)} does not decode as UTF-8"
                f" (byte 0x{decoded[exc.start]:02x} at offset {exc.start}).",
                text_for_errors[:QUOTE_LIMIT],
            ) from None

    def build_filter(self, pairs: Sequence[tuple[str, str]]) -> FilterSpec:
        """Group repeated parameters into FilterSpec fields; an unknown name is refused."""
        grouped: dict[str, list[str]] = {}
        for name, value in pairs:
            if name not in FILTER_FIELDS:
                raise invalid(
                    "unknown_parameter",
                    f"Unknown query parameter {quoted(name)}; the parameters are"
                    f" {', '.join(FILTER_FIELDS)}.",
                    name[:QUOTE_LIMIT],
                )
            grouped.setdefault(name, []).append(value)
        return FilterSpec(**{name: tuple(values) for name, values in grouped.items()})

    def check_status_values(self, values: Sequence[str]) -> None:
        """Every status must be a Status enum value, exactly (case-sensitive)."""
        for value in values:
            if value not in STATUS_VALUES:
                raise invalid(
                    "bad_status",
                    f"Invalid status {quoted(value)}; expected one of {', '.join(STATUS_VALUES)}.",
                    value[:QUOTE_LIMIT],
                )

    # ------------------------------------------------------------------ selection

    def field_matches(self, field_name: str, wanted: Sequence[str], actual: Any) -> bool:
        """One FilterSpec field: the task's value equals one of the alternatives exactly.

        A null value (a system task's user) never matches.
        """
        return actual is not None and actual in wanted

    def task_matches(self, item: Mapping[str, Any], spec: FilterSpec) -> bool:
        """Every constrained field matches (AND across fields)."""
        return all(
            self.field_matches(name, wanted, item_value(item, name))
            for name, wanted in spec.constraints().items()
        )

    def select(
        self, store: TaskStore, spec: FilterSpec, visible: frozenset[str] | None
    ) -> QueryResult:
        """Visible tasks matching ``spec``, in store order.

        Uses the indexes unless a subclass changed what matching means; then, when the class
        that changed ``field_matches`` declares which fields (``field_matching_changed``), the
        other fields' indexes narrow the candidates its rule judges, else it scans every task.
        """
        cls = type(self)
        if cls.task_matches is Behaviour.task_matches:
            if cls.field_matches is Behaviour.field_matches:
                return store.query(spec, visible)
            changed = _matching_changed_for(cls)
            if changed is not None:
                # The indexes hold for the fields whose matching is unchanged (AND across
                # fields): they narrow the candidates, the whole rule judges each of them.
                narrowed = store.query(replace(spec, **dict.fromkeys(changed)), visible)
                return QueryResult(
                    [p for p in narrowed.positions if self.task_matches(store.item(p), spec)]
                )
        return store.scan(lambda item: self.task_matches(item, spec), visible)

    def exceeds_cap(self, result: QueryResult, store: TaskStore) -> bool:
        """More matching visible tasks than the cap (the store's size is irrelevant)."""
        return result.count > self.cap

    # ------------------------------------------------------------------ authentication

    def authenticate(self, runtime: Runtime, headers: Mapping[str, str]) -> Principal | None:
        """The caller: a live session in the session header, else HTTP Basic, else None."""
        token = headers.get(SESSION_HEADER)
        if token:
            return self.session_principal(runtime, token)
        credentials = self.basic_credentials(headers)
        if credentials is None:
            return None
        return self.login(runtime.snapshot, *credentials)

    def session_principal(self, runtime: Runtime, token: str) -> Principal | None:
        """The principal of a live session (touching it), or None."""
        session = runtime.sessions.touch(token, runtime.clock())
        if session is None:
            return None
        return runtime.snapshot.principals.get(session.username)

    def basic_credentials(self, headers: Mapping[str, str]) -> tuple[str, str] | None:
        """(username, password) from ``Authorization: Basic``, or None when absent/garbled."""
        value = headers.get("authorization", "")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep:
            return None
        return username, password

    def login(self, snapshot: Snapshot, username: str, password: str) -> Principal | None:
        """The principal these credentials identify, or None."""
        principal = snapshot.principals.get(username)
        if principal is None or not self.password_ok(principal, password):
            return None
        return principal

    def password_ok(self, principal: Principal, password: str) -> bool:
        """Exact password comparison."""
        return principal.password == password

    def authorised(self, principal: Principal) -> bool:
        """The list operation requires System.Read."""
        return SYSTEM_READ in principal.privileges

    def visible(self, principal: Principal) -> frozenset[str] | None:
        """Task ids ``principal`` may see (None: all)."""
        return principal.visible_tasks

    # ------------------------------------------------------------------ rendering

    def media_type(self) -> str:
        """Content-Type of every body."""
        return JSON

    def render_item(self, store: TaskStore, position: int) -> bytes:
        """One ListItem's JSON (serialised once by the store)."""
        return store.item_json(position)

    def render_list(self, items: Sequence[bytes]) -> bytes:
        """The ListResult body: ``{"items": [...]}``."""
        return b'{"items":[' + b",".join(items) + b"]}"

    def message(self, message_id: str, default_message: str, args: Sequence[str]) -> dict[str, Any]:
        """A LocalizableMessage."""
        return {"id": message_id, "default_message": default_message, "args": list(args)}

    def error_document(self, error: EndpointError, **extra: Any) -> dict[str, Any]:
        """A standard error body: error_type and a one-message stack (plus ``extra``)."""
        document: dict[str, Any] = {
            "error_type": self.error_type_value(error.error_type),
            "messages": [self.message(error.message_id, error.default_message, error.args)],
        }
        document.update(extra)
        return document

    def error_type_value(self, error_type: str) -> str:
        """The ``error_type`` written for an error of kind ``error_type``."""
        return error_type

    def status_for(self, error_type: str) -> int:
        """The HTTP status of each standard error."""
        return {
            "INVALID_ARGUMENT": 400,
            "UNAUTHENTICATED": 401,
            "UNAUTHORIZED": 403,
            "NOT_FOUND": 404,
            "OPERATION_NOT_FOUND": 405,
            "RESOURCE_INACCESSIBLE": 500,
            "ERROR": 500,
            "SERVICE_UNAVAILABLE": 503,
        }.get(error_type, 500)

    def challenge(self) -> str | None:
        """The authentication challenge (body ``challenge`` and WWW-Authenticate)."""
        return f'Basic realm="{self.realm}"'

    def json_reply(
        self, status: int, document: Any, headers: Sequence[tuple[str, str]] = ()
    ) -> Reply:
        return Reply(
            status, serialise_json(document), (("content-type", self.media_type()), *headers)
        )

    def error_reply(self, error: EndpointError) -> Reply:
        """Any refused request, except 401 and 403 which carry challenges."""
        return self.json_reply(self.status_for(error.error_type), self.error_document(error))

    def unauthenticated_reply(self) -> Reply:
        """401 Unauthenticated with ``challenge`` and a matching WWW-Authenticate."""
        error = EndpointError(
            "UNAUTHENTICATED",
            "com.vmware.vapi.endpoint.method.authentication.required",
            "Authentication required.",
        )
        challenge = self.challenge()
        if challenge is None:
            return self.error_reply(error)
        return self.json_reply(
            self.status_for(error.error_type),
            self.error_document(error, challenge=challenge),
            (("www-authenticate", challenge),),
        )

    def unauthorized_reply(self, runtime: Runtime, principal: Principal) -> Reply:
        """403 Unauthorized; ``challenge`` only where the API version has it (9.1+).

        The message does not say which privilege is missing and ``data`` is absent (bindings,
        Unauthorized: "For security reasons, the Error.data attribute in this exception is
        None, and the Error.messages attribute ... does not disclose why the user is not
        authorized"); the page documents the privilege instead.
        """
        error = EndpointError(
            "UNAUTHORIZED",
            "vapi.security.authorization.invalid",
            "Unable to authorize user.",
        )
        challenge = self.challenge()
        if runtime.profile.get("unauthorized_challenge") and challenge is not None:
            return self.json_reply(
                self.status_for(error.error_type),
                self.error_document(error, challenge=challenge),
            )
        return self.error_reply(error)

    def cap_problem(self, result: QueryResult) -> EndpointError:
        """ResourceInaccessible: too many tasks match."""
        return EndpointError(
            "RESOURCE_INACCESSIBLE",
            "com.vmware.snapservice.tasks.too_many_tasks",
            f"{result.count} tasks match the filter; at most {self.cap} can be returned."
            " Narrow the filter.",
            (str(result.count), str(self.cap)),
        )

    def fault_problem(self, error_type: str) -> EndpointError:
        """The standard error of an injected fault."""
        texts = {
            "SERVICE_UNAVAILABLE": "The snapshot service is temporarily unavailable.",
            "ERROR": "The system reported an error while responding to the request.",
            "RESOURCE_INACCESSIBLE": "The state of a task cannot be accessed.",
        }
        return EndpointError(
            error_type,
            f"com.vmware.snapservice.tasks.injected.{error_type.lower()}",
            texts.get(error_type, "Injected fault."),
        )

    # ------------------------------------------------------------------ faults

    def take_fault(self, runtime: Runtime) -> str | None:
        """The injected fault this authorised list request must fail with, if any."""
        return runtime.faults.take()

    # ------------------------------------------------------------------ the list endpoint

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        """GET /api/snapservice/tasks: authenticate, authorise, fault, parse, select, cap."""
        snapshot = runtime.snapshot
        principal = self.authenticate(runtime, headers)
        if principal is None:
            return self.unauthenticated_reply()
        if not self.authorised(principal):
            return self.unauthorized_reply(runtime, principal)
        fault = self.take_fault(runtime)
        if fault is not None:
            return self.error_reply(self.fault_problem(fault))
        try:
            spec = self.parse_query(raw_query)
        except EndpointError as error:
            return self.error_reply(error)
        store = snapshot.store
        result = self.select(store, spec, self.visible(principal))
        if self.exceeds_cap(result, store):
            return self.error_reply(self.cap_problem(result))
        positions = result.positions
        body = self.render_list([self.render_item(store, position) for position in positions])
        return Reply(200, body, (("content-type", self.media_type()),))

    # ------------------------------------------------------------------ sessions

    def create_session(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        """POST /api/snapservice/sessions: HTTP Basic -> 201 with the token as a JSON string."""
        credentials = self.basic_credentials(headers)
        principal = self.login(runtime.snapshot, *credentials) if credentials else None
        if principal is None:
            return self.unauthenticated_reply()
        token = runtime.sessions.create(principal.username, runtime.clock())
        return self.json_reply(201, token)

    def session_info(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        """GET /api/snapservice/sessions: the SessionInfo of the caller's session."""
        from snapconform.server.defaults import format_datetime

        token = headers.get(SESSION_HEADER)
        session = runtime.sessions.touch(token, runtime.clock()) if token else None
        if session is None:
            return self.unauthenticated_reply()
        return self.json_reply(
            200,
            {
                "user": session.username,
                "created_time": format_datetime(session.created),
                "last_accessed_time": format_datetime(session.last_accessed),
            },
        )

    def end_session(self, runtime: Runtime, headers: Mapping[str, str]) -> Reply:
        """DELETE /api/snapservice/sessions: end the caller's session -> 204."""
        token = headers.get(SESSION_HEADER)
        if not token or not runtime.sessions.end(token):
            return self.unauthenticated_reply()
        return Reply(204)

    def method_not_allowed(self, allowed: Sequence[str]) -> Reply:
        """405 with Allow for a method the resource does not support."""
        error = EndpointError(
            "OPERATION_NOT_FOUND",
            "com.vmware.vapi.rest.method_not_allowed",
            f"Method not allowed; this resource supports {', '.join(allowed)}.",
            tuple(allowed),
        )
        reply = self.error_reply(error)
        return Reply(reply.status, reply.body, (*reply.headers, ("allow", ", ".join(allowed))))

    def not_found(self, path: str) -> Reply:
        """404 for a path the server does not serve."""
        return self.error_reply(
            EndpointError(
                "NOT_FOUND",
                "com.vmware.vapi.rest.not_found",
                f"No resource at {quoted(path)}.",
                (path[:QUOTE_LIMIT],),
            )
        )
