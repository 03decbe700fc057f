"""Contract mutants: bodies, types, status-conditional fields, errors, content type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from snapconform.mutants.base import ALL_MODES, CONTROLLED, ItemRewrite, Mutant, with_info
from snapconform.server.behaviour import Behaviour, EndpointError, Reply
from snapconform.server.defaults import failure

#: A plausible instant, written the way vCenter writes it.
SOME_TIME = "2026-01-15T11:00:00.000Z"


def _progress(item: Mapping[str, Any]) -> dict[str, Any] | None:
    progress = item["info"].get("progress")
    return dict(progress) if isinstance(progress, Mapping) else None


# ---------------------------------------------------------------- status-conditional fields


class PendingWithStartTime(ItemRewrite):
    """PENDING tasks carry a start_time (scheduled time written as start)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if item["info"]["status"] != "PENDING":
            return None
        return with_info(item, start_time=SOME_TIME)


class RunningWithoutProgress(ItemRewrite):
    """RUNNING tasks omit progress."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if item["info"]["status"] != "RUNNING":
            return None
        return with_info(item, progress=...)


class SucceededWithError(ItemRewrite):
    """SUCCEEDED tasks carry an error (a retried step's error kept)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if item["info"]["status"] != "SUCCEEDED":
            return None
        return with_info(item, error=failure())


class FailedWithoutEndTime(ItemRewrite):
    """FAILED tasks omit end_time."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if item["info"]["status"] != "FAILED":
            return None
        return with_info(item, end_time=...)


class BlockedWithEndTime(ItemRewrite):
    """BLOCKED tasks carry an end_time."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if item["info"]["status"] != "BLOCKED":
            return None
        return with_info(item, end_time=SOME_TIME)


# ---------------------------------------------------------------- types and formats


class SpaceSeparatedDateTime(ItemRewrite):
    """start_time written as ``YYYY-MM-DD hh:mm:ss`` (SQL style, no zone)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        start = item["info"].get("start_time")
        if not isinstance(start, str):
            return None
        return with_info(item, start_time=start[:19].replace("T", " "))


class ZonelessDateTime(ItemRewrite):
    """end_time written without its zone (``...T12:00:00.000``, local time)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        end = item["info"].get("end_time")
        if not isinstance(end, str):
            return None
        return with_info(item, end_time=end.rstrip("Z"))


class OffsetDateTime(ItemRewrite):
    """start_time and end_time written with a +02:00 offset (valid RFC 3339, not UTC)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        changes = {
            key: value[:-1] + "+02:00"
            for key in ("start_time", "end_time")
            if isinstance(value := item["info"].get(key), str) and value.endswith("Z")
        }
        return with_info(item, **changes) if changes else None


class EpochMillisDateTime(ItemRewrite):
    """start_time written as epoch milliseconds (a JSON number)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        if not isinstance(item["info"].get("start_time"), str):
            return None
        return with_info(item, start_time=1768474800000)


class IntegerParamAsString(ItemRewrite):
    """Progress messages carry a LocalizationParam whose ``i`` is a string (a long as text)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        progress = _progress(item)
        if progress is None:
            return None
        message = dict(progress["message"])
        message["params"] = {"completed": {"i": str(progress["completed"])}}
        return with_info(item, progress={**progress, "message": message})


class TotalAsFloat(ItemRewrite):
    """progress.total written as a float (``100.0``)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        progress = _progress(item)
        if progress is None:
            return None
        return with_info(item, progress={**progress, "total": float(progress["total"])})


class FractionalCompleted(ItemRewrite):
    """progress.completed written as a fraction of the total (``0.42``)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        progress = _progress(item)
        if progress is None or not progress["total"]:
            return None
        fraction = round(progress["completed"] / progress["total"], 2)
        return with_info(item, progress={**progress, "completed": fraction})


class CancelableAsString(ItemRewrite):
    """cancelable written as ``"true"``/``"false"``."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return with_info(item, cancelable=str(bool(item["info"]["cancelable"])).lower())


class LowercaseStatus(ItemRewrite):
    """status written in lower case (``succeeded``)."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return with_info(item, status=str(item["info"]["status"]).lower())


class UndeclaredProperty(ItemRewrite):
    """Each task's info carries an undeclared ``owner_uuid`` property."""

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return with_info(item, owner_uuid="52b5e8a3-5f1e-4f9c-9b2a-0c1d2e3f4a5b")


# ---------------------------------------------------------------- list body


class WrappedBody(Behaviour):
    """The list is wrapped the old vAPI /rest way: ``{"value": [...]}``."""

    def render_list(self, items: Sequence[bytes]) -> bytes:
        return b'{"value":[' + b",".join(items) + b"]}"


class DuplicateItems(Behaviour):
    """The first task of a non-empty list appears twice (a join producing two rows)."""

    def render_list(self, items: Sequence[bytes]) -> bytes:
        return super().render_list([*items[:1], *items] if items else items)


class NoItemsWhenEmpty(Behaviour):
    """An empty result is ``{}`` (empty arrays omitted)."""

    def render_list(self, items: Sequence[bytes]) -> bytes:
        return super().render_list(items) if items else b"{}"


class WrongContentType(Behaviour):
    """Every body is labelled ``text/plain``."""

    def media_type(self) -> str:
        return "text/plain; charset=utf-8"


# ---------------------------------------------------------------- error bodies


class EmptyMessages(Behaviour):
    """Error bodies carry an empty ``messages`` stack."""

    def error_document(self, error: EndpointError, **extra: Any) -> dict[str, Any]:
        return {**super().error_document(error, **extra), "messages": []}


class BlankMessageText(Behaviour):
    """Error messages keep their stack but say nothing: every ``default_message`` is blank."""

    def error_document(self, error: EndpointError, **extra: Any) -> dict[str, Any]:
        document = super().error_document(error, **extra)
        messages = [{**m, "default_message": ""} for m in document.get("messages", [])]
        return {**document, "messages": messages}


class WrongInvalidArgumentType(Behaviour):
    """400 bodies say error_type INVALID_REQUEST instead of INVALID_ARGUMENT."""

    def error_type_value(self, error_type: str) -> str:
        return "INVALID_REQUEST" if error_type == "INVALID_ARGUMENT" else error_type


class MessageWithoutArgs(Behaviour):
    """Error messages omit the required ``args`` array."""

    def message(self, message_id: str, default_message: str, args: Sequence[str]) -> dict[str, Any]:
        return {"id": message_id, "default_message": default_message}


class HtmlServiceUnavailable(Behaviour):
    """503 is a proxy's HTML page instead of a ServiceUnavailable body."""

    def error_reply(self, error: EndpointError) -> Reply:
        if self.status_for(error.error_type) != 503:
            return super().error_reply(error)
        page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        return Reply(503, page, (("content-type", "text/html"),))


class ServiceUnavailableTypeOn500(Behaviour):
    """An injected 500 Error says error_type SERVICE_UNAVAILABLE (another error's type).

    (INTERNAL_SERVER_ERROR on a 500 is documented: variant ``internal-server-error``.)
    """

    def fault_problem(self, error_type: str) -> EndpointError:
        problem = super().fault_problem(error_type)
        if error_type != "ERROR":
            return problem
        return EndpointError(
            "SERVICE_UNAVAILABLE", problem.message_id, problem.default_message, problem.args
        )

    def status_for(self, error_type: str) -> int:
        if error_type == "SERVICE_UNAVAILABLE":
            return 500  # the backend's failure, reported with the wrong type on a 500
        return super().status_for(error_type)


def _contract(
    name: str,
    description: str,
    requirements: tuple[str, ...],
    behaviour_class: type[Behaviour],
    modes: frozenset[Any] = ALL_MODES,
) -> Mutant:
    return Mutant(
        name=name,
        area="contract",
        description=description,
        requirements=requirements,
        modes=modes,
        behaviour_class=behaviour_class,
    )


_CONDITIONAL = ("CONTRACT-STATUS-CONDITIONAL",)
_BODY = ("CONTRACT-200-BODY",)

CONTRACT_MUTANTS: tuple[Mutant, ...] = (
    _contract(
        "contract-pending-with-start-time",
        "PENDING tasks carry a start_time",
        _CONDITIONAL,
        PendingWithStartTime,
    ),
    _contract(
        "contract-running-without-progress",
        "RUNNING tasks omit progress",
        _CONDITIONAL,
        RunningWithoutProgress,
    ),
    _contract(
        "contract-succeeded-with-error",
        "SUCCEEDED tasks carry an error",
        _CONDITIONAL,
        SucceededWithError,
    ),
    _contract(
        "contract-failed-without-end-time",
        "FAILED tasks omit end_time",
        _CONDITIONAL,
        FailedWithoutEndTime,
    ),
    _contract(
        "contract-blocked-with-end-time",
        "BLOCKED tasks carry an end_time",
        _CONDITIONAL,
        BlockedWithEndTime,
    ),
    _contract(
        "contract-datetime-space",
        "start_time written as 'YYYY-MM-DD hh:mm:ss' (no T, no zone)",
        _BODY,
        SpaceSeparatedDateTime,
    ),
    _contract(
        "contract-datetime-no-zone",
        "end_time written without its zone",
        _BODY,
        ZonelessDateTime,
    ),
    _contract(
        "contract-datetime-offset",
        "start_time/end_time written with a +02:00 offset (RFC 3339, not UTC)",
        ("CONTRACT-DATETIME-UTC",),
        OffsetDateTime,
    ),
    _contract(
        "contract-datetime-epoch",
        "start_time written as epoch milliseconds (a number)",
        _BODY,
        EpochMillisDateTime,
    ),
    _contract(
        "contract-param-i-as-string",
        "a LocalizationParam's i is a string",
        _BODY,
        IntegerParamAsString,
    ),
    _contract(
        "contract-total-as-float",
        "progress.total written as a float (100.0)",
        (*_BODY, "CONTRACT-BINDINGS"),
        TotalAsFloat,
    ),
    _contract(
        "contract-completed-fraction",
        "progress.completed written as a fraction (0.42)",
        _BODY,
        FractionalCompleted,
    ),
    _contract(
        "contract-cancelable-as-string",
        "cancelable written as a string",
        _BODY,
        CancelableAsString,
    ),
    _contract(
        "contract-status-lowercase",
        "status written in lower case",
        _BODY,
        LowercaseStatus,
    ),
    _contract(
        "contract-undeclared-property",
        "each task's info carries an undeclared property",
        ("CONTRACT-UNKNOWN-PROPERTIES",),
        UndeclaredProperty,
    ),
    _contract(
        "contract-wrapped-body",
        'the list is wrapped as {"value": [...]}',
        _BODY,
        WrappedBody,
    ),
    _contract(
        "contract-duplicate-items",
        "the first task of a list appears twice",
        ("CONTRACT-UNIQUE-IDS",),
        DuplicateItems,
    ),
    _contract(
        "contract-no-items-when-empty",
        "an empty result is {} (items omitted)",
        _BODY,
        NoItemsWhenEmpty,
    ),
    _contract(
        "contract-wrong-content-type",
        "every body is labelled text/plain",
        ("CONTRACT-JSON",),
        WrongContentType,
    ),
    _contract(
        "contract-empty-messages",
        "error bodies carry an empty messages stack",
        ("CONTRACT-ERROR-MESSAGES", "CONTRACT-ERROR-BODY"),
        EmptyMessages,
    ),
    _contract(
        "contract-blank-message-text",
        "error messages have a blank default_message",
        ("CONTRACT-ERROR-MESSAGE-TEXT",),
        BlankMessageText,
    ),
    _contract(
        "contract-wrong-error-type",
        "400 bodies say error_type INVALID_REQUEST",
        ("CONTRACT-ERROR-TYPE", "CONTRACT-ERROR-BODY"),
        WrongInvalidArgumentType,
    ),
    _contract(
        "contract-message-without-args",
        "error messages omit the required args array",
        ("CONTRACT-ERROR-BODY",),
        MessageWithoutArgs,
    ),
    _contract(
        "contract-503-html",
        "503 is an HTML page instead of a ServiceUnavailable body",
        ("FAULT-503", "CONTRACT-JSON", "CONTRACT-ERROR-BODY"),
        HtmlServiceUnavailable,
        # Only the control protocol can make the server answer 503.
        CONTROLLED,
    ),
    _contract(
        "contract-500-service-unavailable-type",
        "a 500 Error says error_type SERVICE_UNAVAILABLE (another error's type)",
        ("FAULT-500", "CONTRACT-ERROR-TYPE"),
        ServiceUnavailableTypeOn500,
        CONTROLLED,
    ),
)
