"""Named provider states: set a fake up by name, with the ids given.

A provider state is what a Pact interaction's `given(...)` names ("a customer with a card that
declines"), and what scenario seeding calls: a vendor function that creates objects through the
vendor's own models (so they are exactly what the API would have made) under the ids passed in
`params`, and returns what it created. Each vendor lists its states in `Vendor.provider_states()`;
the control plane serves them at `GET|POST /_sim/states`, in the body Pact's verifier sends to a
state-change URL (`{"state": ..., "params": {...}, "action": "setup"|"teardown"}`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from simulators.core.tenancy import Tenant

# The fake a setup runs on (a Simulator, seen by vendors as a `vendor.Engine`); only passed on,
# so a type parameter rather than an import.
Sim = TypeVar("Sim")

Setup = Callable[[Sim, Tenant, dict[str, Any]], dict[str, Any]]


class StateError(ValueError):
    """A provider state cannot be set up as asked (unknown name, bad or conflicting params)."""


@dataclass(frozen=True)
class ProviderState(Generic[Sim]):
    name: str
    description: str
    setup: Setup[Sim]
    params: dict[str, str] = field(default_factory=dict)  # name -> what it is, its default

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "params": self.params}


def states_by_name(*states: ProviderState[Sim]) -> dict[str, ProviderState[Sim]]:
    """What `Vendor.provider_states()` returns, built from a vendor's list of states."""
    return {state.name: state for state in states}
