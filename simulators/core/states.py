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


# -- parameters: what each state takes, with its defaults ----------------------------------------
ParamSpec = dict[str, tuple[str, Any]]  # param -> (what it is, its default; None: optional)


class Described(str):
    """A default told in words (the vendor's own, or picked from the schema): the param is None
    unless given, and the words are what `GET /_sim/states` shows."""


def take_params(params: dict[str, Any], spec: ParamSpec) -> dict[str, Any]:
    """Every param of `spec`, given or defaulted; an unknown one is a StateError."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise StateError(f"unknown param(s) {', '.join(unknown)}; this state takes "
                         f"{', '.join(spec)}")
    return {name: params.get(name, None if isinstance(default, Described) else default)
            for name, (_, default) in spec.items()}


def describe_params(spec: ParamSpec) -> dict[str, str]:
    """`ProviderState.params`: each param with what it is and its default."""
    return {name: f"{text} (default: {default})" if default is not None else f"{text} (optional)"
            for name, (text, default) in spec.items()}


def field_values(value: Any, param: str) -> dict[str, Any]:
    """A param holding more fields of a record (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StateError(f"{param} must be an object of field values, not {value!r}")
    return value
