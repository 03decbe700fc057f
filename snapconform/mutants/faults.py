"""Fault mutants: an injected fault answered with the wrong kind of error."""

from __future__ import annotations

from snapconform.mutants.base import CONTROLLED, Mutant
from snapconform.server.behaviour import Behaviour, EndpointError


class InaccessibleAsError(Behaviour):
    """An injected ResourceInaccessible comes back as a 500 with error_type ERROR.

    HTTP 500 is right for both kinds, so only the error_type tells them apart.
    """

    def fault_problem(self, error_type: str) -> EndpointError:
        problem = super().fault_problem(error_type)
        if error_type != "RESOURCE_INACCESSIBLE":
            return problem
        return EndpointError("ERROR", problem.message_id, problem.default_message, problem.args)


FAULT_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        name="fault-inaccessible-as-error",
        area="contract",
        description="an injected ResourceInaccessible comes back as 500 with error_type ERROR",
        requirements=("FAULT-500",),
        # Only the control protocol can inject a fault.
        modes=CONTROLLED,
        behaviour_class=InaccessibleAsError,
    ),
)
