"""The fake NetSuite over real loopback HTTP, driven by requests + requests_oauthlib (TBA)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from simulators.netsuite.vendor import DEMO_ACCOUNT, DEMO_SETTINGS
from simulators.registry import load_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
RECOVERY = "netsuite-recovery-fields.yaml"
CUSTOM_RECORD = "netsuite-customrecord.yaml"
INVALID_LOGIN_BODY = {
    "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
    "title": "Unauthorized", "status": 401,
    "o:errorDetails": [{
        "detail": "Invalid login attempt. For more details, see the Login Audit Trail in the "
                  "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
        "o:errorCode": "INVALID_LOGIN"}]}


def tba(token_secret: str = DEMO_SETTINGS["token_secret"], realm: str = DEMO_ACCOUNT,
        **client: Any) -> OAuth1:
    return OAuth1(DEMO_SETTINGS["consumer_key"], DEMO_SETTINGS["consumer_secret"],
                  DEMO_SETTINGS["token_id"], token_secret, signature_method="HMAC-SHA256",
                  realm=realm, **client)


@dataclass
class NS:
    fake: Any
    session: requests.Session

    @property
    def records(self) -> str:
        return f"{self.fake.url}/services/rest/record/v1"

    def post(self, record: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.records}/{record}", json=body)

    def create(self, record: str, body: dict[str, Any]) -> str:
        response = self.post(record, body)
        assert response.status_code == 204, response.text
        assert response.content == b""
        return response.headers["Location"].rsplit("/", 1)[1]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(f"{self.records}/{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def suiteql(self, q: str, **params: Any) -> requests.Response:
        return self.session.post(f"{self.fake.url}/services/rest/query/v1/suiteql",
                                 params=params, json={"q": q}, headers={"Prefer": "transient"})

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.fake.url}/_sim{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def netsuite(start_fake: Any) -> Iterator[Any]:
    def start(schema: str | None = RECOVERY, **settings: Any) -> NS:
        fake = start_fake("netsuite", controlled_clock=True)
        fake.sim.tenants.declare(DEMO_ACCOUNT, {**DEMO_SETTINGS, **settings},
                                 load_schema(SCHEMAS / schema) if schema else None)
        session = requests.Session()
        session.trust_env = False
        session.auth = tba()
        return NS(fake, session)
    yield start


def detail(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert body["status"] == response.status_code
    assert response.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    return body["o:errorDetails"][0]


# -- records ---------------------------------------------------------------------------------
def test_customer_and_invoice_with_custom_fields(netsuite: Any) -> None:
    ns = netsuite()
    cid = ns.create("customer", {"companyName": "Acme Ltd", "email": "ap@acme.test",
                                 "externalId": "cus_1", "custentity_stripe_customer_id": "cus_1",
                                 "custentity_segment": {"id": "3"}})
    customer = ns.get(f"customer/{cid}")
    assert customer["id"] == cid and customer["entityId"] == "Acme Ltd"
    assert customer["links"] == [{"rel": "self", "href": f"{ns.records}/customer/{cid}"}]
    assert customer["custentity_segment"] == {"links": [], "id": "3", "refName": "enterprise"}
    assert customer["custentity_dunning_opt_out"] is False  # the schema's default
    assert customer["dateCreated"].endswith("Z") and customer["lastModifiedDate"]

    iid = ns.create("invoice", {
        "entity": {"id": cid}, "tranDate": "2024-05-01",
        "item": {"items": [{"item": {"id": "7"}, "quantity": 2, "rate": 60.5}]},
        "custbody_recovery_status": "retrying", "custbody_next_retry_at": "2024-05-03T10:00:00Z"})
    invoice = ns.get(f"invoice/{iid}")
    assert invoice["entity"]["refName"] == "Acme Ltd"
    assert invoice["entity"]["links"][0]["href"].endswith(f"/customer/{cid}")
    assert invoice["total"] == 121.0 and invoice["amountRemaining"] == 121.0
    assert invoice["status"] == {"id": "open", "refName": "Open"}
    assert invoice["custbody_recovery_status"]["refName"] == "retrying"
    assert invoice["custbody_retry_count"] == 0
    assert invoice["item"] == {"links": [{"rel": "self",
                                          "href": f"{ns.records}/invoice/{iid}/item"}]}
    expanded = ns.get(f"invoice/{iid}", expandSubResources="true")
    assert expanded["item"]["items"][0]["amount"] == 121.0
    only = ns.get(f"invoice/{iid}", fields="total,custbody_retry_count")
    assert set(only) == {"links", "id", "total", "custbody_retry_count"}

    assert ns.session.patch(f"{ns.records}/invoice/{iid}",
                            json={"custbody_last_decline_code": "do_not_honor",
                                  "custbody_next_retry_at": None}).status_code == 204
    patched = ns.get(f"invoice/{iid}")
    assert patched["custbody_last_decline_code"] == "do_not_honor"
    assert "custbody_next_retry_at" not in patched  # null clears

    listed = ns.get("customer", q='email START_WITH "AP@"')
    assert [i["id"] for i in listed["items"]] == [cid]
    assert ns.get("customer", q="companyName IS nobody")["totalResults"] == 0
    # dates as NetSuite writes them (and ISO, with or without a zone) filter stored datetimes
    for day in ('"1/1/2000"', '"2000-01-01"', '"2000-01-01T00:00:00Z"'):
        after = ns.get("customer", q=f"lastModifiedDate AFTER {day}")
        assert cid in [i["id"] for i in after["items"]], day
    assert ns.get("customer", q='lastModifiedDate AFTER "1/1/2999"')["totalResults"] == 0


def test_payment_applied_to_invoice(netsuite: Any) -> None:
    ns = netsuite()
    cid = ns.create("customer", {"companyName": "Payer"})
    iid = ns.create("invoice", {"entity": {"id": cid},
                                "item": {"items": [{"item": {"id": "1"}, "amount": 100}]}})
    ns.create("customerPayment", {"customer": {"id": cid}, "payment": 40,
                                  "apply": {"items": [{"doc": {"id": iid}, "apply": True,
                                                       "amount": 40}]}})
    invoice = ns.get(f"invoice/{iid}")
    assert (invoice["amountPaid"], invoice["amountRemaining"]) == (40.0, 60.0)
    assert invoice["status"]["refName"] == "Open"
    assert ns.get(f"customer/{cid}")["balance"] == 60.0

    pid = ns.create("customerpayment", {"customer": {"id": cid}, "payment": 60,
                                        "custbody_stripe_charge_id": "ch_1",
                                        "apply": {"items": [{"doc": {"id": iid}, "apply": True}]}})
    invoice = ns.get(f"invoice/{iid}")
    assert invoice["amountRemaining"] == 0.0
    assert invoice["status"] == {"id": "paidInFull", "refName": "Paid In Full"}
    payment = ns.get(f"customerPayment/{pid}", expandSubResources="true")
    assert payment["applied"] == 60.0 and payment["unapplied"] == 0.0
    assert payment["apply"]["items"][0]["doc"]["id"] == iid

    rows = ns.suiteql("SELECT id, status, foreignamountunpaid FROM transaction "
                      "WHERE type = 'CustInvc'").json()["items"]
    assert rows == [{"links": [], "id": iid, "status": "B", "foreignamountunpaid": "0"}]

    over = ns.post("customerPayment", {"customer": {"id": cid}, "payment": 10,
                                       "apply": {"items": [{"doc": {"id": iid}, "amount": 10}]}})
    assert over.status_code == 400 and detail(over)["o:errorCode"] == "USER_ERROR"
    assert ns.session.delete(f"{ns.records}/customerpayment/{pid}").status_code == 204
    assert ns.get(f"invoice/{iid}")["amountRemaining"] == 60.0


def test_upsert_by_external_id(netsuite: Any) -> None:
    ns = netsuite()
    url = f"{ns.records}/customer/eid:stripe-cus_9"
    created = ns.session.put(url, json={"companyName": "First"})
    assert created.status_code == 204
    cid = created.headers["Location"].rsplit("/", 1)[1]
    assert ns.session.put(url, json={"companyName": "Second"}).status_code == 204
    found = ns.get("customer/eid:stripe-cus_9")
    assert (found["id"], found["companyName"], found["externalId"]) == (
        cid, "Second", "stripe-cus_9")
    assert ns.get("customer")["totalResults"] == 1
    assert ns.session.delete(f"{ns.records}/customer/{cid}").status_code == 204
    gone = ns.session.get(f"{ns.records}/customer/{cid}")
    assert gone.status_code == 404
    assert detail(gone) == {
        "detail": "The record instance does not exist. Provide a valid record instance ID.",
        "o:errorUrl": f"/services/rest/record/v1/customer/{cid}", "o:errorCode": "NONEXISTENT_ID"}


def test_custom_field_errors(netsuite: Any) -> None:
    ns = netsuite()
    unknown = ns.post("customer", {"companyName": "X", "custentity_not_in_schema": "1"})
    assert unknown.status_code == 400
    assert detail(unknown)["o:errorCode"] == "INVALID_CONTENT"
    assert detail(unknown)["o:errorPath"] == "custentity_not_in_schema"
    lenient = ns.session.post(f"{ns.records}/customer",
                              json={"companyName": "X", "custentity_not_in_schema": "1"},
                              headers={"X-NetSuite-PropertyNameValidation": "Ignore"})
    assert lenient.status_code == 204

    cid = ns.create("customer", {"companyName": "Y"})
    wrong = ns.post("invoice", {"entity": {"id": cid}, "custbody_retry_count": "many",
                                "item": {"items": [{"item": {"id": "1"}, "amount": 5}]}})
    assert wrong.status_code == 400
    assert detail(wrong) == {
        "detail": "Error while accessing a resource. You have entered an Invalid Field Value "
                  "many for the following field: custbody_retry_count",
        "o:errorPath": "custbody_retry_count", "o:errorCode": "USER_ERROR"}
    bad_ref = ns.post("invoice", {"entity": {"id": "999"},
                                  "item": {"items": [{"item": {"id": "1"}, "amount": 5}]}})
    assert detail(bad_ref)["o:errorPath"] == "entity"
    missing = ns.post("customer", {"email": "nobody@x.test"})
    assert detail(missing)["detail"].endswith("Please enter value(s) for: Company Name.")
    no_type = ns.session.get(f"{ns.records}/customrecord_nope")
    assert no_type.status_code == 404 and "customrecord_nope" in detail(no_type)["detail"]


def test_custom_record_type(netsuite: Any) -> None:
    ns = netsuite(CUSTOM_RECORD)
    cid = ns.create("customer", {"companyName": "Sub Co"})
    missing = ns.post("customrecord_subscription", {"name": "S1",
                                                    "custrecord_sub_customer": {"id": cid}})
    assert missing.status_code == 400
    assert detail(missing)["detail"] == ("Error while accessing a resource. Please enter "
                                         "value(s) for: Plan.")
    sid = ns.create("customrecord_subscription", {
        "name": "S1", "custrecord_sub_customer": {"id": cid},
        "custrecord_sub_plan": {"id": "2"}, "custrecord_sub_mrr": 99.999,
        "custrecord_sub_external_id": "sub_1", "custrecord_sub_next_charge": "2024-06-01"})
    record = ns.get(f"customrecord_subscription/{sid}")
    assert record["custrecord_sub_customer"]["refName"] == "Sub Co"
    assert record["custrecord_sub_plan"] == {"links": [], "id": "2", "refName": "growth_monthly"}
    assert record["custrecord_sub_mrr"] == 100.0 and record["custrecord_sub_auto_renew"] is True
    assert ns.session.patch(f"{ns.records}/customer/{cid}", json={
        "custentity_primary_subscription": {"id": sid}}).status_code == 204
    assert ns.get(f"customer/{cid}")["custentity_primary_subscription"]["refName"] == "S1"
    rows = ns.suiteql("SELECT s.name, c.companyname FROM customrecord_subscription s "
                      "JOIN customer c ON c.id = s.custrecord_sub_customer "
                      "WHERE s.custrecord_sub_next_charge < TO_DATE('2024-07-01', 'YYYY-MM-DD')")
    assert rows.json()["items"] == [{"links": [], "name": "S1", "companyname": "Sub Co"}]


def test_suiteql_filters_and_pages(netsuite: Any) -> None:
    ns = netsuite()
    for n in range(5):
        ns.create("customer", {"companyName": f"Co {n}",
                               "custentity_segment": "enterprise" if n % 2 == 0 else "smb"})
    q = ("SELECT id, companyname FROM customer WHERE custentity_segment = '3' "
         "ORDER BY companyname DESC")
    first = ns.suiteql(q, limit=2).json()
    assert (first["count"], first["hasMore"], first["totalResults"], first["offset"]) == (
        2, True, 3, 0)
    assert [i["companyname"] for i in first["items"]] == ["Co 4", "Co 2"]
    assert {link["rel"] for link in first["links"]} == {"next", "last", "self"}
    second = ns.suiteql(q, limit=2, offset=2).json()
    assert (second["count"], second["hasMore"]) == (1, False)
    assert second["items"] == [{"links": [], "id": "1", "companyname": "Co 0"}]

    after = ns.suiteql("SELECT COUNT(*) AS n FROM customer WHERE lastmodifieddate >= "
                       "TO_DATE('2000-01-01', 'YYYY-MM-DD')").json()
    assert after["items"] == [{"links": [], "n": "5"}]

    no_prefer = ns.session.post(f"{ns.fake.url}/services/rest/query/v1/suiteql",
                                json={"q": "SELECT id FROM customer"})
    assert no_prefer.status_code == 400 and detail(no_prefer)["o:errorHeader"] == "Prefer"
    no_table = ns.suiteql("SELECT id FROM invoice")
    assert no_table.status_code == 400
    assert detail(no_table)["o:errorCode"] == "INVALID_PARAMETER"
    assert detail(no_table)["detail"].endswith("Invalid search type: invoice.")
    bad_offset = ns.suiteql("SELECT id FROM customer", limit=2, offset=1)
    assert bad_offset.status_code == 400 and detail(bad_offset)["o:errorQueryParam"] == "offset"


LINK_COLUMNS = {"previousdoc", "previoustype", "previousline", "nextdoc", "nexttype",
                "nextline", "linktype", "foreignamount", "lastmodifieddate"}


def test_suiteql_transaction_link_tables(netsuite: Any) -> None:
    """NextTransactionLineLink and PreviousTransactionLineLink: one row per applied line of a
    customer payment, made from the payments as they are (created, updated, deleted)."""
    ns = netsuite()
    cid = ns.create("customer", {"companyName": "Payer"})
    iids = [ns.create("invoice", {"entity": {"id": cid}, "tranDate": "2024-05-01",
                                  "item": {"items": [{"item": {"id": "1"}, "amount": 100}]}})
            for _ in range(3)]
    links = "SELECT * FROM NextTransactionLineLink ORDER BY nextdoc, nextline"
    assert ns.suiteql(links).json()["items"] == []  # no payment yet: no rows, still a table
    ns.control("POST", "/clock/advance", {"seconds": 95})  # 00:01:35: not a whole minute
    pid = ns.create("customerPayment", {"customer": {"id": cid}, "payment": 70,
                                        "apply": {"items": [
                                            {"doc": {"id": iids[1]}, "apply": True, "amount": 30},
                                            {"doc": {"id": iids[2]}, "apply": False},
                                            {"doc": {"id": iids[0]}, "apply": True,
                                             "amount": 40}]}})
    unapplied = ns.create("customerPayment", {"customer": {"id": cid}, "payment": 5})
    rows = ns.suiteql(links).json()["items"]
    common = {"links": [], "previoustype": "CustInvc", "previousline": "0", "nextdoc": pid,
              "nexttype": "CustPymt", "linktype": "Payment",
              "lastmodifieddate": "1/1/2026 12:01 am"}
    assert rows == [  # the applied lines in the payment's order; `apply: false` has none
        {**common, "previousdoc": iids[1], "nextline": "1", "foreignamount": "30"},
        {**common, "previousdoc": iids[0], "nextline": "2", "foreignamount": "40"}]
    assert set(rows[0]) == LINK_COLUMNS | {"links"}
    assert unapplied not in {row["nextdoc"] for row in rows}
    # the same rows from the child's side, and joined with the transactions on both sides
    previous = ns.suiteql("SELECT * FROM PreviousTransactionLineLink "
                          "ORDER BY nextdoc, nextline").json()["items"]
    assert previous == rows
    joined = ns.suiteql(
        "SELECT p.id, p.foreigntotal, l.foreignamount, i.foreignamountunpaid, "
        "TO_CHAR(l.lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS linked "
        "FROM transaction p JOIN NextTransactionLineLink l ON l.nextdoc = p.id "
        "JOIN transaction i ON i.id = l.previousdoc "
        "WHERE p.type = 'CustPymt' AND l.linktype = 'Payment' AND i.type = 'CustInvc' "
        "ORDER BY l.previousdoc").json()["items"]
    assert joined == [
        {"links": [], "id": pid, "foreigntotal": "70", "foreignamount": "40",
         "foreignamountunpaid": "60", "linked": "2026-01-01T00:01:35"},
        {"links": [], "id": pid, "foreigntotal": "70", "foreignamount": "30",
         "foreignamountunpaid": "70", "linked": "2026-01-01T00:01:35"}]
    outer = ns.suiteql("SELECT t.id, l.previousdoc FROM transaction t "
                       "LEFT JOIN PreviousTransactionLineLink l ON l.nextdoc = t.id "
                       "WHERE t.type = 'CustPymt' ORDER BY t.id, l.nextline").json()["items"]
    assert outer == [{"links": [], "id": pid, "previousdoc": iids[1]},
                     {"links": [], "id": pid, "previousdoc": iids[0]},
                     {"links": [], "id": unapplied}]
    # an invoice's payments, from the parent's side
    paid_by = ns.suiteql(f"SELECT nextdoc, foreignamount FROM NextTransactionLineLink "
                         f"WHERE previousdoc = {iids[0]} AND nexttype = 'CustPymt'")
    assert paid_by.json()["items"] == [{"links": [], "nextdoc": pid, "foreignamount": "40"}]

    # re-applied: the rows follow the payment, with its new modification time
    ns.control("POST", "/clock/advance", {"seconds": 3600})
    assert ns.session.patch(f"{ns.records}/customerPayment/{pid}", json={"apply": {"items": [
        {"doc": {"id": iids[2]}, "apply": True, "amount": 70}]}}).status_code == 204
    assert ns.suiteql("SELECT previousdoc, nextline, foreignamount, lastmodifieddate "
                      "FROM NextTransactionLineLink").json()["items"] == [
        {"links": [], "previousdoc": iids[2], "nextline": "1", "foreignamount": "70",
         "lastmodifieddate": "1/1/2026 1:01 am"}]
    # applied to nothing, or deleted: no rows
    assert ns.session.patch(f"{ns.records}/customerPayment/{pid}",
                            json={"apply": {"items": []}}).status_code == 204
    assert ns.suiteql(links).json()["items"] == []
    last = ns.create("customerPayment", {"customer": {"id": cid}, "payment": 1, "apply": {
        "items": [{"doc": {"id": iids[0]}, "apply": True}]}})
    count = "SELECT COUNT(*) AS n FROM NextTransactionLineLink"
    assert ns.suiteql(count).json()["items"] == [{"links": [], "n": "1"}]
    assert ns.session.delete(f"{ns.records}/customerPayment/{last}").status_code == 204
    assert ns.suiteql(count).json()["items"] == [{"links": [], "n": "0"}]
    unknown = ns.suiteql("SELECT l.amount FROM NextTransactionLineLink l")
    assert unknown.status_code == 400
    assert detail(unknown)["detail"].endswith(
        "Field 'amount' for record 'nexttransactionlinelink' was not found.")


def test_collection_paging(netsuite: Any) -> None:
    ns = netsuite(None)
    ids = [ns.create("customer", {"companyName": f"C{n}"}) for n in range(3)]
    page = ns.get("customer", limit=2)
    assert [i["id"] for i in page["items"]] == ids[:2] and page["hasMore"] is True
    assert set(page["items"][0]) == {"links", "id"}
    last = ns.get("customer", limit=2, offset=2)
    assert [i["id"] for i in last["items"]] == ids[2:] and last["hasMore"] is False


# -- auth --------------------------------------------------------------------------------------
def test_tba_rejections_are_invalid_login(netsuite: Any) -> None:
    ns = netsuite(None)
    url = f"{ns.records}/customer"
    assert ns.session.get(url).status_code == 200
    for auth in (tba(token_secret="wrong"), tba(realm="7654321")):
        response = requests.get(url, auth=auth)
        assert response.status_code == 401 and response.json() == INVALID_LOGIN_BODY
    assert requests.get(url).json() == INVALID_LOGIN_BODY

    prepared = requests.Request("GET", url, auth=tba()).prepare()
    with requests.Session() as session:
        assert session.send(prepared).status_code == 200
        replay = session.send(prepared)
    assert replay.status_code == 401 and replay.json() == INVALID_LOGIN_BODY

    # freshness is checked against the wall clock the client signs with, not simulated time
    ns.control("POST", "/clock/advance", {"seconds": 600})
    assert ns.session.get(url).status_code == 200
    stale = requests.get(url, auth=tba(timestamp=str(int(time.time()) - 600)))
    assert stale.status_code == 401 and stale.json() == INVALID_LOGIN_BODY


def test_oauth2_token_expires_on_the_sim_clock(netsuite: Any) -> None:
    ns = netsuite(None)
    token_url = f"{ns.fake.url}/services/rest/auth/oauth2/v1/token"
    basic = (DEMO_SETTINGS["client_id"], DEMO_SETTINGS["client_secret"])

    def new_token() -> str:
        response = requests.post(token_url, data={"grant_type": "client_credentials"},
                                 auth=basic)
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "bearer"
        assert response.json()["expires_in"] == "3600"
        return response.json()["access_token"]

    token = new_token()
    url = f"{ns.records}/customer"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    ns.control("POST", "/clock/advance", {"seconds": 3601})
    expired = requests.get(url, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and expired.json() == INVALID_LOGIN_BODY
    assert expired.headers["WWW-Authenticate"] == (
        f'Bearer realm="{DEMO_ACCOUNT}", error="invalid_token", '
        'error_description="Invalid login attempt."')
    fresh = new_token()
    assert requests.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200

    refused = requests.post(token_url, data={"grant_type": "client_credentials"},
                            auth=(DEMO_SETTINGS["client_id"], "wrong"))
    assert refused.status_code == 401 and refused.json() == {"error": "invalid_client"}


# -- governance, faults, notifications, metadata --------------------------------------------
def test_concurrency_limit(netsuite: Any) -> None:
    ns = netsuite(None, concurrency_limit=2)
    ns.control("PUT", "/latency", {"kind": "fixed", "ms": 600})
    url = f"{ns.records}/customer"

    def call(_: int) -> requests.Response:
        return requests.get(url, auth=tba())

    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(call, range(5)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 2 and statuses.count(429) == 3, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert detail(limited)["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    ns.control("PUT", "/latency", None)
    assert ns.session.get(url).status_code == 200  # the slots were released


def test_fault_kinds_render_netsuite_bodies(netsuite: Any) -> None:
    ns = netsuite(None)
    url = f"{ns.records}/customer"
    for spec, status, code in (
            ({"kind": "http_error", "status": 503}, 503, "UNEXPECTED_ERROR"),
            ({"kind": "rate_limit", "retry_after": 2}, 429, "CONCURRENCY_LIMIT_EXCEEDED"),
            ({"kind": "concurrency_limit", "limit": 0}, 429, "CONCURRENCY_LIMIT_EXCEEDED"),
            ({"kind": "auth_expired"}, 401, "INVALID_LOGIN")):
        fault = ns.control("POST", "/faults", {**spec, "first_n": 1})
        response = ns.session.get(url)
        assert response.status_code == status, response.text
        assert detail(response)["o:errorCode"] == code
        ns.control("DELETE", f"/faults/{fault['id']}")
    assert ns.session.get(url).status_code == 200


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        type(self).arrived.set()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_change_notification_delivered(netsuite: Any) -> None:
    _Receiver.received, _Receiver.arrived = [], threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{server.server_port}/ns-events"
        ns = netsuite(None, notifications={"url": hook, "record_types": ["customer"]})
        cid = ns.create("customer", {"companyName": "Notify", "externalId": "ext-1"})
        assert _Receiver.arrived.wait(10), "no notification arrived"
        event = _Receiver.received[0]
        assert (event["recordType"], event["id"], event["type"], event["externalId"]) == (
            "customer", cid, "create", "ext-1")
        assert event["lastModifiedDate"] == ns.get(f"customer/{cid}")["lastModifiedDate"]
        deadline = time.monotonic() + 5  # the journal entry is written once the 200 is read
        while not any(e["outcome"] == "delivered" for e in ns.control("GET", "/journal/webhooks")):
            assert time.monotonic() < deadline, "delivery not journalled"
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()


def test_metadata_catalog_shows_custom_fields(netsuite: Any) -> None:
    ns = netsuite(CUSTOM_RECORD)
    listing = ns.get("metadata-catalog")
    assert {i["name"] for i in listing["items"]} >= {"customer", "invoice",
                                                     "customrecord_subscription"}
    assert [i["name"] for i in ns.get("metadata-catalog", select="customer")["items"]] == [
        "customer"]
    schema = ns.session.get(f"{ns.records}/metadata-catalog/customrecord_subscription",
                            headers={"Accept": "application/schema+json"})
    assert schema.headers["content-type"].startswith("application/schema+json")
    props = schema.json()["properties"]
    assert props["custrecord_sub_plan"]["x-ns-custom-field"] is True
    assert props["custrecord_sub_next_charge"]["format"] == "date"
    assert "x-ns-custom-field" not in props["name"]
    swagger = ns.session.get(f"{ns.records}/metadata-catalog/customer",
                             headers={"Accept": "application/swagger+json"}).json()
    customer = swagger["components"]["schemas"]["customer"]["properties"]
    assert customer["custentity_primary_subscription"]["x-ns-custom-field"] is True
    assert "/customer/{id}" in swagger["paths"]


def test_transform_invoice_to_payment(netsuite: Any) -> None:
    ns = netsuite(None)
    cid = ns.create("customer", {"companyName": "T"})
    iid = ns.create("invoice", {"entity": {"id": cid},
                                "item": {"items": [{"item": {"id": "1"}, "amount": 30}]}})
    response = ns.session.post(f"{ns.records}/invoice/{iid}/!transform/customerPayment",
                               json={"memo": "retry succeeded"})
    assert response.status_code == 204, response.text
    payment = ns.get(f"customerPayment/{response.headers['Location'].rsplit('/', 1)[1]}")
    assert (payment["payment"], payment["memo"], payment["applied"]) == (
        30.0, "retry succeeded", 30.0)
    assert ns.get(f"invoice/{iid}")["status"]["id"] == "paidInFull"


def test_demo_account_needs_no_declaration(start_fake: Any) -> None:
    fake = start_fake("netsuite")
    url = f"{fake.url}/services/rest/record/v1/customer"
    response = requests.post(url, json={"companyName": "Demo"}, auth=tba())
    assert response.status_code == 204, response.text
    assert [t.id for t in fake.sim.tenants.all()] == [DEMO_ACCOUNT]
    assert requests.get(url, auth=tba(realm="9999999")).status_code == 401
    assert [t.id for t in fake.sim.tenants.all()] == [DEMO_ACCOUNT]  # no auto-created tenant


# -- lookups by index (simulators/core/lookup.py): the same answers as reading every record
def _scanned(tenant: Any) -> dict[tuple[str, str], Any]:
    """What the indexed lookups answer, computed by reading every record (as before indexes)."""
    from simulators.netsuite import models
    invoices = list(models.records(tenant, "invoice").values())
    payments = list(models.records(tenant, "customerpayment").values())
    answers: dict[tuple[str, str], Any] = {}
    for name in ("customer", "invoice"):
        for record in models.records(tenant, name).values():
            eid = record.get("externalId")
            if eid is not None and (name, eid) not in answers:
                answers[(name, eid)] = record["id"]
    for customer_id in models.records(tenant, "customer"):
        owed = [i["amountRemaining"] for i in invoices if i["entity"]["id"] == customer_id]
        answers[("balance", customer_id)] = models.money(sum(owed))
        answers[("transactions", customer_id)] = bool(owed) or any(
            p["customer"]["id"] == customer_id for p in payments)
    for currency_id in ("1", "2", "3", "4"):
        answers[("currency", currency_id)] = any(
            (r.get("currency") or {}).get("id") == currency_id
            for name in ("customer", "invoice", "customerpayment")
            for r in models.records(tenant, name).values())
    return answers


def _indexed(tenant: Any, asked: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    from simulators.netsuite import models
    answers: dict[tuple[str, str], Any] = {}
    for key in asked:
        kind, value = key
        if kind in ("customer", "invoice"):
            found = models.find(tenant, models.record_type(tenant, kind), f"eid:{value}")
            answers[key] = found["id"] if found else None
        elif kind == "balance":
            answers[key] = models.balance(tenant, value)
        elif kind == "transactions":
            answers[key] = models._has_transactions(tenant, value)
        else:
            answers[key] = models._currency_in_use(tenant, value)
    return answers


def test_indexed_lookups_answer_as_a_scan_through_every_change() -> None:
    """External ids, balances, a customer's transactions and currencies in use, after random
    creates, updates (external id, customer, null), deletes, payments applied and
    re-applied (some failing), snapshot restores, a reset and writes behind the models' back."""
    import random

    from simulators.core.tenancy import Tenant
    from simulators.core.vendor import VendorError
    from simulators.netsuite import models

    rng = random.Random(12)
    tenant = Tenant(DEMO_ACCOUNT, "netsuite")
    types = {n: models.record_type(tenant, n) for n in ("customer", "invoice", "customerpayment")}
    snapshots: list[Any] = []
    eids = [f"e{n}" for n in range(12)]
    done = {True: 0, False: 0}  # steps that may change records in place (False), others

    def ids(name: str) -> list[str]:
        return list(models.records(tenant, name))

    for step in range(400):
        now = 1_767_225_600.0 + step
        roll = rng.random()
        try:
            if roll < 0.2 or not ids("customer"):
                models.create(tenant, types["customer"], {
                    "companyName": f"C{step}", "externalId": rng.choice(eids + [None]),
                    "currency": {"id": rng.choice("1234")}}, now)
            elif roll < 0.4:
                models.create(tenant, types["invoice"], {
                    "entity": {"id": rng.choice(ids("customer"))}, "externalId":
                    rng.choice(eids), "item": {"items": [{"item": "1", "amount": 10.05}]}}, now)
            elif roll < 0.55:
                name = rng.choice(["customer", "invoice"])
                if ids(name):
                    record = models.records(tenant, name)[rng.choice(ids(name))]
                    body: dict[str, Any] = {"externalId": rng.choice(eids + [None])}
                    if name == "invoice":
                        body["entity"] = {"id": rng.choice(ids("customer"))}
                    models.update(tenant, types[name], record, body, now)
            elif roll < 0.65 and ids("invoice"):
                invoice = models.records(tenant, "invoice")[rng.choice(ids("invoice"))]
                models.create(tenant, types["customerpayment"], {
                    "customer": invoice["entity"], "payment": rng.choice([1.0, 5.0, 50.0]),
                    "apply": {"items": [{"doc": {"id": invoice["id"]},
                                         "amount": rng.choice([1.0, 2.5, 500.0])}]}}, now)
            elif roll < 0.72 and ids("customerpayment"):
                payment = models.records(tenant, "customerpayment")[
                    rng.choice(ids("customerpayment"))]
                target = rng.choice(ids("invoice") or ["0"])
                models.update(tenant, types["customerpayment"], payment, {
                    "payment": rng.choice([2.0, 40.0]), "apply": {"items": [
                        {"doc": {"id": target}, "amount": rng.choice([1.0, 30.0])}]}}, now)
            elif roll < 0.85:
                name = rng.choice(["customer", "invoice", "customerpayment"])
                if ids(name):
                    models.delete(tenant, types[name],
                                  models.records(tenant, name)[rng.choice(ids(name))])
            elif roll < 0.92:
                snapshots.append(tenant.snapshot())
            elif roll < 0.99 and snapshots:
                tenant.restore(rng.choice(snapshots))
            elif roll < 0.995:
                tenant.reset()
            else:  # behind the models' back: a new record, stored straight into the collection
                models.records(tenant, "customer")[f"9{step}"] = {
                    "id": f"9{step}", "companyName": "X", "externalId": rng.choice(eids)}
        except VendorError:
            pass  # refused (a duplicate external id, too much applied): still checked
        expected = _scanned(tenant)
        for key in [(name, eid) for name in ("customer", "invoice") for eid in eids]:
            expected.setdefault(key, None)
        assert _indexed(tenant, expected) == expected, step
        done[roll < 0.4 or roll >= 0.85] += 1
    assert done[False] > 100 and "lookup:invoice" in tenant.derived  # indexes were used


def test_external_id_index_is_kept_current_not_rebuilt() -> None:
    from simulators.core.tenancy import Tenant
    from simulators.netsuite import models

    tenant = Tenant(DEMO_ACCOUNT, "netsuite")
    customer = models.record_type(tenant, "customer")
    a = models.create(tenant, customer, {"companyName": "A", "externalId": "a"}, 0.0)
    assert models.find(tenant, customer, "eid:a") is a
    index = tenant.derived["lookup:customer"]["externalId"]
    b = models.create(tenant, customer, {"companyName": "B", "externalId": "b"}, 0.0)
    models.update(tenant, customer, a, {"externalId": "c"}, 0.0)
    snapshot = tenant.snapshot()
    models.delete(tenant, customer, b)
    assert [models.find(tenant, customer, f"eid:{e}") for e in "abc"] == [None, None, a]
    assert tenant.derived["lookup:customer"]["externalId"] is index  # kept, not rebuilt
    tenant.restore(snapshot)  # new record objects: the index is built again for them
    assert models.find(tenant, customer, "eid:b") == b
    assert models.find(tenant, customer, "eid:b") is models.records(tenant, "customer")[b["id"]]
    models.records(tenant, "customer")[a["id"]]["externalId"] = "d"  # behind its back
    assert models.find(tenant, customer, "eid:c") is None  # the stale hit is not trusted
