"""The recovery engine (naive mode: the ERP read live) and the sync service -> NetSuite, through
the real `NetSuiteConnector` (OAuth 1.0a token-based auth, SuiteQL, the record API)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pact import Pact, generate, match
from pact.interaction import HttpInteraction
from pact.match.matcher import GenericMatcher

from components.connectors.errors import ErrorKind, VendorError
from components.connectors.netsuite import NetSuiteConnector
from components.connectors.retry import RetryPolicy
from components.context import (
    ERP_PAYMENTS_QUERY,
    erp_entry_of,
    erp_invoices_query,
    erp_payment_links_query,
    invoice_record_of_row,
    payment_records_of_rows,
    read_erp_invoice,
)
from tests.contracts.accounts import NETSUITE_ACCOUNT, NETSUITE_TBA
from tests.contracts.driving import drive
from tests.contracts.pactfile import RECOVERY, SYNC

T = TypeVar("T")
KEY_FIELD = "custbody_stripe_invoice_id"  # the acme merchant's link from ERP to billing
RECORD = "/services/rest/record/v1"
OPEN_INVOICE = ("an open invoice", {"customer_id": "1001", "invoice_id": "2001", "amount": 20.0,
                                    "invoice_fields": {KEY_FIELD: "in_PactRenewal"}})
# NetSuite answers in its own media types (`application/vnd.oracle.resource+json;
# type=singular|collection|error`); the connector reads any JSON
JSON = match.regex("application/vnd.oracle.resource+json; type=singular",
                   regex=r"^application/(vnd\.oracle\.resource\+)?json(;.*)?$")
OAUTH = (f'OAuth realm="{NETSUITE_ACCOUNT}", oauth_nonce="1", oauth_timestamp="1", '
         'oauth_version="1.0", oauth_signature_method="HMAC-SHA256", '
         'oauth_consumer_key="demo-consumer-key", oauth_token="demo-token-id", '
         'oauth_signature="x"')


def request(pact: Pact, description: str, method: str, path: str, *,
            states: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
            body: Any = None, query: dict[str, Any] | None = None) -> HttpInteraction:
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request(method, path).with_header("Authorization", match.regex(
        OAUTH, regex=r'^OAuth realm="\w+", .*oauth_signature_method="HMAC-SHA256".*'
                     r'oauth_signature="[^"]+"'))
    if query:
        interaction.with_query_parameters(query)
    if body is not None:
        interaction.with_body(body, content_type="application/json")
    return interaction


def problem(status: int, code: str) -> dict[str, Any]:
    """NetSuite's problem details; the connector reads `o:errorDetails[0]`."""
    return {"status": status, "title": match.str("Error"), "o:errorDetails": match.each_like(
        {"detail": match.str("what went wrong"), "o:errorCode": code}, min=1)}


# what components/context.py keeps of an invoice. The currency is a reference whose refName is
# the currency record's name ("US Dollar"): its ISO code is read from the currency record
CURRENCY_ID = "1"
INVOICE_RECORD = {
    "id": "2001", "entity": {"id": "1001"}, "amountRemaining": match.number(20.0),
    "status": {"refName": match.str("Open")},
    "currency": {"id": CURRENCY_ID, "refName": match.str("US Dollar")},
    "lastModifiedDate": match.regex("2026-01-01T00:00:00Z", regex=r"^\d{4}-\d\d-\d\dT[\d:.]+Z$"),
    KEY_FIELD: "in_PactRenewal",
}


# an invoice as `erp_invoices_query` answers: SuiteQL's column names, values as text,
# references as ids, the status by its letter (A: Open), the modification time to the second
NUMBER = r"^-?\d+(\.\d+)?$"
INVOICE_ROW = {
    "id": "2001", KEY_FIELD: "in_PactRenewal", "entity": "1001",
    "foreigntotal": match.regex("20", regex=NUMBER),
    "foreignamountunpaid": match.regex("20", regex=NUMBER),
    "status": match.regex("A", regex=r"^[A-Z]$"), "currency": CURRENCY_ID,
    "modified": match.regex("2026-01-01T00:00:00", regex=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")}


def run(url: str, call: Callable[[NetSuiteConnector], Awaitable[T]]) -> T:
    return drive(lambda: NetSuiteConnector(NETSUITE_ACCOUNT, base_url=url, **NETSUITE_TBA,
                                           policy=RetryPolicy(attempts=1)), call)


def suiteql_for_invoice(pact: Pact) -> None:
    request(pact, "a SuiteQL query for the invoice of a billing invoice id", "POST",
            "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE],
            query={"limit": "1000", "offset": "0"},
            body={"q": f"SELECT id FROM transaction WHERE type = 'CustInvc' AND {KEY_FIELD} = "
                       "'in_PactRenewal'"}).with_header("Prefer", "transient"
            ).will_respond_with(200).with_body({
                "items": match.each_like({"id": "2001"}, min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)


def read_invoice(pact: Pact) -> None:
    request(pact, "a request to read an invoice", "GET", f"{RECORD}/invoice/2001",
            states=[OPEN_INVOICE]).will_respond_with(200).with_header(
        "Content-Type", JSON).with_body(INVOICE_RECORD)


def read_currency(pact: Pact) -> None:
    """The invoice's currency record, for its ISO code (`symbol`); read once per currency."""
    request(pact, "a request to read the invoice's currency record", "GET",
            f"{RECORD}/currency/{CURRENCY_ID}", states=[OPEN_INVOICE]).will_respond_with(
        200).with_header("Content-Type", JSON).with_body({
            "id": CURRENCY_ID, "name": match.str("US Dollar"),
            "symbol": match.regex("USD", regex=r"^[A-Z]{3}$")})


PAYMENT_APPLIED = ("a customer payment applied to the invoice", {})


def suiteql_for_notified_payment(pact: Pact) -> None:
    """The feed asks what the notified payments are applied to: the transaction link rows of
    link type Payment, by payment id (generated: the payment is made by the provider state)."""
    digits = r"^\d+$"
    query = erp_payment_links_query(["3001"])
    head, tail = query.split("3001")
    request(pact, "a SuiteQL query for the invoices a notified customer payment is applied to",
            "POST", "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE, PAYMENT_APPLIED],
            query={"limit": "1000", "offset": "0"},
            body={"q": GenericMatcher("regex", value=query,
                                      regex=f"^{re.escape(head)}\\d+{re.escape(tail)}$",
                                      generator=generate.provider_state(
                                          f"{head}${{payment_id}}{tail}"))}
            ).with_header("Prefer", "transient").will_respond_with(200).with_body({
                "items": match.each_like({"nextdoc": match.regex("3001", regex=digits),
                                          "nextline": match.regex("1", regex=digits),
                                          "previousdoc": "2001"}, min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)


def suiteql_for_notified_invoice(pact: Pact) -> None:
    """The feed re-reads the invoices that notifications name with the reconciliation's query
    narrowed to their ids (grouped: one query for what arrived together), modification time
    included (the cache's version)."""
    request(pact, "a SuiteQL query for a notified invoice", "POST",
            "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE],
            query={"limit": "1000", "offset": "0"},
            body={"q": erp_invoices_query(KEY_FIELD, ["2001"])}).with_header(
        "Prefer", "transient").will_respond_with(200).with_body({
            "items": match.each_like(INVOICE_ROW, min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)


def test_the_engine_reads_the_erp_invoice_live(contract) -> None:
    pact = contract(RECOVERY, "netsuite")
    suiteql_for_invoice(pact)
    read_invoice(pact)
    read_currency(pact)
    with pact.serve() as srv:
        entry = run(str(srv.url), lambda c: read_erp_invoice(c, KEY_FIELD, "stripe",
                                                             "in_PactRenewal"))
    assert entry is not None
    assert (entry["erp_invoice_id"], entry["erp_customer_id"], entry["amount_remaining"],
            entry["currency"]) == ("2001", "1001", 2000, "usd")


@pytest.mark.parametrize(("description", "state", "status", "code", "kind"), [
    ("a request for an invoice that does not exist", None, 404, "NONEXISTENT_ID",
     ErrorKind.NOT_FOUND),
    ("a request while the account is at its concurrency limit",
     "the account is at its concurrency limit", 429, "CONCURRENCY_LIMIT_EXCEEDED",
     ErrorKind.RATE_LIMITED),
    ("a request whose token-based credentials are refused", "the API credentials have expired",
     401, "INVALID_LOGIN", ErrorKind.AUTH),
])
def test_errors(contract, description: str, state: str | None, status: int, code: str,
                kind: ErrorKind) -> None:
    pact = contract(RECOVERY, "netsuite")
    record_id = "9999" if state is None else "2001"
    request(pact, description, "GET", f"{RECORD}/invoice/{record_id}",
            states=[(state, {})] if state else []).will_respond_with(status).with_header(
        "Content-Type", JSON).with_body(problem(status, code))
    with pact.serve() as srv, pytest.raises(VendorError) as caught:
        run(str(srv.url), lambda c: c.get("invoice", record_id))
    assert (caught.value.kind, caught.value.status, caught.value.code) == (kind, status, code)


def test_the_sync_refreshes_an_invoice(contract) -> None:
    pact = contract(SYNC, "netsuite")
    suiteql_for_notified_invoice(pact)

    async def read(c: NetSuiteConnector) -> list[dict[str, Any]]:
        return [invoice_record_of_row(row, KEY_FIELD)
                for row in await c.suiteql(erp_invoices_query(KEY_FIELD, ["2001"]))]

    with pact.serve() as srv:
        [record] = run(str(srv.url), read)
    assert (record["amountRemaining"], record["lastModifiedDate"]) == (
        "20", "2026-01-01T00:00:00Z")


def suiteql_for_invoices(pact: Pact) -> None:
    """Reconciliation reads every invoice that carries a billing invoice id with one SuiteQL
    query (not one record read per invoice): SuiteQL's column names, values as text,
    references as ids, the status by its letter (A: Open)."""
    request(pact, "a SuiteQL query for the invoices that carry a billing invoice id", "POST",
            "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE],
            query={"limit": "1000", "offset": "0"},
            body={"q": erp_invoices_query(KEY_FIELD)}).with_header("Prefer", "transient"
            ).will_respond_with(200).with_body({
                "items": match.each_like(INVOICE_ROW, min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)


def test_the_sync_reconciles_the_erp_invoices_with_suiteql(contract) -> None:
    pact = contract(SYNC, "netsuite")
    suiteql_for_invoices(pact)
    read_currency(pact)

    async def read(c: NetSuiteConnector) -> list[dict[str, Any]]:
        records = [invoice_record_of_row(row, KEY_FIELD)
                   for row in await c.suiteql(erp_invoices_query(KEY_FIELD))]
        return [{**await erp_entry_of(c, "stripe", str(r[KEY_FIELD]), r), "total": r["total"]}
                for r in records]

    with pact.serve() as srv:
        [entry] = run(str(srv.url), read)
    assert (entry["invoice_key"], entry["erp_invoice_id"], entry["erp_customer_id"],
            entry["amount_remaining"], entry["currency"], entry["status"], entry["total"]) == (
        "stripe:in_PactRenewal", "2001", "1001", 2000, "usd", "Open", "20")


def suiteql_for_payments(pact: Pact) -> None:
    """Reconciliation reads every customer payment with one SuiteQL query (its modification
    time to the second, with TO_CHAR) and the invoices each is applied to with another (the
    transaction link rows of link type Payment), not one record read per payment."""
    number, digits = r"^-?\d+(\.\d+)?$", r"^\d+$"
    request(pact, "a SuiteQL query for the customer payments", "POST",
            "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE, PAYMENT_APPLIED],
            query={"limit": "1000", "offset": "0"},
            body={"q": ERP_PAYMENTS_QUERY}).with_header("Prefer", "transient"
            ).will_respond_with(200).with_body({
                "items": match.each_like({
                    "id": match.regex("3001", regex=digits),
                    "externalid": match.str("pact-payment-1"),
                    "foreigntotal": match.regex("20", regex=number),
                    "memo": match.str("paid by wire"), "currency": CURRENCY_ID,
                    "modified": match.regex("2026-01-01T00:00:00",
                                            regex=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")},
                    min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)
    request(pact, "a SuiteQL query for the invoices the customer payments are applied to",
            "POST", "/services/rest/query/v1/suiteql", states=[OPEN_INVOICE, PAYMENT_APPLIED],
            query={"limit": "1000", "offset": "0"},
            body={"q": erp_payment_links_query()}).with_header("Prefer", "transient"
            ).will_respond_with(200).with_body({
                "items": match.each_like({
                    "nextdoc": match.regex("3001", regex=digits),
                    "nextline": match.regex("1", regex=digits), "previousdoc": "2001"},
                    min=1), "hasMore": False},
        content_type=None).with_header("Content-Type", JSON)


def test_the_sync_reconciles_the_erp_payments_with_suiteql(contract) -> None:
    pact = contract(SYNC, "netsuite")
    suiteql_for_payments(pact)

    async def read(c: NetSuiteConnector) -> list[dict[str, Any]]:
        return payment_records_of_rows(await c.suiteql(ERP_PAYMENTS_QUERY),
                                       await c.suiteql(erp_payment_links_query()))

    with pact.serve() as srv:
        [record] = run(str(srv.url), read)
    assert record == {"id": "3001", "externalId": "pact-payment-1", "payment": "20",
                      "memo": "paid by wire", "currency": CURRENCY_ID,
                      "lastModifiedDate": "2026-01-01T00:00:00Z",
                      "apply": {"items": [{"doc": {"id": "2001"}, "apply": True}]}}


def test_the_sync_applies_the_recovered_payment(contract) -> None:
    pact = contract(SYNC, "netsuite")
    body = {"custbody_stripe_charge_id": "ch_PactRecovered", "customer": {"id": "1001"},
            "payment": 20.0, "memo": "pi_PactRecovered",
            "apply": {"items": [{"doc": {"id": "2001"}, "apply": True, "amount": 20.0}]}}
    request(pact, "a request to upsert a customer payment by external id", "PUT",
            f"{RECORD}/customerPayment/eid:recovery-pi_PactRecovered", states=[OPEN_INVOICE],
            body=body).will_respond_with(204).with_header("Location", match.regex(
                "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/"
                "customerPayment/3001", regex=r"^https?://[^/]+/services/rest/record/v1/customerPayment/\d+$"))
    with pact.serve() as srv:
        created = run(str(srv.url), lambda c: c.apply_payment(
            external_id="recovery-pi_PactRecovered", customer_id="1001", invoice_id="2001",
            amount=20.0, memo="pi_PactRecovered",
            fields={"custbody_stripe_charge_id": "ch_PactRecovered"}))
    assert created == "3001"


def test_the_sync_writes_the_recovery_status(contract) -> None:
    pact = contract(SYNC, "netsuite")
    request(pact, "a request to update an invoice's recovery fields", "PATCH",
            f"{RECORD}/invoice/2001", states=[OPEN_INVOICE],
            body={"custbody_recovery_status": "recovered"}).will_respond_with(204)
    with pact.serve() as srv:
        run(str(srv.url), lambda c: c.update("invoice", "2001",
                                             {"custbody_recovery_status": "recovered"}))
