"""The server's data: tasks and principals, and the state document that carries them.

A state document (``contracts/state.schema.json``) is what ``PUT {control}/state`` accepts and
``--state FILE`` loads. Parsing validates it against the contract (never a retyped schema) and
adds the checks a schema cannot express (unique task ids, unique usernames).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from snapconform.contracts import default_contracts
from snapconform.errors import StateDocumentError
from snapconform.wire import SYSTEM_READ as SYSTEM_READ  # re-exported for the server


@dataclass(frozen=True)
class Principal:
    """Someone who can log in. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)
    privileges: frozenset[str] = frozenset()
    #: Task ids this principal may see; ``None``: every task.
    visible_tasks: frozenset[str] | None = None

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "privileges": sorted(self.privileges),
        }
        if self.visible_tasks is not None:
            document["visible_tasks"] = sorted(self.visible_tasks)
        return document


@dataclass(frozen=True)
class State:
    """Every task (ListItem documents, in store order) and every principal.

    The task dicts are treated as immutable: code that changes a task builds a new dict.
    """

    tasks: tuple[Mapping[str, Any], ...]
    principals: tuple[Principal, ...]

    def principal(self, username: str) -> Principal | None:
        for principal in self.principals:
            if principal.username == username:
                return principal
        return None


def _json_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


#: Longest problem description quoted back; a huge rejected instance is not echoed whole.
_MAX_DESCRIPTION = 300


def _holds_password(node: Any) -> bool:
    if isinstance(node, dict):
        return "password" in node or any(_holds_password(value) for value in node.values())
    if isinstance(node, list):
        return any(_holds_password(value) for value in node)
    return False


def _describe(error: ValidationError) -> str:
    # A password must never be echoed back, not even inside a rejected value.
    if "password" in error.path or _holds_password(error.instance):
        message = f"does not satisfy {error.validator!r}: {error.validator_value!r}"
    else:
        message = error.message
    if len(message) > _MAX_DESCRIPTION:
        message = message[: _MAX_DESCRIPTION - 3] + "..."
    return message


def parse_state_document(document: Any) -> State:
    """Validate a state document and build the State it describes.

    Raises StateDocumentError naming the first problem (with its JSON path).
    """
    errors = default_contracts().errors("state", document)
    if errors:
        first = errors[0]
        raise StateDocumentError(
            f"invalid state document at {_json_path(first.path)}: {_describe(first)}"
        )
    seen_tasks: dict[str, int] = {}
    for index, item in enumerate(document["tasks"]):
        task_id = item["task"]
        if task_id in seen_tasks:
            raise StateDocumentError(
                f"invalid state document at $.tasks[{index}].task: duplicate task id {task_id!r}"
                f" (first at $.tasks[{seen_tasks[task_id]}])"
            )
        seen_tasks[task_id] = index
    principals: list[Principal] = []
    seen_users: set[str] = set()
    for index, raw in enumerate(document["principals"]):
        if raw["username"] in seen_users:
            raise StateDocumentError(
                f"invalid state document at $.principals[{index}].username:"
                f" duplicate username {raw['username']!r}"
            )
        seen_users.add(raw["username"])
        visible = raw.get("visible_tasks")
        principals.append(
            Principal(
                username=raw["username"],
                password=raw["password"],
                privileges=frozenset(raw["privileges"]),
                visible_tasks=None if visible is None else frozenset(visible),
            )
        )
    return State(tasks=tuple(document["tasks"]), principals=tuple(principals))


def state_to_document(state: State) -> dict[str, Any]:
    """The state document describing ``state`` (round-trips through parse_state_document)."""
    return {
        "tasks": [dict(item) for item in state.tasks],
        "principals": [principal.to_document() for principal in state.principals],
    }


#: A password given as ``${NAME}`` is read from environment variable NAME when the file is
#: loaded (``snapconform capture`` writes such placeholders: a capture never holds a password).
_PLACEHOLDER = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}$")


def password_placeholder(variable: str) -> str:
    """The placeholder that stands for the password in environment variable ``variable``."""
    return "${" + variable + "}"


def is_password_placeholder(password: str) -> bool:
    return _PLACEHOLDER.match(password) is not None


def fill_password_placeholders(
    document: Any, environ: Mapping[str, str], *, strict: bool = True
) -> Any:
    """``document`` with every ``${NAME}`` password replaced by ``environ[NAME]``.

    A variable that is not set raises StateDocumentError naming it (``strict``), or leaves the
    placeholder in place (a declared run needs only the passwords of the principals it uses).
    Anything that is not a principal's placeholder is left as it is (validation comes after).
    """
    if not isinstance(document, dict) or not isinstance(document.get("principals"), list):
        return document
    principals = []
    for index, principal in enumerate(document["principals"]):
        password = principal.get("password") if isinstance(principal, dict) else None
        placeholder = _PLACEHOLDER.match(password) if isinstance(password, str) else None
        if placeholder is None:
            principals.append(principal)
            continue
        name = placeholder.group("name")
        if name not in environ and not strict:
            principals.append(principal)
            continue
        if name not in environ:
            raise StateDocumentError(
                f"$.principals[{index}].password is the placeholder {password}: set the"
                f" environment variable {name} to that principal's password"
            )
        principals.append({**principal, "password": environ[name]})
    return {**document, "principals": principals}


def load_state_file(
    path: Path, environ: Mapping[str, str] | None = None, *, strict: bool = True
) -> State:
    """Read a state document from a JSON file (declared mode, ``serve --state``).

    Password placeholders (``${NAME}``) are filled from ``environ`` (default: the process
    environment); ``strict=False`` leaves those whose variable is not set.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateDocumentError(f"cannot read state file {path}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateDocumentError(
            f"state file {path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    environ = os.environ if environ is None else environ
    return parse_state_document(fill_password_placeholders(document, environ, strict=strict))
