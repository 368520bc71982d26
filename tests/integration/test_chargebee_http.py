"""The fake Chargebee over raw HTTP(S): native error bodies for bad input and for every injected
fault, idempotency mismatches, per-plan rate limits, site resolution by key, Chargebee's
index-last form encoding, and webhooks with Basic auth and Chargebee's retry schedule."""

from __future__ import annotations

import base64
import json
import ssl

import httpx
import pytest

from simulators.client import ControlClient

SITE, KEY = "acme-test", "test_acme_key_1"
GOOD, DECLINES = "4111111111111111", "4005519200000004"
ERROR_FIELDS = {"message", "api_error_code", "error_code", "error_msg", "http_status_code"}


def basic(key: str = KEY) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class Site:
    """A raw client for one site of a running fake."""

    def __init__(self, fake, key: str = KEY) -> None:
        self.fake = fake
        # no keep-alive: an idle pooled connection would hold up the fake's shutdown
        self.http = httpx.Client(base_url=f"{fake.url}/api/v2",
                                 headers={**basic(key), "connection": "close"},
                                 verify=ssl.create_default_context(cafile=fake.ca_file))

    def post(self, path: str, data: dict | list | None = None, **headers: str) -> httpx.Response:
        return self.http.post(path, data=data, headers=headers)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def control(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(f"{self.fake.url}/_sim{path}", json=body,
                          verify=ssl.create_default_context(cafile=self.fake.ca_file))


@pytest.fixture
def fake(start_fake):
    fake = start_fake("chargebee", tls=True, controlled_clock=True)
    declare_site(fake, SITE, {"api_key": KEY})
    return fake


def declare_site(fake, site: str, settings: dict) -> None:
    with ControlClient(fake.url, verify=fake.ca_file) as control:
        control.declare_tenant(site, settings)


@pytest.fixture
def site(fake) -> Site:
    return Site(fake)


def assert_native(response: httpx.Response, status: int, code: str,
                  type_: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= ERROR_FIELDS, body
    assert body["api_error_code"] == body["error_code"] == code
    assert body["http_status_code"] == status and body["error_msg"] == body["message"]
    assert body.get("type") == type_
    return body


def catalog(site: Site) -> None:
    assert site.post("/item_families", {"id": "cloud", "name": "Cloud"}).status_code == 200
    assert site.post("/items", {"id": "pro", "name": "Pro", "type": "plan",
                                "item_family_id": "cloud"}).status_code == 200
    response = site.post("/item_prices", {"id": "pro-USD", "name": "Pro USD", "item_id": "pro",
                                          "price": "1000", "period_unit": "month",
                                          "pricing_model": "per_unit"})
    assert response.status_code == 200, response.text


def customer_with(site: Site, number: str) -> str:
    response = site.post("/customers", {"first_name": "Ada", "card[number]": number,
                                        "card[expiry_month]": "12", "card[expiry_year]": "2099"})
    assert response.status_code == 200, response.text
    assert response.json()["card"]["last4"] == number[-4:]
    return response.json()["customer"]["id"]


def test_authentication_failures(fake, site) -> None:
    anonymous = httpx.get(f"{fake.url}/api/v2/customers",
                          verify=ssl.create_default_context(cafile=fake.ca_file))
    body = assert_native(anonymous, 401, "api_authentication_failed")
    assert "authentication failed" in body["message"]
    assert_native(Site(fake, "test_wrong_key").get("/customers"), 401,
                  "api_authentication_failed")
    assert site.get("/customers").json() == {"list": []}


def test_unknown_key_names_a_site_when_no_site_declares_keys(start_fake) -> None:
    fake = start_fake("chargebee", tls=True)
    first, second = Site(fake, "site_a_key"), Site(fake, "site_b_key")
    assert first.post("/customers", {"id": "c1"}).status_code == 200
    assert second.get("/customers").json() == {"list": []}  # another site
    assert first.get("/customers/c1").json()["customer"]["id"] == "c1"


def test_not_found_and_method_not_allowed(site) -> None:
    body = assert_native(site.get("/customers/nobody"), 404, "resource_not_found",
                         "invalid_request")
    assert body["message"] == "Sorry, we couldn't find that resource"
    assert_native(site.get("/no_such_resource"), 404, "resource_not_found", "invalid_request")
    assert_native(site.http.delete("/customers"), 405, "http_method_not_supported",
                  "invalid_request")
    body = assert_native(site.post("/customers/nobody/subscription_for_items"), 404,
                         "resource_not_found", "invalid_request")


def test_bad_parameters(site) -> None:
    catalog(site)
    customer = site.post("/customers", {"first_name": "Ada"}).json()["customer"]["id"]
    body = assert_native(site.post("/customers", {"id": customer}), 400, "duplicate_entry",
                         "invalid_request")
    assert body["param"] == body["error_param"] == "id"
    body = assert_native(site.post(f"/customers/{customer}/subscription_for_items",
                                   {"subscription_items[item_price_id][0]": "nope"}),
                         404, "resource_not_found", "invalid_request")
    assert body["param"] == "subscription_items[item_price_id][0]"
    # no schema on this site: any cf_ field is unknown
    body = assert_native(site.post("/customers", {"cf_segment": "SMB"}), 400,
                         "invalid_request", "invalid_request")
    assert body["param"] == "cf_segment"
    assert_native(site.get("/customers", limit="0"), 400, "param_wrong_value",
                  "invalid_request")


def test_declined_charge_is_a_400_payment_error(site) -> None:
    catalog(site)
    customer = customer_with(site, DECLINES)
    form = {"subscription_items[item_price_id][0]": "pro-USD",
            "subscription_items[quantity][0]": "3"}
    body = assert_native(site.post(f"/customers/{customer}/subscription_for_items", form),
                         400, "payment_processing_failed", "payment")
    assert "USD 30.00" in body["message"] and "Insufficient funds" in body["message"]
    good = customer_with(site, GOOD)
    created = site.post(f"/customers/{good}/subscription_for_items", form).json()
    assert created["invoice"]["status"] == "paid" and created["invoice"]["total"] == 3000
    assert created["subscription"]["subscription_items"][0]["quantity"] == 3
    listed = site.get("/subscriptions", **{"status[in]": "[active,cancelled]",
                                           "customer_id[is]": good}).json()
    assert [e["subscription"]["id"] for e in listed["list"]] == [created["subscription"]["id"]]
    assert listed["list"][0]["customer"]["id"] == good and "next_offset" not in listed


def test_idempotency_replay_and_mismatch(site) -> None:
    first = site.post("/customers", {"first_name": "Ada"}, **{"chargebee-idempotency-key": "k1"})
    replay = site.post("/customers", {"first_name": "Ada"}, **{"chargebee-idempotency-key": "k1"})
    assert replay.json() == first.json()
    assert replay.headers["chargebee-idempotency-replayed"] == "true"
    assert "chargebee-idempotency-replayed" not in first.headers
    mismatch = site.post("/customers", {"first_name": "Bo"}, **{"chargebee-idempotency-key": "k1"})
    assert_native(mismatch, 422, "unable_to_process_request", "invalid_request")
    too_long = site.post("/customers", {"first_name": "Bo"},
                         **{"chargebee-idempotency-key": "k" * 101})
    assert_native(too_long, 400, "param_wrong_value", "invalid_request")
    assert len(site.get("/customers").json()["list"]) == 1


@pytest.mark.parametrize("spec,status,code,type_", [
    ({"kind": "http_error", "status": 500}, 500, "internal_error", None),
    ({"kind": "http_error", "status": 503}, 503, "internal_temporary_error", None),
    ({"kind": "http_error", "status": 400, "code": "payment_processing_failed"}, 400,
     "payment_processing_failed", "payment"),
    ({"kind": "http_error", "status": 409}, 409, "invalid_state_for_request", "invalid_request"),
    ({"kind": "brownout", "window_end": 60}, 503, "internal_temporary_error", None),
    ({"kind": "rate_limit", "retry_after": 7}, 429, "api_request_limit_exceeded",
     "operation_failed"),
    ({"kind": "auth_expired"}, 401, "api_authentication_failed", None),
    ({"kind": "concurrency_limit", "limit": 0}, 429, "lock_timeout", "operation_failed"),
    ({"kind": "http_error", "status": 500, "after_commit": True}, 500, "internal_error", None),
])
def test_every_fault_renders_chargebees_body(site, spec, status, code, type_) -> None:
    assert site.control("/faults", {**spec, "first_n": 1}).status_code == 201
    response = site.post("/customers", {"id": "faulted"})
    assert_native(response, status, code, type_)
    if spec["kind"] == "rate_limit":
        assert response.headers["retry-after"] == "7"
    stored = site.get("/customers/faulted").status_code
    assert stored == (200 if spec.get("after_commit") else 404)


def test_decline_fault_fails_the_charge(site) -> None:
    catalog(site)
    customer = customer_with(site, GOOD)
    site.control("/faults", {"kind": "decline", "code": "do_not_honor", "first_n": 1,
                             "match": {"path": "*/subscription_for_items"}})
    response = site.post(f"/customers/{customer}/subscription_for_items",
                         {"subscription_items[item_price_id][0]": "pro-USD"})
    assert_native(response, 400, "payment_processing_failed", "payment")
    txn = site.get("/transactions").json()["list"][0]["transaction"]
    assert txn["status"] == "failure" and txn["error_code"] == "do_not_honor"


def test_plan_rate_limit_per_site(fake) -> None:
    declare_site(fake, "small-site", {"api_key": "small_key", "rate_limit_per_minute": 3})
    small, other = Site(fake, "small_key"), Site(fake)
    assert [small.get("/customers").status_code for _ in range(3)] == [200, 200, 200]
    limited = small.get("/customers")
    assert_native(limited, 429, "api_request_limit_exceeded", "operation_failed")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.get("/customers").status_code == 200  # limits are per site


def test_webhook_with_basic_auth_and_retries(fake, receiver) -> None:
    declare_site(fake, SITE, {"webhooks": [{
        "url": receiver.url, "basic_auth_username": "cb", "basic_auth_password": "pw"}]})
    site = Site(fake)
    receiver.statuses = [500]  # the first attempt fails
    customer = site.post("/customers", {"first_name": "Ada"}).json()["customer"]
    assert len(receiver.wait_for(1)) == 1
    assert site.control("/clock/advance", {"seconds": 119}).status_code == 200
    assert len(receiver.received) == 1  # Chargebee retries after 2 minutes, not before
    site.control("/clock/advance", {"seconds": 1})
    received = receiver.wait_for(2)
    assert len(received) == 2 and received[0].body == received[1].body
    expected = "Basic " + base64.b64encode(b"cb:pw").decode()
    assert received[1].headers["Authorization"] == expected
    event = json.loads(received[1].body)
    assert event["id"].startswith("ev_") and event["object"] == "event"
    assert (event["event_type"], event["api_version"]) == ("customer_created", "v2")
    assert event["content"]["customer"]["id"] == customer["id"]
    stored = site.get(f"/events/{event['id']}").json()["event"]
    assert stored["webhook_status"] == "succeeded"
    quiet = site.post("/customers", {"first_name": "Bo"},
                      **{"chargebee-event-webhook": "all-disabled"})
    assert quiet.status_code == 200
    site.control("/clock/advance", {"seconds": 1})
    assert len(receiver.wait_for(3, timeout=0.5)) == 2


def subscribe(site: Site, customer: str) -> dict:
    response = site.post(f"/customers/{customer}/subscription_for_items",
                         {"subscription_items[item_price_id][0]": "pro-USD"})
    assert response.status_code == 200, response.text
    return response.json()["subscription"]


def test_cancel_at_end_of_term(site) -> None:
    catalog(site)
    sub = subscribe(site, customer_with(site, GOOD))
    response = site.post(f"/subscriptions/{sub['id']}/cancel_for_items", {"end_of_term": "true"})
    assert response.json()["subscription"]["status"] == "non_renewing"
    assert response.json()["subscription"]["cancelled_at"] == sub["current_term_end"]
    site.control("/clock/advance", {"seconds": sub["current_term_end"] - sub["created_at"]})
    after = site.get(f"/subscriptions/{sub['id']}").json()["subscription"]
    assert after["status"] == "cancelled"
    assert len(site.get("/invoices").json()["list"]) == 1  # no renewal invoice
    assert_native(site.post(f"/subscriptions/{sub['id']}/cancel_for_items"), 409,
                  "invalid_state_for_request", "invalid_request")


def test_site_dunning_settings_keep_the_subscription_active(fake) -> None:
    declare_site(fake, SITE, {"dunning": {"retry_days": [1], "on_exhausted": "active"}})
    site = Site(fake)
    catalog(site)
    customer = customer_with(site, GOOD)
    sub = subscribe(site, customer)
    site.post("/payment_sources/create_card", {
        "customer_id": customer, "card[number]": DECLINES, "card[expiry_month]": "1",
        "card[expiry_year]": "2099", "replace_primary_payment_source": "true"})
    site.control("/clock/advance", {"seconds": sub["current_term_end"] - sub["created_at"]})
    due = site.get("/invoices", **{"status[is]": "payment_due"}).json()["list"][0]["invoice"]
    assert due["next_retry_at"] == sub["current_term_end"] + 86400
    site.control("/clock/advance", {"seconds": 86400})
    invoice = site.get(f"/invoices/{due['id']}").json()["invoice"]
    assert (invoice["status"], invoice["dunning_status"]) == ("not_paid", "exhausted")
    after = site.get(f"/subscriptions/{sub['id']}").json()["subscription"]
    assert after["status"] == "active" and after["due_invoices_count"] == 1
    assert after["total_dues"] == 1000


def test_a_decline_fault_declines_the_renewal_chargebee_makes_on_its_own(fake) -> None:
    """Renewals and dunning retries charge with no request: a `decline` fault meets them as
    `POST /api/v2/invoices/{id}/collect_payment` of the site, and counts a hit when it declines."""
    declare_site(fake, SITE, {"api_key": KEY, "dunning": {"retry_days": [1],
                                                         "on_exhausted": "active"}})
    site = Site(fake)
    catalog(site)
    sub = subscribe(site, customer_with(site, GOOD))
    fault = site.control("/faults", {"kind": "decline", "code": "do_not_honor",
                                     "first_n": 1, "match": {"path": "*/collect_payment"}})
    assert fault.status_code == 201, fault.text
    site.control("/clock/advance", {"seconds": sub["current_term_end"] - sub["created_at"]})
    due = site.get("/invoices", **{"status[is]": "payment_due"}).json()["list"][0]["invoice"]
    [failed] = site.get("/transactions", **{"status[is]": "failure"}).json()["list"]
    assert failed["transaction"]["error_code"] == "do_not_honor"
    site.control("/clock/advance", {"seconds": 86400})  # the dunning retry: first_n is spent
    assert site.get(f"/invoices/{due['id']}").json()["invoice"]["status"] == "paid"
    [installed] = httpx.get(f"{fake.url}/_sim/faults",
                            verify=ssl.create_default_context(cafile=fake.ca_file)).json()
    assert installed["hits"] == 1


# -- lookups by index (simulators/core/lookup.py): the same answers as reading every object
def test_owner_lookups_and_filtered_lists_answer_as_a_scan() -> None:
    """A customer's subscriptions, a subscription's invoices and dues, and the invoice and
    subscription lists filtered by owner, after random subscriptions, renewals, payments,
    snapshot restores and a reset: the same objects in the same order as a scan, the same
    list pages byte for byte."""
    import random

    from simulators.chargebee import billing, models, routes
    from simulators.core.config import build_simulator
    from simulators.core.vendor import VendorError
    from simulators.registry import create_vendor

    rng = random.Random(12)
    sim = build_simulator(create_vendor("chargebee"), None, seed=1, controlled_clock=True)
    tenant = sim.tenants.get(SITE)
    now = sim.clock.now()

    def setup() -> None:
        models.create_item_family(tenant, {"id": "fam", "name": "Fam"}, now)
        models.create_item(tenant, {"id": "plan", "name": "Plan", "type": "plan",
                                    "item_family_id": "fam"}, now)
        models.create_item_price(tenant, {"id": "plan-usd", "name": "Plan USD",
                                          "item_id": "plan", "price": "1000",
                                          "period_unit": "month"}, now)
    setup()
    snapshots = []
    for _ in range(300):
        now += 3600
        customers, subs = tenant.collection("customer"), tenant.collection("subscription")
        roll = rng.random()
        try:
            if roll < 0.2 or not customers:
                models.create_customer(sim, tenant, {"first_name": "A"}, now, webhooks=False)
            elif roll < 0.5:
                billing.create_subscription(sim, tenant, customers[rng.choice(list(customers))],
                                            {"subscription_items": [
                                                {"item_price_id": "plan-usd"}]}, now,
                                            webhooks=False)
            elif roll < 0.65 and subs:
                billing._renew(sim, tenant, subs[rng.choice(list(subs))], now)
            elif roll < 0.8 and tenant.collection("invoice"):
                invoice = tenant.collection("invoice")[rng.choice(list(
                    tenant.collection("invoice")))]
                billing.record_payment(sim, tenant, invoice, {"transaction": {
                    "payment_method": "cash", "amount": str(rng.choice([100, 1000]))}}, now,
                    webhooks=False)
            elif roll < 0.9:
                snapshots.append(tenant.snapshot())
            elif roll < 0.94 and snapshots:
                tenant.restore(rng.choice(snapshots))
            elif roll > 0.997:
                tenant.reset()
                setup()
        except VendorError:
            pass
        invoices = list(tenant.collection("invoice").values())
        for sub in tenant.collection("subscription").values():
            mine = [i for i in invoices if i.get("subscription_id") == sub["id"]]
            assert models.owned(tenant, "invoice", "subscription_id", sub["id"]) == mine
            billing.refresh_dues(tenant, sub["id"])
            due = [i for i in mine if i["status"] in billing.OPEN]
            assert (sub["due_invoices_count"], sub.get("total_dues")) == (
                len(due), sum(i["amount_due"] for i in due) if due else None)
            page = {"subscription_id": {"is": sub["id"]}, "limit": "2"}
            narrowed = routes.list_page(page, routes._owned(tenant, "invoice", (
                "customer_id", "subscription_id")), "date", lambda i: {"invoice": i},
                filters=routes.LIST_FILTERS["invoices"])
            scanned = routes.list_page(page, invoices, "date", lambda i: {"invoice": i},
                                       filters=routes.LIST_FILTERS["invoices"])
            assert narrowed.body == scanned.body
        for customer_id in tenant.collection("customer"):
            mine = [s for s in tenant.collection("subscription").values()
                    if s["customer_id"] == customer_id]
            assert models.owned(tenant, "subscription", "customer_id", customer_id) == mine
            mine = [i for i in invoices if i["customer_id"] == customer_id]
            assert models.owned(tenant, "invoice", "customer_id", customer_id) == mine
