"""What a response is: a task list, the cap error, its ids and error type (pure helpers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from snapconform.engine.oracle import is_cap_error, is_refusal, result_ids
from snapconform.engine.target import Exchange


def listed_ids(response: Exchange) -> frozenset[str]:
    return frozenset(result_ids(response.body))


def is_list(response: Exchange) -> bool:
    return (
        response.status == 200
        and isinstance(response.body, Mapping)
        and isinstance(response.body.get("items"), list)
    )


def is_too_many(response: Exchange) -> bool:
    """Whether ``response`` is the cap error (``oracle.is_cap_error``)."""
    return is_cap_error(response.status, response.body)


def is_refused(response: Exchange) -> bool:
    """A 400 refusal (``oracle.is_refusal``): ResourceInaccessible sent as 400 is not one."""
    return is_refusal(response.status, response.body)


def error_type_of(response: Exchange) -> Any:
    body = response.body
    return body.get("error_type") if isinstance(body, Mapping) else None


def listed_items(response: Exchange) -> list[Mapping[str, Any]]:
    if not is_list(response):
        return []
    return [item for item in response.body["items"] if isinstance(item, Mapping)]
