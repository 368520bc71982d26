"""The SDK-types check (tests/support/sdk_types.py): its data agrees with the SDKs the project
pins, it catches what it should, it is wired into every test's conformance check, and the fake
Chargebee's resources match chargebee-node's types (issue 13)."""

from __future__ import annotations

import copy
import importlib
import json
import typing
from typing import Any

import pytest
import stripe
from stripe._object_classes import OBJECT_CLASSES

from simulators.chargebee.event_types import EVENT_TYPES
from simulators.core.app import build_app
from simulators.core.server import start_in_thread
from simulators.core.simulator import Simulator
from simulators.registry import create_vendor
from tests.integration.test_chargebee_http import GOOD, KEY, SITE, Site, catalog, declare_site
from tests.support import conformance, sdk_types
from tests.support.recording import Recorded, Recorder
from tests.support.sdk_types import DATA, problems

STRIPE, CHARGEBEE = sdk_types.sdk_types("stripe"), sdk_types.sdk_types("chargebee")
JSON = {"content-type": "application/json"}


# -- the vendored data ----------------------------------------------------------------------------
def test_the_data_names_its_packages_and_carries_their_licences() -> None:
    assert (STRIPE.label, STRIPE.api_version) == ("stripe@23.1.0", "2026-10-28.endive")
    assert CHARGEBEE.label == "chargebee@3.33.0"
    for name in ("stripe", "chargebee"):
        text = (DATA / f"LICENSE.{name}").read_text()
        assert "MIT" in text or "Permission is hereby granted, free of charge" in text
    assert {"invoice", "customer", "payment_intent", "charge", "subscription", "event",
            "refund", "payment_method"} <= set(STRIPE.roots)
    assert {"customer", "subscription", "invoice", "transaction", "card", "payment_source",
            "item_family", "item", "item_price", "event", "webhook_endpoint"} <= set(
        CHARGEBEE.roots)


# stripe-python is looser than stripe-node here: Optional where the node types say required
# and non-null (Stripe's spec leaves them out of `required`; stripe-node keeps them required).
PYTHON_LOOSER = {("person", "account"), ("account", "charges_enabled"),
                 ("account", "details_submitted"), ("account", "payouts_enabled"),
                 ("account", "type"), ("customer", "balance"), ("customer", "invoice_settings"),
                 ("customer", "metadata")}


def test_stripe_python_at_the_same_version_declares_the_same_fields() -> None:
    """stripe-python 16.1.0 (the project's pin) and the vendored stripe-node types: one API
    version, every object's fields by name, and maybe-missing-or-null alike (Python's
    `Optional` is node's `field?:` or `| null`)."""
    assert stripe.api_version == STRIPE.api_version
    disagree = []
    for kind, names in STRIPE.roots.items():
        if kind == "event":
            continue
        module, name = OBJECT_CLASSES[kind]
        annotations = getattr(importlib.import_module(module), name).__annotations__
        python = {k: v for k, v in annotations.items() if k != "OBJECT_NAME"}
        node = STRIPE.types[next(n for n in names if ".Deleted" not in f".{n}")]["fields"]
        assert set(python) == set(node), kind
        for field, hint in python.items():
            spec = node[field]
            maybe = spec["optional"] or spec["type"] == "null" or "null" in (
                spec["type"].get("union", []) if isinstance(spec["type"], dict) else [])
            if (type(None) in typing.get_args(hint)) != maybe:
                disagree.append((kind, field))
    assert set(disagree) == PYTHON_LOOSER


def test_the_fakes_event_types_are_chargebees() -> None:
    declared = CHARGEBEE.types["WebhookEndpoint"]["fields"]["enabled_events"]["type"]["array"]
    assert {member["lit"] for member in declared["union"]} == EVENT_TYPES


# -- what the check catches -----------------------------------------------------------------------
def minimal(sdk: sdk_types.SdkTypes, t: Any) -> Any:
    """The smallest value of an SDK type: required fields only, null wherever allowed."""
    if isinstance(t, str):
        return {"string": "x", "decimal": "1.5", "number": 1, "boolean": False,
                "null": None, "unknown": None}[t]
    if "lit" in t:
        return t["lit"]
    if "union" in t:
        return None if "null" in t["union"] else minimal(sdk, t["union"][0])
    if "array" in t:
        return []
    if "list" in t:
        return {"object": "list", "data": [], "has_more": False, "url": "/v1/x"}
    shape = sdk.types[t["ref"]] if "ref" in t else t["object"]
    return {k: minimal(sdk, s["type"]) for k, s in shape["fields"].items() if not s["optional"]}


def test_a_minimal_stripe_object_passes_and_each_break_is_named() -> None:
    invoice = minimal(STRIPE, {"ref": "Invoice"})
    assert problems("stripe", invoice) == []
    assert problems("stripe", {"object": "list", "data": [invoice], "has_more": False,
                               "url": "/v1/invoices"}) == []
    broken = copy.deepcopy(invoice)
    del broken["amount_due"]
    broken["colour"] = "blue"
    broken["attempted"] = None
    broken["currency"] = 5
    assert sorted(problems("stripe", broken)) == [
        "$.attempted: null where Invoice.attempted declares boolean (stripe@23.1.0)",
        "$.colour: field 'colour' is not declared by Invoice (stripe@23.1.0)",
        "$.currency: a number where Invoice.currency declares string (stripe@23.1.0)",
        "$: field 'amount_due' required by Invoice is missing (stripe@23.1.0)"]


def test_stripe_unions_expansions_lists_and_events() -> None:
    invoice = minimal(STRIPE, {"ref": "Invoice"})
    customer = minimal(STRIPE, {"ref": "Customer"})
    invoice["customer"] = customer  # expanded: Customer | DeletedCustomer | string | null
    assert problems("stripe", invoice) == []
    invoice["customer"] = {"id": "cus_1", "object": "customer", "deleted": True}
    assert problems("stripe", invoice) == []
    invoice["customer"] = {**customer, "phone": 7}
    assert problems("stripe", invoice) == [
        "$.customer.phone: a number where Customer.phone declares null | string "
        "(stripe@23.1.0)"]
    invoice["customer"] = None
    invoice["lines"]["data"] = [{"object": "line_item"}]
    assert any("$.lines.data[0]: field 'id' required by InvoiceLineItem is missing" in p
               for p in problems("stripe", invoice))
    event = minimal(STRIPE, {"ref": "InvoicePaymentFailedEvent"})
    event["api_version"] = STRIPE.api_version
    event["data"]["object"] = minimal(STRIPE, {"ref": "Invoice"})
    assert problems("stripe", event) == []
    del event["data"]["object"]["status"]
    assert problems("stripe", event) == [
        "$.data.object: field 'status' required by Invoice is missing (stripe@23.1.0)"]
    event["api_version"] = "2023-08-16"  # made then: its object is in that version's shape
    assert problems("stripe", event) == []
    del event["pending_webhooks"]
    assert problems("stripe", event) == [
        "$: field 'pending_webhooks' required by InvoicePaymentFailedEvent is missing "
        "(stripe@23.1.0)"]
    declined = {"error": {"type": "card_error", "payment_intent": {"object": "payment_intent"}}}
    assert "$.error.payment_intent: field 'id' required by PaymentIntent is missing " \
           "(stripe@23.1.0)" in problems("stripe", declined)
    assert problems("stripe", {"object": "no_such_thing"}) == [
        "$: object 'no_such_thing' is no type of the SDK (stripe@23.1.0)"]


def test_a_chargebee_response_passes_and_each_break_is_named() -> None:
    subscription = {**minimal(CHARGEBEE, {"ref": "Subscription"}), "object": "subscription",
                    "cf_segment": "SMB"}
    body = {"subscription": subscription,
            "invoice": minimal(CHARGEBEE, {"ref": "Invoice"})}
    assert problems("chargebee", body) == []
    assert problems("chargebee", {"list": [body], "next_offset": "1"}) == []
    broken = copy.deepcopy(body)
    del broken["subscription"]["decommissioned"]
    broken["invoice"]["base_currency_code"] = "USD"
    broken["subscription"]["status"] = "sleeping"
    broken["subscription"]["object"] = "invoice"
    assert sorted(problems("chargebee", {"list": [broken]})) == [
        "$.list[0].invoice.base_currency_code: field 'base_currency_code' is not declared by "
        "Invoice (chargebee@3.33.0)",
        "$.list[0].subscription.object: 'invoice' where Subscription is 'subscription' "
        "(chargebee@3.33.0)",
        "$.list[0].subscription.status: 'sleeping' where Subscription.status declares "
        '"active" | "cancelled" | "future" | "in_trial" | "non_renewing" | ... (chargebee@3.33.0)',
        "$.list[0].subscription: field 'decommissioned' required by Subscription is missing "
        "(chargebee@3.33.0)"]
    assert problems("chargebee", {"subscriptions": {}}) == [
        "$: key 'subscriptions' names no resource of the SDK (chargebee@3.33.0)"]


# -- wired into every test's check ----------------------------------------------------------------
def recorded(path: str, body: Any, **headers: str) -> Recorded:
    return Recorded("GET", path, "", 200, {**JSON, **headers}, json.dumps(body).encode())


def test_the_conformance_check_runs_it(monkeypatch) -> None:
    invoice = minimal(CHARGEBEE, {"ref": "Invoice"})
    found = conformance.sdk_problems("chargebee", recorded("/api/v2/invoices/1",
                                                           {"invoice": {**invoice, "x": 1}}))
    assert found == ["[SDK types] GET /api/v2/invoices/1 -> 200: $.invoice.x: field 'x' is not "
                     "declared by Invoice (chargebee@3.33.0)"]
    bad = {"object": "invoice"}
    at_2023 = recorded("/v1/invoices/in_1", bad, **{"stripe-version": "2023-08-16"})
    at_endive = recorded("/v1/invoices/in_1", bad, **{"stripe-version": STRIPE.api_version})
    assert conformance.sdk_problems("stripe", at_2023) == []  # the 2023 spec's business
    assert conformance.sdk_problems("stripe", at_endive)
    assert conformance._official_spec_applies(at_2023)
    assert not conformance._official_spec_applies(at_endive)  # the SDK types speak for it
    assert any("required by Invoice is missing" in p
               for p in conformance.problems("stripe", at_endive))  # strict: fails the test
    monkeypatch.setitem(conformance.SDK_STRICT, "stripe", False)
    monkeypatch.setattr(conformance, "REPORTED", [])
    assert conformance.problems("stripe", at_endive) == []  # report-only: kept, not failing
    assert any("required by Invoice is missing" in line for line in conformance.REPORTED)


def test_the_sdks_traffic_is_checked_at_its_pinned_version() -> None:
    """Not vacuous: what stripe-python gets from the fake is at the SDK's version, and checked."""
    recorder = Recorder(build_app(Simulator(create_vendor("stripe"), seed=0)))
    server = start_in_thread(recorder)
    try:
        client = stripe.StripeClient("sk_test_sdk_types", base_addresses={"api": server.url})
        customer = client.v1.customers.create({"email": "ada@example.com"})
        client.v1.customers.list()
    finally:
        server.stop()
    assert len(recorder.seen) == 2 and all(conformance.at_sdk_version(r) for r in recorder.seen)
    assert all(conformance.problems("stripe", r) == [] for r in recorder.seen)
    body = json.loads(recorder.seen[0].body)
    assert body["id"] == customer.id
    del body["invoice_settings"]
    broken = Recorded("POST", "/v1/customers", "", 200, recorder.seen[0].headers,
                      json.dumps(body).encode())
    assert conformance.problems("stripe", broken) == [
        "[SDK types] POST /v1/customers -> 200: $: field 'invoice_settings' required by Customer "
        "is missing (stripe@23.1.0)"]


# -- the fake Chargebee against chargebee-node's types (issue 13) ---------------------------------
@pytest.fixture
def site(start_fake) -> Site:
    fake = start_fake("chargebee", tls=True, controlled_clock=True)
    declare_site(fake, SITE, {"api_key": KEY})
    return Site(fake)


def test_subscriptions_invoices_and_transactions_match_the_sdk(site: Site) -> None:
    catalog(site)
    created = site.post("/customers", {"first_name": "Ada", "card[number]": GOOD,
                                       "card[expiry_month]": "12", "card[expiry_year]": "2099"})
    customer = created.json()["customer"]["id"]
    response = site.post(f"/customers/{customer}/subscription_for_items",
                         {"subscription_items[item_price_id][0]": "pro-USD"})
    assert response.status_code == 200, response.text
    body = response.json()
    subscription, invoice = body["subscription"], body["invoice"]
    assert subscription["decommissioned"] is False
    assert subscription["has_scheduled_advance_invoices"] is False
    assert "base_currency_code" not in invoice  # Chargebee declares it on subscriptions only
    transactions = site.get("/transactions").json()["list"]
    assert transactions and all("base_currency_code" not in t["transaction"]
                                for t in transactions)
    assert site.get("/item_families/cloud").json()["item_family"]["deleted"] is False
    assert problems("chargebee", body) == []  # and the fixture checks every response


def test_webhook_endpoints_take_only_chargebees_event_types(site: Site) -> None:
    ok = site.post("/webhook_endpoints", {"name": "a", "url": "https://merchant.test/a",
                                          "api_version": "v2",
                                          "enabled_events[0]": "payment_failed"})
    assert ok.status_code == 200, ok.text
    bad = site.post("/webhook_endpoints", {"name": "b", "url": "https://merchant.test/b",
                                           "api_version": "v2",
                                           "enabled_events[0]": "payment_failed",
                                           "enabled_events[1]": "payment_exploded"})
    assert bad.status_code == 400
    assert (bad.json()["api_error_code"], bad.json()["param"]) == (
        "param_wrong_value", "enabled_events[1]")
