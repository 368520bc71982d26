"""The recovery engine and the sync service -> Chargebee, through the real `ChargebeeConnector`."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pact import Pact, match
from pact.interaction import HttpInteraction

from components.connectors.chargebee import ChargebeeConnector
from components.connectors.errors import ErrorKind, VendorError
from components.connectors.retry import RetryPolicy
from tests.contracts.accounts import CHARGEBEE_KEY
from tests.contracts.driving import drive
from tests.contracts.pactfile import RECOVERY, SYNC

T = TypeVar("T")
INVOICE = "pact_invoice_in_dunning"
IN_DUNNING = ("a subscription in dunning", {"invoice_id": INVOICE, "customer_id": "pact_customer",
                                            "subscription_id": "pact_sub_in_dunning"})
BASIC = "Basic " + base64.b64encode(f"{CHARGEBEE_KEY}:".encode()).decode()


def request(pact: Pact, description: str, method: str, path: str, *,
            states: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
            form: str | None = None) -> HttpInteraction:
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request(method, path).with_header(
        "Authorization", match.regex(BASIC, regex=r"^Basic [A-Za-z0-9+/=]+$"))
    if method == "POST":  # every write carries a key, so a retry cannot act twice
        interaction.with_header("chargebee-idempotency-key",
                                match.regex("chargebee:record_payment:1", regex=r"^.{1,100}$"))
    if form is not None:
        interaction.with_body(form, content_type="application/x-www-form-urlencoded")
    return interaction


def error(status: int, code: str, type_: str | None = None) -> dict[str, Any]:
    """Chargebee's error body: the connector decides by `api_error_code` and `type`."""
    body: dict[str, Any] = {"message": match.str("Sorry, something went wrong."),
                            "api_error_code": code, "http_status_code": status}
    if type_ is not None:
        body["type"] = type_
    return body


INVOICE_READ = {  # what components/recovery/billing.py reads
    "id": INVOICE, "customer_id": match.str("pact_customer"),
    "status": match.regex("payment_due",
                          regex=r"^(paid|posted|payment_due|not_paid|voided|pending)$"),
    "amount_due": match.int(2000), "currency_code": match.regex("USD", regex=r"^[A-Z]{3}$"),
    "dunning_status": "in_progress",
}


def run(url: str, call: Callable[[ChargebeeConnector], Awaitable[T]]) -> T:
    return drive(lambda: ChargebeeConnector(CHARGEBEE_KEY, CHARGEBEE_KEY, base_url=url,
                                            policy=RetryPolicy(attempts=1)), call)


def failure(url: str, call: Callable[[ChargebeeConnector], Awaitable[Any]]) -> VendorError:
    with pytest.raises(VendorError) as caught:
        run(url, call)
    return caught.value


def test_read_an_invoice_in_dunning(contract) -> None:
    pact = contract(RECOVERY, "chargebee")
    request(pact, "a request to read an invoice in dunning", "GET", f"/api/v2/invoices/{INVOICE}",
            states=[IN_DUNNING]).will_respond_with(200).with_body(
        {"invoice": INVOICE_READ}, content_type="application/json")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.get_invoice(INVOICE))
    assert invoice["dunning_status"] == "in_progress"


@pytest.mark.parametrize(("description", "state", "status", "code", "type_", "kind"), [
    ("a request for an invoice that does not exist", None, 404, "resource_not_found",
     "invalid_request", ErrorKind.NOT_FOUND),
    ("a request while the site is rate limited", "the account is rate limited", 429,
     "api_request_limit_exceeded", "operation_failed", ErrorKind.RATE_LIMITED),
    ("a request while the site is at its concurrency limit",
     "the account is at its concurrency limit", 429, "lock_timeout", None, ErrorKind.CONFLICT),
    ("a request with an API key that has expired", "the API credentials have expired", 401,
     "api_authentication_failed", None, ErrorKind.AUTH),
])
def test_errors(contract, description: str, state: str | None, status: int, code: str,
                type_: str | None, kind: ErrorKind) -> None:
    pact = contract(RECOVERY, "chargebee")
    path = "/api/v2/invoices/pact_missing" if state is None else f"/api/v2/invoices/{INVOICE}"
    request(pact, description, "GET", path, states=[(state, {})] if state else []
            ).will_respond_with(status).with_body(error(status, code, type_),
                                                  content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url), lambda c: c.get_invoice(path.rsplit("/", 1)[1]))
    assert (problem.kind, problem.status, problem.code) == (kind, status, code)


def test_record_the_recovered_payment(contract) -> None:
    pact = contract(SYNC, "chargebee")
    form = ("transaction%5Bamount%5D=2000&transaction%5Bpayment_method%5D=other"
            "&transaction%5Breference_number%5D=pi_PactRecovered")
    request(pact, "a request to record a payment made elsewhere", "POST",
            f"/api/v2/invoices/{INVOICE}/record_payment", states=[IN_DUNNING], form=form
            ).will_respond_with(200).with_body({"invoice": {
                "id": INVOICE, "status": "paid", "amount_due": 0,
                "amount_paid": match.int(2000)}}, content_type="application/json")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.record_payment(
            INVOICE, amount=2000, reference_number="pi_PactRecovered", idempotency_key="k1"))
    assert invoice["status"] == "paid"


def test_stop_dunning(contract) -> None:
    pact = contract(SYNC, "chargebee")
    request(pact, "a request to stop dunning", "POST", f"/api/v2/invoices/{INVOICE}/stop_dunning",
            states=[IN_DUNNING]).will_respond_with(200).with_body(
        {"invoice": {"id": INVOICE, "status": match.str("payment_due")}},
        content_type="application/json")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.stop_dunning(INVOICE, idempotency_key="k2"))
    assert invoice["id"] == INVOICE


def test_list_invoices_for_reconciliation(contract) -> None:
    pact = contract(SYNC, "chargebee")
    request(pact, "a request to list invoices updated since a time", "GET", "/api/v2/invoices",
            states=[IN_DUNNING]).with_query_parameters(
        {"updated_at[after]": "0", "limit": "100"}).will_respond_with(200).with_body({
            "list": match.each_like({"invoice": {
                "id": match.str(INVOICE), "customer_id": match.str("pact_customer"),
                "status": match.str("payment_due"), "amount_due": match.int(2000),
                "currency_code": match.regex("USD", regex=r"^[A-Z]{3}$")}}, min=1)},
        content_type="application/json")
    with pact.serve() as srv:
        invoices = run(str(srv.url), lambda c: c.list_invoices(updated_after=0))
    assert [i["id"] for i in invoices] == [INVOICE]
