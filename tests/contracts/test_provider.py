"""Every fake honours every pact the components hold it to (contracts/pacts/, or a broker's)."""

from __future__ import annotations

import json

import pytest

from tests.contracts import emitted
from tests.contracts.provider import pacts_for, serve, verify, verify_messages


def described(provider: str) -> set[str]:
    """The interactions the committed pacts ask of `provider`."""
    return {i["description"] for path in pacts_for(provider)
            for i in json.loads(path.read_text())["interactions"]}


HTTP_PROVIDERS = ["stripe", "chargebee", "netsuite", "salesforce"]


@pytest.mark.parametrize("vendor", HTTP_PROVIDERS)
def test_fake_honours_the_pacts(vendor: str) -> None:
    with serve(vendor) as served:
        result = verify(served)
    assert result.passed, result.output
    missed = [d for d in described(vendor) if d not in result.output]
    assert not missed, f"not verified: {missed}"


MESSAGES = {  # provider -> message description -> what makes the fake emit it
    "stripe-webhooks": {"an invoice.payment_failed event": lambda: emitted.stripe_event(
        "an invoice.payment_failed event", "invoice.payment_failed")},
    "chargebee-webhooks": {"a payment_failed event": lambda: emitted.chargebee_event(
        "a payment_failed event", "payment_failed")},
    "netsuite-notifications": {
        "an invoice change notification": lambda: emitted.netsuite_notification(
            "an invoice change notification", "invoice"),
        "a customer payment change notification": lambda: emitted.netsuite_notification(
            "a customer payment change notification", "customerpayment")},
}


@pytest.mark.parametrize("provider", sorted(MESSAGES))
def test_fake_emits_what_the_message_pacts_expect(provider: str) -> None:
    assert described(provider) == set(MESSAGES[provider]), "a message pact without a producer"
    result = verify_messages(provider, MESSAGES[provider])
    assert result.passed, result.output
    missed = [d for d in described(provider) if d not in result.output]
    assert not missed, f"not verified: {missed}"


def test_every_provider_in_the_pacts_is_verified() -> None:
    from tests.contracts.pactfile import PACTS

    providers = {json.loads(p.read_text())["provider"]["name"] for p in PACTS.glob("*.json")}
    assert providers == set(HTTP_PROVIDERS) | set(MESSAGES)


def test_pacts_can_come_from_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """PACT_BROKER_BASE_URL replaces the committed files as the source (here a loopback port
    with no broker behind it: the verification fails, naming the broker it tried)."""
    import socket

    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        broker = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("PACT_BROKER_BASE_URL", broker)
    monkeypatch.setenv("PACT_PUBLISH_RESULTS", "1")
    monkeypatch.delenv("PACT_PROVIDER_VERSION", raising=False)
    with serve("chargebee") as served:
        with pytest.raises(RuntimeError, match="PACT_PROVIDER_VERSION"):
            verify(served)
        monkeypatch.setenv("PACT_PROVIDER_VERSION", "0.0.0-test")
        result = verify(served)
    assert not result.passed
    assert broker in result.output + str(result.results)
