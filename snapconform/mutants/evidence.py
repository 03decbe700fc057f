"""Over-excused mutants: deviations the harness once excused as a documented alternative, a
passing server error or churn, without asking the server for the evidence (issue 23).

Each one answers most requests faithfully and gives, for one kind of filter, an answer some
source allows elsewhere (a 400 InvalidArgument, a 500, a changed list): only a harness that
asks again, or asks the same filter without the excuse's reason, tells it from the real thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from snapconform.mutants.base import ALL_MODES, ItemRewrite, Mutant, RequestCounter
from snapconform.server.behaviour import Behaviour, EndpointError, Reply, invalid
from snapconform.server.runtime import Runtime
from snapconform.server.store import FilterSpec


def _held_users(runtime: Runtime, spec: FilterSpec) -> bool:
    """Whether ``spec`` names a user some stored task holds."""
    store = runtime.snapshot.store
    return any(store.query(FilterSpec(users=(user,)), None).count for user in spec.users or ())


class UsersServerError(Behaviour):
    """A ``users`` filter naming a user some task holds fails with 500 Error (a broken join on
    the users table), every time: not a passing condition, the same 500 asked again."""

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        reply = super().list_tasks(runtime, headers, raw_query)
        if reply.status != 200 or not _held_users(runtime, self.parse_query(raw_query)):
            return reply
        return self.error_reply(
            EndpointError("ERROR", "com.vmware.snapservice.internal", "Internal error.")
        )


class InventsTaskIds(RequestCounter, ItemRewrite):
    """Every list answer invents its task ids afresh (like ``prism mock -d``): the same tasks'
    values, ids that no other answer holds and no ``tasks=`` query finds."""

    def __init__(self) -> None:
        super().__init__()
        self._answer = 0

    def list_tasks(self, runtime: Runtime, headers: Mapping[str, str], raw_query: bytes) -> Reply:
        self._answer = self.next_count()
        return super().list_tasks(runtime, headers, raw_query)

    def rewrite_item(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return {**item, "task": f"{item['task']}-{self._answer}"}


class RefusesUsers(Behaviour):
    """Every filter with a ``users`` value is refused with 400 InvalidArgument (the field is
    not implemented): excusable only when each refused filter's own reason is not asked."""

    def build_filter(self, pairs: Any) -> FilterSpec:
        spec = super().build_filter(pairs)
        if spec.users:
            raise invalid("invalid_argument", "Invalid argument: users.", "users")
        return spec


class RefusesEncodedUsers(Behaviour):
    """A user value that needs percent-encoding (``@``, ``\\``, a space) is refused with 400
    InvalidArgument (a validator written for bare names): every real SSO user name is."""

    def build_filter(self, pairs: Any) -> FilterSpec:
        spec = super().build_filter(pairs)
        if any(quote(user, safe="") != user for user in spec.users or ()):
            raise invalid("invalid_argument", "Invalid user name.", "users")
        return spec


class RefusesStatusPairs(Behaviour):
    """Lists the empty filter and a single status, but refuses a filter naming neither tasks
    nor services with two or more statuses, with the message of the documented alternative
    ("tasks or services must be set"): an inconsistent choice, not the documented one."""

    def build_filter(self, pairs: Any) -> FilterSpec:
        spec = super().build_filter(pairs)
        if not spec.tasks and not spec.services and len(set(spec.status or ())) >= 2:
            raise invalid(
                "tasks_or_services_required",
                "Currently at least one of tasks or services must be specified and not empty.",
            )
        return spec


EVIDENCE_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        name="filter-users-500",
        area="filter",
        description="500 Error for every users filter naming a user some task holds (the same"
        " 500 each time it is asked)",
        requirements=("FILTER-COMPLETENESS", "FILTER-EXACT-ENCODED"),
        modes=ALL_MODES,
        behaviour_class=UsersServerError,
    ),
    Mutant(
        name="filter-invents-task-ids",
        area="filter",
        description="every list answer invents fresh task ids (two identical reads share none),"
        " like a mock serving generated data",
        requirements=(
            "FILTER-DETERMINISTIC",
            "FILTER-COMPLETENESS",
            "FILTER-EMPTY",
            "FILTER-SOUNDNESS",
        ),
        modes=ALL_MODES,
        behaviour_class=InventsTaskIds,
    ),
    Mutant(
        name="filter-refuses-users",
        area="filter",
        description="every filter with a users value is refused with 400 InvalidArgument",
        requirements=("FILTER-COMPLETENESS", "FILTER-EXACT-ENCODED"),
        modes=ALL_MODES,
        behaviour_class=RefusesUsers,
    ),
    Mutant(
        name="filter-refuses-encoded-users",
        area="filter",
        description="400 InvalidArgument for any user value that needs percent-encoding",
        requirements=("FILTER-EXACT-ENCODED", "FILTER-COMPLETENESS"),
        modes=ALL_MODES,
        behaviour_class=RefusesEncodedUsers,
    ),
    Mutant(
        name="filter-refuses-status-pairs",
        area="filter",
        description='lists the empty filter, but refuses {status: [A, B]} with 400 "tasks or'
        ' services must be set" (two choices for one documented alternative)',
        requirements=("FILTER-COMPLETENESS", "FILTER-OR-AND", "FILTER-ORDER-REPEATS"),
        modes=ALL_MODES,
        behaviour_class=RefusesStatusPairs,
    ),
)
