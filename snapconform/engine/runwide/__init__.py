"""Run-wide checks: each requirement every response of a run must meet, written once.

:mod:`~snapconform.engine.runwide.base` gives the shape (a class with ``after_response`` and
``after_run``, as schemathesis 4 structures checks that span a run) and what a check judges (a
:class:`Judged` view over the run's one ``Exchange``);
:mod:`~snapconform.engine.runwide.contract` holds the classes, one per requirement. The engine's
response audit and the fuzzing layer both judge with them.
"""

from __future__ import annotations

from snapconform.engine.runwide.base import (
    EXAMINED_ITEMS,
    KEEP_FINDINGS,
    ErrorCheck,
    Findings,
    Judged,
    ListCheck,
    RunWideCheck,
    documented_responses,
)
from snapconform.engine.runwide.contract import (
    RUN_WIDE_CHECKS,
    BindingsVerdicts,
    CapNeverMore,
    Contract200Body,
    ContractBindings,
    ContractDatetimeUtc,
    ContractErrorBody,
    ContractErrorMessages,
    ContractErrorMessageText,
    ContractErrorType,
    ContractJson,
    ContractStatusConditional,
    ContractUniqueIds,
    ContractUnknownProperties,
)

__all__ = [
    "EXAMINED_ITEMS",
    "KEEP_FINDINGS",
    "RUN_WIDE_CHECKS",
    "BindingsVerdicts",
    "CapNeverMore",
    "Contract200Body",
    "ContractBindings",
    "ContractDatetimeUtc",
    "ContractErrorBody",
    "ContractErrorMessageText",
    "ContractErrorMessages",
    "ContractErrorType",
    "ContractJson",
    "ContractStatusConditional",
    "ContractUniqueIds",
    "ContractUnknownProperties",
    "ErrorCheck",
    "Findings",
    "Judged",
    "ListCheck",
    "RunWideCheck",
    "documented_responses",
]
