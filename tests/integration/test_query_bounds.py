"""Issue 11: nothing a query does holds the event loop. LIKE never backtracks (the patterns that
took minutes through `re` answer at once and `/_sim/health` with them), and SOQL and SuiteQL
evaluation is bounded by a budget, past which each fake answers with its vendor's timeout."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests
from requests_oauthlib import OAuth1

from simulators.client import ControlClient
from simulators.netsuite import models as ns_models
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NS_SETTINGS
from simulators.salesforce import soql
from simulators.salesforce.vendor import DEMO_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SF_SETTINGS

V = "/services/data/v59.0"
PATHOLOGICAL = "%a%a%a%a%b"


# -- Salesforce --------------------------------------------------------------------------------
@pytest.fixture
def salesforce(start_fake: Any) -> Any:
    fake = start_fake("salesforce", controlled_clock=True)
    with ControlClient(fake.url) as control:
        control.declare_tenant(DEMO_ORG, dict(SF_SETTINGS))
    with httpx.Client(base_url=fake.url, trust_env=False) as http:
        token = http.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_SETTINGS["client_id"],
            "client_secret": SF_SETTINGS["client_secret"]}).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield http


def _account(http: httpx.Client, name: str) -> str:
    response = http.post(f"{V}/sobjects/Account", json={"Name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_soql_pathological_like_over_a_long_name_answers(salesforce: httpx.Client) -> None:
    _account(salesforce, "a" * 255)
    wanted = _account(salesforce, "a" * 254 + "b")
    q = f"SELECT Id FROM Account WHERE Name LIKE '{PATHOLOGICAL}'"
    response = salesforce.get(f"{V}/query", params={"q": q})
    assert response.status_code == 200, response.text
    assert [r["Id"] for r in response.json()["records"]] == [wanted]
    assert salesforce.get("/_sim/health").status_code == 200


def test_soql_past_its_budget_is_a_query_timeout(
    salesforce: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(12):
        _account(salesforce, f"Account {n}")
    monkeypatch.setattr(soql, "DEFAULT_ROW_BUDGET", 10)  # 12 rows to examine: over
    response = salesforce.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert response.status_code == 400
    assert response.json() == [{"message": "Your query request was running for too long.",
                                "errorCode": "QUERY_TIMEOUT"}]
    monkeypatch.setattr(soql, "DEFAULT_ROW_BUDGET", 1_000)  # the same query within budget
    response = salesforce.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert response.status_code == 200 and response.json()["totalSize"] == 12


# -- NetSuite ----------------------------------------------------------------------------------
class NetSuite:
    def __init__(self, fake: Any, **settings: Any) -> None:
        self.fake = fake
        self.tenant = fake.sim.tenants.declare(DEMO_ACCOUNT, {**NS_SETTINGS, **settings})
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.auth = OAuth1(
            NS_SETTINGS["consumer_key"], NS_SETTINGS["consumer_secret"], NS_SETTINGS["token_id"],
            NS_SETTINGS["token_secret"], signature_method="HMAC-SHA256", realm=DEMO_ACCOUNT)

    def customer(self, **body: Any) -> str:
        rtype = ns_models.record_type(self.tenant, "customer")
        assert rtype is not None
        return str(ns_models.create(self.tenant, rtype, body, self.fake.sim.clock.now())["id"])

    def suiteql(self, q: str) -> requests.Response:
        return self.http.post(f"{self.fake.url}/services/rest/query/v1/suiteql",
                              params={"limit": 1000}, json={"q": q},
                              headers={"Prefer": "transient"})

    def health(self) -> int:
        return requests.get(f"{self.fake.url}/_sim/health").status_code


@pytest.fixture
def netsuite(start_fake: Any) -> Any:
    def start(**settings: Any) -> NetSuite:
        return NetSuite(start_fake("netsuite", controlled_clock=True), **settings)
    return start


def test_suiteql_pathological_like_over_a_long_field_answers(netsuite: Any) -> None:
    ns = netsuite()
    ns.customer(companyName="All a", comments="a" * 4000)  # comments: a 4,000-character area
    wanted = ns.customer(companyName="Ends in b", comments="a" * 3999 + "b")
    response = ns.suiteql(f"SELECT id FROM customer WHERE comments LIKE '{PATHOLOGICAL}'")
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [wanted]
    assert ns.health() == 200


def test_suiteql_four_way_cross_join_is_refused_as_a_search_timeout(netsuite: Any) -> None:
    ns = netsuite()
    for n in range(300):
        ns.customer(companyName=f"Customer {n}")
    response = ns.suiteql("SELECT a.id FROM customer a, customer b, customer c, customer d")
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["title"]) == (400, "Bad Request")
    [error] = body["o:errorDetails"]
    assert error["o:errorCode"] == "SSS_SEARCH_TIMEOUT"
    assert error["o:errorQueryParam"] == "q"
    assert error["detail"].endswith("The search has timed out.")
    assert ns.health() == 200
    # a join within the budget (300 x 300 pairs) still answers
    pairs = ns.suiteql("SELECT COUNT(*) AS n FROM customer a JOIN customer b ON a.id = b.id")
    assert pairs.status_code == 200, pairs.text
    assert pairs.json()["items"] == [{"links": [], "n": "300"}]


def test_the_suiteql_budget_is_an_account_setting(netsuite: Any) -> None:
    ns = netsuite(suiteql_row_budget=50)
    for n in range(10):
        ns.customer(companyName=f"Customer {n}")
    assert ns.suiteql("SELECT id FROM customer").status_code == 200  # 10 visits
    refused = ns.suiteql("SELECT a.id FROM customer a CROSS JOIN customer b")  # 10 + 10 + 100
    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "SSS_SEARCH_TIMEOUT"


def test_the_link_tables_rows_count_against_the_budget(netsuite: Any) -> None:
    ns = netsuite(suiteql_row_budget=60)
    customer = ns.customer(companyName="Payer")
    tenant, now = ns.tenant, ns.fake.sim.clock.now()
    invoice = ns_models.record_type(tenant, "invoice")
    payment = ns_models.record_type(tenant, "customerpayment")
    assert invoice is not None and payment is not None
    for _ in range(20):  # 20 invoices, each paid by its own payment: 20 link rows
        record = ns_models.create(tenant, invoice, {
            "entity": {"id": customer}, "item": {"items": [{"item": {"id": "1"},
                                                            "amount": 10}]}}, now)
        ns_models.create(tenant, payment, {"customer": {"id": customer}, "payment": 10,
                                           "apply": {"items": [{"doc": {"id": record["id"]},
                                                                "apply": True}]}}, now)
    listed = ns.suiteql("SELECT previousdoc FROM NextTransactionLineLink")  # 20 + 20 visits
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 20
    refused = ns.suiteql("SELECT t.id FROM transaction t "  # 40 + 20 + 40 x 20 pairs
                         "JOIN NextTransactionLineLink l ON l.nextdoc = t.id")
    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "SSS_SEARCH_TIMEOUT"
