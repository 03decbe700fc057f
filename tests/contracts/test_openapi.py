"""openapi.yaml is a valid OpenAPI 3.1 document and its bundled form loads in schemathesis 4."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing.exceptions import Unresolvable

from snapconform.contracts import Contracts, iter_refs

TASKS = "/api/snapservice/tasks"
SESSIONS = "/api/snapservice/sessions"
FILTER_PARAMS = ("tasks", "operations", "services", "status", "users")


def _validate_as_written(contracts: Contracts, document: dict[str, Any]) -> None:
    validate(document, base_uri=contracts.openapi_path().as_uri(), cls=OpenAPIV31SpecValidator)


def test_openapi_yaml_is_valid_3_1(contracts: Contracts) -> None:
    document = contracts.openapi()
    assert document["openapi"].startswith("3.1")
    _validate_as_written(contracts, document)


def test_bundled_openapi_is_valid_3_1(contracts: Contracts) -> None:
    validate(contracts.bundled_openapi(), cls=OpenAPIV31SpecValidator)


def test_bundled_openapi_is_self_contained(contracts: Contracts) -> None:
    bundled = contracts.bundled_openapi()
    external = [ref for ref in iter_refs(bundled) if not ref.startswith("#/")]
    assert external == []
    assert set(bundled["components"]["schemas"]) >= set(contracts.schemas)


def test_validator_rejects_a_broken_document(contracts: Contracts) -> None:
    # The validation above must be able to fail: a dangling schema file and a bad location.
    dangling = contracts.openapi()
    response = dangling["paths"][TASKS]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"]["$ref"] = "schemas/NoSuchType.json"
    with pytest.raises(Unresolvable):
        _validate_as_written(contracts, dangling)
    misplaced = contracts.openapi()
    misplaced["paths"][TASKS]["get"]["parameters"][0]["in"] = "body"
    with pytest.raises(OpenAPIValidationError):
        _validate_as_written(contracts, misplaced)


@pytest.fixture(scope="module")
def loaded(contracts: Contracts) -> Any:
    return schemathesis.openapi.from_dict(contracts.bundled_openapi())


def test_schemathesis_loads_every_operation(loaded: Any) -> None:
    operations = {(op.method.upper(), op.path) for op in _operations(loaded)}
    assert operations == {
        ("GET", TASKS),
        ("POST", SESSIONS),
        ("GET", SESSIONS),
        ("DELETE", SESSIONS),
    }


def _operations(loaded: Any) -> list[Any]:
    return [result.ok() for result in loaded.get_all_operations()]


def test_tasks_list_has_five_exploded_form_array_query_params(loaded: Any) -> None:
    operation = loaded[TASKS]["GET"]
    params = {p.name: p.definition for p in operation.query}
    assert tuple(params) == FILTER_PARAMS
    for name, definition in params.items():
        assert definition["in"] == "query", name
        assert definition.get("style", "form") == "form", name
        assert definition.get("explode", True) is True, name
        assert definition.get("required", False) is False, name
        assert definition["schema"]["type"] == "array", name
    # schemathesis bundles the referenced Status enum into the parameter schema.
    assert "'enum': ['PENDING', 'RUNNING', 'BLOCKED', 'SUCCEEDED', 'FAILED']" in repr(
        params["status"]["schema"]
    )


def test_tasks_list_documents_every_status(contracts: Contracts, loaded: Any) -> None:
    from snapconform.contracts import ERROR_SCHEMAS_BY_STATUS

    responses = contracts.bundled_openapi()["paths"][TASKS]["get"]["responses"]
    assert set(responses) == {"200"} | {str(s) for s in ERROR_SCHEMAS_BY_STATUS}
    for status, names in ERROR_SCHEMAS_BY_STATUS.items():
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        referenced = {ref.rsplit("/", 1)[-1] for ref in iter_refs(schema)}
        assert referenced == set(names), status


def test_schemathesis_validates_responses_with_the_contract(loaded: Any) -> None:
    # The bundled form must keep the constraints: a 200 body breaking the union is rejected.
    from schemathesis.core.failures import Failure

    operation = loaded[TASKS]["GET"]
    good = {"items": []}
    bad = {
        "items": [
            {
                "task": "t",
                "info": {
                    "description": {"id": "m", "default_message": "m", "args": []},
                    "service": "s",
                    "operation": "o",
                    "status": "RUNNING",
                    "cancelable": False,
                },
            }
        ]
    }
    assert operation.is_valid_response(_response(good))
    assert not operation.is_valid_response(_response(bad))
    with pytest.raises(Failure):
        operation.validate_response(_response(bad))


def _response(body: Any) -> httpx.Response:
    # A streamed body through a mock transport: httpx then sets .elapsed (which schemathesis
    # reads) as for a real response; nothing leaves the process.
    content = json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return client.get(f"http://127.0.0.1{TASKS}")
