"""Stored data never poisons a tenant (issue 11): text UTF-8 cannot encode (a lone surrogate,
sent as JSON's `"\\ud800"` escape or as its raw bytes) is refused where it enters each fake,
with the vendor's own 400, and the tenant's reads, queries and state stay whole; strings and
amounts are bounded as each vendor bounds them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.chargebee.vendor import DEMO_KEY as CB_KEY
from simulators.chargebee.vendor import DEMO_SITE as CB_SITE
from simulators.client import ControlClient
from simulators.core.text import find_unencodable, printable, valid_text
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NS_SETTINGS
from simulators.salesforce.vendor import DEMO_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SF_SETTINGS

LONE = '"\\ud800"'  # the JSON escape, as a client would send it
V = "/services/data/v59.0"
NS_RECORDS = "/services/rest/record/v1"


def _json(body: str) -> dict[str, Any]:
    return {"content": body.encode(), "headers": {"content-type": "application/json"}}


def _state_and_snapshot(fake: Any, tenant: str) -> dict[str, Any]:
    """The control plane still renders the tenant, and every tenant's snapshot still encodes
    (as the snapshot file is written: JSON, UTF-8)."""
    with httpx.Client(base_url=fake.url, trust_env=False) as control:
        state = control.get(f"/_sim/tenants/{tenant}/state")
        assert state.status_code == 200, state.text
    snapshots = [t.snapshot() for t in fake.sim.tenants.all()]
    json.dumps(snapshots, ensure_ascii=False).encode("utf-8")
    return dict(state.json())


# -- the core check ---------------------------------------------------------------------------
def test_valid_text_is_exactly_what_utf8_can_encode() -> None:
    for code in (*range(0xD780, 0xE100), 0x41, 0xE9, 0x10FFFF, 0x1F600):
        text = f"a{chr(code)}b"
        try:
            text.encode("utf-8")
            encodable = True
        except UnicodeEncodeError:
            encodable = False
        assert valid_text(text) is encodable, hex(code)


def test_finder_names_the_path_of_a_bad_value_or_key() -> None:
    assert find_unencodable({"a": [1, {"b": "x\ud800"}], "c": "é"}) == ("a", 1, "b")
    assert find_unencodable({"ok": {"k\udc80": 1}}) == ("ok", "k\udc80")
    assert find_unencodable([("name", "\udced\udca0\udc80")]) == (0, 1)
    assert find_unencodable({"a": ["é", "😀", 3.5, None]}) is None
    deep: Any = "\ud800"
    for _ in range(5000):  # iterative: no recursion limit
        deep = [deep]
    assert find_unencodable(deep) == (0,) * 5000
    assert printable("x\ud800") == "x\\ud800"


# -- Stripe ------------------------------------------------------------------------------------
@pytest.fixture
def stripe(start_fake) -> Iterator[httpx.Client]:
    fake = start_fake("stripe")
    with httpx.Client(base_url=fake.url, auth=("sk_test_text", ""), trust_env=False) as client:
        client.fake = fake  # type: ignore[attr-defined]
        yield client


def _stripe_form(body: str) -> dict[str, Any]:
    return {"content": body.encode(),
            "headers": {"content-type": "application/x-www-form-urlencoded"}}


def test_stripe_refuses_bytes_that_are_not_utf8(stripe: httpx.Client) -> None:
    stripe.post("/v1/customers", data={"name": "Ada"}).raise_for_status()
    for body in ("name=%ED%A0%80", "name=%FF", "metadata[%ED%A0%80]=x"):
        response = stripe.post("/v1/customers", **_stripe_form(body))
        assert response.status_code == 400, body
        assert response.json()["error"] == {
            "type": "invalid_request_error",
            "message": "Invalid UTF-8 characters found in POST body."}
    assert stripe.get("/v1/customers?email=%ED%A0%80").status_code == 400
    names = [c["name"] for c in stripe.get("/v1/customers").json()["data"]]
    assert names == ["Ada"]
    _state_and_snapshot(stripe.fake, "sk_test_text")  # type: ignore[attr-defined]


def test_stripe_bounds_strings_by_the_spec_and_integers_by_int64(stripe: httpx.Client) -> None:
    response = stripe.post("/v1/customers", data={"name": "n" * 257})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "name"
    assert error["message"] == "Invalid string: nnnnnnnnnn...nnnnnnnnnn; must be at most 256 " \
                               "characters"
    big = stripe.post("/v1/customers", data={"address[line1]": "x" * 5001})
    assert big.json()["error"]["param"] == "address[line1]"
    assert stripe.post("/v1/customers", data={"phone": "1" * 21}).status_code == 400
    product = stripe.post("/v1/products", data={"name": "P"}).json()["id"]
    price = stripe.post("/v1/prices", data={"product": product, "currency": "usd",
                                            "unit_amount": str(2**64)})
    assert price.status_code == 400
    assert price.json()["error"]["code"] == "parameter_invalid_integer"
    assert price.json()["error"]["param"] == "unit_amount"
    assert stripe.get("/v1/customers").json()["data"] == []


# -- Chargebee ---------------------------------------------------------------------------------
@pytest.fixture
def chargebee(start_fake) -> Iterator[httpx.Client]:
    fake = start_fake("chargebee")
    with ControlClient(fake.url) as control:
        control.declare_tenant(CB_SITE, {"api_key": CB_KEY})
    with httpx.Client(base_url=f"{fake.url}/api/v2", auth=(CB_KEY, ""),
                      trust_env=False) as client:
        client.fake = fake  # type: ignore[attr-defined]
        yield client


def _cb_error(response: httpx.Response, code: str, param: str | None) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["api_error_code"], body["type"], body.get("param")) == (
        code, "invalid_request", param)
    return str(body["message"])


def test_chargebee_refuses_a_lone_surrogate(chargebee: httpx.Client) -> None:
    chargebee.post("/customers", data={"id": "c1", "first_name": "Ada"}).raise_for_status()
    bad = chargebee.post("/customers", **_json('{"id": "c2", "first_name": ' + LONE + "}"))
    _cb_error(bad, "param_wrong_value", "first_name")
    nested = chargebee.post("/customers", **_json(
        '{"id": "c3", "billing_address": {"city": ' + LONE + "}}"))
    _cb_error(nested, "param_wrong_value", "billing_address[city]")
    key = chargebee.post("/customers", **_json("{" + LONE + ': "x"}'))
    assert "\\ud800" in _cb_error(key, "param_wrong_value", "\\ud800")
    listed = chargebee.get("/customers").json()["list"]
    assert [entry["customer"]["id"] for entry in listed] == ["c1"]
    assert chargebee.get("/customers/c1").json()["customer"]["first_name"] == "Ada"
    state = _state_and_snapshot(chargebee.fake, CB_SITE)  # type: ignore[attr-defined]
    assert "c2" not in json.dumps(state)


def test_chargebee_bounds_lengths_and_amounts(chargebee: httpx.Client) -> None:
    message = _cb_error(chargebee.post("/customers", data={"first_name": "a" * 151}),
                        "param_wrong_value", "first_name")
    assert message == "first_name : cannot be more than 150 characters"
    _cb_error(chargebee.post("/customers", data={"email": "a" * 71}), "param_wrong_value",
              "email")
    _cb_error(chargebee.post("/customers", data={"id": "i" * 51}), "param_wrong_value", "id")
    # far past the field's bound but under the request-body limit (a 20 MB body is a 413)
    _cb_error(chargebee.post("/customers", data={"company": "x" * 300_000}),
              "param_wrong_value", "company")
    chargebee.post("/item_families", data={"id": "fam", "name": "Family"}).raise_for_status()
    chargebee.post("/items", data={"id": "plan", "name": "Plan", "type": "plan",
                                   "item_family_id": "fam"}).raise_for_status()
    price = {"id": "plan-usd", "name": "Plan USD", "item_id": "plan", "price": str(2**64)}
    message = _cb_error(chargebee.post("/item_prices", data=price), "param_wrong_value", "price")
    assert message == f"price : should be less than or equal to {2**63 - 1}"
    price.update(price=str(2**62), pricing_model="per_unit")
    chargebee.post("/item_prices", data=price).raise_for_status()
    chargebee.post("/customers", data={"id": "c1"}).raise_for_status()
    overflow = chargebee.post("/customers/c1/subscription_for_items", data={
        "subscription_items[item_price_id][0]": "plan-usd",
        "subscription_items[quantity][0]": "4"})
    _cb_error(overflow, "param_wrong_value", "subscription_items[quantity][0]")
    assert chargebee.get("/subscriptions").json()["list"] == []


# -- NetSuite ----------------------------------------------------------------------------------
@pytest.fixture
def netsuite(start_fake) -> Iterator[httpx.Client]:
    fake = start_fake("netsuite")
    with httpx.Client(base_url=fake.url, trust_env=False) as client:
        token = client.post("/services/rest/auth/oauth2/v1/token",
                            data={"grant_type": "client_credentials"},
                            auth=(NS_SETTINGS["client_id"], NS_SETTINGS["client_secret"]))
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        client.fake = fake  # type: ignore[attr-defined]
        yield client


def _ns_error(response: httpx.Response, code: str, path: str | None) -> str:
    assert response.status_code == 400, response.text
    [detail] = response.json()["o:errorDetails"]
    assert (detail["o:errorCode"], detail.get("o:errorPath")) == (code, path)
    return str(detail["detail"])


def _ns_customer(netsuite: httpx.Client, body: dict[str, Any]) -> str:
    response = netsuite.post(f"{NS_RECORDS}/customer", json=body)
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def test_netsuite_refuses_a_lone_surrogate(netsuite: httpx.Client) -> None:
    good = _ns_customer(netsuite, {"companyName": "Acme"})
    bad = netsuite.post(f"{NS_RECORDS}/customer", **_json('{"companyName": ' + LONE + "}"))
    _ns_error(bad, "INVALID_CONTENT", "companyName")
    raw = netsuite.post(f"{NS_RECORDS}/customer", content=b'{"companyName": "\xed\xa0\x80"}',
                        headers={"content-type": "application/json"})
    _ns_error(raw, "INVALID_CONTENT", "companyName")
    line = netsuite.post(f"{NS_RECORDS}/invoice", **_json(
        '{"entity": {"id": "' + good + '"}, "item": {"items": [{"item": {"id": "1"}, '
        '"amount": 5, "description": ' + LONE + "}]}}"))
    _ns_error(line, "INVALID_CONTENT", "item.items[0].description")
    patch = netsuite.patch(f"{NS_RECORDS}/customer/{good}", **_json('{"comments": ' + LONE + "}"))
    _ns_error(patch, "INVALID_CONTENT", "comments")
    suiteql = netsuite.post("/services/rest/query/v1/suiteql", headers={
        "prefer": "transient", "content-type": "application/json"},
        content=('{"q": "SELECT id FROM customer WHERE companyname = ' + "'\\ud800'" + '"}'))
    _ns_error(suiteql, "INVALID_CONTENT", "q")
    listed = netsuite.get(f"{NS_RECORDS}/customer").json()
    assert [item["id"] for item in listed["items"]] == [good]
    assert netsuite.get(f"{NS_RECORDS}/customer/{good}").json()["companyName"] == "Acme"
    query = netsuite.post("/services/rest/query/v1/suiteql", headers={"prefer": "transient"},
                          json={"q": "SELECT id, companyname FROM customer"})
    assert query.status_code == 200, query.text
    assert query.json()["totalResults"] == 1
    _state_and_snapshot(netsuite.fake, DEMO_ACCOUNT)  # type: ignore[attr-defined]


def test_netsuite_bounds_text_and_amounts(netsuite: httpx.Client) -> None:
    long = netsuite.post(f"{NS_RECORDS}/customer", json={"companyName": "c" * 84})
    assert "maximum number ( 83 )" in _ns_error(long, "USER_ERROR", "companyName")
    huge = netsuite.post(f"{NS_RECORDS}/customer", json={"companyName": "Acme",
                                                          "comments": "x" * 20_000_000})
    _ns_error(huge, "USER_ERROR", "comments")
    customer = _ns_customer(netsuite, {"companyName": "Acme"})
    for amount in (1e308, 1e16, 10**400):
        invoice = netsuite.post(f"{NS_RECORDS}/invoice", json={
            "entity": {"id": customer}, "item": {"items": [{"item": {"id": "1"},
                                                            "amount": amount}]}})
        assert "Invalid Field Value" in _ns_error(invoice, "USER_ERROR", "item.items[0]")
    for payment in (-1, 0, 1e308):
        paid = netsuite.post(f"{NS_RECORDS}/customerPayment",
                             json={"customer": {"id": customer}, "payment": payment})
        assert "Invalid Field Value" in _ns_error(paid, "USER_ERROR", "payment")
    assert netsuite.get(f"{NS_RECORDS}/invoice").json()["totalResults"] == 0


# -- Salesforce --------------------------------------------------------------------------------
@pytest.fixture
def salesforce(start_fake) -> Iterator[httpx.Client]:
    fake = start_fake("salesforce")
    with httpx.Client(base_url=fake.url, trust_env=False) as client:
        token = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_SETTINGS["client_id"],
            "client_secret": SF_SETTINGS["client_secret"]}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        client.fake = fake  # type: ignore[attr-defined]
        yield client


def _sf_error(response: httpx.Response, code: str) -> str:
    assert response.status_code == 400, response.text
    [error] = response.json()
    assert error["errorCode"] == code
    return str(error["message"])


def test_salesforce_refuses_a_lone_surrogate(salesforce: httpx.Client) -> None:
    created = salesforce.post(f"{V}/sobjects/Account", json={"Name": "Acme"})
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    bad = salesforce.post(f"{V}/sobjects/Account", **_json('{"Name": ' + LONE + "}"))
    assert "'Name'" in _sf_error(bad, "JSON_PARSER_ERROR")
    _sf_error(salesforce.patch(f"{V}/sobjects/Account/{account}",
                               **_json('{"Description": ' + LONE + "}")), "JSON_PARSER_ERROR")
    _sf_error(salesforce.post(f"{V}/sobjects/Account", **_json("{" + LONE + ': "x"}')),
              "JSON_PARSER_ERROR")
    composite = salesforce.post(f"{V}/composite", **_json(
        '{"compositeRequest": [{"method": "POST", "url": "' + V + '/sobjects/Account", '
        '"referenceId": "a", "body": {"Name": ' + LONE + "}}]}"))
    assert "compositeRequest[0].body.Name" in _sf_error(composite, "JSON_PARSER_ERROR")
    collection = salesforce.post(f"{V}/composite/sobjects", **_json(
        '{"records": [{"attributes": {"type": "Account"}, "Name": ' + LONE + "}]}"))
    _sf_error(collection, "JSON_PARSER_ERROR")
    query = salesforce.get(f"{V}/query", params={"q": "SELECT Id, Name FROM Account"})
    assert query.status_code == 200, query.text
    assert [r["Name"] for r in query.json()["records"]] == ["Acme"]
    assert salesforce.get(f"{V}/sobjects/Account/{account}").json()["Name"] == "Acme"
    _state_and_snapshot(salesforce.fake, DEMO_ORG)  # type: ignore[attr-defined]


def test_salesforce_bounds_standard_fields_and_numbers(salesforce: httpx.Client) -> None:
    message = _sf_error(salesforce.post(f"{V}/sobjects/Account", json={"Name": "n" * 256}),
                        "STRING_TOO_LONG")
    assert message.startswith("Account Name: data value too large:")
    assert message.endswith("(max length=255)")
    _sf_error(salesforce.post(f"{V}/sobjects/Account", json={
        "Name": "Acme", "BillingStreet": "s" * 256}), "STRING_TOO_LONG")
    _sf_error(salesforce.post(f"{V}/sobjects/Product2", json={
        "Name": "P", "Description": "d" * 4001}), "STRING_TOO_LONG")
    _sf_error(salesforce.post(f"{V}/sobjects/Account", json={
        "Name": "Acme", "AnnualRevenue": 1e308}), "NUMBER_OUTSIDE_VALID_RANGE")
    digits = salesforce.post(f"{V}/sobjects/Account",
                             **_json('{"Name": "Acme", "AnnualRevenue": ' + "9" * 5000 + "}"))
    _sf_error(digits, "JSON_PARSER_ERROR")
    query = salesforce.get(f"{V}/query", params={"q": "SELECT COUNT() FROM Account"})
    assert query.json()["totalSize"] == 0
