"""Per vendor: how a client authenticates, the objects a run addresses (Schemathesis cannot guess
ids), and the vendor's native error body, which every 4xx a fake answers must be."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import schemathesis
from requests_oauthlib import OAuth1
from schemathesis.checks import CheckContext

from simulators.chargebee.vendor import DEMO_KEY
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE

STRIPE_VERSION = "2023-08-16"  # the vendored official spec's version
STRIPE_KEY = "sk_test_schemathesis"
SF_VERSION = "v59.0"
NS_TOKEN = "/services/rest/auth/oauth2/v1/token"


@dataclass(frozen=True)
class Vendor:
    name: str
    prefix: str  # the vendor's operations (the rest of the document is the control plane)
    session: Callable[[str], requests.Session]
    seed: Callable[[str, requests.Session], dict[str, str]]
    native: Callable[[Any, str], bool]  # is this 4xx body (to this path) the vendor's error?


# -- sessions -------------------------------------------------------------------------------------
def stripe_session(url: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {STRIPE_KEY}",
                            "Stripe-Version": STRIPE_VERSION})
    return session


def chargebee_session(url: str) -> requests.Session:
    session = requests.Session()
    token = base64.b64encode(f"{DEMO_KEY}:".encode()).decode()
    session.headers["Authorization"] = f"Basic {token}"
    return session


def netsuite_session(url: str) -> requests.Session:
    """Token-based auth (OAuth 1.0a, every request signed): the account's usual credentials."""
    session = requests.Session()
    session.auth = OAuth1(NETSUITE["consumer_key"], NETSUITE["consumer_secret"],
                          NETSUITE["token_id"], NETSUITE["token_secret"],
                          signature_method="HMAC-SHA256", realm=DEMO_ACCOUNT)
    return session


def salesforce_session(url: str) -> requests.Session:
    form = {"grant_type": "client_credentials", "client_id": SALESFORCE["client_id"],
            "client_secret": SALESFORCE["client_secret"]}
    token = requests.post(f"{url}/services/oauth2/token", data=form, timeout=10)
    assert token.status_code == 200, token.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


# -- known objects --------------------------------------------------------------------------------
def _ok(response: requests.Response) -> Any:
    assert response.status_code < 300, f"{response.request.method} {response.url}: {response.text}"
    return response.json() if response.content else None


def stripe_seed(url: str, s: requests.Session) -> dict[str, str]:
    v1 = f"{url}/v1"
    customer = _ok(s.post(f"{v1}/customers", data={"email": "st@example.com"}))["id"]
    method = _ok(s.post(f"{v1}/payment_methods/pm_card_visa/attach",
                        data={"customer": customer}))["id"]
    _ok(s.post(f"{v1}/customers/{customer}",
               data={"invoice_settings[default_payment_method]": method}))
    product = _ok(s.post(f"{v1}/products", data={"name": "Pro"}))["id"]
    price = _ok(s.post(f"{v1}/prices", data={"product": product, "unit_amount": "1000",
                                             "currency": "usd",
                                             "recurring[interval]": "month"}))["id"]
    sub = _ok(s.post(f"{v1}/subscriptions", data={"customer": customer,
                                                  "items[0][price]": price}))
    intent = _ok(s.post(f"{v1}/payment_intents", data={
        "amount": "500", "currency": "usd", "customer": customer, "payment_method": method,
        "confirm": "true", "off_session": "true"}))
    refund = _ok(s.post(f"{v1}/refunds", data={"payment_intent": intent["id"], "amount": "1"}))
    clock = _ok(s.post(f"{v1}/test_helpers/test_clocks", data={"frozen_time": "1700000000"}))
    hook = _ok(s.post(f"{v1}/webhook_endpoints", data={"url": "http://127.0.0.1:9/h",
                                                       "enabled_events[0]": "*"}))
    event = _ok(s.get(f"{v1}/events", params={"limit": "1"}))["data"][0]["id"]
    return {"customer": customer, "payment_method": method, "id": product, "price": price,
            "subscription_exposed_id": sub["id"], "item": sub["items"]["data"][0]["id"],
            "invoice": sub["latest_invoice"] if isinstance(sub["latest_invoice"], str)
            else sub["latest_invoice"]["id"],
            "intent": intent["id"], "charge": intent["latest_charge"], "refund": refund["id"],
            "test_clock": clock["id"], "webhook_endpoint": hook["id"], "event": event}


def chargebee_seed(url: str, s: requests.Session) -> dict[str, str]:
    v2 = f"{url}/api/v2"
    _ok(s.post(f"{v2}/item_families", data={"id": "cloud", "name": "Cloud"}))
    _ok(s.post(f"{v2}/items", data={"id": "pro", "name": "Pro", "type": "plan",
                                    "item_family_id": "cloud"}))
    _ok(s.post(f"{v2}/item_prices", data={"id": "pro-USD", "name": "Pro USD", "item_id": "pro",
                                          "price": "1000", "period_unit": "month",
                                          "pricing_model": "per_unit"}))
    customer = _ok(s.post(f"{v2}/customers", data={
        "first_name": "Ada", "card[number]": "4111111111111111", "card[expiry_month]": "12",
        "card[expiry_year]": "2099"}))["customer"]
    created = _ok(s.post(f"{v2}/customers/{customer['id']}/subscription_for_items",
                         data={"subscription_items[item_price_id][0]": "pro-USD"}))
    hook = _ok(s.post(f"{v2}/webhook_endpoints", data={"name": "ops",
                                                      "url": "http://127.0.0.1:9/h"}))
    transaction = _ok(s.get(f"{v2}/transactions"))["list"][0]["transaction"]["id"]
    event = _ok(s.get(f"{v2}/events"))["list"][0]["event"]["id"]
    return {"customer_id": customer["id"], "subscription_id": created["subscription"]["id"],
            "invoice_id": created["invoice"]["id"], "transaction_id": transaction,
            "payment_source_id": created["customer"]["primary_payment_source_id"],
            "item_family_id": "cloud", "item_id": "pro", "item_price_id": "pro-USD",
            "event_id": event, "webhook_endpoint_id": hook["webhook_endpoint"]["id"]}


def netsuite_seed(url: str, s: requests.Session) -> dict[str, str]:
    record = f"{url}/services/rest/record/v1"
    made = {}
    for kind, body in (
            ("customer", {"companyName": "Schemathesis"}),
            ("invoice", {"entity": {"id": "1"},
                         "item": {"items": [{"item": {"id": "7"}, "amount": 100}]}}),
            ("customerPayment", {"customer": {"id": "1"}, "payment": 10,
                                 "apply": {"items": [{"doc": {"id": "1"}, "amount": 10}]}})):
        created = s.post(f"{record}/{kind}", json=body)
        assert created.status_code == 204, created.text
        made[kind] = created.headers["Location"].rsplit("/", 1)[1]
    return {"recordType": "customer", "id": made["customer"], "targetType": "customer"}


def salesforce_seed(url: str, s: requests.Session) -> dict[str, str]:
    made = _ok(s.post(f"{url}/services/data/{SF_VERSION}/sobjects/Account",
                      json={"Name": "Schemathesis"}))
    return {"version": SF_VERSION, "sobject": "Account", "id": made["id"], "field": "Id",
            "value": made["id"]}


# -- native errors --------------------------------------------------------------------------------
def oauth_error(body: Any) -> bool:
    """RFC 6749's error body: what the OAuth 2.0 token endpoints answer (NetSuite's too)."""
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def stripe_native(body: Any, path: str) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("type"), str) and "message" in error


def chargebee_native(body: Any, path: str) -> bool:
    return isinstance(body, dict) and {"message", "api_error_code", "error_code",
                                       "http_status_code"} <= set(body)


def netsuite_native(body: Any, path: str) -> bool:
    if path == NS_TOKEN:
        return oauth_error(body)
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    return (isinstance(details, list) and bool(details)
            and all({"detail", "o:errorCode"} <= set(d) for d in details))


def salesforce_native(body: Any, path: str) -> bool:
    if path.startswith("/services/oauth2/"):
        return oauth_error(body) and "error_description" in body
    return (isinstance(body, list) and bool(body)
            and all(isinstance(e, dict) and {"message", "errorCode"} <= set(e) for e in body))


VENDORS = {v.name: v for v in (
    Vendor("stripe", "/v1/", stripe_session, stripe_seed, stripe_native),
    Vendor("chargebee", "/api/v2/", chargebee_session, chargebee_seed, chargebee_native),
    Vendor("netsuite", "/services/", netsuite_session, netsuite_seed, netsuite_native),
    Vendor("salesforce", "/services/", salesforce_session, salesforce_seed, salesforce_native),
)}


def native_error(vendor: Vendor) -> Callable[..., Any]:
    """A Schemathesis check: a 4xx body is the vendor's own error shape."""

    def check(ctx: CheckContext, response: Any, case: Any) -> bool | None:
        if 400 <= response.status_code < 500:
            try:
                body = response.json()
            except ValueError:
                body = None
            assert vendor.native(body, case.formatted_path), (
                f"{response.status_code} is not {vendor.name}'s native error: "
                f"{response.text[:300]}")
        return None

    check.__name__ = f"{vendor.name}_native_error"
    return schemathesis.check(check)
