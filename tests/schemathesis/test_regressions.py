"""What the Schemathesis runs found, each pinned by a plain request (no generation), so it stays
fixed whatever a later run draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from components.recovery.service import RecoveryService
from components.sync.service import SyncService
from harness.reference_merchant import acme_settings
from simulators.core.server import start_in_thread
from tests.schemathesis.vendors import SF_VERSION, VENDORS


def test_salesforce_json_flags_are_booleans(start_fake: Any) -> None:
    """`"allOrNone": "false"` was truthy (all-or-none on); 1 and a number header were taken."""
    fake = start_fake("salesforce")
    session = VENDORS["salesforce"].session(fake.url)
    base = f"{fake.url}/services/data/{SF_VERSION}"
    sub = {"method": "GET", "url": f"/services/data/{SF_VERSION}/limits", "referenceId": "a"}
    for body in ({"allOrNone": "false", "compositeRequest": [sub]},
                 {"allOrNone": 1, "compositeRequest": [sub]}):
        refused = session.post(f"{base}/composite", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    numbered = session.post(f"{base}/composite", json={  # refused as the subrequest's answer
        "compositeRequest": [{**sub, "httpHeaders": {"X-Test": 1}}]}).json()
    [answer] = numbered["compositeResponse"]
    assert answer["httpStatusCode"] == 400, answer
    assert answer["body"][0]["errorCode"] == "JSON_PARSER_ERROR"
    collection = session.post(f"{base}/composite/sobjects", json={
        "allOrNone": "true", "records": [{"attributes": {"type": "Account"}, "Name": "A"}]})
    assert collection.status_code == 400, collection.text
    kept = session.post(f"{base}/composite", json={"allOrNone": False, "compositeRequest": [sub]})
    assert kept.status_code == 200, kept.text


def test_chargebee_webhook_endpoint_needs_a_url(start_fake: Any) -> None:
    fake = start_fake("chargebee")
    session = VENDORS["chargebee"].session(fake.url)
    endpoints = f"{fake.url}/api/v2/webhook_endpoints"
    refused = session.post(endpoints, data={"name": "a", "url": "not a url"})
    assert refused.status_code == 400 and refused.json()["param"] == "url", refused.text
    made = session.post(endpoints, data={"name": "b", "url": "https://hooks.example.com/cb"})
    assert made.status_code == 200, made.text
    endpoint = made.json()["webhook_endpoint"]["id"]
    update = session.post(f"{endpoints}/{endpoint}", data={"url": "ftp:/x"})
    assert update.status_code == 400  # and the stored URL is unchanged:
    assert session.get(f"{endpoints}/{endpoint}").json()["webhook_endpoint"]["url"] == (
        "https://hooks.example.com/cb")


def test_chargebee_refuses_what_its_document_forbids(start_fake: Any) -> None:
    """The long profile's finds: each was stored and echoed back (an id `0*` then named a path
    no later request could reach)."""
    fake = start_fake("chargebee")
    session = VENDORS["chargebee"].session(fake.url)
    api = f"{fake.url}/api/v2"
    for path, data, param in (
            ("/customers", {"preferred_currency_code": "FKH*"}, "preferred_currency_code"),
            ("/customers", {"id": "0*"}, "id"),
            ("/customers", {"net_term_days": "-1"}, "net_term_days"),
            ("/item_families", {"id": "0*", "name": "Family"}, "id"),
            ("/webhook_endpoints", {"name": "a", "url": "https://hooks.example.com/cb",
                                    "api_version": "v9"}, "api_version")):
        refused = session.post(api + path, data=data)
        assert refused.status_code == 400, (path, data, refused.text)
        body = refused.json()
        assert (body["param"], body["type"], body["api_error_code"]) == (
            param, "invalid_request", "param_wrong_value"), body
    made = session.post(f"{api}/customers", data={"id": "cus.ok@1-2_3",
                                                  "preferred_currency_code": "EUR"})
    assert made.status_code == 200, made.text
    assert made.json()["customer"]["preferred_currency_code"] == "EUR"


def test_stripe_test_clock_times_and_cancellation_feedback_are_checked(start_fake: Any) -> None:
    """A clock frozen before 1970 advanced into a 500; any cancellation feedback was stored."""
    fake = start_fake("stripe")
    session = VENDORS["stripe"].session(fake.url)
    api = f"{fake.url}/v1"
    refused = session.post(f"{api}/test_helpers/test_clocks",
                           data={"frozen_time": "-18014398509481983"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "frozen_time"
    clock = session.post(f"{api}/test_helpers/test_clocks", data={"frozen_time": "1767225600"})
    assert clock.status_code == 200, clock.text
    customer = session.post(f"{api}/customers", data={"test_clock": clock.json()["id"]}).json()
    price = session.post(f"{api}/prices", data={
        "currency": "usd", "unit_amount": "900", "recurring[interval]": "month",
        "product_data[name]": "Plan"}).json()
    sub = session.post(f"{api}/subscriptions", data={
        "customer": customer["id"], "items[0][price]": price["id"],
        "collection_method": "send_invoice", "days_until_due": "30"})
    assert sub.status_code == 200, sub.text
    url = f"{api}/subscriptions/{sub.json()['id']}"
    bad = session.delete(url, data={"cancellation_details[feedback]": "__not_in_enum__"})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["param"] == "cancellation_details[feedback]"
    done = session.delete(url, data={"cancellation_details[feedback]": "too_expensive"})
    assert done.status_code == 200, done.text
    assert done.json()["cancellation_details"]["feedback"] == "too_expensive"


def test_control_plane_numbers_are_not_booleans(start_fake: Any) -> None:
    fake = start_fake("stripe")
    for method, path, body in (("PUT", "/_sim/seed", {"seed": True}),
                               ("POST", "/_sim/clock/advance", {"seconds": True}),
                               ("POST", "/_sim/reset", {"seed": False})):
        answer = httpx.request(method, f"{fake.url}{path}", json=body)
        assert answer.status_code == 422, (path, answer.text)
    document = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    faults = document["paths"]["/_sim/faults/{fault_id}"]["delete"]["responses"]
    assert {"400", "404"} <= set(faults)  # the refusals it answers are documented


@pytest.fixture
def apps(start_fake: Any, tmp_path: Path) -> Any:
    stripe = start_fake("stripe")
    settings = acme_settings(  # acme without its ERP and CRM: not needed here
        store=f"sqlite:///{tmp_path / 'store.db'}", stripe={"base_url": stripe.url},
        netsuite=None, salesforce=None)
    servers = [start_in_thread(RecoveryService(settings).app),
               start_in_thread(SyncService(settings).app)]
    yield [s.url for s in servers]
    for server in servers:
        server.stop()


def test_component_apis_refuse_and_document_what_they_answer(apps: list[str]) -> None:
    recovery, sync = apps
    good = {"request_id": "r1", "invoice_id": "in_nowhere", "customer_id": "cus_nobody",
            "amount": 100, "currency": "usd"}
    for bad in ({"invoice_id": ""}, {"amount": True}, {"currency": "000"}, {"request_id": 7}):
        answer = httpx.post(f"{recovery}/v1/intercepts", json={**good, **bad}, timeout=10)
        assert answer.status_code == 422, (bad, answer.text)
    # an invoice Stripe does not have: the caller's mistake (422), not a vendor failure (502)
    unknown = httpx.post(f"{recovery}/v1/intercepts", json=good, timeout=10)
    assert unknown.status_code == 422 and unknown.json()["outcome"]["error"] == "not_found", (
        unknown.text)
    malformed = httpx.post(f"{recovery}/v1/intercepts", content=b"\xff", timeout=10,
                           headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    for ids in ([True], [2**64]):  # a bool; an id past 64 bits (a 500 from the store)
        replay = httpx.post(f"{sync}/v1/dead-letters/replay", json={"ids": ids}, timeout=10)
        assert replay.status_code == 422, replay.text
    # a `since` Stripe refuses was answered 503 "vendor unavailable"
    since = httpx.post(f"{sync}/v1/reconcile", json={"since": -1.8e109}, timeout=10)
    assert since.status_code == 422, since.text
    paths = httpx.get(f"{recovery}/openapi.json", timeout=60).json()["paths"]
    assert {"400", "502"} <= set(paths["/webhooks/stripe"]["post"]["responses"])
    assert "requestBody" in paths["/webhooks/stripe"]["post"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    sync_paths = httpx.get(f"{sync}/openapi.json", timeout=60).json()["paths"]
    assert "503" in sync_paths["/v1/reconcile"]["post"]["responses"]


def test_chargebee_list_filters_are_checked_before_the_data(start_fake: Any) -> None:
    """A list's filter was only read when compared with an object, so on an empty list a
    malformed one was answered 200; each is now refused whatever the site holds."""
    fake = start_fake("chargebee")
    session = VENDORS["chargebee"].session(fake.url)
    api = f"{fake.url}/api/v2"
    for path, param, value in (("subscriptions", "status[is_not]", "nope"),
                               ("item_families", "name[in]", "a"),  # a list needs brackets
                               ("transactions", "amount[between]", "x"),
                               ("customers", "updated_at[on]", "1.5"),
                               ("customers", "plan_id[is]", "a"),  # not a customers filter
                               ("customers", "created_at[is]", "1")):  # not a time operator
        refused = session.get(f"{api}/{path}", params={param: value})
        assert refused.status_code == 400, (path, param, refused.text)
        error = refused.json()
        assert error["type"] == "invalid_request" and param.startswith(error["param"]), error
    kept = session.get(f"{api}/subscriptions", params={  # the official SDK's list syntax too
        "status[in]": "['active', 'cancelled']", "updated_at[between]": "['1', '2']"})
    assert kept.status_code == 200 and kept.json()["list"] == [], kept.text
