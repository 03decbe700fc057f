"""Fixtures shared by the contract tests: the loaded contracts and the official bindings.

The bindings (vmware-vsan-data-protection) are a test extra; tests that need them take the
``bindings`` fixture, which skips with the import error as the reason when they are absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from snapconform.contracts import Contracts, default_contracts


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return default_contracts()


@dataclass(frozen=True)
class Bindings:
    """The binding modules the contract is compared with, and a JSON decoder through them."""

    snapservice: ModuleType  # com.vmware.snapservice_client (Tasks, Sessions)
    tasks: ModuleType  # com.vmware.snapservice.tasks_client (Info, Status, Progress)
    std: ModuleType  # com.vmware.vapi.std_client
    errors: ModuleType  # com.vmware.vapi.std.errors_client
    decode: Callable[[str, Any], Any]

    def binding_class(self, contract_name: str) -> Any:
        """The binding class a 200/error body of ``contract_name`` decodes into."""
        by_name = {
            "ListResult": self.snapservice.Tasks.ListResult,
            "SessionInfo": self.snapservice.Sessions.Info,
            "Error": self.errors.Error,
            "InvalidArgument": self.errors.InvalidArgument,
            "Unauthenticated": self.errors.Unauthenticated,
            "Unauthorized": self.errors.Unauthorized,
            "ResourceInaccessible": self.errors.ResourceInaccessible,
            "ServiceUnavailable": self.errors.ServiceUnavailable,
        }
        return by_name[contract_name]


def _load_bindings() -> Bindings:
    from com.vmware import snapservice_client
    from com.vmware.snapservice import tasks_client
    from com.vmware.vapi import std_client
    from com.vmware.vapi.std import errors_client
    from vmware.vapi.bindings.converter import RestConverter, TypeConverter
    from vmware.vapi.data.serializers.cleanjson import DataValueConverter

    def decode(json_text: str, binding_class: Any) -> Any:
        # Conversion runs the struct validators too (Info's UnionValidator), as a client would.
        return TypeConverter.convert_to_python(
            DataValueConverter.convert_to_data_value(json_text),
            binding_class.get_binding_type(),
            rest_converter_mode=RestConverter.SWAGGER_REST,
        )

    return Bindings(snapservice_client, tasks_client, std_client, errors_client, decode)


@pytest.fixture(scope="session")
def bindings() -> Bindings:
    # required dependencies: a missing one is an error, never a skip
    return _load_bindings()
