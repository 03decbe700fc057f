"""Every 200 body of the generated universe is valid against contracts/ and the bindings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.server.defaults import ADMIN_PASSWORD, ADMIN_USERNAME, SERVICES, USERS

TASKS = "/api/snapservice/tasks"
ADMIN = (ADMIN_USERNAME, ADMIN_PASSWORD)
STATUSES = ("PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED")
VCENTER_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def status_bodies() -> dict[str, bytes]:
    """Raw 200 bodies of ``status=S`` for each status: together, the whole default universe."""
    import warnings

    from snapconform.server.app import ServerConfig, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    with TestClient(create_app(ServerConfig())) as client:
        bodies = {}
        for status in STATUSES:
            response = client.get(f"{TASKS}?status={status}", auth=ADMIN)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            bodies[status] = response.content
        return bodies


def test_bodies_cover_the_universe_and_are_valid(status_bodies: dict[str, bytes]) -> None:
    total = 0
    for status, raw in status_bodies.items():
        body = json.loads(raw)
        assert default_contracts().errors("ListResult", body) == []
        assert {item["info"]["status"] for item in body["items"]} == {status}
        total += len(body["items"])
    assert total == 1500


def test_realistic_variety(status_bodies: dict[str, bytes]) -> None:
    items = [item for raw in status_bodies.values() for item in json.loads(raw)["items"]]
    assert {item["info"]["service"] for item in items} == set(SERVICES)
    assert {item["info"].get("user") for item in items} == {user for user, _ in USERS}
    assert len({item["task"] for item in items}) == 1500


def datetimes(info: dict[str, Any]) -> list[str]:
    return [info[key] for key in ("start_time", "end_time") if info.get(key) is not None]


def test_status_conditional_fields_and_datetime_form(status_bodies: dict[str, bytes]) -> None:
    for status, raw in status_bodies.items():
        for item in json.loads(raw)["items"]:
            info = item["info"]
            present = {
                k
                for k in ("progress", "result", "error", "start_time", "end_time")
                if info.get(k) is not None
            }
            expected = {
                "PENDING": set(),
                "RUNNING": {"progress", "start_time"},
                "BLOCKED": {"progress", "start_time"},
                "SUCCEEDED": {"progress", "start_time", "end_time"},
                "FAILED": {"progress", "start_time", "end_time", "error"},
            }[status]
            assert present == expected, item
            assert all(VCENTER_DATETIME.match(value) for value in datetimes(info)), item
            if "end_time" in present:
                assert info["start_time"] <= info["end_time"]


@pytest.mark.bindings
def test_bodies_decode_with_the_official_bindings(status_bodies: dict[str, bytes]) -> None:
    # required dependencies: imported, never skipped when missing
    from com.vmware import snapservice_client as snapservice
    from vmware.vapi.bindings import converter
    from vmware.vapi.data.serializers import cleanjson

    for status, raw in status_bodies.items():
        decoded = converter.TypeConverter.convert_to_python(
            cleanjson.DataValueConverter.convert_to_data_value(raw.decode("utf-8")),
            snapservice.Tasks.ListResult.get_binding_type(),
            rest_converter_mode=converter.RestConverter.SWAGGER_REST,
        )
        assert {str(item.info.status) for item in decoded.items} == {status}
