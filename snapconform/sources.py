"""The sources every requirement and documented alternative rests on, quoted verbatim.

Two sources decide what a conformant ``GET /api/snapservice/tasks`` answers: the published
reference page (``contracts/sources/snapservice-tasks-list.txt`` is a copy) and the official
bindings (``vmware-vsan-data-protection``, ``vmware-vapi-common-client``). A :class:`Source`
quotes one of them verbatim, or is a reading of ``ours`` that neither states. The engine's
requirements (``engine.registry``, ``engine.alternatives``) and the reference server's
documented variants (``server.variants``) cite the same objects, so each passage is typed once;
``tests/engine/test_quotes_verbatim.py`` finds every quote in its source.

This module is in the contract layer (it imports nothing of snapconform), below both the engine
and the reference server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: The published reference page of the operation.
SPEC_URL = (
    "https://developer.broadcom.com/xapis/vsphere-automation-api/latest/api/snapservice/tasks/get/"
)

SourceKind = Literal["page", "bindings", "ours"]
#: Between two verbatim parts of one quote (each part is found on its own, in this order).
QUOTE_GAP = " … "


@dataclass(frozen=True)
class Source:
    """Where a requirement comes from, quoted verbatim, or a reading of ours that no source states.

    The format is precise, so a test finds every quote in its source
    (``tests/engine/test_quotes_verbatim.py``):

    - ``page``: ``where`` is ``line N`` of the published reference page (:data:`SPEC_URL`; a
      copy is ``contracts/sources/snapservice-tasks-list.txt``); ``quote`` starts on that line.
    - ``bindings``: ``where`` names the installed official bindings' text: a dotted Python name
      (``com.vmware.snapservice_client.Tasks.FilterSpec``: that object's source, docstrings
      and binding types) or a file of an installed package
      (``vmware/vapi/settings/runtime.properties``).
    - ``ours``: no source states it (``where`` is empty, ``quote`` is our reading): a requirement
      resting only on ours is a SHOULD, never a MUST.

    A page or bindings ``quote`` is verbatim up to whitespace and reST markup (``:class:`X```
    reads ``X``); parts of one passage are joined by :data:`QUOTE_GAP`. ``context`` is ours
    (which response, which field): rendered in parentheses, outside the quotation marks.
    """

    kind: SourceKind
    where: str
    quote: str
    context: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("page", "bindings", "ours"):
            raise ValueError(f"unknown source kind {self.kind!r}")
        if self.kind == "page" and not re.fullmatch(r"line [1-9]\d*", self.where):
            raise ValueError(f"a page source names its line: {self.where!r}")
        if (self.kind == "ours") == bool(self.where) or not self.quote.strip():
            raise ValueError(f"malformed source {self!r}")

    @property
    def parts(self) -> tuple[str, ...]:
        """The verbatim parts of a page or bindings quote (empty for ours)."""
        return () if self.kind == "ours" else tuple(self.quote.split(QUOTE_GAP))

    @property
    def place(self) -> str:
        """Where the quote is (``page line 99 (400)``, ``bindings <where>``, ``ours (...)``)."""
        if self.kind == "ours":
            return "ours (no source states it, hence SHOULD)"
        context = f" ({self.context})" if self.context else ""
        return f"{self.kind} {self.where}{context}"

    def render(self) -> str:
        if self.kind == "ours":
            return f"{self.place}: {self.quote}"
        return f"{self.place}: “{self.quote}”"


def page(line: int, quote: str, context: str = "") -> Source:
    """A verbatim quote of the page that starts on ``line``."""
    return Source("page", f"line {line}", quote, context)


def bindings(where: str, quote: str, context: str = "") -> Source:
    """A verbatim quote of the installed bindings' text at ``where`` (a dotted name or a file)."""
    return Source("bindings", where, quote, context)


def ours(reading: str) -> Source:
    """A reading of ours that no source states (its requirement is a SHOULD)."""
    return Source("ours", "", reading)


# --- passages several requirements and alternatives cite -----------------------------------

#: The bindings' module of the operation (``Tasks``, ``Sessions``).
SNAPSERVICE = "com.vmware.snapservice_client"
#: The bindings' standard errors (vmware-vapi-common-client).
STD_ERRORS = "com.vmware.vapi.std.errors_client"

AT_MOST_1000_VISIBLE = page(
    2,
    "Returns information about at most 1000 visible (subject to permission checks) tasks"
    " matching the Snapservice Tasks FilterSpec.",
)
OVER_1000_INACCESSIBLE = page(
    188,
    "Vapi Std Errors ResourceInaccessible if a task's state cannot be accessed or over 1000"
    " tasks matching the Snapservice Tasks FilterSpec.",
)
#: The vAPI REST runtime's error-to-status map (vmware-vapi-runtime, beside the bindings):
#: ResourceInaccessible travels as HTTP 400 where a service keeps the runtime's default.
INACCESSIBLE_AS_400 = bindings(
    "vmware/vapi/rest/lib.py",
    "# Mapping of vAPI standard errors to HTTP error codes:"
    + QUOTE_GAP
    + "'com.vmware.vapi.std.errors.resource_inaccessible': HTTPStatusCodes.HTTP_400_BAD_REQUEST,",
    "vAPI REST error mapping",
)
INVALID_PARAMETERS_400 = page(99, "if any of the specified parameters are invalid.", "400")
UNAUTHENTICATED_401 = page(125, "if the user can not be authenticated.", "401")
UNAUTHORIZED_403 = page(156, "if the user doesn't have the required privileges.", "403")
SYSTEM_ERROR_500 = page(
    187, "Vapi Std Errors Error if the system reports an error while responding to the request."
)
UNAVAILABLE_503 = page(
    225, "if the system is unable to communicate with a service to complete the request.", "503"
)
USERS_FIELD = page(
    23,
    "Users who must have initiated the operation for the associated task to match the filter",
)
#: The FilterSpec's binding type: every field is a set.
FIELDS_ARE_SETS = bindings(
    f"{SNAPSERVICE}.Tasks",
    "'tasks': type.OptionalType(type.SetType(type.IdType())),"
    " 'operations': type.OptionalType(type.SetType(type.IdType())),"
    " 'services': type.OptionalType(type.SetType(type.IdType())),"
    " 'status': type.OptionalType(type.SetType(type.ReferenceType("
    "'com.vmware.snapservice.tasks_client', 'Status'))),"
    " 'users': type.OptionalType(type.SetType(type.StringType())),",
    "Tasks.FilterSpec's binding type",
)
#: What the bindings' converter says of a list with a repeated element, read as a set.
DUPLICATE_NOT_A_SET = bindings(
    "vmware/vapi/settings/runtime.properties",
    'vapi.bindings.typeconverter.set.duplicate.element=List contains duplicate element "%s".'
    " Cannot convert to a set",
    "the bindings' type converter",
)
FIELDS_COMBINE_WITH_AND = bindings(
    f"{SNAPSERVICE}.Tasks.FilterSpec",
    "If multiple attributes are specified, only tasks matching all of the attributes match the"
    " filter.",
)
TASKS_OR_SERVICES_REQUIRED = bindings(
    f"{SNAPSERVICE}.Tasks.FilterSpec",
    "Currently at least one of Tasks.FilterSpec.tasks or Tasks.FilterSpec.services must be"
    " specified and not empty.",
)
STATUS_IS_OPEN = bindings(
    "com.vmware.snapservice.tasks_client.Status",
    "Newer versions of the enumerated type may contain new values.",
)
INTERNAL_SERVER_ERROR_ANY_METHOD = bindings(
    f"{STD_ERRORS}.InternalServerError",
    "This exception is reported by the API infrastructure, so it could occur in response to the"
    " invocation of any method.",
)
UNAUTHENTICATED_UNDISCLOSED = bindings(
    f"{STD_ERRORS}.Unauthenticated",
    "For security reasons, the Error.data attribute in this exception is None, and the"
    " Error.messages attribute in this exception does not disclose which part of the security"
    " context is correct or incorrect.",
)
