"""The Stripe connector against the fake Stripe: in-process on virtual time for the flows and
faults, and once over loopback HTTP to show the SDK path works on real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.retry import RetryPolicy
from components.connectors.stripe import (
    StripeConnector,
    invoice_paid_out_of_band,
    invoice_payment_refs,
)
from components.domain import AttemptStatus
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run
from simulators.landscape import Landscape

KEY = "sk_test_connector_mid_primary"
GOOD_CARD = "a customer with a card that succeeds"
BAD_CARD = "a customer with a card that declines"
FAILED_RENEWAL = "a subscription with an open invoice whose payment failed"
INTENTS = "/v1/payment_intents"


class Sleeps(list[float]):
    """A RetryPolicy's sleep that records the waits instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class World:
    def __init__(self, landscape: Landscape, http: httpx.AsyncClient, sleeps: Sleeps,
                 stripe: StripeConnector) -> None:
        self.landscape, self.http, self.sleeps, self.stripe = landscape, http, sleeps, stripe

    @property
    def fake(self) -> Any:
        return self.landscape.fakes["stripe"]

    def fault(self, kind: str, path: str = INTENTS, method: str = "POST", **spec: Any) -> Any:
        return self.fake.faults.add(FaultSpec(kind=kind, match=Match(path=path, method=method),
                                              **spec), self.landscape.clock.now())

    async def state(self, name: str, **params: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.landscape.url('stripe')}/_sim/states",
                                        json={"state": name, "params": params, "tenant": KEY})
        assert response.status_code == 200, response.text
        return response.json()["created"]


def in_world(scenario: Callable[[World], Awaitable[Any]], **policy: Any) -> Any:
    async def main() -> Any:
        sleeps = Sleeps()
        async with Landscape(["stripe"], seed=11) as landscape, landscape.client() as http:
            connector = StripeConnector(KEY, base_url=landscape.url("stripe"), http=http,
                                        policy=RetryPolicy(sleep=sleeps, **policy))
            try:
                return await scenario(World(landscape, http, sleeps, connector))
            finally:
                await connector.aclose()
    return run(main())


async def charge(world: World, card: dict[str, Any], key: str = "attempt-1",
                 **extra: Any) -> Any:
    return await world.stripe.charge(
        amount=2000, currency="usd", customer=card["customer_id"],
        payment_method=card["payment_method_id"], idempotency_key=key,
        metadata={"invoice_key": "stripe:in_1", "attempt": key}, **extra)


def test_a_charge_succeeds_and_is_found_by_its_metadata() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        result = await charge(world, card, description="recovery attempt 1")
        assert result.status is AttemptStatus.SUCCEEDED
        assert result.payment_id.startswith("pi_") and result.charge_id.startswith("ch_")
        assert not result.replayed and result.decline_code is None
        intent = await world.stripe.get_payment_intent(result.payment_id)
        assert intent["metadata"] == {"invoice_key": "stripe:in_1", "attempt": "attempt-1"}
        found = await world.stripe.find_payment_by_metadata("attempt", "attempt-1")
        assert [i["id"] for i in found] == [result.payment_id]
        assert await world.stripe.find_payment_by_metadata("attempt", "attempt-2") == []

    in_world(scenario)


def test_a_decline_is_a_result_with_its_code() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(BAD_CARD, decline_code="insufficient_funds")
        result = await charge(world, card)
        assert result.status is AttemptStatus.DECLINED
        assert result.decline_code == "insufficient_funds"
        assert result.payment_id.startswith("pi_") and result.charge_id.startswith("ch_")
        intent = await world.stripe.get_payment_intent(result.payment_id)
        assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"
        assert world.sleeps == []  # a decline is an answer, never retried

    in_world(scenario)


def test_a_dropped_response_is_retried_under_the_same_key_and_charges_once() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("drop_after", first_n=1)
        result = await charge(world, card)
        assert result.status is AttemptStatus.SUCCEEDED and result.replayed
        assert len(world.sleeps) == 1
        intents = await world.stripe.list_payment_intents(customer=card["customer_id"])
        assert [i["id"] for i in intents] == [result.payment_id]
        posts = world.fake.journal.entries(path=INTENTS, method="POST")
        assert {e["idempotency_key"] for e in posts} == {"attempt-1"} and len(posts) == 2

    in_world(scenario)


def test_a_dropped_decline_comes_back_as_the_same_decline() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(BAD_CARD, decline_code="stolen_card")
        world.fault("drop_after", first_n=1)
        result = await charge(world, card)
        assert (result.status, result.decline_code) == (AttemptStatus.DECLINED, "stolen_card")
        assert result.replayed
        assert len(await world.stripe.list_payment_intents(customer=card["customer_id"])) == 1

    in_world(scenario)


def test_a_hung_request_times_out_and_is_retried_under_the_same_key() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("hang", seconds=60, first_n=1)
        started = world.landscape.clock.now()
        result = await charge(world, card)
        assert result.status is AttemptStatus.SUCCEEDED and len(world.sleeps) == 1
        assert world.landscape.clock.now() - started < 60  # the policy's timeout, not the hang
        assert len(await world.stripe.list_payment_intents(customer=card["customer_id"])) == 1

    in_world(scenario, timeout=5)


def test_a_429_waits_its_retry_after_then_succeeds() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("rate_limit", retry_after=7, first_n=1)
        result = await charge(world, card)
        assert result.status is AttemptStatus.SUCCEEDED and not result.replayed
        assert world.sleeps == [7.0]

    in_world(scenario)


def test_a_retry_after_beyond_the_policy_is_raised_at_once() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("rate_limit", retry_after=120, first_n=1)
        with pytest.raises(VendorError) as raised:
            await charge(world, card)
        assert raised.value.kind is ErrorKind.RATE_LIMITED and raised.value.retry_after == 120
        assert world.sleeps == []

    in_world(scenario)


def test_500s_are_unavailable_once_the_attempts_run_out() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        fault = world.fault("http_error", status=500)
        with pytest.raises(VendorError) as raised:
            await charge(world, card)
        assert raised.value.kind is ErrorKind.UNAVAILABLE and raised.value.status == 500
        assert fault.hits == 3 and len(world.sleeps) == 2
        assert await world.stripe.list_payment_intents(customer=card["customer_id"]) == []

    in_world(scenario, attempts=3)


def test_a_key_in_use_is_a_conflict_that_is_retried() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("http_error", status=409, code="idempotency_key_in_use", first_n=1)
        result = await charge(world, card)
        assert result.status is AttemptStatus.SUCCEEDED and len(world.sleeps) == 1

    in_world(scenario)


def test_paying_out_of_band_twice_pays_once_without_an_error() -> None:
    async def scenario(world: World) -> None:
        invoice_id = (await world.state(FAILED_RENEWAL))["invoice_id"]
        first = await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="oob-1")
        assert first["status"] == "paid" and invoice_paid_out_of_band(first)
        again = await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="oob-2")
        assert again["id"] == invoice_id and again["status"] == "paid"
        replay = await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="oob-1")
        assert replay["status"] == "paid"
        paid = await world.stripe.list_invoices(status="paid")
        assert [i["id"] for i in paid].count(invoice_id) == 1
        assert world.sleeps == []

    in_world(scenario)


def test_paying_an_invoice_declines_then_an_already_paid_one_is_a_conflict() -> None:
    async def scenario(world: World) -> None:
        invoice_id = (await world.state(FAILED_RENEWAL))["invoice_id"]
        declined = await world.stripe.pay_invoice(invoice_id, idempotency_key="pay-1")
        assert declined.status is AttemptStatus.DECLINED
        assert declined.decline_code == "insufficient_funds"
        invoice = await world.stripe.get_invoice(invoice_id)
        assert declined.payment_id == invoice_payment_refs(invoice)[0]
        await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="oob-1")
        with pytest.raises(VendorError) as raised:
            await world.stripe.pay_invoice(invoice_id, idempotency_key="pay-2")
        assert raised.value.kind is ErrorKind.CONFLICT
        assert raised.value.code == "invoice_already_paid"
        assert world.sleeps == []  # not retried, though CONFLICT is retryable

    in_world(scenario)


def test_paying_an_invoice_with_another_card_succeeds() -> None:
    async def scenario(world: World) -> None:
        renewal = await world.state(FAILED_RENEWAL)
        good = await world.state(GOOD_CARD, customer_id=renewal["customer_id"],
                                 payment_method_id="pm_ConnectorGoodCard00000")
        paid = await world.stripe.pay_invoice(renewal["invoice_id"], idempotency_key="pay-1",
                                              payment_method=good["payment_method_id"])
        assert paid.status is AttemptStatus.SUCCEEDED and paid.payment_id.startswith("pi_")
        invoice = await world.stripe.get_invoice(renewal["invoice_id"])
        assert invoice["status"] == "paid"
        assert invoice_payment_refs(invoice) == (paid.payment_id, paid.charge_id)

    in_world(scenario)


def test_lists_follow_pages_up_to_the_cap() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        made = [(await charge(world, card, key=f"attempt-{n}")).payment_id for n in range(5)]
        listed = await world.stripe.list_payment_intents(customer=card["customer_id"],
                                                         page_size=2)
        assert sorted(i["id"] for i in listed) == sorted(made)
        assert len(world.fake.journal.entries(path=INTENTS, method="GET")) == 3
        capped = await world.stripe.list_payment_intents(customer=card["customer_id"],
                                                         page_size=2, limit_total=3)
        assert len(capped) == 3
        since = await world.stripe.list_payment_intents(created_gte=2**40)
        assert since == []

    in_world(scenario)


def test_reads_and_their_errors() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD, email="grace@example.com")
        found = await world.stripe.find_customer_by_email("grace@example.com")
        assert found is not None and found["id"] == card["customer_id"]
        assert await world.stripe.find_customer_by_email("nobody@example.com") is None
        assert (await world.stripe.get_customer(card["customer_id"]))["email"] == \
            "grace@example.com"
        method = await world.stripe.get_payment_method(card["payment_method_id"])
        assert method["card"]["last4"] == "4242"
        with pytest.raises(VendorError) as missing:
            await world.stripe.get_invoice("in_missing")
        assert missing.value.kind is ErrorKind.NOT_FOUND
        with pytest.raises(VendorError) as no_card:  # Stripe: 404 resource_missing
            await charge(world, {**card, "payment_method_id": "pm_nope"})
        assert (no_card.value.kind, no_card.value.code) == (ErrorKind.NOT_FOUND,
                                                            "resource_missing")
        with pytest.raises(VendorError) as invalid:
            await world.stripe.charge(amount=-5, currency="usd", customer=card["customer_id"],
                                      payment_method=card["payment_method_id"],
                                      idempotency_key="bad", metadata={})
        assert (invalid.value.kind, invalid.value.status) == (ErrorKind.INVALID, 400)
        assert world.sleeps == []

    in_world(scenario)


def test_a_refused_key_is_auth_and_an_unreachable_host_is_unavailable() -> None:
    async def scenario(world: World) -> None:
        policy = RetryPolicy(attempts=2, sleep=world.sleeps)
        wrong = StripeConnector("sk_live_wrong", base_url=world.landscape.url("stripe"),
                                http=world.http, policy=policy)
        with pytest.raises(VendorError) as refused:
            await wrong.get_customer("cus_x")
        assert refused.value.kind is ErrorKind.AUTH
        nowhere = StripeConnector(KEY, base_url="http://nowhere.fake", http=world.http,
                                  policy=policy)
        with pytest.raises(VendorError) as unreachable:
            await nowhere.get_customer("cus_x")
        assert unreachable.value.kind is ErrorKind.UNAVAILABLE
        assert len(world.sleeps) == 1  # the unreachable host was tried twice

    in_world(scenario)


def test_a_drop_before_an_unretried_policy_is_an_unknown_outcome() -> None:
    async def scenario(world: World) -> None:
        card = await world.state(GOOD_CARD)
        world.fault("drop_before", first_n=1)
        with pytest.raises(UnknownOutcome):
            await charge(world, card)

    in_world(scenario, attempts=1)


@pytest.mark.sdk
def test_over_loopback_http_charges_declines_and_survives_a_dropped_connection(
        start_fake: Callable[..., Any]) -> None:
    fake = start_fake("stripe")

    def state(name: str, **params: Any) -> dict[str, Any]:
        response = httpx.post(f"{fake.url}/_sim/states",
                              json={"state": name, "params": params, "tenant": KEY})
        assert response.status_code == 200, response.text
        return response.json()["created"]

    good = state(GOOD_CARD)
    bad = state(BAD_CARD, customer_id="cus_ConnectorDeclines", decline_code="lost_card",
                payment_method_id="pm_ConnectorDeclines00000")

    async def main() -> tuple[Any, Any, Any, Sleeps]:
        sleeps = Sleeps()
        connector = StripeConnector(KEY, base_url=fake.url,
                                    policy=RetryPolicy(sleep=sleeps, timeout=5))
        try:
            ok = await connector.charge(
                amount=1500, currency="usd", customer=good["customer_id"],
                payment_method=good["payment_method_id"], idempotency_key="loop-1",
                metadata={"invoice_key": "stripe:in_loop"})
            declined = await connector.charge(
                amount=1500, currency="usd", customer=bad["customer_id"],
                payment_method=bad["payment_method_id"], idempotency_key="loop-2",
                metadata={"invoice_key": "stripe:in_loop"})
            fake.sim.faults.add(FaultSpec(kind="drop_after", first_n=1,
                                          match=Match(path=INTENTS, method="POST")),
                                fake.sim.clock.now())
            dropped = await connector.charge(
                amount=1500, currency="usd", customer=good["customer_id"],
                payment_method=good["payment_method_id"], idempotency_key="loop-3",
                metadata={"invoice_key": "stripe:in_loop"})
            return ok, declined, dropped, sleeps
        finally:
            await connector.aclose()

    ok, declined, dropped, sleeps = asyncio.run(main())
    assert ok.status is AttemptStatus.SUCCEEDED and ok.payment_id.startswith("pi_")
    assert (declined.status, declined.decline_code) == (AttemptStatus.DECLINED, "lost_card")
    assert dropped.status is AttemptStatus.SUCCEEDED and dropped.replayed
    assert len(sleeps) == 1
    intents = httpx.get(f"{fake.url}/v1/payment_intents", auth=(KEY, ""),
                        params={"customer": good["customer_id"]}).json()["data"]
    assert len(intents) == 2
