"""The official stripe-python SDK against the fake Stripe over loopback HTTP, changing only the
base URL: customers, cards, charges, declines, refunds, pagination, signed webhooks and the
idempotency guarantees the SDK's own retries rely on."""

from __future__ import annotations

import httpx
import pytest
import stripe

pytestmark = pytest.mark.sdk

KEY = "sk_test_payments_sdk"


def sdk(fake, retries: int = 2) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": fake.url},
                               max_network_retries=retries)


def add_fault(fake, **spec) -> None:
    response = httpx.post(f"{fake.url}/_sim/faults", json=spec)
    assert response.status_code == 201, response.text


def stored(fake, collection: str) -> dict:
    state = httpx.get(f"{fake.url}/_sim/tenants/{KEY}/state").json()
    return state["data"].get(collection, {})


@pytest.fixture
def fake(start_fake):
    return start_fake("stripe")


def test_customer_card_charge_and_refund(fake) -> None:
    client = sdk(fake)
    customer = client.v1.customers.create(params={"email": "ada@example.com",
                                                  "metadata": {"crm_id": "42"}})
    assert customer.id.startswith("cus_") and customer.metadata["crm_id"] == "42"
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert pm.id.startswith("pm_") and pm.id != "pm_card_visa"  # a real object, like Stripe
    assert (pm.customer, pm.card.brand, pm.card.last4) == (customer.id, "visa", "4242")
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": pm.id}})
    listed = client.v1.customers.payment_methods.list(customer.id, params={"type": "card"})
    assert [p.id for p in listed.data] == [pm.id]

    intent = client.v1.payment_intents.create(params={
        "amount": 2500, "currency": "usd", "customer": customer.id, "payment_method": pm.id,
        "confirm": True, "off_session": True, "expand": ["latest_charge"]})
    assert intent.status == "succeeded" and intent.amount_received == 2500
    charge = intent.latest_charge
    assert charge.status == "succeeded" and charge.paid and charge.captured
    assert charge.outcome.network_status == "approved_by_network"
    assert charge.payment_method_details.card.last4 == "4242"

    partial = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    assert partial.status == "succeeded" and partial.charge == charge.id
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    with pytest.raises(stripe.InvalidRequestError) as over:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 2000})
    assert over.value.param == "amount" and "greater than" in over.value.user_message
    client.v1.refunds.create(params={"charge": charge.id})
    assert client.v1.charges.retrieve(charge.id).refunded is True
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()]
    for expected in ("customer.created", "payment_method.attached", "customer.updated",
                     "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                     "charge.refunded", "refund.created"):
        assert expected in types
    assert types.count("charge.refunded") == 2
    only = client.v1.events.list(params={"type": "charge.*"})
    assert {e.type for e in only.data} == {"charge.succeeded", "charge.refunded"}


def test_insufficient_funds_is_a_card_error(fake) -> None:
    client = sdk(fake)
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(params={
            "amount": 900, "currency": "eur", "customer": customer.id, "confirm": True,
            "payment_method": "pm_card_visa_chargeDeclinedInsufficientFunds"})
    error = declined.value
    assert error.http_status == 402
    assert (error.code, error.error.decline_code) == ("card_declined", "insufficient_funds")
    assert error.user_message == "Your card has insufficient funds."
    intent = error.error.payment_intent
    assert intent.status == "requires_payment_method" and intent.payment_method is None
    assert intent.last_payment_error.payment_method.card.last4 == "9995"
    again = client.v1.payment_intents.retrieve(intent.id)
    assert again.latest_charge == error.error.charge
    charges = client.v1.charges.list(params={"payment_intent": intent.id})
    assert [(c.status, c.failure_code) for c in charges.data] == [("failed", "card_declined")]
    # a good card on the same intent then succeeds
    pm = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": customer.id})
    done = client.v1.payment_intents.confirm(intent.id, params={"payment_method": pm.id})
    assert done.status == "succeeded" and done.last_payment_error is None


def test_pagination_of_25_customers(fake) -> None:
    client = sdk(fake)
    created = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id
               for i in range(25)]
    newest_first = list(reversed(created))
    walked = [c.id for c in client.v1.customers.list(params={"limit": 10}).auto_paging_iter()]
    assert walked == newest_first
    pages, after = [], None
    while True:
        params = {"limit": 10, **({"starting_after": after} if after else {})}
        page = client.v1.customers.list(params=params)
        pages.append([c.id for c in page.data])
        if not page.has_more:
            break
        after = page.data[-1].id
    assert [len(p) for p in pages] == [10, 10, 5] and sum(pages, []) == newest_first
    back = client.v1.customers.list(params={"limit": 10, "ending_before": newest_first[15]})
    assert [c.id for c in back.data] == newest_first[5:15] and back.has_more
    by_email = client.v1.customers.list(params={"email": "c3@example.com"})
    assert [c.id for c in by_email.data] == [created[3]]


def test_webhook_endpoint_deliveries_are_signed(fake, receiver) -> None:
    client = sdk(fake)
    endpoint = client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": ["payment_intent.succeeded", "charge.succeeded"]})
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)
    client.v1.payment_intents.create(params={"amount": 700, "currency": "usd",
                                             "payment_method": "pm_card_visa", "confirm": True})
    received = receiver.wait_for(2, timeout=10)
    assert len(received) == 2
    events = [stripe.Webhook.construct_event(r.body.decode(), r.headers["Stripe-Signature"],
                                             endpoint.secret) for r in received]
    assert sorted(e.type for e in events) == ["charge.succeeded", "payment_intent.succeeded"]
    assert all(e.pending_webhooks == 1 for e in events)  # counted before the payload was sent
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received[0].body.decode().replace("700", "701"),
                                       received[0].headers["Stripe-Signature"], endpoint.secret)


def test_sdk_retry_after_a_dropped_response_charges_once(fake) -> None:
    client = sdk(fake)
    add_fault(fake, kind="drop_after", match={"method": "POST", "path": "/v1/payment_intents"},
              first_n=1)
    intent = client.v1.payment_intents.create(params={
        "amount": 1200, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True})
    assert intent.status == "succeeded"
    assert intent.last_response.headers.get("Idempotent-Replayed") == "true"
    listed = client.v1.payment_intents.list()
    assert [p.id for p in listed.data] == [intent.id]
    assert list(stored(fake, "payment_intent")) == [intent.id]
    assert len(stored(fake, "charge")) == 1
    journal = httpx.get(f"{fake.url}/_sim/journal/requests",
                        params={"path": "/v1/payment_intents", "method": "POST"}).json()
    assert [e["outcome"] for e in journal] == ["dropped_after_commit", "ok"]
    assert journal[1].get("replayed") is True
    assert journal[0]["idempotency_key"] == journal[1]["idempotency_key"]


def test_same_key_with_other_parameters_is_an_idempotency_error(fake) -> None:
    client = sdk(fake)
    first = client.v1.customers.create(params={"email": "a@example.com"},
                                       options={"idempotency_key": "key-1"})
    replay = client.v1.customers.create(params={"email": "a@example.com"},
                                        options={"idempotency_key": "key-1"})
    assert replay.id == first.id
    with pytest.raises(stripe.IdempotencyError) as mismatch:
        client.v1.customers.create(params={"email": "b@example.com"},
                                   options={"idempotency_key": "key-1"})
    assert mismatch.value.http_status == 400 and "key-1" in mismatch.value.user_message
    assert len(client.v1.customers.list().data) == 1


def test_key_reused_after_24_hours_runs_again(start_fake) -> None:
    fake = start_fake("stripe", controlled_clock=True)
    client = sdk(fake)
    params = {"email": "late@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "daily"})
    same = client.v1.customers.create(params=params, options={"idempotency_key": "daily"})
    assert same.id == first.id
    assert httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": 90000}).status_code == 200
    later = client.v1.customers.create(params=params, options={"idempotency_key": "daily"})
    assert later.id != first.id and later.created >= first.created + 90000
    assert len(stored(fake, "customer")) == 2
