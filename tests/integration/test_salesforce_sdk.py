"""simple-salesforce (the SDK integrations use) against the fake Salesforce over loopback https.

simple-salesforce hardcodes `https://`, so the fake runs with TLS and the SDK gets a
`requests.Session` that trusts the fake's CA (and ignores REQUESTS_CA_BUNDLE: trust_env=False).
The token comes from the fake's own OAuth endpoint; only `instance_url` points at the fake.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce import (
    Salesforce,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from simulators.client import ControlClient
from simulators.salesforce.vendor import DEMO_ORG, DEMO_SETTINGS

pytestmark = pytest.mark.sdk
SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
VERSION = "59.0"


class Org:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.http = requests.Session()
        self.http.verify = fake.ca_file
        self.http.trust_env = False

    def token(self, **form: str) -> dict[str, Any]:
        form = {"grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
                "client_secret": DEMO_SETTINGS["client_secret"], **form}
        response = self.http.post(f"{self.fake.url}/services/oauth2/token", data=form)
        assert response.status_code == 200, response.text
        return response.json()

    def sdk(self, token: dict[str, Any] | None = None) -> Salesforce:
        token = token or self.token()
        return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                          session=self.http, version=VERSION)


@pytest.fixture
def make_org(start_fake):
    orgs: list[Org] = []

    def make(schema: str | None = "salesforce-cpq.yaml", **settings: Any) -> Org:
        fake = start_fake("salesforce", tls=True, controlled_clock=True)
        with ControlClient(fake.url, verify=fake.ca_file) as control:
            control.declare_tenant(DEMO_ORG, {**DEMO_SETTINGS, **settings},
                                   SCHEMAS / schema if schema else None)
        orgs.append(Org(fake))
        return orgs[-1]

    yield make
    for made in orgs:
        made.http.close()  # no idle keep-alive connections to hold up the server's shutdown


@pytest.fixture
def org(make_org) -> Org:
    return make_org()


def test_token_response_has_salesforce_shape(org: Org) -> None:
    token = org.token()
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == org.fake.url
    assert token["access_token"].startswith(DEMO_ORG[:15] + "!")
    assert token["id"].endswith(f"/id/{DEMO_ORG}/{token['id'].rsplit('/', 1)[1]}")
    assert token["issued_at"].isdigit() and "expires_in" not in token
    assert "refresh_token" not in token  # client credentials flow issues none


def test_crud_on_custom_object_linked_to_account(org: Org) -> None:
    sf = org.sdk()
    account = sf.Account.create({"Name": "Acme", "Recovery_Status__c": "retrying",
                                 "Stripe_Customer_Id__c": "cus_123"})
    assert account["success"] is True and account["id"].startswith("001")
    assert len(account["id"]) == 18
    sub = sf.SBQQ__Subscription__c.create({
        "SBQQ__Account__c": account["id"], "External_Id__c": "si_1",
        "SBQQ__NetPrice__c": 49.999, "SBQQ__EndDate__c": "2024-07-01"})
    assert sub["id"].startswith("a0S")

    record = sf.SBQQ__Subscription__c.get(sub["id"])
    assert record["attributes"]["type"] == "SBQQ__Subscription__c"
    assert record["SBQQ__Account__c"] == account["id"]
    assert record["SBQQ__NetPrice__c"] == 50.0  # currency, scale 2
    assert record["SBQQ__Quantity__c"] == 1.0 and record["Renewal_Status__c"] == "Pending"
    assert record["IsDeleted"] is False and record["SystemModstamp"].endswith("+0000")

    assert sf.SBQQ__Subscription__c.update(sub["id"], {"Renewal_Status__c": "At Risk"}) == 204
    assert sf.SBQQ__Subscription__c.get(sub["id"])["Renewal_Status__c"] == "At Risk"
    fetched = sf.Account.get(account["id"][:15])  # the 15-char form works too
    assert fetched["Recovery_Status__c"] == "retrying" and fetched["Recovery_Attempts__c"] == 0

    assert sf.SBQQ__Subscription__c.delete(sub["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.SBQQ__Subscription__c.get(sub["id"])


def test_describe_shows_schema_custom_fields(org: Org) -> None:
    sf = org.sdk()
    described = sf.SBQQ__Subscription__c.describe()
    assert described["custom"] is True and described["keyPrefix"] == "a0S"
    fields = {f["name"]: f for f in described["fields"]}
    account_ref = fields["SBQQ__Account__c"]
    assert account_ref["type"] == "reference" and account_ref["referenceTo"] == ["Account"]
    assert account_ref["relationshipName"] == "SBQQ__Account__r"
    assert account_ref["custom"] is True and account_ref["nillable"] is False
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["Id"]["type"] == "id" and fields["Id"]["custom"] is False

    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    status = account["Recovery_Status__c"]
    assert status["type"] == "picklist" and status["restrictedPicklist"] is True
    assert [v["value"] for v in status["picklistValues"]] == [
        "none", "retrying", "recovered", "failed"]
    assert account["Name"]["custom"] is False and account["Recovered_Amount__c"]["type"] == \
        "currency"
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Opportunity", "SBQQ__Subscription__c"} <= names


def test_soql_filters_on_parent_field_and_date_literals(org: Org) -> None:
    sf = org.sdk()
    acme = sf.Account.create({"Name": "Acme"})["id"]
    other = sf.Account.create({"Name": "Other"})["id"]
    for account, end, ext in ((acme, "2024-06-15", "a"), (acme, "2024-09-01", "b"),
                              (other, "2024-06-15", "c")):
        sf.SBQQ__Subscription__c.create({"SBQQ__Account__c": account, "External_Id__c": ext,
                                         "SBQQ__EndDate__c": end})
    sf.Contact.create({"LastName": "Doe", "FirstName": "Jane", "AccountId": acme})

    result = sf.query("SELECT Id, External_Id__c, SBQQ__Account__r.Name "
                      "FROM SBQQ__Subscription__c WHERE SBQQ__Account__r.Name = 'Acme' "
                      "AND SBQQ__EndDate__c < 2024-07-01")
    assert result["totalSize"] == 1 and result["done"] is True
    row = result["records"][0]
    assert row["External_Id__c"] == "a"
    assert row["SBQQ__Account__r"]["Name"] == "Acme"
    assert row["SBQQ__Account__r"]["attributes"]["type"] == "Account"

    contacts = sf.query("SELECT Name, Account.Name FROM Contact WHERE CreatedDate = TODAY")
    assert [(r["Name"], r["Account"]["Name"]) for r in contacts["records"]] == [
        ("Jane Doe", "Acme")]
    assert sf.query("SELECT Id FROM Contact WHERE CreatedDate < LAST_N_DAYS:3")[
        "totalSize"] == 0
    count = sf.query(f"SELECT COUNT() FROM SBQQ__Subscription__c WHERE SBQQ__Account__c = "
                     f"'{other[:15]}'")
    assert count["totalSize"] == 1 and count["records"] == []


def _bulk_create(sf: Salesforce, count: int) -> None:
    for start in range(0, count, 200):
        records = [{"attributes": {"type": "Account"}, "Name": f"Bulk {n:04d}"}
                   for n in range(start, min(count, start + 200))]
        results = sf.restful("composite/sobjects", method="POST",
                             json={"allOrNone": True, "records": records})
        assert all(r["success"] for r in results)


def test_query_pages_with_batch_size_query_more_and_query_all(org: Org) -> None:
    sf = org.sdk()
    _bulk_create(sf, 450)
    soql = "SELECT Id, Name FROM Account ORDER BY Name"
    options = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query(soql, headers=options)
    assert first["totalSize"] == 450 and first["done"] is False
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=options)
    assert len(second["records"]) == 200 and second["done"] is False
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert len(third["records"]) == 50 and third["done"] is True
    names = [r["Name"] for page in (first, second, third) for r in page["records"]]
    assert names == [f"Bulk {n:04d}" for n in range(450)]

    assert len(sf.query(soql)["records"]) == 450  # default batch is 2000
    doomed = first["records"][0]["Id"]
    sf.Account.delete(doomed)
    live = sf.query_all(soql, headers=options)
    assert live["totalSize"] == 449 and doomed not in {r["Id"] for r in live["records"]}
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True,
                              headers=options)
    assert everything["totalSize"] == 450
    assert [r["IsDeleted"] for r in everything["records"] if r["Id"] == doomed] == [True]


def test_unknown_custom_field_is_rejected_with_invalid_field(org: Org) -> None:
    sf = org.sdk()
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"Name": "Acme", "Not_In_Schema__c": "x"})
    assert raised.value.status == 400
    assert raised.value.content == [{
        "message": "No such column 'Not_In_Schema__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD"}]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Not_In_Schema__c FROM Account")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"Name": "Acme", "Recovery_Status__c": "maybe"})
    assert raised.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert raised.value.content[0]["fields"] == ["Recovery_Status__c"]


def test_upsert_by_external_id_creates_then_updates(org: Org) -> None:
    sf = org.sdk()
    account = sf.Account.create({"Name": "Acme"})["id"]
    body = {"SBQQ__Account__c": account, "SBQQ__Quantity__c": 3}
    assert sf.SBQQ__Subscription__c.upsert("External_Id__c/si_42", body) == 201
    assert sf.SBQQ__Subscription__c.upsert("External_Id__c/si_42",
                                           {"SBQQ__Quantity__c": 5}) == 200
    rows = sf.query("SELECT Id, SBQQ__Quantity__c FROM SBQQ__Subscription__c "
                    "WHERE External_Id__c = 'si_42'")["records"]
    assert len(rows) == 1 and rows[0]["SBQQ__Quantity__c"] == 5.0
    by_ext = sf.SBQQ__Subscription__c.get_by_custom_id("External_Id__c", "SI_42")
    assert by_ext["Id"] == rows[0]["Id"]  # external ids match case-insensitively
    response = sf.SBQQ__Subscription__c.upsert("External_Id__c/si_42", {},
                                               raw_response=True)
    assert response.json() == {"id": rows[0]["Id"], "success": True, "errors": [],
                               "created": False}
    with pytest.raises(SalesforceResourceNotFound):
        sf.SBQQ__Subscription__c.upsert("Renewal_Status__c/x", {})


def test_composite_with_reference_between_subrequests(org: Org) -> None:
    sf = org.sdk()
    base = f"/services/data/v{VERSION}"
    result = sf.restful("composite", method="POST", json={"allOrNone": True,
                                                          "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "refAccount",
         "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": f"{base}/sobjects/SBQQ__Subscription__c",
         "referenceId": "refSub",
         "body": {"SBQQ__Account__c": "@{refAccount.id}", "External_Id__c": "si_c"}},
        {"method": "GET", "referenceId": "refRead",
         "url": f"{base}/sobjects/SBQQ__Subscription__c/@{{refSub.id}}"
                f"?fields=SBQQ__Account__c"},
    ]})
    responses = {r["referenceId"]: r for r in result["compositeResponse"]}
    assert [r["httpStatusCode"] for r in result["compositeResponse"]] == [201, 201, 200]
    account_id = responses["refAccount"]["body"]["id"]
    assert responses["refRead"]["body"]["SBQQ__Account__c"] == account_id
    assert sf.Account.get(account_id)["Name"] == "Composite Co"


def _authorization_code_token(org: Org) -> dict[str, Any]:
    redirect = "https://127.0.0.1/callback"
    response = org.http.get(f"{org.fake.url}/services/oauth2/authorize", allow_redirects=False,
                            params={"response_type": "code", "redirect_uri": redirect,
                                    "client_id": DEMO_SETTINGS["client_id"], "state": "s1"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["s1"]
    return org.token(grant_type="authorization_code", code=query["code"][0],
                     redirect_uri=redirect)


def test_expired_session_raises_and_refresh_token_recovers(org: Org) -> None:
    token = _authorization_code_token(org)
    assert token["refresh_token"]
    sf = org.sdk(token)
    sf.query("SELECT Id FROM Account")
    org.fake.sim.clock.advance(7000)
    sf.query("SELECT Id FROM Account")  # activity resets the 2-hour inactivity timer
    org.fake.sim.clock.advance(7000)
    sf.query("SELECT Id FROM Account")
    org.fake.sim.clock.advance(7201)
    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM Account")
    assert raised.value.content == [{"message": "Session expired or invalid",
                                     "errorCode": "INVALID_SESSION_ID"}]
    refreshed = org.token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert org.sdk(refreshed).query("SELECT Id FROM Account")["done"] is True


def test_password_grant_lets_the_sdk_log_in_again_by_itself(org: Org) -> None:
    """simple-salesforce's OAuth password login posts to https://login.salesforce.com; a
    transport adapter sends that host to the fake. On INVALID_SESSION_ID the SDK logs in
    again and retries, so an expired session is invisible to the caller."""
    from requests.adapters import HTTPAdapter

    class ToFake(HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            request.url = request.url.replace("https://login.salesforce.com", org.fake.url, 1)
            return super().send(request, **kwargs)

    org.http.mount("https://login.salesforce.com", ToFake())
    sf = Salesforce(username=DEMO_SETTINGS["username"], password=DEMO_SETTINGS["password"],
                    consumer_key=DEMO_SETTINGS["client_id"],
                    consumer_secret=DEMO_SETTINGS["client_secret"], session=org.http,
                    version=VERSION)
    first = sf.session_id
    sf.Account.create({"Name": "Before"})
    org.fake.sim.clock.advance(7201)
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Before"
    assert sf.session_id != first


def test_daily_api_limit_gives_403_request_limit_exceeded(make_org) -> None:
    org = make_org(daily_api_limit=5)
    sf = org.sdk()
    for _ in range(5):
        sf.query("SELECT Id FROM Account")
    assert (sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total) == (5, 5)
    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM Account")
    assert raised.value.status == 403
    assert raised.value.content == [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    org.fake.sim.clock.advance(24 * 3600 + 60)  # the window is a rolling 24 hours
    fresh = org.sdk()  # (the old session timed out meanwhile)
    assert fresh.query("SELECT Id FROM Account")["totalSize"] == 0
    assert fresh.api_usage["api-usage"].used == 1


def test_change_notification_is_delivered_to_a_local_receiver(make_org, receiver) -> None:
    org = make_org(notifications={"url": receiver.url, "objects": ["Account"],
                                  "headers": {"Authorization": "Bearer hook-secret"}})
    sf = org.sdk()
    account = sf.Account.create({"Name": "Acme"})["id"]
    sf.SBQQ__Subscription__c.create({"SBQQ__Account__c": account})  # not subscribed
    sf.Account.update(account, {"Recovery_Status__c": "recovered", "Name": "Acme"})
    received = receiver.wait_for(2)
    assert len(received) == 2
    created, updated = (json.loads(r.body) for r in received)
    assert created["sobject"] == "Account" and created["id"] == account
    assert created["changeType"] == "CREATE" and created["orgId"] == DEMO_ORG
    assert updated["changeType"] == "UPDATE"
    assert updated["changedFields"] == ["Recovery_Status__c"]  # Name did not change
    assert updated["SystemModstamp"] == sf.Account.get(account)["SystemModstamp"]
    assert received[0].headers["Authorization"] == "Bearer hook-secret"
    assert received[0].headers["User-Agent"].startswith("SFDC-Callout/")
    polled = sf.query(f"SELECT Id FROM Account WHERE SystemModstamp >= "
                      f"{updated['SystemModstamp'].replace('.000+0000', 'Z')}")
    assert polled["totalSize"] == 1


def test_updated_and_deleted_polling_resources(org: Org) -> None:
    sf = org.sdk()
    start = datetime.fromtimestamp(org.fake.sim.clock.now() - 60, UTC)
    kept = sf.Account.create({"Name": "Kept"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    org.fake.sim.clock.advance(120)  # windows end at the last whole minute
    end = datetime.fromtimestamp(org.fake.sim.clock.now(), UTC)
    assert sf.Account.updated(start, end)["ids"] == [kept]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert [d["id"] for d in deleted] == [gone]
