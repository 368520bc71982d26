"""The fake Chargebee driven by the official `chargebee` SDK (3.x) over https, changing only its
host: custom fields from a site schema, renewals and dunning on the controlled clock, recovery by
collect_payment, list paging, idempotent replays and webhook endpoints."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from chargebee import (
    APIError,
    Chargebee,
    InvalidRequestError,
    OperationFailedError,
    PaymentError,
)

from simulators.client import ControlClient

SITE, KEY = "acme-test", "test_acme_key_1"
SCHEMA = Path(__file__).resolve().parents[2] / "scenarios/schemas/chargebee-custom-fields.yaml"
GOOD, DECLINES, UNSTORABLE = "4111111111111111", "4005519200000004", "4119862760338320"
DAY = 86400


@pytest.fixture
def fake(start_fake):
    fake = start_fake("chargebee", tls=True, controlled_clock=True)
    with ControlClient(fake.url, verify=fake.ca_file) as control:
        control.declare_tenant(SITE, {"api_key": KEY}, schema=SCHEMA)
    return fake


@pytest.fixture
def cb(fake, monkeypatch) -> Chargebee:
    # The SDK reads these class attributes on every request (toolchain-notes §7).
    monkeypatch.setattr(Chargebee, "verify_ca_certs", True)
    monkeypatch.setattr(Chargebee, "ca_cert_path", fake.ca_file)
    port = urlsplit(fake.url).port
    return Chargebee(api_key=KEY, site="127", chargebee_domain=f"0.0.1:{port}")


def advance(fake, seconds: float) -> None:
    response = httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": seconds},
                          verify=ssl.create_default_context(cafile=fake.ca_file))
    assert response.status_code == 200, response.text


def now(fake) -> float:
    return fake.sim.clock.now()


def card(number: str) -> dict:
    return {"number": number, "expiry_month": 12, "expiry_year": 2099, "cvv": "100"}


def catalog(cb: Chargebee, price: int = 2500) -> str:
    cb.ItemFamily.create({"id": "cloud", "name": "Cloud"})
    cb.Item.create({"id": "pro", "name": "Pro", "type": "plan", "item_family_id": "cloud"})
    result = cb.ItemPrice.create({"id": "pro-USD-monthly", "name": "Pro USD Monthly",
                                  "item_id": "pro", "pricing_model": "per_unit", "price": price,
                                  "currency_code": "USD", "period": 1, "period_unit": "month"})
    return result.item_price.id


def subscribe(cb: Chargebee, number: str = GOOD, quantity: int = 2) -> tuple:
    customer = cb.Customer.create({"first_name": "Ada", "email": "ada@example.com",
                                   "card": card(number)}).customer
    result = cb.Subscription.create_with_items(customer.id, {
        "subscription_items": [{"item_price_id": "pro-USD-monthly", "quantity": quantity}],
        "cf_po_number": "PO-7"})
    return customer, result.subscription, result.invoice


def test_customer_custom_fields_follow_the_site_schema(cb) -> None:
    created = cb.Customer.create({
        "first_name": "Ada", "email": "ada@example.com", "cf_segment": "Enterprise",
        "cf_salesforce_account_id": "001xx000003DGb2AAG", "cf_billing_contact_email":
            "ap@example.com"}).customer
    fetched = cb.Customer.retrieve(created.id).customer
    assert fetched.cf_segment == "Enterprise"
    assert fetched.cf_salesforce_account_id == "001xx000003DGb2AAG"
    assert fetched.raw_data["cf_dunning_opt_out"] is False  # the schema's default
    updated = cb.Customer.update(created.id, {"cf_segment": "SMB"}).customer
    assert updated.cf_segment == "SMB" and updated.first_name == "Ada"

    with pytest.raises(InvalidRequestError) as unknown:
        cb.Customer.create({"first_name": "Bo", "cf_loyalty_tier": "gold"})
    assert unknown.value.http_status_code == 400
    assert unknown.value.param == "cf_loyalty_tier"
    assert unknown.value.api_error_code == "invalid_request"
    assert unknown.value.json_obj["error_param"] == "cf_loyalty_tier"

    with pytest.raises(InvalidRequestError) as wrong:
        cb.Customer.create({"first_name": "Bo", "cf_segment": "Galactic"})
    assert wrong.value.api_error_code == "param_wrong_value"
    assert wrong.value.param == "cf_segment"
    assert "not in allowed values" in str(wrong.value)
    with pytest.raises(InvalidRequestError) as not_email:
        cb.Customer.update(created.id, {"cf_billing_contact_email": "nope"})
    assert not_email.value.param == "cf_billing_contact_email"
    assert [c.customer.id for c in cb.Customer.list().list] == [created.id]  # nothing else


def test_cards_on_the_test_gateway(cb) -> None:
    catalog(cb)
    with pytest.raises(PaymentError) as unstorable:
        cb.Customer.create({"first_name": "Cy", "card": card(UNSTORABLE)})
    assert unstorable.value.api_error_code == "payment_method_verification_failed"
    with pytest.raises(PaymentError) as declined:
        subscribe(cb, DECLINES)
    assert declined.value.http_status_code == 400
    assert declined.value.api_error_code == "payment_processing_failed"
    assert "Insufficient funds" in str(declined.value)
    failed = cb.Transaction.list({"status": {"is": "failure"}}).list
    assert [t.transaction.error_code for t in failed] == ["insufficient_funds"]
    assert failed[0].transaction.error_detail.decline_code == "insufficient_funds"
    assert cb.Subscription.list().list == []


def test_failed_renewal_runs_dunning_to_not_paid(cb, fake) -> None:
    catalog(cb)
    customer, sub, first = subscribe(cb)
    assert first.status == "paid" and first.total == 5000
    assert sub.status == "active" and sub.cf_po_number == "PO-7"
    cb.PaymentSource.create_card({"customer_id": customer.id, "card": card(DECLINES),
                                  "replace_primary_payment_source": True})
    advance(fake, sub.current_term_end - now(fake))  # the renewal is due

    due = cb.Invoice.list({"subscription_id": {"is": sub.id},
                           "status": {"is": "payment_due"}}).list
    assert len(due) == 1
    invoice = due[0].invoice
    renewed_at = sub.current_term_end
    assert invoice.dunning_status == "in_progress"
    assert invoice.next_retry_at == renewed_at + 3 * DAY
    txn = cb.Transaction.retrieve(invoice.dunning_attempts[0].transaction_id).transaction
    assert (txn.status, txn.error_code, txn.error_text) == (
        "failure", "insufficient_funds", "Insufficient funds")
    types = [e.event.event_type for e in cb.Event.list({"limit": 20}).list]
    assert {"subscription_renewed", "invoice_generated", "payment_failed"} <= set(types)
    assert cb.Subscription.retrieve(sub.id).subscription.status == "active"

    advance(fake, 3 * DAY)
    assert cb.Invoice.retrieve(invoice.id).invoice.next_retry_at == renewed_at + 5 * DAY
    advance(fake, 4 * DAY)  # the retries at +5 and +7 days both fail
    final = cb.Invoice.retrieve(invoice.id).invoice
    assert (final.status, final.dunning_status) == ("not_paid", "exhausted")
    assert final.next_retry_at is None
    assert [a.attempt for a in final.dunning_attempts] == [0, 1, 2, 3]
    cancelled = cb.Subscription.list({"status": {"is": "cancelled"},
                                      "customer_id": {"is": customer.id}}).list
    assert [s.subscription.id for s in cancelled] == [sub.id]
    assert cancelled[0].subscription.cancel_reason == "not_paid"
    failures = cb.Event.list({"event_type": {"is": "payment_failed"}}).list
    assert len(failures) == 4


def test_collect_payment_after_a_new_card_ends_dunning(cb, fake) -> None:
    catalog(cb)
    customer, sub, _ = subscribe(cb, quantity=1)
    cb.PaymentSource.create_card({"customer_id": customer.id, "card": card(DECLINES),
                                  "replace_primary_payment_source": True})
    advance(fake, sub.current_term_end - now(fake) + DAY)
    invoice = cb.Invoice.list({"dunning_status": {"is": "in_progress"}}).list[0].invoice
    with pytest.raises(PaymentError):
        cb.Invoice.collect_payment(invoice.id)  # still the declining card

    good = cb.PaymentSource.create_card({"customer_id": customer.id, "card": card(GOOD),
                                         "replace_primary_payment_source": True})
    assert good.customer.primary_payment_source_id == good.payment_source.id
    result = cb.Invoice.collect_payment(invoice.id)
    assert result.transaction.status == "success" and result.transaction.amount == 2500
    assert (result.invoice.status, result.invoice.dunning_status) == ("paid", "success")
    assert result.invoice.amount_due == 0 and result.invoice.next_retry_at is None
    advance(fake, 10 * DAY)  # no retry is left to run
    after = cb.Invoice.retrieve(invoice.id).invoice
    assert after.status == "paid" and len(after.dunning_attempts) == 1
    assert cb.Subscription.retrieve(sub.id).subscription.status == "active"
    with pytest.raises(InvalidRequestError) as paid:
        cb.Invoice.collect_payment(invoice.id)
    assert paid.value.http_status_code == 409
    assert paid.value.api_error_code == "invalid_state_for_request"


def test_list_paging_with_next_offset(cb) -> None:
    ids = {cb.Customer.create({"first_name": f"C{i}"}).customer.id for i in range(7)}
    seen, offset, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"offset": offset} if offset else {})}
        page = cb.Customer.list(params)
        seen += [entry.customer.id for entry in page.list]
        pages += 1
        offset = page.next_offset
        if not offset:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == ids
    with pytest.raises(InvalidRequestError) as too_many:
        cb.Customer.list({"limit": 101})
    assert too_many.value.param == "limit"


def test_idempotent_replay(cb, fake) -> None:
    headers = {"chargebee-idempotency-key": "create-ada-1"}
    first = cb.Customer.create({"first_name": "Ada"}, headers)
    again = cb.Customer.create({"first_name": "Ada"}, headers)
    assert again.customer.id == first.customer.id
    assert (first.is_idempotency_replayed, again.is_idempotency_replayed) == (False, True)
    assert len(fake.sim.tenants.find(SITE).collection("customer")) == 1
    advance(fake, 31 * 60)  # kept for 30 minutes
    later = cb.Customer.create({"first_name": "Ada"}, headers)
    assert later.customer.id != first.customer.id and not later.is_idempotency_replayed


def test_webhook_endpoint_created_through_the_api(cb, fake, receiver) -> None:
    created = cb.WebhookEndpoint.create({
        "name": "ops", "url": receiver.url, "basic_auth_username": "hook",
        "basic_auth_password": "s3cret", "enabled_events": ["customer_created"]})
    assert "basic_auth_password" not in created.webhook_endpoint.raw_data
    customer = cb.Customer.create({"first_name": "Ada", "cf_segment": "SMB"}).customer
    cb.Customer.update(customer.id, {"last_name": "L"})  # customer_changed: not enabled
    received = receiver.wait_for(1)
    assert len(received) == 1
    assert received[0].headers["Authorization"] == "Basic aG9vazpzM2NyZXQ="
    event = cb.Event.list({"event_type": {"is": "customer_created"}}).list[0].event
    assert event.content["customer"]["cf_segment"] == "SMB"


def test_pause_resume_stop_dunning_and_record_payment(cb, fake) -> None:
    catalog(cb, price=3000)
    customer, sub, _ = subscribe(cb, quantity=1)
    cb.PaymentSource.create_card({"customer_id": customer.id, "card": card(DECLINES),
                                  "replace_primary_payment_source": True})
    renewal = sub.current_term_end
    advance(fake, renewal - now(fake))
    invoice = cb.Invoice.list({"status": {"is": "payment_due"}}).list[0].invoice
    paused = cb.Invoice.pause_dunning(invoice.id, {"expected_payment_date":
                                                   int(renewal + 10 * DAY)}).invoice
    assert paused.next_retry_at is None and paused.expected_payment_date == renewal + 10 * DAY
    advance(fake, DAY)
    resumed = cb.Invoice.resume_dunning(invoice.id).invoice
    assert resumed.next_retry_at == renewal + 3 * DAY
    stopped = cb.Invoice.stop_dunning(invoice.id).invoice
    assert stopped.dunning_status == "stopped" and stopped.next_retry_at is None
    advance(fake, 10 * DAY)
    assert len(cb.Invoice.retrieve(invoice.id).invoice.dunning_attempts) == 1
    with pytest.raises(InvalidRequestError) as not_in_dunning:
        cb.Invoice.stop_dunning(invoice.id)
    assert not_in_dunning.value.api_error_code == "invalid_state_for_request"

    part = cb.Invoice.record_payment(invoice.id, {"transaction": {
        "payment_method": "bank_transfer", "amount": 1000, "reference_number": "wire-1"}})
    assert (part.invoice.status, part.invoice.amount_due) == ("payment_due", 2000)
    rest = cb.Invoice.record_payment(invoice.id, {"transaction": {"payment_method": "check"}})
    assert (rest.invoice.status, rest.invoice.amount_paid) == ("paid", 3000)
    assert rest.transaction.payment_method == "check" and rest.transaction.amount == 2000
    assert cb.Subscription.retrieve(sub.id).subscription.due_invoices_count == 0


def test_sdk_sees_faults_as_its_exceptions(cb, fake) -> None:
    def fault(**spec) -> None:
        response = httpx.post(f"{fake.url}/_sim/faults", json={**spec, "first_n": 1},
                              verify=ssl.create_default_context(cafile=fake.ca_file))
        assert response.status_code == 201

    fault(kind="rate_limit", retry_after=3)
    with pytest.raises(OperationFailedError) as limited:
        cb.Customer.list()  # retries are off (the SDK's default): no endless 429 loop
    assert limited.value.api_error_code == "api_request_limit_exceeded"
    assert limited.value.http_headers["retry-after"] == "3"
    fault(kind="http_error", status=503)
    with pytest.raises(APIError) as unavailable:
        cb.Customer.list()
    assert unavailable.value.http_status_code == 503
    assert unavailable.value.api_error_code == "internal_temporary_error"
    assert cb.Customer.list().list == []
