"""The official stripe-python SDK against the fake Stripe's billing over loopback HTTP: prices,
subscriptions, renewals on a test clock and on the fake's own clock, Stripe's retry schedule,
the final action after the last retry, and recovery by a new card, `invoices.pay` or
`paid_out_of_band`."""

from __future__ import annotations

import httpx
import pytest
import stripe

pytestmark = pytest.mark.sdk

KEY = "sk_test_billing_sdk"
START = 1_704_067_200  # 2024-01-01T00:00:00Z
FEB_1 = 1_706_745_600
DAY = 86400
HOUR = 3600


def sdk(fake, key: str = KEY) -> stripe.StripeClient:
    # pinned to 2023-08-16, the shapes these tests read (invoice.subscription, .charge, .paid,
    # subscription.current_period_*); the SDK's own version: test_stripe_versions.py
    return stripe.StripeClient(key, base_addresses={"api": fake.url}, max_network_retries=2,
                               stripe_version="2023-08-16")


def use_card(client: stripe.StripeClient, customer: str, token: str) -> str:
    """Attach a test card and make it the customer's default for invoices."""
    pm = client.v1.payment_methods.attach(token, params={"customer": customer})
    client.v1.customers.update(customer, params={
        "invoice_settings": {"default_payment_method": pm.id}})
    return pm.id


def subscribe(client: stripe.StripeClient, *, clock: bool = True, card: str = "pm_card_visa",
              **extra) -> tuple[stripe.StripeObject | None, str, stripe.StripeObject]:
    """A customer (on a new test clock) with `card`, subscribed monthly to a $20 price."""
    test_clock = (client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": START, "name": "renewals"}) if clock else None)
    customer = client.v1.customers.create(params={
        "email": "ada@example.com", **({"test_clock": test_clock.id} if test_clock else {})})
    use_card(client, customer.id, card)
    price = client.v1.prices.create(params={
        "unit_amount": 2000, "currency": "usd", "recurring": {"interval": "month"},
        "product_data": {"name": "Pro plan"}})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}],
        "metadata": {"crm_id": "42"}, "expand": ["latest_invoice"], **extra})
    return test_clock, customer.id, sub


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    clock = client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})
    assert (clock.status, clock.frozen_time) == ("ready", to)


def events(client: stripe.StripeClient, event_type: str) -> list[stripe.StripeObject]:
    return client.v1.events.list(params={"type": event_type, "limit": 100}).data


def controlled(start_fake):
    """A fake Stripe whose clock stands still until advanced."""
    return start_fake("stripe", controlled_clock=True)


def test_failed_renewal_is_retried_on_schedule_then_canceled(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    clock, customer, sub = subscribe(client)
    first = sub.latest_invoice
    assert (sub.status, sub.test_clock, sub.current_period_start) == ("active", clock.id, START)
    assert sub.current_period_end == FEB_1 and sub.items.data[0].id.startswith("si_")
    assert (first.status, first.billing_reason, first.amount_paid) == (
        "paid", "subscription_create", 2000)
    assert first.charge.startswith("ch_") and first.payment_intent.startswith("pi_")

    use_card(client, customer, "pm_card_chargeCustomerFail")  # attaches; charges will fail
    advance(client, clock.id, FEB_1 + 2 * HOUR)
    sub = client.v1.subscriptions.retrieve(sub.id)
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, sub.current_period_start) == ("past_due", FEB_1)
    assert (renewal.billing_reason, renewal.status, renewal.paid) == (
        "subscription_cycle", "open", False)
    assert (renewal.attempted, renewal.attempt_count, renewal.amount_due) == (True, 1, 2000)
    finalized = renewal.status_transitions.finalized_at
    assert finalized == FEB_1 + HOUR  # a renewal stays a draft for about an hour
    assert renewal.next_payment_attempt == finalized + 3 * DAY
    assert renewal.lines.data[0].period.start == FEB_1
    assert renewal.number.endswith("-0002")
    assert renewal.subscription_details.metadata["crm_id"] == "42"
    failed = events(client, "invoice.payment_failed")
    assert [e.data.object.id for e in failed] == [renewal.id]
    assert failed[0].data.object.attempt_count == 1 and failed[0].request.id is None
    updates = [e for e in events(client, "customer.subscription.updated")
               if "status" in e.data.previous_attributes.to_dict()]
    assert updates[0].data.previous_attributes.status == "active"
    assert updates[0].data.object.status == "past_due"

    expected = [(2, 5), (3, 7)]
    for attempts, next_gap in expected:
        previous = renewal.next_payment_attempt
        advance(client, clock.id, previous + 60)
        renewal = client.v1.invoices.retrieve(renewal.id)
        assert renewal.attempt_count == attempts
        assert renewal.next_payment_attempt == previous + next_gap * DAY
        assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    advance(client, clock.id, renewal.next_payment_attempt + 60)
    renewal = client.v1.invoices.retrieve(renewal.id)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert (renewal.attempt_count, renewal.next_payment_attempt) == (4, None)
    assert renewal.status == "uncollectible"
    assert renewal.status_transitions.marked_uncollectible_at is not None
    assert sub.status == "canceled" and sub.cancellation_details.reason == "payment_failed"
    assert sub.ended_at == renewal.status_transitions.marked_uncollectible_at
    assert len(events(client, "invoice.payment_failed")) == 4
    assert [e.data.object.id for e in events(client, "customer.subscription.deleted")] == [
        sub.id]
    assert len(events(client, "invoice.marked_uncollectible")) == 1

    # a canceled subscription bills no more, and is listed only on request
    advance(client, clock.id, sub.ended_at + 30 * DAY)
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert [i.id for i in invoices.data] == [renewal.id, first.id]
    assert client.v1.subscriptions.list(params={"customer": customer}).data == []
    listed = client.v1.subscriptions.list(params={"customer": customer, "status": "all"})
    assert [s.id for s in listed.data] == [sub.id]


def test_a_new_card_and_invoices_pay_recover_the_subscription(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    clock, customer, sub = subscribe(client)
    use_card(client, customer, "pm_card_chargeCustomerFail")
    advance(client, clock.id, FEB_1 + 2 * HOUR)
    invoice_id = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    scheduled = client.v1.invoices.retrieve(invoice_id).next_payment_attempt

    with pytest.raises(stripe.CardError) as declined:  # a manual retry on the same card
        client.v1.invoices.pay(invoice_id)
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    assert declined.value.error.payment_intent.status == "requires_payment_method"
    invoice = client.v1.invoices.retrieve(invoice_id)
    # manual attempts after the first don't count and don't move the schedule
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt == scheduled

    use_card(client, customer, "pm_card_visa")
    paid = client.v1.invoices.pay(invoice_id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.paid, paid.amount_paid, paid.amount_remaining) == (
        "paid", True, 2000, 0)
    assert paid.status_transitions.paid_at == FEB_1 + 2 * HOUR  # the test clock's time
    assert paid.payment_intent.status == "succeeded" and paid.charge.startswith("ch_")
    assert paid.paid_out_of_band is False and paid.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    recovered = [e for e in events(client, "customer.subscription.updated")
                 if e.data.previous_attributes.to_dict().get("status") == "past_due"]
    assert len(recovered) == 1 and recovered[0].data.object.status == "active"
    assert invoice_id in [e.data.object.id for e in events(client, "invoice.paid")]
    assert invoice_id in [e.data.object.id for e in events(client, "invoice.payment_succeeded")]

    advance(client, clock.id, scheduled + HOUR)  # the cancelled retry does not happen
    assert client.v1.invoices.retrieve(invoice_id).attempt_count == 1
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.invoices.pay(invoice_id)
    assert again.value.http_status == 400 and "already paid" in again.value.user_message


def test_paid_out_of_band_void_and_uncollectible(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    clock, customer, sub = subscribe(client)
    use_card(client, customer, "pm_card_chargeCustomerFail")
    advance(client, clock.id, FEB_1 + 2 * HOUR)
    renewal = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    charges = len(client.v1.charges.list(params={"customer": customer, "limit": 100}).data)

    paid = client.v1.invoices.pay(renewal, params={"paid_out_of_band": True})
    assert (paid.status, paid.paid, paid.paid_out_of_band) == ("paid", True, True)
    assert len(client.v1.charges.list(params={"customer": customer, "limit": 100}).data) == (
        charges)  # no charge was made
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(renewal)  # a paid invoice can't be voided

    # the next renewal fails too; the merchant writes it off, then voids it
    march_1 = 1_709_251_200
    advance(client, clock.id, march_1 + 2 * HOUR)
    second = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    assert second != renewal
    written_off = client.v1.invoices.mark_uncollectible(second)
    assert written_off.status == "uncollectible" and written_off.next_payment_attempt is None
    voided = client.v1.invoices.void_invoice(second)
    assert voided.status == "void" and voided.status_transitions.voided_at == march_1 + 2 * HOUR
    advance(client, clock.id, march_1 + 10 * DAY)  # no retries of a void invoice
    assert client.v1.invoices.retrieve(second).attempt_count == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(second)
    listed = client.v1.invoices.list(params={"customer": customer, "status": "void"})
    assert [i.id for i in listed.data] == [second]


def test_renewals_on_the_fakes_own_clock_with_merchant_retry_settings(start_fake) -> None:
    fake = controlled(start_fake)
    key = "sk_test_billing_settings"
    fake.sim.tenants.declare(key, {"billing": {
        "retry_days": [1, 2], "subscription_after_final_attempt": "unpaid",
        "invoice_after_final_attempt": "open", "finalize_after_seconds": 0}})
    client = sdk(fake, key)
    _, customer, sub = subscribe(client, clock=False)
    assert sub.test_clock is None and sub.status == "active"
    period = sub.current_period_end - sub.current_period_start
    use_card(client, customer, "pm_card_chargeCustomerFail")

    def sim_advance(seconds: float) -> None:
        response = httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text

    sim_advance(period + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.status_transitions.finalized_at == sub.current_period_end
    assert (renewal.attempt_count, renewal.next_payment_attempt) == (
        1, sub.current_period_end + DAY)
    sim_advance(DAY)
    renewal = client.v1.invoices.retrieve(renewal.id)
    assert renewal.attempt_count == 2
    assert renewal.next_payment_attempt == sub.current_period_end + 3 * DAY
    sim_advance(2 * DAY)
    renewal = client.v1.invoices.retrieve(renewal.id)
    assert (renewal.attempt_count, renewal.next_payment_attempt, renewal.status) == (
        3, None, "open")  # the merchant leaves the invoice open …
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"  # … the sub unpaid

    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    paid = client.v1.invoices.pay(renewal.id, params={"payment_method": good.id})
    assert paid.status == "paid" and paid.amount_paid == 2000
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_first_payment_and_payment_behaviors(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    price = client.v1.prices.create(params={
        "unit_amount": 900, "currency": "usd", "product_data": {"name": "Basic"},
        "recurring": {"interval": "week", "interval_count": 2}})
    failing = client.v1.customers.create(params={"email": "f@example.com"})
    use_card(client, failing.id, "pm_card_chargeCustomerFail")
    items = [{"price": price.id, "quantity": 2}]

    with pytest.raises(stripe.CardError) as declined:
        client.v1.subscriptions.create(params={
            "customer": failing.id, "items": items, "payment_behavior": "error_if_incomplete"})
    assert declined.value.http_status == 402
    assert client.v1.subscriptions.list(params={"customer": failing.id,
                                                "status": "all"}).data == []

    incomplete = client.v1.subscriptions.create(params={
        "customer": failing.id, "items": items, "expand": ["latest_invoice"]})
    assert incomplete.status == "incomplete"
    assert incomplete.current_period_end - incomplete.current_period_start == 14 * DAY
    first = incomplete.latest_invoice
    assert (first.status, first.amount_due, first.attempt_count) == ("open", 1800, 1)
    assert first.next_payment_attempt is None  # a first invoice is not retried
    httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": 24 * HOUR})
    assert client.v1.subscriptions.retrieve(incomplete.id).status == "incomplete_expired"
    assert client.v1.invoices.retrieve(first.id).status == "void"

    good = client.v1.customers.create(params={"email": "g@example.com"})
    use_card(client, good.id, "pm_card_visa")
    pending = client.v1.subscriptions.create(params={
        "customer": good.id, "items": items, "payment_behavior": "default_incomplete"})
    invoice = client.v1.invoices.retrieve(pending.latest_invoice)
    assert (pending.status, invoice.status, invoice.attempted) == ("incomplete", "open", False)
    assert client.v1.invoices.pay(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(pending.id).status == "active"

    nothing = client.v1.customers.create(params={"email": "n@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as no_card:
        client.v1.subscriptions.create(params={"customer": nothing.id, "items": items})
    assert "no attached payment source or default payment method" in no_card.value.user_message


def test_bad_requests_answer_like_stripe(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    customer = client.v1.customers.create(params={"email": "e@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.create(params={"customer": customer.id,
                                               "items": [{"price": "price_nope"}]})
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (
        404, "resource_missing", "items[0][price]")
    one_time = client.v1.prices.create(params={"unit_amount": 500, "currency": "usd",
                                               "product_data": {"name": "Setup fee"}})
    assert one_time.type == "one_time" and one_time.recurring is None
    with pytest.raises(stripe.InvalidRequestError) as not_recurring:
        client.v1.subscriptions.create(params={"customer": customer.id,
                                               "items": [{"price": one_time.id}]})
    assert "type=recurring" in not_recurring.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.subscriptions.create(params={"customer": customer.id, "colour": "blue"})
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as no_interval:
        client.v1.prices.create(params={"unit_amount": 500, "currency": "usd",
                                        "product": one_time.product,
                                        "recurring": {"interval_count": 2}})
    assert no_interval.value.param == "recurring[interval]"
    with pytest.raises(stripe.InvalidRequestError) as no_invoice:
        client.v1.invoices.retrieve("in_missing")
    assert no_invoice.value.http_status == 404 and no_invoice.value.code == "resource_missing"


def test_test_clock_rules_catalogue_and_cancel_at_period_end(start_fake) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    clock, customer, sub = subscribe(client, cancel_at_period_end=True)
    assert sub.cancel_at_period_end is True and sub.cancel_at == FEB_1
    with pytest.raises(stripe.InvalidRequestError) as backwards:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": START - 1})
    assert backwards.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError):  # more than two intervals at once
        client.v1.test_helpers.test_clocks.advance(clock.id,
                                                   params={"frozen_time": START + 70 * DAY})
    advance(client, clock.id, FEB_1 + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == FEB_1
    assert sub.cancellation_details.reason == "cancellation_requested"
    assert len(client.v1.invoices.list(params={"customer": customer}).data) == 1

    product = client.v1.products.retrieve(sub.items.data[0].price.product)
    renamed = client.v1.products.update(product.id, params={"name": "Pro plan 2024"})
    assert renamed.name == "Pro plan 2024"
    prices = client.v1.prices.list(params={"product": product.id, "active": True})
    assert [p.id for p in prices.data] == [sub.items.data[0].price.id]
    retired = client.v1.prices.update(prices.data[0].id, params={"active": False})
    assert retired.active is False
    assert client.v1.prices.list(params={"product": product.id, "active": True}).data == []

    assert [c.id for c in client.v1.test_helpers.test_clocks.list().data] == [clock.id]
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):  # its customers go with it
        client.v1.customers.retrieve(customer)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.retrieve(sub.id)


def test_the_subscriptions_default_payment_method_comes_before_the_customers(start_fake
                                                                              ) -> None:
    fake = controlled(start_fake)
    client = sdk(fake)
    clock, customer, _ = subscribe(client, card="pm_card_chargeCustomerFail",
                                   payment_behavior="default_incomplete")
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    price = client.v1.prices.list(params={"limit": 1}).data[0]
    sub = client.v1.subscriptions.create(params={
        "customer": customer, "items": [{"price": price.id}],
        "default_payment_method": good.id, "expand": ["latest_invoice.payment_intent"]})
    assert sub.status == "active" and sub.default_payment_method == good.id
    assert sub.latest_invoice.payment_intent.payment_method == good.id

    updated = client.v1.subscriptions.update(sub.id, params={"default_payment_method": ""})
    assert updated.default_payment_method is None  # now the customer's failing card is used
    advance(client, clock.id, FEB_1 + 2 * HOUR)
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert sub.status == "past_due" and sub.latest_invoice.attempt_count == 1
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": good.id})
    advance(client, clock.id, sub.latest_invoice.next_payment_attempt + 60)  # the retry
    sub = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert (sub.status, sub.latest_invoice.status, sub.latest_invoice.attempt_count) == (
        "active", "paid", 2)
