"""``snapconform capture``: a live server's visible data as a state document, to replay as a mock.

Read-only and under ``run``'s safety rules: the engine's Target (GET and the session calls only,
the request budget, the rate limit, TLS options, secrets from the environment, redaction). Each
principal given is logged in and its visible universe is learnt with the observed-mode discovery
(``snapconform.engine.discovery.discover``: the empty filter, partitioned wherever the 1000-task
cap is hit). The document (``contracts/state.schema.json``) holds the union of the tasks, each
principal with its privileges and, when it does not see everything captured, its visible task
ids; passwords are placeholders (``${SNAPCONFORM_PASSWORD}``) that ``serve --state`` and
``run --state-file`` fill from the environment.

A live server changes while it is read: the open tasks (not SUCCEEDED/FAILED) are read once more
by id after discovery, and those that changed or vanished are reported. What could not be
captured (a principal that could not log in, a part of the filter space discovery could not
list) is reported too, and the exit status says whether the capture is complete:
0 complete, 1 written with gaps (listed), 2 nothing written (usage, target or budget problem).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from snapconform.config import Credentials, RunConfig
from snapconform.engine.discovery import discover
from snapconform.engine.harness import HarnessError
from snapconform.engine.lifecycle import target_settings
from snapconform.engine.oracle import TERMINAL_STATUSES
from snapconform.engine.target import (
    BudgetExhausted,
    LoginRefused,
    Redactor,
    Stats,
    Target,
    TargetError,
)
from snapconform.engine.universe import Universe
from snapconform.errors import CaptureError
from snapconform.filterspec import FilterSpec
from snapconform.run.runner import effective_rate_limit
from snapconform.settings import SETTINGS_BY_KEY, SettingsError
from snapconform.state import SYSTEM_READ, StateDocumentError, password_placeholder

#: How many task ids one re-reading query names (``tasks=a&tasks=b...``).
RECHECK_BATCH = 50
#: Discovery's bound on partition queries per principal (the request budget bounds it too).
MAX_PARTS = 2000
PSEUDONYM_DOMAIN = "pseudonym.invalid"
#: Shorter originals are replaced only where they are a whole value, never inside text.
MIN_EMBEDDED_LENGTH = 4


@dataclass
class PrincipalCapture:
    """What one principal showed: its visible task ids, or why it has none."""

    username: str
    password_variable: str
    privileges: tuple[str, ...] = ()
    visible: frozenset[str] | None = None
    problem: str | None = None  # could not log in / list: left out of the document
    notes: list[str] = field(default_factory=list)
    parts: int = 0
    #: how discovery went when not through the empty filter (e.g. ``services=`` queries)
    discovered: str | None = None


@dataclass
class CaptureResult:
    """A capture: the state document and what could not be captured."""

    document: dict[str, Any]
    principals: list[PrincipalCapture]
    #: task ids (as in the document) whose content changed while the capture ran
    changed: list[str] = field(default_factory=list)
    #: task ids seen by discovery and gone when re-read (left out of the document)
    vanished: list[str] = field(default_factory=list)
    #: parts of the filter space discovery could not list, and similar gaps
    gaps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    #: original user name -> pseudonym (only with pseudonymize; printed, never written)
    user_pseudonyms: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.gaps and all(p.problem is None for p in self.principals)


# ---------------------------------------------------------------------------------------------
# reading the target


def _open_target(config: RunConfig, stats: Stats, redactor: Redactor) -> Target:
    assert config.base_url is not None
    try:
        return Target(target_settings(config, config.base_url), stats=stats, redactor=redactor)
    except (HarnessError, TargetError) as exc:
        raise CaptureError(str(exc)) from None


def _visible_universe(target: Target) -> Universe:
    """Everything ``target``'s principal can see: the observed-mode discovery (the empty filter
    partitioned past the cap; ``services=`` queries for a target that refuses the empty filter).
    """
    return discover(target, max_parts=MAX_PARTS)


def _reread(
    target: Target, items: Mapping[str, Mapping[str, Any]], ids: Iterable[str]
) -> tuple[dict[str, Mapping[str, Any]], list[str], list[str]]:
    """Read ``ids`` again by ``tasks=``: (their current items, vanished ids, unreadable notes).

    A batch whose answer is not a 200, or that finds none of its ids although they were just
    listed (a server that does not decode ``tasks=``), proves nothing: noted, not vanished.
    """
    from snapconform.engine.discovery import items_by_id

    current: dict[str, Mapping[str, Any]] = {}
    vanished: list[str] = []
    notes: list[str] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), RECHECK_BATCH):
        batch = ordered[start : start + RECHECK_BATCH]
        response = target.list_tasks(FilterSpec(tasks=tuple(batch)))
        found = items_by_id(response)
        if response.status != 200 or not any(task_id in found for task_id in batch):
            notes.append(
                f"{len(batch)} open task(s) could not be re-read by id (HTTP {response.status}"
                f"{', none found' if response.status == 200 else ''}): their state is as listed"
            )
            current.update({task_id: items[task_id] for task_id in batch})
            continue
        for task_id in batch:
            if task_id in found:
                current[task_id] = found[task_id]
            else:
                vanished.append(task_id)
    return current, vanished, notes


def _is_open(item: Mapping[str, Any]) -> bool:
    return (item.get("info") or {}).get("status") not in TERMINAL_STATUSES


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_principal_options(
    options: Iterable[str], environ: Mapping[str, str]
) -> list[tuple[Credentials, str]]:
    """``--principal USER=VARIABLE`` values as credentials (password from VARIABLE)."""
    parsed: list[tuple[Credentials, str]] = []
    for option in options:
        username, sep, variable = option.rpartition("=")
        if not sep or not username or not _VARIABLE.match(variable):
            raise SettingsError(
                f"--principal {option!r}: expected USER=VARIABLE, VARIABLE naming the environment"
                " variable that holds the password"
            )
        if variable.upper().startswith("SNAPCONFORM_"):
            raise SettingsError(
                f"--principal {username}: name the variable without the SNAPCONFORM_ prefix"
                f" (e.g. {variable.upper().removeprefix('SNAPCONFORM_')}): `run --state-file`"
                " passes only its own SNAPCONFORM_* secrets on, so it could not fill it"
            )
        if not environ.get(variable):
            raise SettingsError(
                f"--principal {username}: environment variable {variable} is not set"
            )
        parsed.append((Credentials(username, environ[variable]), variable))
    return parsed


def capture(
    config: RunConfig,
    *,
    pseudonymize: bool = False,
    principals: Iterable[tuple[Credentials, str]] = (),
) -> CaptureResult:
    """Capture what ``config``'s principals see on ``config.base_url`` (see module docstring).

    ``principals``: more principals to capture, each with the environment variable naming its
    password in the document. Raises CaptureError when nothing can be captured: the target is
    unreachable, the privileged
    principal cannot log in or list, or the request budget runs out.
    """
    if config.base_url is None:
        raise CaptureError("--base-url is required (the server to capture)")
    if config.credentials is None:
        raise CaptureError(
            "no credentials: give --username and SNAPCONFORM_PASSWORD (a principal with"
            " System.Read)"
        )
    config = replace(config, rate_limit=effective_rate_limit(config))
    stats, redactor = Stats(), Redactor()
    items: dict[str, Mapping[str, Any]] = {}
    changed: set[str] = set()
    gaps: list[str] = []
    notes: list[str] = []
    extra = list(principals)
    captured: list[PrincipalCapture] = []
    given = [(config.credentials, SETTINGS_BY_KEY["password"].env_var, True)]
    given += [(credentials, variable, False) for credentials, variable in extra]
    if config.unprivileged is not None:
        variable = SETTINGS_BY_KEY["unprivileged_password"].env_var
        given.append((config.unprivileged, variable, False))
    vanished: set[str] = set()
    try:
        for credentials, variable, required in given:
            principal = PrincipalCapture(credentials.username, variable)
            captured.append(principal)
            with _open_target(config, stats, redactor) as target:
                _capture_principal(target, credentials, principal, items, config.api_version)
                _recheck_open_tasks(target, principal, items, changed, vanished, notes)
                for note in target.notes:
                    if note not in notes:
                        notes.append(note)
            if principal.problem is not None and required:
                raise CaptureError(principal.problem)
    except BudgetExhausted as exc:
        raise CaptureError(
            f"{exc} before the capture was complete: nothing written (raise --max-requests)"
        ) from None
    except (TargetError, LoginRefused) as exc:
        raise CaptureError(redactor(str(exc))) from None
    for task_id in vanished:
        items.pop(task_id, None)
    for principal in captured:
        if principal.visible is not None:
            principal.visible = principal.visible - vanished
    for principal in captured:
        gaps.extend(f"{principal.username}: {note}" for note in principal.notes)
    document = _document(items, captured)
    result = CaptureResult(
        document=document,
        principals=captured,
        changed=sorted(changed),
        vanished=sorted(vanished),
        gaps=gaps,
        notes=notes,
        requests=stats.requests,
    )
    if pseudonymize:
        _pseudonymize(result)
    _validate(result.document)
    return result


def _capture_principal(
    target: Target,
    credentials: Credentials,
    principal: PrincipalCapture,
    items: dict[str, Mapping[str, Any]],
    api_version: str,
) -> None:
    """Log ``principal`` in and learn what it sees (its problem set when it cannot)."""
    try:
        target.login(credentials.username, credentials.password, api_version=api_version)
    except LoginRefused as exc:
        principal.problem = f"could not log in: {exc}"
        return
    probe = target.list_tasks(FilterSpec())
    if probe.status == 401:
        principal.problem = "could not log in: the target answered HTTP 401 to a list"
        return
    if probe.status == 403:
        principal.privileges = ()  # it lacks System.Read: what a 403 says
        return
    universe = _visible_universe(target)
    principal.privileges = (SYSTEM_READ,)
    principal.visible = frozenset(item["task"] for item in universe.items)
    principal.notes.extend(universe.notes if not universe.complete else ())
    how = getattr(universe, "discovery", None)  # how the engine discovered it, where it says
    if isinstance(how, Mapping) and how.get("method") not in (None, "empty filter"):
        principal.discovered = f"discovered through {how['method']}: {how.get('certain', '')}"
    for item in universe.items:
        known = items.get(item["task"])
        if known is None or _is_open(known) or not _is_open(item):
            items[item["task"]] = item  # never let an older, open state replace a final one


def _recheck_open_tasks(
    target: Target,
    principal: PrincipalCapture,
    items: dict[str, Mapping[str, Any]],
    changed: set[str],
    vanished: set[str],
    notes: list[str],
) -> None:
    """Read ``principal``'s open tasks once more: record what changed or vanished meanwhile."""
    if principal.visible is None:
        return
    open_ids = [task_id for task_id in principal.visible if _is_open(items[task_id])]
    current, gone, unreadable = _reread(target, items, open_ids)
    for note in unreadable:
        if note not in notes:
            notes.append(note)
    for task_id, item in current.items():
        if item != items[task_id]:
            changed.add(task_id)
            items[task_id] = item
    vanished.update(gone)


def _document(
    items: Mapping[str, Mapping[str, Any]], principals: list[PrincipalCapture]
) -> dict[str, Any]:
    everything = frozenset(items)
    documented = []
    for principal in principals:
        if principal.problem is not None:
            continue
        entry: dict[str, Any] = {
            "username": principal.username,
            "password": password_placeholder(principal.password_variable),
            "privileges": list(principal.privileges),
        }
        if principal.visible is not None and principal.visible != everything:
            entry["visible_tasks"] = sorted(principal.visible)
        documented.append(entry)
    return {"tasks": [dict(item) for item in items.values()], "principals": documented}


def _validate(document: Mapping[str, Any]) -> None:
    from snapconform.state import parse_state_document

    try:
        parse_state_document(document)
    except StateDocumentError as exc:
        # the target served something the state contract cannot hold (e.g. an invalid task)
        raise CaptureError(f"the captured data is not a valid state document: {exc}") from None


# ---------------------------------------------------------------------------------------------
# pseudonyms


class Pseudonyms:
    """Consistent stand-ins for task ids and user names across one document.

    Task ids ``<uuid>:<service>`` keep their shape (a fresh UUID, the same service); other ids
    become ``task-<hex>``. User names become ``user-NNN@pseudonym.invalid``. The mapping is keyed
    by a random secret per capture, so a pseudonym cannot be reversed by trying known names.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self.tasks: dict[str, str] = {}
        self.users: dict[str, str] = {}

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()

    def task(self, task_id: str) -> str:
        if task_id not in self.tasks:
            digest = self._digest("task:" + task_id)
            _, sep, service = task_id.partition(":")
            if sep and service:
                stand_in = f"{uuid.UUID(bytes=digest[:16], version=4)}:{service}"
            else:
                stand_in = f"task-{digest[:8].hex()}"
            self.tasks[task_id] = stand_in
        return self.tasks[task_id]

    def user(self, username: str) -> str:
        if username not in self.users:
            self.users[username] = f"user-{len(self.users) + 1:03d}@{PSEUDONYM_DOMAIN}"
        return self.users[username]

    def embedded(self) -> Callable[[str], str]:
        """Replace every original id or user name that occurs inside a string."""
        mapping = {
            original: stand_in
            for original, stand_in in (*self.tasks.items(), *self.users.items())
            if len(original) >= MIN_EMBEDDED_LENGTH
        }
        if not mapping:
            return lambda text: text
        pattern = re.compile(
            "|".join(re.escape(original) for original in sorted(mapping, key=len, reverse=True))
        )
        return lambda text: pattern.sub(lambda match: mapping[match.group(0)], text)


def _pseudonymize(result: CaptureResult, pseudonyms: Pseudonyms | None = None) -> None:
    """Replace user names and task ids everywhere in ``result`` (document and report)."""
    names = pseudonyms or Pseudonyms()
    document = result.document
    for principal in document["principals"]:
        names.user(principal["username"])
    for item in document["tasks"]:
        names.task(item["task"])
        user = (item.get("info") or {}).get("user")
        if isinstance(user, str):
            names.user(user)
    replace_inside = names.embedded()

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return replace_inside(node)
        if isinstance(node, list):
            return [walk(value) for value in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    tasks = []
    for item in document["tasks"]:
        info = dict(item.get("info") or {})
        user = info.get("user")
        info = walk(info)
        if isinstance(user, str):
            info["user"] = names.user(user)
        tasks.append({**walk(item), "task": names.task(item["task"]), "info": info})
    principals = []
    for principal in document["principals"]:
        entry = {**principal, "username": names.user(principal["username"])}
        if "visible_tasks" in principal:
            entry["visible_tasks"] = sorted(names.task(t) for t in principal["visible_tasks"])
        principals.append(entry)
    result.document = {"tasks": tasks, "principals": principals}
    result.changed = sorted(names.task(t) for t in result.changed)
    result.vanished = sorted(names.task(t) for t in result.vanished)
    result.user_pseudonyms = {
        p.username: names.user(p.username) for p in result.principals if p.problem is None
    }


__all__ = ["CaptureError", "CaptureResult", "Pseudonyms", "capture"]
