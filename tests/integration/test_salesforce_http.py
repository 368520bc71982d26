"""The fake Salesforce's wire format with raw HTTP: native error bodies, status codes, headers,
OAuth errors, collections/composite rollback, and every engine fault in Salesforce's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.client import ControlClient
from simulators.salesforce import ids
from simulators.salesforce.vendor import DEMO_ORG, DEMO_SETTINGS

SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
V = "/services/data/v59.0"


class Client:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.http = httpx.Client(base_url=fake.url, trust_env=False)
        token = self.http.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
            "client_secret": DEMO_SETTINGS["client_secret"]}).json()
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def create(self, sobject: str, body: dict[str, Any]) -> str:
        response = self.http.post(f"{V}/sobjects/{sobject}", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]


@pytest.fixture
def make_client(start_fake):
    def make(schema: Any = "salesforce-plan-junction.yaml", **settings: Any) -> Client:
        """`schema`: a file under scenarios/schemas, or the schema itself as a mapping."""
        fake = start_fake("salesforce", controlled_clock=True)
        if isinstance(schema, str):
            schema = SCHEMAS / schema
        with ControlClient(fake.url) as control:
            control.declare_tenant(DEMO_ORG, {**DEMO_SETTINGS, **settings}, schema)
        client = Client(fake)
        yield_clients.append(client)
        return client
    yield_clients: list[Client] = []
    yield make
    for client in yield_clients:
        client.http.close()


@pytest.fixture
def sf(make_client) -> Client:
    return make_client()


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    assert body[0]["errorCode"] == code, body
    return body[0]


# -- ids ---------------------------------------------------------------------------------------

def test_id_checksum_matches_salesforce() -> None:
    assert ids.to18("001D000000IRFma") == "001D000000IRFmaIAH"  # Salesforce's own example
    assert ids.normalize("001d000000irfmaIAH") == "001D000000IRFmaIAH"
    assert ids.normalize("001D000000IRFma") == "001D000000IRFmaIAH"
    assert ids.normalize("not-an-id") is None


# -- auth, versions, limits header -------------------------------------------------------------

def test_versions_are_public_and_the_rest_needs_a_session(sf: Client) -> None:
    anonymous = httpx.get(f"{sf.fake.url}/services/data/", trust_env=False)
    assert anonymous.status_code == 200
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in \
        anonymous.json()
    for headers in ({}, {"Authorization": "Bearer 00D000000000001!nope"}):
        response = httpx.get(f"{sf.fake.url}{V}/sobjects", headers=headers, trust_env=False)
        body = _error(response, 401, "INVALID_SESSION_ID")
        assert body["message"] == "Session expired or invalid"
        assert response.headers["www-authenticate"] == "Token"
    assert sf.get(f"{V}/").json()["query"] == f"{V}/query"
    _error(sf.get("/services/data/v12.0/sobjects"), 404, "NOT_FOUND")


def test_every_call_reports_api_usage(sf: Client) -> None:
    first = sf.get(f"{V}/limits")
    assert first.headers["sforce-limit-info"] == "api-usage=1/15000"
    assert first.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 14999}
    failed = sf.get(f"{V}/sobjects/Nope__c")
    assert failed.headers["sforce-limit-info"] == "api-usage=2/15000"


def test_token_endpoint_errors_use_the_oauth_shape(sf: Client) -> None:
    url = "/services/oauth2/token"
    cid = DEMO_SETTINGS["client_id"]
    cases = [
        ({"grant_type": "client_credentials", "client_id": cid, "client_secret": "wrong"},
         "invalid_client", "invalid client credentials"),
        ({"grant_type": "client_credentials", "client_id": "unknown", "client_secret": "x"},
         "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "password", "client_id": cid,
          "client_secret": DEMO_SETTINGS["client_secret"], "username": "x", "password": "y"},
         "invalid_grant", "authentication failure"),
        ({"grant_type": "refresh_token", "client_id": cid, "refresh_token": "bogus"},
         "invalid_grant", "expired access/refresh token"),
        ({"grant_type": "magic"}, "unsupported_grant_type", "grant type not supported"),
    ]
    for form, error, description in cases:
        response = httpx.post(f"{sf.fake.url}{url}", data=form, trust_env=False)
        assert response.status_code == 400
        assert response.json() == {"error": error, "error_description": description}
    password = DEMO_SETTINGS["password"] + DEMO_SETTINGS["security_token"]
    ok = httpx.post(f"{sf.fake.url}{url}", trust_env=False, data={
        "grant_type": "password", "client_id": cid,
        "client_secret": DEMO_SETTINGS["client_secret"],
        "username": DEMO_SETTINGS["username"], "password": password})
    assert ok.status_code == 200 and "expires_in" not in ok.json()


def test_revoked_token_is_rejected(sf: Client) -> None:
    token = sf.http.headers["Authorization"].split()[1]
    assert httpx.post(f"{sf.fake.url}/services/oauth2/revoke", data={"token": token},
                      trust_env=False).status_code == 200
    _error(sf.get(f"{V}/limits"), 401, "INVALID_SESSION_ID")


# -- record errors -----------------------------------------------------------------------------

def test_write_errors_have_salesforce_codes(sf: Client) -> None:
    account = sf.create("Account", {"Name": "Acme"})
    body = _error(sf.post(f"{V}/sobjects/Account", json={"Phone": "1"}), 400,
                  "REQUIRED_FIELD_MISSING")
    assert body == {"message": "Required fields are missing: [Name]",
                    "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}
    body = _error(sf.post(f"{V}/sobjects/Plan__c", json={"Account__c": account}), 400,
                  "REQUIRED_FIELD_MISSING")
    assert body["fields"] == ["Subscription__c", "Plan_Code__c"]
    cases = [
        ({"Name": "x", "Billing_Customer_Id__c": "c" * 65}, "STRING_TOO_LONG"),
        ({"Name": "x", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
        ({"Name": "x", "ParentId": "garbage"}, "MALFORMED_ID"),
        ({"Name": "x", "ParentId": "0035g0000000001AAA"}, "FIELD_INTEGRITY_EXCEPTION"),
        ({"Name": "x", "ParentId": "0015g00000000ZZ"}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"Name": "x", "Id": account}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Name": "x", "Missing__c": 1}, "INVALID_FIELD"),
    ]
    for payload, code in cases:
        _error(sf.post(f"{V}/sobjects/Account", json=payload), 400, code)
    bad_json = sf.post(f"{V}/sobjects/Account", content=b"{not json",
                       headers={"Content-Type": "application/json"})
    assert "Unexpected character" in _error(bad_json, 400, "JSON_PARSER_ERROR")["message"]
    sf.create("Account", {"Name": "y", "Billing_Customer_Id__c": "cust_1"})
    duplicate = _error(sf.post(f"{V}/sobjects/Account",
                               json={"Name": "z", "Billing_Customer_Id__c": "CUST_1"}),
                       400, "DUPLICATE_VALUE")
    assert duplicate["message"].startswith("duplicate value found: Billing_Customer_Id__c")


def test_not_found_deleted_and_method_errors(sf: Client) -> None:
    account = sf.create("Account", {"Name": "Acme"})
    _error(sf.get(f"{V}/sobjects/Nope__c/describe"), 404, "NOT_FOUND")
    _error(sf.get(f"{V}/sobjects/Account/0015g00000000ZZAAA"), 404, "NOT_FOUND")
    missing = _error(sf.get(f"{V}/sobjects/Account/bogus"), 404, "NOT_FOUND")
    assert missing["message"] == ("Provided external ID field does not exist or is not "
                                  "accessible: bogus")
    _error(sf.put(f"{V}/sobjects/Account/{account}", json={}), 405, "METHOD_NOT_ALLOWED")
    _error(sf.get(f"{V}/nothing/here"), 404, "NOT_FOUND")
    assert sf.delete(f"{V}/sobjects/Account/{account}").status_code == 204
    _error(sf.get(f"{V}/sobjects/Account/{account}"), 404, "NOT_FOUND")
    _error(sf.delete(f"{V}/sobjects/Account/{account}"), 404, "ENTITY_IS_DELETED")
    _error(sf.patch(f"{V}/sobjects/Account/{account}", json={"Name": "x"}), 404,
           "ENTITY_IS_DELETED")


def test_get_with_fields_and_upsert_status_by_version(sf: Client) -> None:
    account = sf.create("Account", {"Name": "Acme", "Billing_Customer_Id__c": "c1"})
    record = sf.get(f"{V}/sobjects/Account/{account}", params={"fields": "Name,Id"}).json()
    assert record == {"attributes": {"type": "Account",
                                     "url": f"{V}/sobjects/Account/{account}"},
                      "Name": "Acme", "Id": account}
    _error(sf.get(f"{V}/sobjects/Account/{account}", params={"fields": "Nope"}), 400,
           "INVALID_FIELD")
    legacy = sf.patch("/services/data/v45.0/sobjects/Account/Billing_Customer_Id__c/c1",
                      json={"Name": "Acme 2"})
    assert legacy.status_code == 204 and legacy.content == b""
    update_only = sf.patch(f"{V}/sobjects/Account/Billing_Customer_Id__c/c9",
                           params={"updateOnly": "true"}, json={"Name": "New"})
    _error(update_only, 404, "NOT_FOUND")
    _error(sf.patch(f"{V}/sobjects/Account/Name/Acme", json={}), 404, "NOT_FOUND")


def test_upsert_matching_several_records_answers_300(make_client) -> None:
    schema = {"vendor": "salesforce", "name": "loose", "objects": {
        "Account": {"fields": {"Legacy_Key__c": {"type": "string", "external_id": True}}}}}
    sf = make_client(schema)
    first = sf.create("Account", {"Name": "A", "Legacy_Key__c": "k"})
    second = sf.create("Account", {"Name": "B", "Legacy_Key__c": "K"})
    response = sf.patch(f"{V}/sobjects/Account/Legacy_Key__c/k", json={"Name": "C"})
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(f"{V}/sobjects/Account/{i}"
                                             for i in (first, second))


# -- SOQL --------------------------------------------------------------------------------------

def test_soql_errors_and_locators(sf: Client) -> None:
    _error(sf.get(f"{V}/query"), 400, "MALFORMED_QUERY")
    malformed = _error(sf.get(f"{V}/query", params={"q": "SELECT FROM Account"}), 400,
                       "MALFORMED_QUERY")
    assert "ERROR at Row:1:Column:8" in malformed["message"]
    _error(sf.get(f"{V}/query", params={"q": "SELECT Id FROM Nope__c"}), 400, "INVALID_TYPE")
    _error(sf.get(f"{V}/query", params={"q": "SELECT Nope__c FROM Account"}), 400,
           "INVALID_FIELD")
    _error(sf.get(f"{V}/query/01g5g0000000001AAA-2000"), 400, "INVALID_QUERY_LOCATOR")


def test_junction_query_walks_two_parents(sf: Client) -> None:
    account = sf.create("Account", {"Name": "Acme"})
    sub = sf.create("Subscription__c", {"Start_Date__c": "2024-01-01",
                                        "Billing_Subscription_Id__c": "sub_1"})
    sf.create("Plan__c", {"Account__c": account, "Subscription__c": sub,
                          "Plan_Code__c": "pro"})
    rows = sf.get(f"{V}/query", params={"q": (
        "SELECT Plan_Code__c, Account__r.Name, Subscription__r.Status__c FROM Plan__c "
        "WHERE Subscription__r.Billing_Subscription_Id__c = 'sub_1'")}).json()["records"]
    assert rows[0]["Account__r"]["Name"] == "Acme"
    assert rows[0]["Subscription__r"]["Status__c"] == "Active"


# -- composite and collections -----------------------------------------------------------------

def test_composite_all_or_none_rolls_back(make_client, receiver) -> None:
    sf = make_client(notifications={"url": receiver.url})
    response = sf.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "a",
         "body": {"Name": "Kept?"}},
        {"method": "POST", "url": f"{V}/sobjects/Contact", "referenceId": "c",
         "body": {"AccountId": "@{a.id}"}},
        {"method": "GET", "url": f"{V}/sobjects/Account/@{{a.id}}", "referenceId": "g"},
    ]})
    assert response.status_code == 200
    out = response.json()["compositeResponse"]
    assert [o["httpStatusCode"] for o in out] == [400, 400, 400]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    count = sf.get(f"{V}/query", params={"q": "SELECT COUNT() FROM Account"}).json()
    assert count["totalSize"] == 0
    committed = sf.create("Account", {"Name": "Committed"})
    # Deliveries to one URL go out in order: a rolled-back change would have arrived first.
    assert [json.loads(r.body)["id"] for r in receiver.wait_for(1)] == [committed]
    assert len(receiver.wait_for(2, timeout=0.3)) == 1


def test_composite_without_all_or_none_keeps_successes(sf: Client) -> None:
    out = sf.post(f"{V}/composite", json={"compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Contact", "referenceId": "bad", "body": {}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "ok",
         "body": {"Name": "Kept"}},
        {"method": "PATCH", "url": f"{V}/sobjects/Contact/@{{bad.id}}", "referenceId": "dep",
         "body": {"LastName": "x"}},
    ]}).json()["compositeResponse"]
    assert [o["httpStatusCode"] for o in out] == [400, 201, 400]
    assert out[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    too_many = [{"method": "GET", "url": f"{V}/limits", "referenceId": f"r{n}"}
                for n in range(26)]
    assert sf.post(f"{V}/composite", json={"compositeRequest": too_many}).status_code == 400


def test_collections_report_per_record_results(sf: Client) -> None:
    url = f"{V}/composite/sobjects"
    records = [{"attributes": {"type": "Account"}, "Name": "One"},
               {"attributes": {"type": "Account"}}]
    rolled = sf.post(url, json={"allOrNone": True, "records": records}).json()
    assert rolled[0] == {"id": None, "success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request "
                   "was using AllOrNone header", "fields": []}]}
    assert rolled[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    partial = sf.post(url, json={"allOrNone": False, "records": records}).json()
    assert partial[0]["success"] is True and partial[1]["success"] is False
    kept = partial[0]["id"]
    updated = sf.patch(url, json={"records": [
        {"attributes": {"type": "Account"}, "id": kept, "Name": "Uno"}]}).json()
    assert updated == [{"id": kept, "success": True, "errors": []}]
    fetched = sf.get(f"{url}/Account", params={"ids": f"{kept},0015g00000000ZZAAA",
                                               "fields": "Name"}).json()
    assert fetched[0]["Name"] == "Uno" and fetched[1] is None
    deleted = sf.delete(url, params={"ids": kept}).json()
    assert deleted == [{"id": kept, "success": True, "errors": []}]
    too_many = [{"attributes": {"type": "Account"}, "Name": str(n)} for n in range(201)]
    _error(sf.post(url, json={"records": too_many}), 400, "EXCEEDED_ID_LIMIT")


# -- engine faults in Salesforce's shape -------------------------------------------------------

def _fault(sf: Client, **spec: Any) -> None:
    response = httpx.post(f"{sf.fake.url}/_sim/faults", trust_env=False,
                          json={"match": {"path": f"{V}/limits"}, "first_n": 1, **spec})
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(("spec", "status", "code", "message"), [
    ({"kind": "http_error", "status": 503}, 503, "SERVER_UNAVAILABLE", None),
    ({"kind": "http_error", "status": 500}, 500, "UNKNOWN_EXCEPTION", None),
    ({"kind": "http_error", "status": 400, "code": "UNABLE_TO_LOCK_ROW",
      "message": "unable to obtain exclusive access to this record"}, 400,
     "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
    ({"kind": "rate_limit"}, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    ({"kind": "concurrency_limit", "limit": 0}, 403, "REQUEST_LIMIT_EXCEEDED",
     "ConcurrentRequests (Concurrent API Requests) Limit exceeded."),
    ({"kind": "auth_expired"}, 401, "INVALID_SESSION_ID", "Session expired or invalid"),
])
def test_injected_faults_render_natively(sf: Client, spec: dict[str, Any], status: int,
                                         code: str, message: str | None) -> None:
    _fault(sf, **spec)
    response = sf.get(f"{V}/limits")
    body = _error(response, status, code)
    if message:
        assert body["message"] == message
    assert "retry-after" not in response.headers
    assert response.headers["sforce-limit-info"].startswith("api-usage=")
    assert sf.get(f"{V}/limits").status_code == 200  # first_n=1: the next call is fine


def test_engine_rate_limit_is_a_403(sf: Client) -> None:
    assert httpx.put(f"{sf.fake.url}/_sim/limits", trust_env=False,
                     json={"rate_per_second": 1, "burst": 1}).status_code == 200
    statuses = [sf.get(f"{V}/limits").status_code for _ in range(3)]
    assert 403 in statuses and statuses[0] == 200


def test_demo_org_works_without_any_configuration(start_fake) -> None:
    fake = start_fake("salesforce")
    assert list(fake.sim.vendor.default_tenants()) == [DEMO_ORG]
    sf = Client(fake)  # the documented demo credentials declare the demo org on first use
    account = sf.create("Account", {"Name": "Demo"})
    assert fake.sim.tenants.find(DEMO_ORG) is not None
    assert sf.get(f"{V}/sobjects/Account/{account}").json()["OwnerId"].startswith("005")


# -- lookups by index (simulators/core/lookup.py): the same answers as reading every row
LOOKUP_SCHEMA = {"vendor": "salesforce", "name": "lookups", "objects": {"Account": {"fields": {
    "Key__c": {"type": "string", "length": 40, "external_id": True, "unique": True},
    "Ref__c": {"type": "string", "length": 40, "external_id": True}}}}}


def test_external_id_lookups_answer_as_a_scan_through_every_change() -> None:
    """GET/upsert by external id and the unique check, after random creates, upserts, updates
    (value, case, null), deletes, rolled back units of work and snapshot restores."""
    import random

    from simulators.core.tenancy import Tenant
    from simulators.registry import schema_from_dict
    from simulators.salesforce import models
    from simulators.salesforce.errors import SalesforceError

    rng = random.Random(12)
    tenant = Tenant(DEMO_ORG, "salesforce", dict(DEMO_SETTINGS), schema_from_dict(LOOKUP_SCHEMA))
    values = ["k1", "K1", "k2", "k3", "k4", "k5", None]
    snapshots: list[Any] = []
    unique_refusals = 0
    for step in range(400):
        work = models.Work(tenant, 1_767_225_600.0 + step)
        obj = work.sobject("Account")
        rows = models.table(tenant, "Account")
        live = [i for i, r in rows.items() if not r["IsDeleted"] and i != work.user]
        roll = rng.random()
        try:
            if roll < 0.25 or not live:
                work.create(obj, {"Name": f"A{step}", "Key__c": rng.choice(values),
                                  "Ref__c": rng.choice(values)})
            elif roll < 0.45:
                work.upsert(obj, rng.choice(["Key__c", "Ref__c"]), rng.choice(values[:-1]),
                            {"Name": f"U{step}", "Ref__c": rng.choice(values)})
            elif roll < 0.65:
                work.update(obj, rows[rng.choice(live)], {"Key__c": rng.choice(values),
                                                          "Ref__c": rng.choice(values)})
            elif roll < 0.75:
                work.delete(obj, rng.choice(live))
            elif roll < 0.85:  # a unit of work that fails half way and rolls back
                point = work.savepoint()
                work.update(obj, rows[rng.choice(live)], {"Key__c": rng.choice(values)})
                work.create(obj, {"Name": "R", "Key__c": rng.choice(values)})
                work.rollback(point)
            elif roll < 0.93:
                snapshots.append(tenant.snapshot())
            elif snapshots:
                tenant.restore(rng.choice(snapshots))
        except SalesforceError as error:
            unique_refusals += error.status == 400 and "DUPLICATE_VALUE" in str(error.body)
        except models.MultipleMatches:
            pass
        work = models.Work(tenant, 0.0)
        obj = work.sobject("Account")
        for name in ("Key__c", "Ref__c"):
            f = obj.field(name)
            for value in values[:-1]:
                key = models._match_key(f, value)
                scan = [r for r in models.table(tenant, "Account").values()
                        if not r.get("IsDeleted") and r.get(name) is not None
                        and models._match_key(f, r[name]) == key]
                assert work.by_external_id(obj, f, value) == scan, (step, name, value)
    assert unique_refusals > 10 and "lookup:Account" in tenant.derived


def test_external_id_index_is_kept_current_not_rebuilt() -> None:
    from simulators.core.tenancy import Tenant
    from simulators.registry import schema_from_dict
    from simulators.salesforce import models

    tenant = Tenant(DEMO_ORG, "salesforce", dict(DEMO_SETTINGS), schema_from_dict(LOOKUP_SCHEMA))
    work = models.Work(tenant, 0.0)
    obj = work.sobject("Account")
    key = obj.field("Key__c")
    a = work.create(obj, {"Name": "A", "Key__c": "a"})
    assert [r["Id"] for r in work.by_external_id(obj, key, "A")] == [a]
    index = tenant.derived["lookup:Account"]["Key__c"]
    b, created = work.upsert(obj, "Key__c", "b", {"Name": "B"})
    assert created
    work.update(obj, models.table(tenant, "Account")[a], {"Key__c": "c"})
    work.delete(obj, b)
    assert [len(work.by_external_id(obj, key, v)) for v in "abc"] == [0, 0, 1]
    assert tenant.derived["lookup:Account"]["Key__c"] is index  # kept, not rebuilt
