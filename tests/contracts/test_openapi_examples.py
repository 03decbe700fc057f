"""The response examples of contracts/openapi.yaml: every documented response has valid ones.

A mock generated from the contract serves them: Prism's static mode (``prism mock
contracts/openapi.yaml``) answers with the first example of the response it picks, and without
examples it invents bodies from the schemas (the first enum value of every ``error_type``, tasks
that break the status-conditional rules). So each example is checked like the body corpus
(test_corpus.py): valid against its schema in ``contracts/schemas``, no undeclared property, and
decoded by the official bindings. Examples live once in ``components/examples`` and are named
``SCHEMA--what-it-shows``; each response refers to them by ``$ref``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from snapconform.contracts import Contracts, default_contracts, iter_refs
from tests.contracts.test_corpus import json_path

EXAMPLE_REF = "#/components/examples/"
TASKS = "/api/snapservice/tasks"


@dataclass(frozen=True)
class ResponseExample:
    """One named example of one documented response."""

    operation: str  # "GET /api/snapservice/tasks"
    status: str
    #: Position among the response's examples: 0 is the one Prism's static mode serves.
    position: int
    #: The ``components/examples`` entry it refers to ("" when written inline).
    name: str
    #: The body schemas the response documents (its ``$ref``s into contracts/schemas).
    schemas: tuple[str, ...]
    value: Any

    @property
    def schema(self) -> str:
        """The schema the example's name says it is a body of (``SCHEMA--what``)."""
        return self.name.split("--", 1)[0]

    def __str__(self) -> str:
        return f"{self.operation} {self.status} example {self.name or self.position!r}"


def _schema_names(schema: Any) -> tuple[str, ...]:
    return tuple(ref.rsplit("/", 1)[-1].removesuffix(".json") for ref in iter_refs(schema))


def documented_responses(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operation, status, media type object) of every response that has a JSON body."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json")
                if media is not None:
                    yield f"{method.upper()} {path}", status, media


def response_examples(document: dict[str, Any]) -> Iterator[ResponseExample]:
    """Every example of every response, resolved through ``components/examples``."""
    components = document.get("components", {}).get("examples", {})
    for operation, status, media in documented_responses(document):
        schemas = _schema_names(media.get("schema"))
        for position, example in enumerate(media.get("examples", {}).values()):
            ref = example.get("$ref", "")
            name = ref.removeprefix(EXAMPLE_REF) if ref.startswith(EXAMPLE_REF) else ""
            body = components.get(name, {}) if name else example
            value = body.get("value")
            yield ResponseExample(operation, status, position, name, schemas, value)


def example_problems(contracts: Contracts, document: dict[str, Any]) -> list[str]:
    """What is wrong with the document's response examples, one line each (none: all good)."""
    problems: list[str] = []
    covered: dict[tuple[str, str], set[str]] = {}
    used: set[str] = set()
    for example in response_examples(document):
        covered.setdefault((example.operation, example.status), set()).add(example.schema)
        used.add(example.name)
        if not example.name:
            problems.append(f"{example}: not a $ref into {EXAMPLE_REF} (SCHEMA--what)")
            continue
        if example.schema not in example.schemas:
            problems.append(
                f"{example}: a {example.schema} body where the response documents"
                f" {', '.join(example.schemas)}"
            )
            continue
        problems += [
            f"{example}: {json_path(error.absolute_path)}: {error.message}"
            for error in contracts.errors(example.schema, example.value)
        ]
        problems += [
            f"{example}: {path} is not declared by {example.schema}"
            for path in contracts.unknown_properties(example.schema, example.value)
        ]
    for operation, status, media in documented_responses(document):
        for schema in _schema_names(media.get("schema")):
            if schema not in covered.get((operation, status), set()):
                problems.append(f"{operation} {status}: no example of {schema}")
    unused = set(document.get("components", {}).get("examples", {})) - used
    problems += [f"{EXAMPLE_REF}{name}: no response uses it" for name in sorted(unused)]
    return problems


DOCUMENT = default_contracts().openapi()
EXAMPLES = list(response_examples(DOCUMENT))


def test_every_response_example_is_a_valid_body(contracts: Contracts) -> None:
    assert example_problems(contracts, contracts.openapi()) == []


def test_every_documented_error_has_an_example() -> None:
    # 200 list, 400, 401, 403, 500 Error and ResourceInaccessible, 503, and the session calls.
    served = {(e.operation, e.status, e.schema) for e in EXAMPLES}
    list_call = f"GET {TASKS}"
    assert {(status, schema) for operation, status, schema in served if operation == list_call} == {
        ("200", "ListResult"),
        ("400", "InvalidArgument"),
        ("400", "ResourceInaccessible"),  # the vAPI runtime's map (inaccessible-status)
        ("401", "Unauthenticated"),
        ("403", "Unauthorized"),
        ("500", "ResourceInaccessible"),
        ("500", "Error"),
        ("503", "ServiceUnavailable"),
    }
    assert len({operation for operation, _, _ in served}) == 4


def test_the_served_list_example_shows_every_status(contracts: Contracts) -> None:
    # The first example is what a static mock answers to every list request: it carries one task
    # of each status, so the status-conditional rules are exercised on every one.
    first = next(e for e in EXAMPLES if e.operation == f"GET {TASKS}" and e.status == "200")
    assert first.position == 0
    statuses = [item["info"]["status"] for item in first.value["items"]]
    assert sorted(statuses) == sorted(contracts.schema("Status")["enum"])


def test_the_served_401_example_carries_a_challenge() -> None:
    for example in EXAMPLES:
        if example.status == "401" and example.position == 0:
            assert example.value["error_type"] == "UNAUTHENTICATED", example
            assert isinstance(example.value.get("challenge"), str), example


# ------------------------------------------------------------------ the check can fail


def _mutated(contracts: Contracts, name: str, change: Any) -> dict[str, Any]:
    document = copy.deepcopy(contracts.openapi())
    change(document["components"]["examples"][name]["value"])
    return document


def _drop_progress_of_running(body: dict[str, Any]) -> None:
    running = next(i for i in body["items"] if i["info"]["status"] == "RUNNING")
    del running["info"]["progress"]


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        # What Prism served without examples: the first enum value of the shared error_type.
        (
            "Unauthenticated--authentication-required",
            lambda body: body.update(error_type="ERROR"),
            "$.error_type",
        ),
        ("ListResult--a-task-in-every-status", _drop_progress_of_running, "$.items[2].info"),
        (
            "ListResult--a-task-in-every-status",
            lambda body: body["items"][4]["info"].update(start_time="2026-01-15T10:00:00.000Z"),
            "$.items[4].info",
        ),
        (
            "SessionInfo--current-session",
            lambda body: body.update(created_time="yesterday"),
            "$.created_time",
        ),
        (
            "Unauthorized--missing-privilege",
            lambda body: body.update(privilege="System.Read"),
            "$.privilege is not declared",
        ),
    ],
    ids=["401-error-type", "running-without-progress", "pending-with-start", "bad-date", "extra"],
)
def test_an_invalid_example_is_reported(
    contracts: Contracts, name: str, change: Any, expected: str
) -> None:
    problems = example_problems(contracts, _mutated(contracts, name, change))
    assert problems and all(name in line for line in problems), problems
    assert any(expected in line for line in problems), problems


def test_a_missing_or_misplaced_example_is_reported(contracts: Contracts) -> None:
    document = copy.deepcopy(contracts.openapi())
    responses = document["paths"][TASKS]["get"]["responses"]
    del responses["500"]["content"]["application/json"]["examples"]["Error--internal-error"]
    responses["403"]["content"]["application/json"]["examples"] = {
        "wrong": {"$ref": f"{EXAMPLE_REF}Unauthenticated--authentication-required"}
    }
    del responses["503"]["content"]["application/json"]["examples"]
    problems = example_problems(contracts, document)
    assert f"GET {TASKS} 500: no example of Error" in problems
    assert f"{EXAMPLE_REF}Error--internal-error: no response uses it" in problems
    assert any("403" in p and "a Unauthenticated body" in p for p in problems), problems
    assert f"GET {TASKS} 503: no example of ServiceUnavailable" in problems


# ------------------------------------------------------------------ the official bindings


def _decode(bindings: Any, schema: str, value: Any) -> Any:
    import json

    if schema == "SessionToken":
        # Sessions.create's output type in the bindings (snapservice_client): type.SecretType().
        from vmware.vapi.bindings.type import SecretType

        return bindings.decode(json.dumps(value), _Typed(SecretType()))
    return bindings.decode(json.dumps(value), bindings.binding_class(schema))


@dataclass(frozen=True)
class _Typed:
    """A bare binding type offered where the decoder expects a binding class."""

    binding_type: Any

    def get_binding_type(self) -> Any:
        return self.binding_type


@pytest.mark.bindings
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_example_decodes_with_the_bindings(bindings: Any, example: ResponseExample) -> None:
    assert _decode(bindings, example.schema, example.value) is not None


@pytest.mark.bindings
def test_the_bindings_reject_a_task_breaking_the_status_rules(
    bindings: Any, contracts: Contracts
) -> None:
    # The decode above can fail: the bindings' UnionValidator refuses RUNNING without progress.
    name = "ListResult--a-task-in-every-status"
    document = _mutated(contracts, name, _drop_progress_of_running)
    value = document["components"]["examples"][name]["value"]
    with pytest.raises(Exception, match="progress"):
        _decode(bindings, "ListResult", value)
