"""The sync service -> Salesforce, through the real `SalesforceConnector`: an OAuth session,
the recovery status written on the Account found by its external id (the acme mapping)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pact import Pact, match
from pact.interaction import HttpInteraction

from components.connectors.errors import ErrorKind, VendorError
from components.connectors.retry import RetryPolicy
from components.connectors.salesforce import SalesforceConnector
from components.domain import OutboxMessage
from components.settings import load_settings
from components.sync import collect, writeback
from components.systems import systems_of
from components.wiring import Deployment, connect
from tests.contracts.accounts import (
    SALESFORCE_CLIENT,
    SALESFORCE_SESSION,
    SALESFORCE_STALE_SESSION,
)
from tests.contracts.driving import drive
from tests.contracts.pactfile import ROOT, SYNC

T = TypeVar("T")
DATA = "/services/data/v62.0"
ACCOUNT_ID = "001STATE0000001YHA"
BY_CUSTOMER = f"{DATA}/sobjects/Account/Stripe_Customer_Id__c/cus_PactRenewal"
AN_ACCOUNT = ("an account", {"account_id": ACCOUNT_ID,
                             "fields": {"Stripe_Customer_Id__c": "cus_PactRenewal"}})


def login(pact: Pact) -> None:
    (pact.upon_receiving("a request for an OAuth session (client credentials)")
     .with_request("POST", "/services/oauth2/token")
     .with_body("client_id=3MVG9landscape.demo.consumer.key&client_secret=demo-consumer-secret"
                "&grant_type=client_credentials",
                content_type="application/x-www-form-urlencoded")
     .will_respond_with(200).with_body({
         "access_token": match.str(SALESFORCE_SESSION), "token_type": "Bearer",
         # `instance_url` is left out: the fake answers with its own, which the connector would
         # call; Pact's mock-server-URL generator (pact-python 4.2, FFI 0.5.12) drops the
         # connection instead of answering, so here the connector keeps its login URL
         },
        content_type="application/json"))


def request(pact: Pact, description: str, method: str, path: str, *,
            states: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
            session: str = SALESFORCE_SESSION, body: Any = None) -> HttpInteraction:
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request(method, path).with_header("Authorization", f"Bearer {session}")
    if body is not None:
        interaction.with_body(body, content_type="application/json")
    return interaction


def errors(code: str) -> list[Any]:
    """Salesforce's REST errors: a list; the connector reads `errorCode` of the first."""
    return match.each_like({"message": match.str("Session expired or invalid"),
                            "errorCode": code}, min=1)


RECOVERY_FIELDS = {  # what acme's mapping makes of the write-back below
    "Recovery_Status__c": "recovered", "Last_Decline_Code__c": "insufficient_funds",
    "Recovery_Attempts__c": 2, "Last_Recovery_Attempt__c": "2026-01-01T00:00:00.000+0000",
    "Recovered_Amount__c": 20.0}
ACCOUNT = {"attributes": {"type": "Account", "url": match.str(f"{DATA}/sobjects/Account/x")},
           "Id": match.regex(ACCOUNT_ID, regex=r"^001\w{12}(\w{3})?$"),
           "Stripe_Customer_Id__c": "cus_PactRenewal"}


def run(call: Callable[[SalesforceConnector], Awaitable[T]], url: str) -> T:
    return drive(lambda: SalesforceConnector(base_url=url, **SALESFORCE_CLIENT,
                                             policy=RetryPolicy(attempts=1)), call)


def test_find_the_account_by_its_billing_customer_id(contract) -> None:
    pact = contract(SYNC, "salesforce")
    login(pact)
    request(pact, "a request for the Account with a Stripe customer id", "GET", BY_CUSTOMER,
            states=[AN_ACCOUNT]).will_respond_with(200).with_body(
        ACCOUNT, content_type="application/json")
    with pact.serve() as srv:
        found = run(lambda c: c.get_by_external_id("Account", "Stripe_Customer_Id__c",
                                                   "cus_PactRenewal"), str(srv.url))
    assert found is not None and found["Id"] == ACCOUNT_ID


def test_no_account_has_the_id(contract) -> None:
    pact = contract(SYNC, "salesforce")
    login(pact)
    request(pact, "a request for an Account no record has the external id of", "GET",
            f"{DATA}/sobjects/Account/Stripe_Customer_Id__c/cus_PactNobody"
            ).will_respond_with(404).with_body(errors("NOT_FOUND"),
                                               content_type="application/json")
    with pact.serve() as srv:
        found = run(lambda c: c.get_by_external_id("Account", "Stripe_Customer_Id__c",
                                                   "cus_PactNobody"), str(srv.url))
    assert found is None


def acme(url: str) -> Deployment:
    """The acme merchant's sync deployment (its settings and mapping), Salesforce at `url`."""
    settings = load_settings(ROOT / "scenarios" / "components" / "acme.yaml")
    assert settings.salesforce is not None
    settings.salesforce.base_url = url
    return connect(settings)


def test_the_writeback_sets_the_recovery_status(contract) -> None:
    """Through the sync's own write-back (components/sync/writeback.py) and acme's mapping."""
    pact = contract(SYNC, "salesforce")
    login(pact)
    request(pact, "a request for the Account with a Stripe customer id", "GET", BY_CUSTOMER,
            states=[AN_ACCOUNT]).will_respond_with(200).with_body(
        ACCOUNT, content_type="application/json")
    request(pact, "a request to write an Account's recovery status", "PATCH",
            f"{DATA}/sobjects/Account/{ACCOUNT_ID}", states=[AN_ACCOUNT],
            body=RECOVERY_FIELDS).will_respond_with(204)
    payload = {"subscription_id": "sub_PactRenewal", "customer_id": "cus_PactRenewal",
               "recovery_status": "recovered", "decline_code": "insufficient_funds",
               "retry_count": 2, "last_attempt_at": 1767225600.0, "recovered_amount": 2000}
    with pact.serve() as srv:
        async def go() -> None:
            deployment = acme(str(srv.url))
            try:
                await writeback.send(OutboxMessage("salesforce", "recovery_status", "k1",
                                                   payload), deployment)
            finally:
                await deployment.aclose()
        asyncio.run(go())


def test_reconciliation_reads_the_recovery_statuses(contract) -> None:
    pact = contract(SYNC, "salesforce")
    login(pact)
    soql = ("SELECT Id, Last_Decline_Code__c, Last_Recovery_Attempt__c, Recovered_Amount__c, "
            "Recovery_Attempts__c, Recovery_Status__c, Stripe_Customer_Id__c, SystemModstamp "
            "FROM Account WHERE Stripe_Customer_Id__c != null")
    request(pact, "a SOQL query for the Accounts' recovery statuses", "GET", f"{DATA}/query",
            states=[("an account", {"account_id": ACCOUNT_ID, "fields": {
                "Stripe_Customer_Id__c": "cus_PactRenewal", **RECOVERY_FIELDS}})]
            ).with_query_parameter("q", soql).will_respond_with(200).with_body({
                "totalSize": match.int(1), "done": True, "records": match.each_like({
                    **ACCOUNT, "Recovery_Status__c": match.str("recovered"),
                    "SystemModstamp": match.regex("2026-01-01T00:00:00.000+0000",
                                                  regex=r"^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d{4})$")},
                    min=1)}, content_type="application/json")
    with pact.serve() as srv:
        async def go() -> list[Any]:
            deployment = acme(str(srv.url))
            try:
                record = systems_of(deployment.settings, deployment.mapping).crm_record
                return await collect._crm(deployment, record,
                                          {"cus_PactRenewal": ["stripe:in_PactRenewal"]})
            finally:
                await deployment.aclose()
        statuses = asyncio.run(go())
    assert [(s.invoice_key, s.recovery_status) for s in statuses] == [
        ("stripe:in_PactRenewal", "recovered")]


def test_an_expired_session_is_renewed_once(contract) -> None:
    pact = contract(SYNC, "salesforce")
    login(pact)
    request(pact, "a request with a session that has expired", "GET", BY_CUSTOMER,
            states=[AN_ACCOUNT], session=SALESFORCE_STALE_SESSION
            ).will_respond_with(401).with_body(errors("INVALID_SESSION_ID"),
                                               content_type="application/json")
    request(pact, "a request for the Account with a Stripe customer id", "GET", BY_CUSTOMER,
            states=[AN_ACCOUNT]).will_respond_with(200).with_body(
        ACCOUNT, content_type="application/json")
    with pact.serve() as srv:
        async def call(c: SalesforceConnector) -> Any:
            # a session opened earlier that has since expired (the connector's own state)
            c._token, c.instance_url = SALESFORCE_STALE_SESSION, str(srv.url)
            found = await c.get_by_external_id("Account", "Stripe_Customer_Id__c",
                                               "cus_PactRenewal")
            return found, c.session_refreshes
        found, refreshes = run(call, str(srv.url))
    assert found is not None and refreshes == 1


def test_the_daily_request_limit(contract) -> None:
    pact = contract(SYNC, "salesforce")
    login(pact)
    request(pact, "a request once the org has used its daily API requests", "GET", BY_CUSTOMER,
            states=[("the org has used its daily API requests", {})]
            ).will_respond_with(403).with_body(errors("REQUEST_LIMIT_EXCEEDED"),
                                               content_type="application/json")
    with pact.serve() as srv, pytest.raises(VendorError) as caught:
        run(lambda c: c.get_by_external_id("Account", "Stripe_Customer_Id__c",
                                           "cus_PactRenewal"), str(srv.url))
    assert (caught.value.kind, caught.value.code) == (ErrorKind.RATE_LIMITED,
                                                      "REQUEST_LIMIT_EXCEEDED")
