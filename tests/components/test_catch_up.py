"""The engine's catch-up: a decline whose webhooks never reached the engine (it was down longer
than Stripe redelivers, 3 days in live mode) is found on Stripe's event list when the engine
starts again, and decided once: through the same inbox as webhooks, so a late delivery of the
same event is dropped as a duplicate. In-process on virtual time (days cost seconds); the truth
is read from the fakes (charges per MID) and the engine's ledger."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.seeding import Customer, ProviderStates, renewal_fails, seed_topology
from harness.stage import InProcessStage
from harness.topology import Topology, load_topology, webhook_secret
from simulators.core.clock import Clock
from simulators.core.virtual_time import run
from simulators.stripe.events import sign_payload

DAY = 86400.0


async def stripe_get(stage: InProcessStage, key: str, path: str,
                     **params: Any) -> dict[str, Any]:
    response = await stage.http.get(f"{stage.fakes['stripe']}{path}", params=params,
                                    auth=(key, ""))
    response.raise_for_status()
    return dict(response.json())


async def fails_while_the_engine_is_down(stage: InProcessStage, topology: Topology,
                                         merchant: str, index: int) -> tuple[Customer, Any]:
    """Seeded; a minute later the engine is killed and the customer's renewal fails."""
    seeded = await seed_topology(topology, stage.http, stage.fakes, stage.components)
    customer = seeded.customers[merchant][index]
    await stage.sleep(60)
    await stage.kill(merchant, "recovery")
    await renewal_fails(ProviderStates(stage.http, stage.fakes), topology.merchants[merchant],
                        customer, "insufficient_funds")
    return customer, stage.stores[merchant]


@pytest.mark.parametrize("catch_up", [True, False], ids=["catch_up_on", "catch_up_off"])
def test_a_decline_missed_for_3_days_is_decided_once_when_the_engine_is_back(
        catch_up: bool) -> None:
    async def scenario() -> dict[str, Any]:
        topology = load_topology("netsuite-stripe-salesforce")
        m = topology.merchants["acme"]
        m.components.settings["catch_up"] = {"enabled": catch_up}
        primary, alternate = (mid.api_key for mid in m.gateway.mids)
        async with InProcessStage(topology, poll_seconds=60) as stage:
            stripe = stage.world.fakes["stripe"]
            for mid in m.gateway.mids:  # live mode: Stripe redelivers for 3 days, then stops
                stripe.tenants.find(mid.api_key).settings["webhook_retries"] = "live"
            seeded = await seed_topology(topology, stage.http, stage.fakes, stage.components)
            customer = seeded.customers["acme"][0]
            store = stage.stores["acme"]
            await stage.sleep(60)

            await stage.kill("acme", "recovery")
            await renewal_fails(ProviderStates(stage.http, stage.fakes), m, customer,
                                "insufficient_funds")
            await stage.sleep(3 * DAY + 2 * 3600)  # every redelivery refused, then no more
            [event] = (await stripe_get(stage, primary, "/v1/events",
                                        type="invoice.payment_failed"))["data"]
            missed = store.attempts(customer.invoice_key)

            await stage.restart("acme", "recovery")
            await stage.sleep(600)
            decided = store.attempts(customer.invoice_key)
            # Stripe's copy arrives once more anyway (a resend): the inbox drops it
            body = json.dumps(event).encode()
            late = await stage.http.post(
                f"{stage.components['acme'].recovery}/webhooks/stripe", content=body,
                headers={"Stripe-Signature": sign_payload(webhook_secret("acme", m), body,
                                                          int(Clock.wall())),
                         "Content-Type": "application/json"})
            await stage.sleep(2 * DAY)  # later catch-ups do not list it again
            charges = (await stripe_get(stage, alternate, "/v1/charges", limit=100))["data"]
            return {"missed": missed, "decided": decided, "late": late.json(),
                    "after": store.attempts(customer.invoice_key),
                    "taken": [c for c in charges if c["status"] == "succeeded"
                              and c["customer"] == customer.gateway["alternate"][0]]}

    got = run(scenario())
    assert got["missed"] == []  # the engine never heard of it while it was down
    if not catch_up:  # what the catch-up prevents: back up, the engine still knows nothing
        assert got["decided"] == []
        assert got["late"].get("dropped") is None  # only a manual resend brought it at last
        return
    # decided at restart, per policy: insufficient_funds, retried now on the untried alternate
    [attempt] = got["decided"]
    assert (attempt.mid, attempt.status.value) == ("alternate", "succeeded")
    assert got["late"] == {"received": True, "dropped": "duplicate"}
    assert got["after"] == got["decided"]
    assert len(got["taken"]) == 1  # one charge took the customer's money, from the fake


def test_a_decline_caught_up_inside_the_redelivery_window_is_not_decided_again() -> None:
    """The engine is back before Stripe gave up (sandbox: redeliveries 1 h, 3 h and 6 h apart):
    the catch-up at start decides the decline, and Stripe's next redelivery is answered 2xx and
    dropped as a duplicate."""
    async def scenario() -> tuple[list[Any], list[Any], dict[str, Any], dict[str, Any]]:
        topology = load_topology("netsuite-stripe-salesforce")
        m = topology.merchants["acme"]
        primary = m.gateway.mids[0].api_key
        async with InProcessStage(topology, poll_seconds=30) as stage:
            customer, store = await fails_while_the_engine_is_down(stage, topology, "acme", 1)
            await stage.sleep(2 * 3600)  # the 1-hour redelivery was refused too
            await stage.restart("acme", "recovery")
            await stage.sleep(600)
            caught = store.attempts(customer.invoice_key)
            await stage.sleep(DAY)  # the 4-hour redelivery comes, and the daily catch-ups
            [event] = (await stripe_get(stage, primary, "/v1/events",
                                        type="invoice.payment_failed"))["data"]
            again = await stage.merchants["acme"].recovery.catch_up()
            return caught, store.attempts(customer.invoice_key), event, again

    caught, after, event, again = run(scenario())
    assert [a.status.value for a in caught] == ["succeeded"]
    assert after == caught
    assert event["pending_webhooks"] == 0  # Stripe delivered it at last (answered 2xx)
    assert again["listed"] == 0 and again["errors"] == []  # past the caught-up point


def test_a_chargebee_decline_missed_for_3_days_is_decided_when_the_engine_is_back() -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        topology = load_topology("salesforce-cpq-chargebee-stripe")
        async with InProcessStage(topology, poll_seconds=60) as stage:
            customer, store = await fails_while_the_engine_is_down(stage, topology, "initech",
                                                                   0)
            await stage.sleep(3 * DAY + 3600)  # Chargebee retries for about 2 days
            missed = store.attempts(customer.invoice_key)
            await stage.restart("initech", "recovery")
            await stage.sleep(600)
            return missed, store.attempts(customer.invoice_key)

    missed, decided = run(scenario())
    assert missed == []
    assert len(decided) == 1, decided  # the engine owns the retries: it retried once, now


@pytest.mark.parametrize(("data", "says"), [
    ({"catch_up": {"overlap_seconds": 86400}, "sync": {"retention_seconds": 3600}},
     "must be shorter than sync.retention_seconds"),
    ({"catch_up": {"interval_seconds": 0}},
     "catch_up.interval_seconds: Input should be greater than 0"),
    ({"catch_up": {"first_lookback_seconds": 40 * 86400}},
     "catch_up.first_lookback_seconds: Input should be less than or equal to 2592000"),
    ({"catch_up": {"every": 60}}, "catch_up.every: unknown key"),
])
def test_catch_up_settings_are_checked_with_the_fix(data: dict[str, Any], says: str) -> None:
    from components.settings import SettingsError, settings_from_dict

    with pytest.raises(SettingsError) as raised:
        settings_from_dict({"merchant": "acme", "billing": "stripe", **data, "stripe": {
            "mids": [{"name": "primary", "api_key": "sk_test_1"}]}}, "acme.yaml")
    assert says in str(raised.value), str(raised.value)


def test_without_the_inbox_there_is_no_catch_up() -> None:
    """It relies on the inbox to drop what the webhooks brought already."""
    from components.settings import settings_from_dict

    data = {"merchant": "acme", "billing": "stripe", "protections": {"inbox": False},
            "stripe": {"mids": [{"name": "primary", "api_key": "sk_test_1"}]}}
    assert settings_from_dict(data).catch_up.enabled is False
    assert settings_from_dict({**data, "protections": {}}).catch_up.enabled is True
