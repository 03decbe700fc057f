"""Conformance: the contract requirements (one test per requirement of the catalogue)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from snapconform.engine.registry import Requirement, requirements_for


@pytest.mark.parametrize(
    "requirement",
    [
        pytest.param(r, id=r.id, marks=pytest.mark.requirement(r))
        for r in requirements_for("contract")
    ],
)
def test_requirement(
    requirement: Requirement, snapconform_check: Callable[[Requirement], None]
) -> None:
    snapconform_check(requirement)
