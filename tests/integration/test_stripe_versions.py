"""The fake Stripe answers in the API version asked for: the official Python SDK (stripe 16.1,
pinned to 2026-10-28.endive) reads invoices, invoice payments, subscriptions and
PaymentIntents in today's shapes; a client pinned to 2023-08-16 still gets the old ones; a
failed renewal reaches each webhook endpoint in its own version; removed parameters and unknown
versions get Stripe's errors."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

pytestmark = pytest.mark.sdk

KEY = "sk_test_versions"
START = 1_704_067_200  # 2024-01-01T00:00:00Z
FEB_1 = 1_706_745_600
MAR_1 = 1_709_251_200
ENDIVE = "2026-10-28.endive"


def sdk(fake: Any, version: str | None = None) -> stripe.StripeClient:
    """The SDK as shipped (its pinned version), or pinned to `version`."""
    pinned = {"stripe_version": version} if version else {}
    return stripe.StripeClient(KEY, base_addresses={"api": fake.url}, max_network_retries=2,
                               **pinned)


@dataclass
class World:
    subscription: str
    item: str
    price: str
    first_invoice: str
    renewal: str


def failed_renewal(fake: Any, endpoints: dict[str, dict[str, Any]] | None = None) -> World:
    """A monthly subscription on a test clock: the first invoice paid by card, the renewal on
    February 1st declined. `endpoints`: webhook endpoints created first (name -> params)."""
    client = sdk(fake)
    for params in (endpoints or {}).values():
        created = client.v1.webhook_endpoints.create(params=params)  # type: ignore[arg-type]
        params["secret"] = created.secret
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    customer = client.v1.customers.create(params={"email": "ada@example.com",
                                                  "test_clock": clock.id})

    def default_card(token: str) -> None:
        pm = client.v1.payment_methods.attach(token, params={"customer": customer.id})
        client.v1.customers.update(customer.id, params={
            "invoice_settings": {"default_payment_method": pm.id}})

    default_card("pm_card_visa")
    price = client.v1.prices.create(params={
        "unit_amount": 2000, "currency": "usd", "recurring": {"interval": "month"},
        "product_data": {"name": "Pro plan"}})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}], "metadata": {"crm": "42"}})
    first = sub.latest_invoice
    default_card("pm_card_chargeCustomerFail")
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": FEB_1 + 7200})
    renewal = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    assert isinstance(first, str) and isinstance(renewal, str) and renewal != first
    return World(sub.id, sub["items"].data[0].id, price.id, first, renewal)


def test_the_python_sdk_reads_todays_shapes(start_fake) -> None:
    fake = start_fake("stripe", controlled_clock=True)
    world = failed_renewal(fake)
    client = sdk(fake)
    assert stripe.api_version == ENDIVE

    invoice = client.v1.invoices.retrieve(world.renewal)
    assert invoice.last_response.headers["Stripe-Version"] == ENDIVE
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == world.subscription
    assert invoice.parent.subscription_details.metadata.to_dict() == {"crm": "42"}
    for gone in ("subscription", "subscription_details", "paid", "payment_intent", "charge",
                 "paid_out_of_band", "total_tax_amounts", "rendering_options", "payments"):
        assert gone not in invoice, gone
    assert (invoice.status, invoice.attempt_count, invoice.total_taxes) == ("open", 1, [])
    line = invoice.lines.data[0]
    assert line.parent.subscription_item_details.subscription_item == world.item
    assert line.pricing.price_details.price == world.price and "price" not in line
    assert line.invoice == world.renewal and "tax_amounts" not in line

    payments = client.v1.invoice_payments.list(params={"invoice": world.renewal}).data
    assert len(payments) == 1 and isinstance(payments[0], stripe.InvoicePayment)
    payment = payments[0]
    assert (payment.status, payment.is_default, payment.amount_requested) == ("open", True, 2000)
    assert payment.payment.type == "payment_intent" and payment.amount_paid is None
    assert client.v1.invoice_payments.retrieve(payment.id).to_dict() == payment.to_dict()
    paid = client.v1.invoice_payments.list(params={"invoice": world.first_invoice}).data[0]
    assert (paid.status, paid.amount_paid) == ("paid", 2000)
    by_intent = client.v1.invoice_payments.list(params={
        "payment": {"type": "payment_intent", "payment_intent": paid.payment.payment_intent}})
    assert [p.id for p in by_intent.data] == [paid.id]

    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert intent.status == "requires_payment_method" and "invoice" not in intent
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "failed" and "invoice" not in charge
    expanded = client.v1.invoices.retrieve(world.renewal, params={
        "expand": ["payments.data.payment.payment_intent"]})
    assert expanded.payments.data[0].payment.payment_intent.id == intent.id

    with pytest.raises(stripe.CardError) as declined:  # objects in errors: the same shape
        client.v1.invoices.pay(world.renewal)
    in_error = declined.value.json_body["error"]["payment_intent"]
    assert "invoice" not in in_error and "customer_account" in in_error

    sub = client.v1.subscriptions.retrieve(world.subscription)
    assert "current_period_end" not in sub and "discount" not in sub
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (FEB_1, MAR_1)
    assert sub.billing_mode.type == "flexible"  # created at 2025-09-30.clover or later
    assert client.v1.subscription_items.retrieve(world.item).current_period_end == MAR_1
    price = client.v1.prices.retrieve(world.price)
    assert "aggregate_usage" not in price.recurring


def test_a_client_pinned_to_2023_08_16_still_gets_the_old_shapes(start_fake) -> None:
    fake = start_fake("stripe", controlled_clock=True)
    world = failed_renewal(fake)
    old = sdk(fake, "2023-08-16")
    invoice = old.v1.invoices.retrieve(world.renewal)
    assert invoice.last_response.headers["Stripe-Version"] == "2023-08-16"
    assert (invoice.subscription, invoice.paid, invoice.paid_out_of_band) == (
        world.subscription, False, False)
    assert invoice.subscription_details.metadata.to_dict() == {"crm": "42"}
    assert "parent" not in invoice and "total_taxes" not in invoice
    intent = old.v1.payment_intents.retrieve(invoice.payment_intent)
    assert intent.invoice == world.renewal and invoice.charge == intent.latest_charge
    assert old.v1.charges.retrieve(invoice.charge).invoice == world.renewal
    line = invoice.lines.data[0]
    assert (line.type, line.subscription_item, line.price.id) == (
        "subscription", world.item, world.price)
    first = old.v1.invoices.retrieve(world.first_invoice)
    assert first.paid is True and first.payment_intent.startswith("pi_")
    sub = old.v1.subscriptions.retrieve(world.subscription)
    assert (sub.current_period_start, sub.current_period_end) == (FEB_1, MAR_1)
    assert "billing_mode" not in sub and "current_period_end" not in sub["items"].data[0]
    assert sub.billing_thresholds is None and sub.discount is None

    # in between: 2025-04-30.basil has parent, but no billing_thresholds (back 2025-05-28)
    basil = sdk(fake, "2025-04-30.basil").v1.subscriptions.retrieve(world.subscription)
    assert "billing_thresholds" not in basil and "current_period_end" not in basil
    assert sdk(fake).v1.subscriptions.retrieve(world.subscription).billing_thresholds is None
    acacia = sdk(fake, "2024-12-18.acacia").v1.invoices.retrieve(world.renewal)
    assert acacia.subscription == world.subscription and acacia.rendering is None
    assert "rendering_options" not in acacia  # renamed in 2024-04-10


def test_the_account_default_version_applies_without_a_header(start_fake) -> None:
    fake = start_fake("stripe", controlled_clock=True)
    world = failed_renewal(fake)
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=fake.url, headers=auth) as http:
        plain = http.get(f"/v1/invoices/{world.renewal}")
        assert plain.headers["stripe-version"] == "2023-08-16"
        assert plain.json()["subscription"] == world.subscription
        fake.sim.tenants.get(KEY).settings["api_version"] = "2025-03-31.basil"
        later = http.get(f"/v1/invoices/{world.renewal}")
        assert later.headers["stripe-version"] == "2025-03-31.basil"
        assert "subscription" not in later.json() and later.json()["parent"]
        asked = http.get(f"/v1/invoices/{world.renewal}", headers={"Stripe-Version": ENDIVE})
        assert asked.headers["stripe-version"] == ENDIVE


def test_unknown_versions_and_removed_parameters_get_stripes_errors(start_fake) -> None:
    fake = start_fake("stripe")
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=fake.url, headers=auth) as http:
        refused = http.get("/v1/customers", headers={"Stripe-Version": "2099-01-01"})
        assert refused.status_code == 400
        assert refused.json() == {"error": {"type": "invalid_request_error",
                                            "message": "Invalid Stripe API version: 2099-01-01"}}
        bad = http.post("/v1/webhook_endpoints", data={
            "url": "https://example.com/hook", "enabled_events[]": "*",
            "api_version": "2019-2-19"})
        assert (bad.status_code, bad.json()["error"]["param"]) == (400, "api_version")

        customer = http.post("/v1/customers", data={"email": "a@example.com"}).json()["id"]
        price = http.post("/v1/prices", data={
            "unit_amount": "100", "currency": "usd", "recurring[interval]": "month",
            "product_data[name]": "P"}).json()["id"]
        sub = {"customer": customer, "items[0][price]": price,
               "billing_thresholds[amount_gte]": "1000"}

        def create(version: str, data: dict[str, str]) -> dict[str, Any]:
            return http.post("/v1/subscriptions", data=data,
                             headers={"Stripe-Version": version}).json()["error"]

        gone = create("2025-04-30.basil", sub)
        assert (gone["code"], gone["param"]) == ("parameter_unknown", "billing_thresholds")
        for version in ("2025-02-24.acacia", "2025-05-28.basil"):  # before and after
            assert "not supported by this fake" in create(version, sub)["message"]
        coupon = create(ENDIVE, {"customer": customer, "items[0][price]": price,
                                 "coupon": "X"})
        assert coupon["message"] == "Received unknown parameter: coupon"

        intent = {"amount": "500", "currency": "usd", "payment_method_types[]": "card"}
        no_longer = http.post("/v1/payment_intents", data=intent,
                              headers={"Stripe-Version": ENDIVE}).json()["error"]
        assert no_longer["code"] == "payment_method_types_no_longer_supported"
        dahlia = http.post("/v1/payment_intents", data=intent,
                           headers={"Stripe-Version": "2026-08-26.dahlia"})
        assert dahlia.status_code == 200 and dahlia.json()["payment_method_types"] == ["card"]

        renamed = http.post("/v1/products", headers={"Stripe-Version": ENDIVE}, data={
            "name": "P", "marketing_features[0][name]": "Fast"}).json()
        assert renamed["marketing_features"] == [{"name": "Fast"}]
        old = http.get(f"/v1/products/{renamed['id']}",
                       headers={"Stripe-Version": "2023-10-16"})
        assert old.json()["features"] == [{"name": "Fast"}]
        stale = http.post("/v1/products", headers={"Stripe-Version": ENDIVE}, data={
            "name": "P", "features[0][name]": "Fast"}).json()["error"]
        assert stale["code"] == "parameter_unknown" and stale["param"] == "features"


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[str, bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((self.path, body, self.headers["Stripe-Signature"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_failed_renewal_reaches_each_endpoint_in_its_own_version(start_fake) -> None:
    receiver = type("Receiver", (_Receiver,), {"got": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    endpoints = {name: {"url": f"{base}/{name}", "enabled_events": ["invoice.payment_failed"],
                        **({"api_version": version} if version else {})}
                 for name, version in (("old", "2024-06-20"), ("new", ENDIVE),
                                       ("default", None))}
    endpoints["new"]["enabled_events"].append("customer.subscription.updated")

    def failures() -> dict[str, dict[str, Any]]:
        return {path.strip("/"): json.loads(body) for path, body, _ in receiver.got
                if b'"invoice.payment_failed"' in body}

    try:
        fake = start_fake("stripe", controlled_clock=True)
        world = failed_renewal(fake, endpoints)
        deadline = time.monotonic() + 10
        while len(failures()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
    for path, body, signature in receiver.got:  # each signed with its endpoint's secret
        stripe.Webhook.construct_event(body, signature, endpoints[path.strip("/")]["secret"])
    events = failures()
    assert sorted(events) == ["default", "new", "old"]
    renewed = [json.loads(body)["data"] for path, body, _ in receiver.got
               if b'"customer.subscription.updated"' in body]
    periods = [d["previous_attributes"]["items"]["data"][0]["current_period_end"]
               for d in renewed if "items" in d.get("previous_attributes", {})]
    assert periods == [FEB_1]  # the period moved: said on the items since 2025-03-31.basil
    assert len({e["id"] for e in events.values()}) == 1  # one event, three renderings
    old, new, default = (events[n]["data"]["object"] for n in ("old", "new", "default"))
    assert [events[n]["api_version"] for n in ("old", "new", "default")] == [
        "2024-06-20", ENDIVE, "2023-08-16"]
    assert old["subscription"] == default["subscription"] == world.subscription
    assert old["payment_intent"] and old["paid"] is False and "rendering" in old
    assert "rendering" not in default and "issuer" not in default  # the 2023-08-16 spec's
    assert new["parent"]["subscription_details"]["subscription"] == world.subscription
    assert not {"subscription", "payment_intent", "charge", "paid"} & set(new)
    assert new["id"] == old["id"] == world.renewal

    listed = sdk(fake).v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert [e.api_version for e in listed] == ["2023-08-16"]  # the account's when created
    assert listed[0].data.object.subscription == world.subscription
