"""Quotes of the sources that several requirements rest on (the published reference page and
the official bindings), as the checks of ``snapconform.engine.checks`` import them.

They are declared once, in ``snapconform.sources`` (the contract layer), because the reference
server's documented variants cite them too; every quote is verbatim
(``tests/engine/test_quotes_verbatim.py`` finds each in its source).
"""

from __future__ import annotations

from snapconform.sources import (
    AT_MOST_1000_VISIBLE as AT_MOST_1000_VISIBLE,
    DUPLICATE_NOT_A_SET as DUPLICATE_NOT_A_SET,
    FIELDS_ARE_SETS as FIELDS_ARE_SETS,
    FIELDS_COMBINE_WITH_AND as FIELDS_COMBINE_WITH_AND,
    INACCESSIBLE_AS_400 as INACCESSIBLE_AS_400,
    INTERNAL_SERVER_ERROR_ANY_METHOD as INTERNAL_SERVER_ERROR_ANY_METHOD,
    INVALID_PARAMETERS_400 as INVALID_PARAMETERS_400,
    OVER_1000_INACCESSIBLE as OVER_1000_INACCESSIBLE,
    SNAPSERVICE as SNAPSERVICE,
    STATUS_IS_OPEN as STATUS_IS_OPEN,
    STD_ERRORS as STD_ERRORS,
    SYSTEM_ERROR_500 as SYSTEM_ERROR_500,
    TASKS_OR_SERVICES_REQUIRED as TASKS_OR_SERVICES_REQUIRED,
    UNAUTHENTICATED_401 as UNAUTHENTICATED_401,
    UNAUTHENTICATED_UNDISCLOSED as UNAUTHENTICATED_UNDISCLOSED,
    UNAUTHORIZED_403 as UNAUTHORIZED_403,
    UNAVAILABLE_503 as UNAVAILABLE_503,
    USERS_FIELD as USERS_FIELD,
)
