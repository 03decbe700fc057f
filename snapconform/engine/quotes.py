"""Quotes of the sources that several requirements rest on (the published reference page and
the official bindings): declared once, cited by the requirements of ``snapconform.engine.checks``.
"""

from __future__ import annotations

from snapconform.engine.registry import bindings, page

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
INVALID_PARAMETERS_400 = page(99, "[400] if any of the specified parameters are invalid.")
FIELDS_ARE_SETS = bindings(
    "Tasks.FilterSpec (type.SetType) and the vmware.vapi converter",
    "tasks/operations/services/users: set of str; status: set of Status;"
    ' List contains duplicate element "%s". Cannot convert to a set',
)
FIELDS_COMBINE_WITH_AND = bindings(
    "Tasks.FilterSpec",
    "If multiple attributes are specified, only tasks matching all of the attributes match the"
    " filter.",
)
TASKS_OR_SERVICES_REQUIRED = bindings(
    "Tasks.FilterSpec",
    "Currently at least one of Tasks.FilterSpec.tasks or Tasks.FilterSpec.services must be"
    " specified and not empty.",
)
UNAUTHENTICATED_UNDISCLOSED = bindings(
    "Unauthenticated (vapi.std.errors)",
    "For security reasons, the Error.data attribute in this exception is None, and the"
    " Error.messages attribute in this exception does not disclose which part of the security"
    " context is correct or incorrect.",
)
