"""What the components take asynchronously, fed through their real intake code: Stripe's and
Chargebee's payment-failure webhooks (components/recovery/intake.py, billing.py) and NetSuite's
change notifications (components/sync/feeds.py, which re-reads the record it names)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pact import Pact, match

from components.connectors.netsuite import NetSuiteConnector
from components.connectors.retry import RetryPolicy
from components.context import ERP_INVOICE
from components.domain import invoice_key
from components.recovery import billing, intake
from components.store import Store, open_store
from components.sync.feeds import ErpFeed
from tests.contracts.accounts import NETSUITE_ACCOUNT, NETSUITE_TBA
from tests.contracts.pactfile import RECOVERY, SYNC
from tests.contracts.test_consumer_netsuite import (
    KEY_FIELD,
    OPEN_INVOICE,
    PAYMENT_APPLIED,
    read_currency,
    suiteql_for_notified_invoice,
    suiteql_for_notified_payment,
)

STRIPE_RENEWAL = ("a subscription with an open invoice whose payment failed", {
    "invoice_id": "in_PactRenewal", "customer_id": "cus_PactRenewal",
    "payment_method_id": "pm_PactRenewalCard", "subscription_id": "sub_PactRenewal",
    "decline_code": "insufficient_funds"})
CHARGEBEE_DUNNING = ("a subscription in dunning", {
    "invoice_id": "pact_invoice_in_dunning", "customer_id": "pact_customer",
    "subscription_id": "pact_sub_in_dunning"})
NETSUITE_INVOICE = OPEN_INVOICE
EPOCH = match.int(1767225600)


def _bytes(body: str | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.encode()


def test_stripe_invoice_payment_failed(contract) -> None:
    pact = contract(RECOVERY, "stripe-webhooks")
    name, params = STRIPE_RENEWAL
    (pact.upon_receiving("an invoice.payment_failed event", "Async").given(name, **params)
     .with_body({
         "id": match.regex("evt_1Pact", regex=r"^evt_\w+$"), "object": "event",
         "type": "invoice.payment_failed", "created": EPOCH,
         "data": {"object": {
             "id": "in_PactRenewal", "object": "invoice", "status": "open",
             "customer": "cus_PactRenewal",
             "customer_email": match.str("jenny.rosen@example.com"),
             "amount_remaining": match.int(2000),
             "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
             "attempt_count": match.int(1), "collection_method": "charge_automatically",
             "next_payment_attempt": EPOCH}}},
        content_type="application/json"))
    seen: list[Any] = []

    def take(body: str | bytes, metadata: dict[str, Any]) -> None:
        event = intake.stripe_event(_bytes(body))
        decline = intake.stripe_decline(event)
        assert decline is not None
        state = billing.stripe_invoice_state(event["data"]["object"])
        seen.append((decline.invoice_id, decline.amount, decline.attempt_count,
                     state.status, state.dunning_in_flight))

    pact.verify(take, "Async")
    assert seen == [("in_PactRenewal", 2000, 1, "open", True)]


def test_chargebee_payment_failed(contract) -> None:
    pact = contract(RECOVERY, "chargebee-webhooks")
    name, params = CHARGEBEE_DUNNING
    (pact.upon_receiving("a payment_failed event", "Async").given(name, **params)
     .with_body({
         "id": match.regex("ev_Pact1", regex=r"^ev_\w+$"), "event_type": "payment_failed",
         "occurred_at": EPOCH,
         "content": {
             "invoice": {"id": "pact_invoice_in_dunning", "customer_id": "pact_customer",
                         "subscription_id": "pact_sub_in_dunning", "status": "payment_due",
                         "amount_due": match.int(2000),
                         "currency_code": match.regex("USD", regex=r"^[A-Z]{3}$")},
             "transaction": {
                 "status": "failure", "error_code": match.str("insufficient_funds"),
                 "payment_source_id": match.str("pm_state_card_declines"),
                 "error_detail": {"decline_code": match.str("insufficient_funds")}},
             "customer": {"id": "pact_customer", "email": match.str("ada@example.com")}}},
        content_type="application/json"))
    seen: list[Any] = []

    def take(body: str | bytes, metadata: dict[str, Any]) -> None:
        event = intake.chargebee_event(_bytes(body))
        decline = intake.chargebee_decline(event)
        assert decline is not None
        state = billing.chargebee_invoice_state(event["content"]["invoice"])
        seen.append((decline.invoice_id, decline.decline_code, decline.currency,
                     decline.customer_email, state.status))

    pact.verify(take, "Async")
    assert seen == [("pact_invoice_in_dunning", "insufficient_funds", "usd", "ada@example.com",
                     "open")]


def notified(notice: Pact, erp: Pact, store: Store) -> list[int]:
    """Feed the notice's message to the sync's ERP feed, its NetSuite reads served by `erp`."""
    refreshed: list[int] = []
    with erp.serve() as srv:
        def take(body: str | bytes, metadata: dict[str, Any]) -> None:
            async def go() -> int:
                netsuite = NetSuiteConnector(NETSUITE_ACCOUNT, base_url=str(srv.url),
                                             **NETSUITE_TBA, policy=RetryPolicy(attempts=1))
                try:
                    feed = ErpFeed(store, netsuite, billing="stripe", key_field=KEY_FIELD)
                    return await feed.on_notification(json.loads(body))
                finally:
                    await netsuite.aclose()
            refreshed.append(asyncio.run(go()))

        notice.verify(take, "Async")
    return refreshed


def notification(record_type: str, example_id: str) -> dict[str, Any]:
    return {"eventId": match.str("1234567_SB1-1"), "accountId": match.str(NETSUITE_ACCOUNT),
            "recordType": record_type, "id": match.regex(example_id, regex=r"^\d+$"),
            "type": match.regex("create", regex=r"^(create|edit|delete)$"),
            "lastModifiedDate": match.regex("2026-01-01T00:00:00Z", regex=r"^\d{4}-.+Z$")}


def test_netsuite_invoice_notification(contract, tmp_path: Path) -> None:
    """The notification is a cue: the feed re-reads the invoice (the HTTP pact's query) and
    caches what it found."""
    notice, erp = contract(SYNC, "netsuite-notifications"), contract(SYNC, "netsuite")
    name, params = NETSUITE_INVOICE
    (notice.upon_receiving("an invoice change notification", "Async").given(name, **params)
     .with_body(notification("invoice", "2001"), content_type="application/json"))
    suiteql_for_notified_invoice(erp)
    read_currency(erp)
    store = open_store(f"sqlite:///{tmp_path / 'sync.db'}")
    assert notified(notice, erp, store) == [1]
    cached = store.cache_get(ERP_INVOICE, invoice_key("stripe", "in_PactRenewal"))
    assert cached is not None and (cached["amount_remaining"], cached["currency"]) == (
        2000, "usd")


def test_netsuite_payment_notification(contract, tmp_path: Path) -> None:
    """A payment's notification refreshes the invoices it is applied to (NetSuite runs no user
    event on the invoice whose amount due the payment changed)."""
    notice, erp = contract(SYNC, "netsuite-notifications"), contract(SYNC, "netsuite")
    (notice.upon_receiving("a customer payment change notification", "Async")
     .given(OPEN_INVOICE[0], **OPEN_INVOICE[1]).given(PAYMENT_APPLIED[0])
     .with_body(notification("customerpayment", "3001"), content_type="application/json"))
    suiteql_for_notified_payment(erp)
    suiteql_for_notified_invoice(erp)
    read_currency(erp)
    store = open_store(f"sqlite:///{tmp_path / 'sync.db'}")
    assert notified(notice, erp, store) == [1]
