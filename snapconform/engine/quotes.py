"""Quotes of the sources that several requirements rest on (the published reference page and
the official bindings): declared once, cited by the requirements of ``snapconform.engine.checks``
and by the documented alternatives (``engine.alternatives``).

Every quote is verbatim (``engine.registry.Source``; ``tests/engine/test_quotes_verbatim.py``
finds each in its source).
"""

from __future__ import annotations

from snapconform.engine.registry import bindings, page

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
