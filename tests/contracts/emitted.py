"""Provider side of the message pacts: make a fake emit a webhook or notification the way it
does in a run (its provider states, then its own delivery), and hand over what it delivered."""

from __future__ import annotations

import json
from typing import Any

import httpx

from harness.receiver import start_receiver
from tests.contracts.accounts import CHARGEBEE_KEY, NETSUITE_ACCOUNT, STRIPE_KEY
from tests.contracts.provider import pacts_for, serve

Message = dict[str, Any]


def _deliveries(vendor: str, tenant: str, settings: dict[str, Any] | None,
                states: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Every delivery the fake makes once `states` are set up (after `settings` are applied)."""
    receiver = start_receiver()
    try:
        with serve(vendor) as served:
            found = served.sim.tenants.get(tenant)
            assert found is not None, f"the {vendor} fake has no tenant {tenant}"
            for key, value in (settings or {}).items():
                found.settings[key] = value(receiver.url) if callable(value) else value
            for state, params in states:  # as the verifier's state changes would
                params = {k: (v(receiver.url) if callable(v) else v) for k, v in params.items()}
                served.relay.change({"state": state, "params": params, "action": "setup"})
            httpx.post(f"{served.url}/_sim/webhooks/flush").raise_for_status()
            return list(receiver.wait_for(1, timeout=5))  # flush delivers before it answers
    finally:
        receiver.stop()


def _the(deliveries: list[Any], kind: str, field: str) -> Message:
    for delivery in reversed(deliveries):
        if json.loads(delivery.body).get(field) == kind:
            return {"contents": delivery.body, "content_type": "application/json"}
    seen = [json.loads(d.body).get(field) for d in deliveries]
    raise AssertionError(f"the fake delivered no {kind} (it delivered {seen})")


def given(provider: str, description: str) -> list[tuple[str, dict[str, Any]]]:
    """The provider states a message pact names for `description`: what the fake is set up in."""
    for path in pacts_for(provider):
        for interaction in json.loads(path.read_text())["interactions"]:
            if interaction["description"] == description:
                return [(s["name"], s.get("params") or {})
                        for s in interaction.get("providerStates", [])]
    raise AssertionError(f"no pact of {provider} has a message {description!r}")


def stripe_event(description: str, event_type: str) -> Message:
    endpoint = ("a webhook endpoint", {"url": lambda url: url, "enabled_events": [event_type]})
    deliveries = _deliveries("stripe", STRIPE_KEY, None,
                             [endpoint, *given("stripe-webhooks", description)])
    return _the(deliveries, event_type, "type")


def chargebee_event(description: str, event_type: str) -> Message:
    deliveries = _deliveries("chargebee", CHARGEBEE_KEY, {"webhooks": lambda url: [{"url": url}]},
                             given("chargebee-webhooks", description))
    return _the(deliveries, event_type, "event_type")


def netsuite_notification(description: str, record_type: str) -> Message:
    deliveries = _deliveries("netsuite", NETSUITE_ACCOUNT,
                             {"notifications": lambda url: {"url": url}},
                             given("netsuite-notifications", description))
    return _the(deliveries, record_type, "recordType")  # the last change of that type
