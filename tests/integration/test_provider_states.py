"""Named provider states (simulators/<vendor>/states.py), set up through `POST /_sim/states` (the
body Pact's verifier sends) and checked through each vendor's public API over loopback HTTP:
the objects exist under the ids given and behave as the state's name says, setting a state up
twice changes nothing, and bad params are refused with a message."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import stripe
from requests_oauthlib import OAuth1

from simulators.core.simulator import Simulator
from simulators.core.states import StateError
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NS_SETTINGS
from simulators.registry import create_vendor, load_schema
from simulators.salesforce import ids
from simulators.salesforce.vendor import DEMO_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SF_SETTINGS

SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
DAY = 86400


def set_state(fake: Any, state: str, params: dict[str, Any] | None = None,
              tenant: str | None = None, status: int = 200) -> dict[str, Any]:
    body: dict[str, Any] = {"state": state, "params": params or {}, "action": "setup"}
    if tenant is not None:
        body["tenant"] = tenant
    response = httpx.post(f"{fake.url}/_sim/states", json=body)
    assert response.status_code == status, response.text
    return response.json()


def set_twice(fake: Any, state: str, params: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Set a state up twice (as Pact does before each interaction): the second time returns the
    same ids and leaves the tenant's state exactly as it was."""
    first = set_state(fake, state, params, tenant)
    assert first["tenant"] == tenant
    before = httpx.get(f"{fake.url}/_sim/tenants/{tenant}/state").json()
    second = set_state(fake, state, params, tenant)
    assert second["created"] == first["created"]
    assert httpx.get(f"{fake.url}/_sim/tenants/{tenant}/state").json() == before
    return first["created"]


def clock_now(fake: Any) -> float:
    return fake.sim.clock.now()


def advance(fake: Any, seconds: float) -> None:
    response = httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def test_every_state_documents_its_params(start_fake) -> None:
    for vendor in ("stripe", "chargebee", "netsuite", "salesforce"):
        fake = start_fake(vendor)
        listed = httpx.get(f"{fake.url}/_sim/states").json()
        names = {s["name"] for s in listed}
        assert names == set(fake.sim.vendor.provider_states())
        assert len(names) >= 3
        for state in listed:
            assert state["description"] and state["params"], state
            for param, text in state["params"].items():
                assert "(default: " in text or text.endswith("(optional)"), (vendor, param)


# -- Stripe -----------------------------------------------------------------------------------
KEY = "sk_test_provider_states"


@pytest.fixture
def stripe_fake(start_fake):
    return start_fake("stripe", controlled_clock=True)


@pytest.fixture
def api(stripe_fake):
    with httpx.Client(base_url=stripe_fake.url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=10) as client:
        yield client


def test_stripe_customer_and_a_card_that_succeeds(stripe_fake, api) -> None:
    created = set_twice(stripe_fake, "a customer",
                        {"customer_id": "cus_Pact1", "email": "pact@example.com"}, KEY)
    assert created == {"customer_id": "cus_Pact1"}
    customer = api.get("/v1/customers/cus_Pact1").json()
    assert customer["email"] == "pact@example.com" and customer["object"] == "customer"

    created = set_twice(stripe_fake, "a customer with a card that succeeds",
                        {"customer_id": "cus_Pact1", "payment_method_id": "pm_PactGood"}, KEY)
    assert created == {"customer_id": "cus_Pact1", "payment_method_id": "pm_PactGood"}
    customer = api.get("/v1/customers/cus_Pact1").json()
    assert customer["invoice_settings"]["default_payment_method"] == "pm_PactGood"
    listed = api.get("/v1/customers/cus_Pact1/payment_methods").json()["data"]
    assert [pm["id"] for pm in listed] == ["pm_PactGood"]
    assert listed[0]["card"]["last4"] == "4242"
    intent = api.post("/v1/payment_intents", data={
        "amount": 500, "currency": "usd", "customer": "cus_Pact1",
        "payment_method": "pm_PactGood", "confirm": "true"})
    assert intent.status_code == 200, intent.text
    assert intent.json()["status"] == "succeeded"


@pytest.mark.parametrize(("decline_code", "code"), [
    ("insufficient_funds", "card_declined"), ("generic_decline", "card_declined"),
    ("lost_card", "card_declined"), ("expired_card", "expired_card")])
def test_stripe_a_card_that_declines(stripe_fake, api, decline_code: str, code: str) -> None:
    pm_id = f"pm_Pact_{decline_code}"
    created = set_twice(stripe_fake, "a customer with a card that declines",
                        {"customer_id": "cus_Pact2", "payment_method_id": pm_id,
                         "decline_code": decline_code}, KEY)
    assert created["payment_method_id"] == pm_id
    assert api.get(f"/v1/payment_methods/{pm_id}").json()["customer"] == "cus_Pact2"
    response = api.post("/v1/payment_intents", data={
        "amount": 500, "currency": "usd", "customer": "cus_Pact2", "payment_method": pm_id,
        "confirm": "true"})
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", code,
                                                                     decline_code)
    assert error["payment_method"]["id"] == pm_id


def test_stripe_failed_renewal_is_what_a_recovery_engine_sees(stripe_fake, api) -> None:
    params = {"customer_id": "cus_Renewal", "payment_method_id": "pm_RenewalCard",
              "subscription_id": "sub_Renewal", "invoice_id": "in_Renewal", "amount": 4900,
              "currency": "eur", "decline_code": "generic_decline"}
    created = set_twice(stripe_fake, "a subscription with an open invoice whose payment failed",
                        params, KEY)
    assert {k: created[k] for k in ("customer_id", "subscription_id", "invoice_id",
                                    "payment_method_id", "decline_code")} == {
        "customer_id": "cus_Renewal", "subscription_id": "sub_Renewal", "invoice_id": "in_Renewal",
        "payment_method_id": "pm_RenewalCard", "decline_code": "generic_decline"}
    now = clock_now(stripe_fake)
    invoice = api.get("/v1/invoices/in_Renewal").json()
    assert (invoice["status"], invoice["billing_reason"], invoice["attempt_count"],
            invoice["amount_due"], invoice["currency"]) == (
        "open", "subscription_cycle", 1, 4900, "eur")
    assert invoice["subscription"] == "sub_Renewal" and invoice["customer"] == "cus_Renewal"
    assert invoice["next_payment_attempt"] == int(now) + 3 * DAY  # the default retry schedule
    assert invoice["payment_intent"] == created["payment_intent_id"]
    sub = api.get("/v1/subscriptions/sub_Renewal").json()
    assert (sub["status"], sub["latest_invoice"]) == ("past_due", "in_Renewal")
    assert sub["current_period_start"] <= now < sub["current_period_end"]
    assert sub["start_date"] < sub["current_period_start"]  # a renewal, not the first invoice
    intent = api.get(f"/v1/payment_intents/{created['payment_intent_id']}").json()
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "generic_decline"
    failed = api.get("/v1/events", params={"type": "invoice.payment_failed"}).json()["data"]
    assert [e["data"]["object"]["id"] for e in failed] == ["in_Renewal"]

    retry = api.post("/v1/invoices/in_Renewal/pay")  # the recovery engine's own attempt
    assert retry.status_code == 402
    assert retry.json()["error"]["decline_code"] == "generic_decline"
    advance(stripe_fake, 3 * DAY)  # the automatic retry is scheduled on the fake's clock
    invoice = api.get("/v1/invoices/in_Renewal").json()
    assert invoice["attempt_count"] == 2 and invoice["status"] == "open"
    assert invoice["next_payment_attempt"] == int(now) + 8 * DAY


def test_stripe_succeeded_payment_intent(stripe_fake, api) -> None:
    created = set_twice(stripe_fake, "a succeeded payment intent",
                        {"payment_intent_id": "pi_PactPaid", "customer_id": "cus_Payer",
                         "amount": 1234}, KEY)
    assert created["payment_intent_id"] == "pi_PactPaid"
    intent = api.get("/v1/payment_intents/pi_PactPaid").json()
    assert (intent["status"], intent["amount"], intent["customer"]) == ("succeeded", 1234,
                                                                        "cus_Payer")
    assert intent["latest_charge"] == created["charge_id"]
    refund = api.post("/v1/refunds", data={"payment_intent": "pi_PactPaid", "amount": 234})
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "succeeded"
    # the same id with another amount is another intent: refused, not silently reused
    error = set_state(stripe_fake, "a succeeded payment intent",
                      {"payment_intent_id": "pi_PactPaid", "customer_id": "cus_Payer",
                       "amount": 999}, KEY, status=400)
    assert "amount 1234, not 999" in error["detail"]


def test_stripe_webhook_endpoint_signs_with_the_given_secret(stripe_fake, api, receiver) -> None:
    secret = "whsec_pact_secret_123"
    created = set_twice(stripe_fake, "a webhook endpoint",
                        {"endpoint_id": "we_Pact", "url": receiver.url, "secret": secret,
                         "enabled_events": ["customer.created"]}, KEY)
    assert created == {"endpoint_id": "we_Pact", "url": receiver.url, "secret": secret}
    endpoint = api.get("/v1/webhook_endpoints/we_Pact").json()
    assert (endpoint["url"], endpoint["status"], endpoint["enabled_events"]) == (
        receiver.url, "enabled", ["customer.created"])
    assert "secret" not in endpoint
    assert api.post("/v1/customers", data={"email": "new@example.com"}).status_code == 200
    httpx.post(f"{stripe_fake.url}/_sim/webhooks/flush")
    (delivery,) = receiver.wait_for(1)
    event = stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"],
                                           secret)
    assert event["type"] == "customer.created"


def test_stripe_bad_params_are_state_errors() -> None:
    sim = Simulator(create_vendor("stripe"), seed=3)
    tenant = sim.tenants.get(KEY)
    assert tenant is not None
    states = sim.vendor.provider_states()

    def refused(state: str, params: dict[str, Any], message: str) -> None:
        with pytest.raises(StateError, match=message):
            states[state].setup(sim, tenant, params)

    refused("a customer with a card that declines", {"decline_code": "do_not_honor"},
            "no test card declines with 'do_not_honor'")
    refused("a customer", {"customer_id": "customer_1"}, "starting with cus_")
    refused("a customer", {"customerId": "cus_1"}, "unknown param")
    refused("a customer with a card that succeeds", {"payment_method_id": "pm_card_visa"},
            "test token")
    refused("a succeeded payment intent", {"currency": "dollars"}, "three-letter")
    states["a customer with a card that succeeds"].setup(
        sim, tenant, {"customer_id": "cus_A", "payment_method_id": "pm_Shared"})
    refused("a customer with a card that declines",
            {"customer_id": "cus_A", "payment_method_id": "pm_Shared"},
            "pm_Shared is a card that succeeds, not one that declines with insufficient_funds")
    refused("a customer with a card that succeeds",
            {"customer_id": "cus_B", "payment_method_id": "pm_Shared"},
            "belongs to customer cus_A")
    states["a subscription with an open invoice whose payment failed"].setup(
        sim, tenant, {"subscription_id": "sub_A", "invoice_id": "in_A"})
    refused("a subscription with an open invoice whose payment failed",
            {"subscription_id": "sub_B", "invoice_id": "in_A"},
            "in_A is not the invoice of subscription sub_B")
    refused("a webhook endpoint", {"url": "ftp://example.com"}, "Invalid URL")


def test_stripe_state_errors_over_http(stripe_fake) -> None:
    error = set_state(stripe_fake, "a customer with a card that declines",
                      {"decline_code": "do_not_honor"}, KEY, status=400)
    assert "no test card declines with 'do_not_honor'" in error["detail"]
    missing = set_state(stripe_fake, "a customer with a spaceship", {}, KEY, status=404)
    assert "a customer with a card that declines" in missing["detail"]


# -- Chargebee --------------------------------------------------------------------------------
SITE, CB_KEY = "acme-test", "test_states_key"


@pytest.fixture
def cb_fake(start_fake):
    fake = start_fake("chargebee", controlled_clock=True)
    tenant = fake.sim.tenants.declare(SITE, {"api_key": CB_KEY})
    fake.sim.vendor.configure_tenant(fake.sim, tenant)
    return fake


@pytest.fixture
def cb(cb_fake):
    auth = "Basic " + base64.b64encode(f"{CB_KEY}:".encode()).decode()
    with httpx.Client(base_url=f"{cb_fake.url}/api/v2", timeout=10,
                      headers={"authorization": auth}) as client:
        yield client


def test_chargebee_customer_and_cards(cb_fake, cb) -> None:
    created = set_twice(cb_fake, "a customer", {"customer_id": "cb_pact_1",
                                                "email": "pact@example.com"}, SITE)
    assert created == {"customer_id": "cb_pact_1"}
    assert cb.get("/customers/cb_pact_1").json()["customer"]["email"] == "pact@example.com"

    good = set_twice(cb_fake, "a customer with a card",
                     {"customer_id": "cb_pact_1", "payment_source_id": "pm_pact_good"}, SITE)
    assert good == {"customer_id": "cb_pact_1", "payment_source_id": "pm_pact_good",
                    "card": "succeeds"}
    bad = set_twice(cb_fake, "a customer with a card",
                    {"customer_id": "cb_pact_2", "card": "declines"}, SITE)
    assert bad["payment_source_id"] == "pm_state_card_declines"
    source = cb.get("/payment_sources/pm_pact_good").json()["payment_source"]
    assert (source["customer_id"], source["card"]["last4"]) == ("cb_pact_1", "1111")
    customer = cb.get("/customers/cb_pact_1").json()["customer"]
    assert customer["primary_payment_source_id"] == "pm_pact_good"

    assert cb.post("/item_families", data={"id": "fam", "name": "Fam"}).status_code == 200
    assert cb.post("/items", data={"id": "pro", "name": "Pro", "type": "plan",
                                   "item_family_id": "fam"}).status_code == 200
    assert cb.post("/item_prices", data={"id": "pro-usd", "name": "Pro USD", "item_id": "pro",
                                         "price": "1500", "period_unit": "month"}
                   ).status_code == 200
    items = {"subscription_items[item_price_id][0]": "pro-usd"}
    paid = cb.post("/customers/cb_pact_1/subscription_for_items", data=items)
    assert paid.status_code == 200, paid.text
    assert paid.json()["invoice"]["status"] == "paid"
    declined = cb.post("/customers/cb_pact_2/subscription_for_items", data=items)
    assert declined.status_code == 400, declined.text
    assert (declined.json()["type"], declined.json()["api_error_code"]) == (
        "payment", "payment_processing_failed")


def test_chargebee_subscription_in_dunning(cb_fake, cb) -> None:
    created = set_twice(cb_fake, "a subscription in dunning",
                        {"customer_id": "cb_dunning", "subscription_id": "sub_pact",
                         "invoice_id": "inv_pact", "amount": 4900}, SITE)
    assert {k: created[k] for k in ("customer_id", "subscription_id", "invoice_id")} == {
        "customer_id": "cb_dunning", "subscription_id": "sub_pact", "invoice_id": "inv_pact"}
    now = int(clock_now(cb_fake))
    invoice = cb.get("/invoices/inv_pact").json()["invoice"]
    assert (invoice["status"], invoice["dunning_status"], invoice["amount_due"],
            invoice["subscription_id"]) == ("payment_due", "in_progress", 4900, "sub_pact")
    assert invoice["next_retry_at"] == now + 3 * DAY
    sub = cb.get("/subscriptions/sub_pact").json()["subscription"]
    assert (sub["status"], sub["due_invoices_count"], sub["customer_id"]) == (
        "active", 1, "cb_dunning")
    txn = cb.get(f"/transactions/{created['transaction_id']}").json()["transaction"]
    assert (txn["status"], txn["error_code"]) == ("failure", "insufficient_funds")
    assert cb.post("/invoices/inv_pact/collect_payment").status_code == 400
    advance(cb_fake, 3 * DAY)  # the first dunning retry runs on the fake's clock
    invoice = cb.get("/invoices/inv_pact").json()["invoice"]
    assert len(invoice["dunning_attempts"]) == 2
    assert invoice["next_retry_at"] == now + 5 * DAY


def test_chargebee_bad_params_are_state_errors(cb_fake) -> None:
    error = set_state(cb_fake, "a customer with a card", {"card": "sometimes"}, SITE,
                      status=400)
    assert "card must be succeeds or declines" in error["detail"]
    set_state(cb_fake, "a customer with a card", {"payment_source_id": "pm_x"}, SITE)
    error = set_state(cb_fake, "a customer with a card",
                      {"payment_source_id": "pm_x", "card": "declines"}, SITE, status=400)
    assert "pm_x is a card that succeeds, not one that declines" in error["detail"]
    error = set_state(cb_fake, "a customer", {"customer_id": "has spaces"}, SITE, status=400)
    assert "customer_id" in error["detail"]


# -- NetSuite ---------------------------------------------------------------------------------
class NetSuite:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = OAuth1(
            NS_SETTINGS["consumer_key"], NS_SETTINGS["consumer_secret"],
            NS_SETTINGS["token_id"], NS_SETTINGS["token_secret"],
            signature_method="HMAC-SHA256", realm=DEMO_ACCOUNT)
        self.records = f"{fake.url}/services/rest/record/v1"

    def get(self, path: str) -> dict[str, Any]:
        response = self.session.get(f"{self.records}/{path}")
        assert response.status_code == 200, response.text
        return response.json()

    def suiteql(self, q: str) -> list[dict[str, Any]]:
        response = self.session.post(f"{self.fake.url}/services/rest/query/v1/suiteql",
                                     json={"q": q}, headers={"Prefer": "transient"})
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest.fixture
def netsuite(start_fake):
    sessions: list[NetSuite] = []

    def start(schema: str) -> NetSuite:
        fake = start_fake("netsuite", controlled_clock=True)
        fake.sim.tenants.declare(DEMO_ACCOUNT, dict(NS_SETTINGS), load_schema(SCHEMAS / schema))
        sessions.append(NetSuite(fake))
        return sessions[-1]
    yield start
    for ns in sessions:
        ns.session.close()


def test_netsuite_customer_and_open_invoice(netsuite) -> None:
    ns = netsuite("netsuite-recovery-fields.yaml")
    created = set_twice(ns.fake, "a customer",
                        {"customer_id": "501", "company_name": "Globex", "external_id": "gx-1"},
                        DEMO_ACCOUNT)
    assert created == {"customer_id": "501", "entity_id": "Globex", "external_id": "gx-1"}
    customer = ns.get("customer/501")
    assert (customer["companyName"], customer["entityId"]) == ("Globex", "Globex")
    assert customer["custentity_segment"]["refName"] == "smb"  # schema defaults applied
    found = ns.suiteql("SELECT id, entityid FROM customer WHERE externalid = 'gx-1'")
    assert [(int(row["id"]), row["entityid"]) for row in found] == [(501, "Globex")]

    created = set_twice(ns.fake, "an open invoice",
                        {"customer_id": "501", "invoice_id": "601", "amount": 250.5},
                        DEMO_ACCOUNT)
    assert (created["invoice_id"], created["customer_id"]) == ("601", "501")
    rows = ns.suiteql("SELECT id, entity, status, foreigntotal, foreignamountunpaid "
                      "FROM transaction WHERE id = 601")
    assert len(rows) == 1
    row = rows[0]
    assert (str(row["entity"]), row["status"], float(row["foreigntotal"]),
            float(row["foreignamountunpaid"])) == ("501", "A", 250.5, 250.5)

    # the invoice is a real one: paying it works, and then it is no longer "an open invoice"
    paid = ns.session.post(f"{ns.records}/invoice/601/!transform/customerPayment", json={})
    assert paid.status_code == 204, paid.text
    assert ns.get("invoice/601")["status"]["id"] == "paidInFull"
    error = set_state(ns.fake, "an open invoice", {"customer_id": "501", "invoice_id": "601"},
                      DEMO_ACCOUNT, status=400)
    assert "exists but is Paid In Full" in error["detail"]
    # ids the API assigns later never collide with the chosen ones
    made = ns.session.post(f"{ns.records}/customer", json={"companyName": "Initech"})
    assert made.headers["Location"].rsplit("/", 1)[1] == "502"


def test_netsuite_custom_subscription_record(netsuite) -> None:
    ns = netsuite("netsuite-customrecord.yaml")
    created = set_twice(ns.fake, "a custom subscription record",
                        {"customer_id": "77", "record_id": "5",
                         "record_fields": {"custrecord_sub_plan": "growth_monthly"}},
                        DEMO_ACCOUNT)
    assert created == {"record_type": "customrecord_subscription", "record_id": "5",
                       "customer_id": "77"}
    record = ns.get("customrecord_subscription/5")
    assert record["custrecord_sub_customer"]["id"] == "77"
    assert record["custrecord_sub_plan"]["refName"] == "growth_monthly"
    rows = ns.suiteql("SELECT id FROM customrecord_subscription WHERE custrecord_sub_customer = 77")
    assert [int(r["id"]) for r in rows] == [5]


def test_netsuite_custom_record_needs_one_in_the_schema(netsuite) -> None:
    ns = netsuite("netsuite-recovery-fields.yaml")
    error = set_state(ns.fake, "a custom subscription record", {}, DEMO_ACCOUNT, status=400)
    assert "netsuite-recovery-fields" in error["detail"]
    error = set_state(ns.fake, "a customer", {"customer_id": "abc"}, DEMO_ACCOUNT, status=400)
    assert "positive integer" in error["detail"]
    set_state(ns.fake, "an open invoice", {"invoice_id": "9"}, DEMO_ACCOUNT)
    error = set_state(ns.fake, "a custom subscription record", {"record_type": "customer"},
                      DEMO_ACCOUNT, status=400)
    assert "no custom record type 'customer'" in error["detail"]


# -- Salesforce -------------------------------------------------------------------------------
V = "/services/data/v59.0"


@pytest.fixture
def salesforce(start_fake):
    clients: list[httpx.Client] = []

    def start(schema: str) -> tuple[Any, httpx.Client]:
        fake = start_fake("salesforce", controlled_clock=True)
        tenant = fake.sim.tenants.declare(DEMO_ORG, dict(SF_SETTINGS),
                                          load_schema(SCHEMAS / schema))
        fake.sim.vendor.configure_tenant(fake.sim, tenant)
        client = httpx.Client(base_url=fake.url, trust_env=False, timeout=10)
        token = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_SETTINGS["client_id"],
            "client_secret": SF_SETTINGS["client_secret"]}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        clients.append(client)
        return fake, client
    yield start
    for client in clients:
        client.close()


def soql(client: httpx.Client, q: str) -> list[dict[str, Any]]:
    response = client.get(f"{V}/query", params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_salesforce_account_and_contact(salesforce) -> None:
    fake, sf = salesforce("salesforce-cpq.yaml")
    account = ids.to18("0015g0000000001")  # the id the org would generate first
    created = set_twice(fake, "an account",
                        {"account_id": account[:15], "name": "Initech",
                         "fields": {"Stripe_Customer_Id__c": "cus_Initech"}}, DEMO_ORG)
    assert created == {"account_id": account}  # the 18-char form of the 15-char id given
    rows = soql(sf, f"SELECT Id, Name, Recovery_Status__c FROM Account WHERE Id = '{account}'")
    assert [(r["Id"], r["Name"], r["Recovery_Status__c"]) for r in rows] == [
        (account, "Initech", "none")]
    by_key = sf.get(f"{V}/sobjects/Account/Stripe_Customer_Id__c/cus_Initech")
    assert by_key.status_code == 200 and by_key.json()["Id"] == account
    made = sf.post(f"{V}/sobjects/Account", json={"Name": "Later"})
    assert made.status_code == 201 and made.json()["id"] != account  # no collision

    contact = ids.to18("003Ab0000000Xyz")
    created = set_twice(fake, "an account with a contact",
                        {"account_id": account, "contact_id": contact, "last_name": "Waddams"},
                        DEMO_ORG)
    assert created == {"account_id": account, "contact_id": contact}
    rows = soql(sf, f"SELECT Id, LastName, Account.Name FROM Contact WHERE AccountId = "
                    f"'{account}'")
    assert [(r["Id"], r["LastName"], r["Account"]["Name"]) for r in rows] == [
        (contact, "Waddams", "Initech")]


def test_salesforce_custom_subscription_record_direct(salesforce) -> None:
    fake, sf = salesforce("salesforce-cpq.yaml")
    created = set_twice(fake, "a custom subscription record",
                        {"record_fields": {"External_Id__c": "si_123"}}, DEMO_ORG)
    assert created["object"] == "SBQQ__Subscription__c"
    assert created["record_id"].startswith("a0S") and len(created["record_id"]) == 18
    rows = soql(sf, "SELECT Id, External_Id__c, SBQQ__Account__r.Name FROM SBQQ__Subscription__c "
                    f"WHERE SBQQ__Account__c = '{created['account_id']}'")
    assert [(r["Id"], r["External_Id__c"], r["SBQQ__Account__r"]["Name"]) for r in rows] == [
        (created["record_id"], "si_123", "Acme Corporation")]


def test_salesforce_custom_subscription_record_through_a_junction(salesforce) -> None:
    fake, sf = salesforce("salesforce-plan-junction.yaml")
    created = set_twice(fake, "a custom subscription record",
                        {"record_fields": {"Status__c": "Past Due"},
                         "junction_fields": {"Plan_Code__c": "growth"}}, DEMO_ORG)
    assert (created["object"], created["junction_object"]) == ("Subscription__c", "Plan__c")
    rows = soql(sf, "SELECT Id, Plan_Code__c, Subscription__r.Status__c FROM Plan__c "
                    f"WHERE Account__c = '{created['account_id']}'")
    assert [(r["Id"], r["Plan_Code__c"], r["Subscription__r"]["Status__c"]) for r in rows] == [
        (created["junction_id"], "growth", "Past Due")]


def test_salesforce_bad_params_are_state_errors(salesforce) -> None:
    fake, _ = salesforce("salesforce-account-fields.yaml")
    error = set_state(fake, "a custom subscription record", {}, DEMO_ORG, status=400)
    assert "salesforce-account-fields" in error["detail"]
    good = ids.to18("001Ab0000000Xyz")
    wrong_case = good[:15] + ("AAA" if good[15:] != "AAA" else "BBB")
    error = set_state(fake, "an account", {"account_id": wrong_case}, DEMO_ORG, status=400)
    assert f"the 18-char id of {good[:15]} is {good}" in error["detail"]
    error = set_state(fake, "an account", {"account_id": ids.to18("003Ab0000000Xyz")}, DEMO_ORG,
                      status=400)
    assert "must start with 001" in error["detail"]
    error = set_state(fake, "an account", {"fields": {"Plan_Tier__c": "Platinum"}}, DEMO_ORG,
                      status=400)
    assert "bad value for restricted picklist field: Platinum" in error["detail"]


def test_chargebee_chosen_invoice_numbers_are_not_issued_again(cb_fake, cb) -> None:
    set_state(cb_fake, "a subscription in dunning", {"invoice_id": "1", "amount": 700}, SITE)
    customer = cb.post("/customers", data={"id": "cb_later", "card[number]": "4111111111111111",
                                           "card[expiry_month]": "12",
                                           "card[expiry_year]": "2099"})
    assert customer.status_code == 200, customer.text
    made = cb.post("/customers/cb_later/subscription_for_items",
                   data={"subscription_items[item_price_id][0]":
                         "provider-state-plan-USD-700-monthly"})
    assert made.status_code == 200, made.text
    assert made.json()["invoice"]["id"] == "2"
