"""The recovery engine and the sync service -> Stripe, through the real `StripeConnector` (the
official SDK, its base URL set to Pact's mock server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pact import generate, match
from pact.match.matcher import GenericMatcher

from components.connectors.errors import ErrorKind, VendorError
from components.connectors.retry import RetryPolicy
from components.connectors.stripe import INVOICE_PAYMENTS, StripeConnector
from components.domain import AttemptStatus
from tests.contracts.accounts import STRIPE_KEY
from tests.contracts.pactfile import RECOVERY, SYNC
from tests.contracts.stripe_shapes import (
    an_id,
    declined_payment,
    error,
    failed_renewal_invoice,
    request,
)

T = TypeVar("T")
INVOICE, CUSTOMER, PM = "in_PactRenewal", "cus_PactRenewal", "pm_PactRenewalCard"
FAILED_RENEWAL = "a subscription with an open invoice whose payment failed"
EXPAND = {"expand[0]": INVOICE_PAYMENTS}  # an invoice is read with the payment it failed on
PAY = f"off_session=true&expand[0]={INVOICE_PAYMENTS}"


def renewal(decline_code: str = "insufficient_funds") -> tuple[str, dict[str, Any]]:
    return FAILED_RENEWAL, {"invoice_id": INVOICE, "customer_id": CUSTOMER,
                            "payment_method_id": PM, "subscription_id": "sub_PactRenewal",
                            "decline_code": decline_code}


def run(url: str, call: Callable[[StripeConnector], Awaitable[T]]) -> T:
    async def go() -> T:
        connector = StripeConnector(STRIPE_KEY, base_url=url, policy=RetryPolicy(attempts=1))
        try:
            return await call(connector)
        finally:
            await connector.aclose()
    return asyncio.run(go())


def failure(url: str, call: Callable[[StripeConnector], Awaitable[Any]]) -> VendorError:
    with pytest.raises(VendorError) as caught:
        run(url, call)
    return caught.value


# -- the recovery engine ------------------------------------------------------------------------
def test_read_the_failed_renewal_invoice(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request to read a failed renewal invoice", "GET", f"/v1/invoices/{INVOICE}",
            states=[renewal()], query=EXPAND).will_respond_with(200).with_body(
        failed_renewal_invoice(INVOICE, CUSTOMER), content_type="application/json")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.get_invoice(INVOICE))
    assert (invoice["status"], invoice["amount_remaining"]) == ("open", 2000)
    intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"


def test_read_the_decline_on_the_renewal_payment(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    # the PaymentIntent's id is the fake's own: the provider state tells it to the verifier
    path = GenericMatcher("regex", value="/v1/payment_intents/pi_PactRenewal",
                          regex=r"^/v1/payment_intents/pi_\w+$",
                          generator=generate.provider_state("/v1/payment_intents/"
                                                            "${payment_intent_id}"))
    request(pact, "a request to read the failed renewal's payment intent", "GET", path,
            states=[renewal()]).will_respond_with(200).with_body({
                "id": an_id("payment_intent", "pi_PactRenewal"), "object": "payment_intent",
                "status": "requires_payment_method",
                "last_payment_error": declined_payment("insufficient_funds")},
        content_type="application/json")
    with pact.serve() as srv:
        intent = run(str(srv.url), lambda c: c.get_payment_intent("pi_PactRenewal"))
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"


@pytest.mark.parametrize(("decline_code", "description"), [
    ("insufficient_funds", "a request to pay an invoice whose card is declined, soft"),
    ("lost_card", "a request to pay an invoice whose card is declined, hard"),
])
def test_pay_an_invoice_that_declines(contract, decline_code: str, description: str) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, description, "POST", f"/v1/invoices/{INVOICE}/pay",
            states=[renewal(decline_code)], form=PAY
            ).will_respond_with(402).with_body(
        error("card_error", "card_declined", decline_code=decline_code),
        content_type="application/json")
    with pact.serve() as srv:
        result = run(str(srv.url), lambda c: c.pay_invoice(INVOICE, idempotency_key="k1"))
    assert (result.status, result.decline_code) == (AttemptStatus.DECLINED, decline_code)


CHARGE_FORM = ("amount=2000&currency=usd&customer=cus_PactOtherMid&payment_method=pm_PactOtherMid"
               "&confirm=true&off_session=true&metadata[invoice_key]=stripe:in_PactRenewal")


def charge(connector: StripeConnector) -> Awaitable[Any]:
    return connector.charge(amount=2000, currency="usd", customer="cus_PactOtherMid",
                            payment_method="pm_PactOtherMid", idempotency_key="k2",
                            metadata={"invoice_key": "stripe:in_PactRenewal"})


def test_charge_the_card_vaulted_on_another_mid(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request to charge a card that succeeds", "POST", "/v1/payment_intents",
            states=[("a customer with a card that succeeds",
                     {"customer_id": "cus_PactOtherMid", "payment_method_id": "pm_PactOtherMid"})],
            form=CHARGE_FORM).will_respond_with(200).with_body({
                "id": an_id("payment_intent", "pi_PactCharged"), "object": "payment_intent",
                "status": "succeeded", "amount": 2000,
                "latest_charge": an_id("charge", "ch_PactCharged")},
        content_type="application/json")
    with pact.serve() as srv:
        result = run(str(srv.url), charge)
    assert result.status is AttemptStatus.SUCCEEDED and result.charge_id == "ch_PactCharged"


def test_charge_a_card_that_declines(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request to charge a card that declines", "POST", "/v1/payment_intents",
            states=[("a customer with a card that declines",
                     {"customer_id": "cus_PactOtherMid", "payment_method_id": "pm_PactOtherMid",
                      "decline_code": "insufficient_funds"})],
            form=CHARGE_FORM).will_respond_with(402).with_body(error(
                "card_error", "card_declined", decline_code="insufficient_funds",
                payment_intent={"id": an_id("payment_intent", "pi_PactDeclined"),
                                "status": "requires_payment_method"}),
        content_type="application/json")
    with pact.serve() as srv:
        result = run(str(srv.url), charge)
    assert (result.status, result.decline_code, result.payment_id) == (
        AttemptStatus.DECLINED, "insufficient_funds", "pi_PactDeclined")


def test_find_the_customer_on_another_mid_by_email(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request to find a customer by email", "GET", "/v1/customers",
            states=[("a customer", {"customer_id": "cus_PactOtherMid",
                                    "email": "jenny.rosen@example.com"})],
            query={"email": "jenny.rosen@example.com", "limit": "1"}
            ).will_respond_with(200).with_body({
                "object": "list", "has_more": match.bool(False),
                "data": match.each_like({"id": an_id("customer", "cus_PactOtherMid"),
                                         "object": "customer",
                                         "email": "jenny.rosen@example.com"}, min=1)},
        content_type="application/json")
    with pact.serve() as srv:
        found = run(str(srv.url), lambda c: c.find_customer_by_email("jenny.rosen@example.com"))
    assert found is not None and found["id"] == "cus_PactOtherMid"


def test_an_invoice_that_does_not_exist(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request to read an invoice that does not exist", "GET",
            "/v1/invoices/in_PactMissing", query=EXPAND).will_respond_with(404).with_body(
        error("invalid_request_error", "resource_missing"), content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url), lambda c: c.get_invoice("in_PactMissing"))
    assert (problem.kind, problem.status, problem.code) == (ErrorKind.NOT_FOUND, 404,
                                                            "resource_missing")


def test_rate_limited(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request while the account is rate limited", "GET",
            f"/v1/invoices/{INVOICE}", states=[("the account is rate limited", {})], query=EXPAND
            ).will_respond_with(429).with_body(
        error("invalid_request_error", "rate_limit"), content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url), lambda c: c.get_invoice(INVOICE))
    assert problem.kind is ErrorKind.RATE_LIMITED and problem.retryable


def test_idempotency_key_in_use(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request whose idempotency key is in use", "POST",
            f"/v1/invoices/{INVOICE}/pay", form=PAY,
            states=[renewal(), ("a request with the same idempotency key is in flight", {})]
            ).will_respond_with(409).with_body(
        error(match.str("invalid_request_error"), "idempotency_key_in_use"),
        content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url),
                          lambda c: c.pay_invoice(INVOICE, idempotency_key="k1"))
    assert (problem.kind, problem.code) == (ErrorKind.CONFLICT, "idempotency_key_in_use")


def test_idempotency_key_reused_with_other_parameters(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request whose idempotency key was used for another payment", "POST",
            "/v1/payment_intents", form=CHARGE_FORM,
            states=[("a customer with a card that succeeds",
                     {"customer_id": "cus_PactOtherMid", "payment_method_id": "pm_PactOtherMid"}),
                    ("an idempotency key was used for another payment", {})]
            ).will_respond_with(400).with_body(error("idempotency_error", None),
                                               content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url), charge)
    # not retryable: the same key can never succeed with these parameters
    assert (problem.kind, problem.code, problem.retryable) == (ErrorKind.INVALID,
                                                               "idempotency_error", False)


def test_api_key_refused(contract) -> None:
    pact = contract(RECOVERY, "stripe")
    request(pact, "a request with an API key that has expired", "GET",
            f"/v1/invoices/{INVOICE}", states=[("the API credentials have expired", {})],
            query=EXPAND
            ).will_respond_with(401).with_body(
        error("invalid_request_error", None), content_type="application/json")
    with pact.serve() as srv:
        problem = failure(str(srv.url), lambda c: c.get_invoice(INVOICE))
    assert (problem.kind, problem.status) == (ErrorKind.AUTH, 401)


# -- the sync service ---------------------------------------------------------------------------
def paid_out_of_band(pact: Any, description: str) -> None:
    request(pact, description, "POST", f"/v1/invoices/{INVOICE}/pay", states=[renewal()],
            form="paid_out_of_band=true").will_respond_with(200).with_body({
                "id": INVOICE, "object": "invoice", "status": "paid", "amount_remaining": 0},
        content_type="application/json")


def test_mark_an_invoice_paid_out_of_band(contract) -> None:
    pact = contract(SYNC, "stripe")
    paid_out_of_band(pact, "a request to mark an invoice paid out of band")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.pay_invoice_out_of_band(
            INVOICE, idempotency_key="stripe:invoice_paid_out_of_band:in_PactRenewal"))
    assert invoice["status"] == "paid"


def test_name_the_gateway_payment_on_the_invoice_it_paid_out_of_band(contract) -> None:
    """The write-back of a recovery: paid out of band, then the invoice names the payment
    (reconciliation tells the engine's out-of-band payment from a merchant's by it)."""
    pact = contract(SYNC, "stripe")
    paid_out_of_band(pact, "a request to mark an invoice paid out of band for a recovery")
    request(pact, "a request to name the gateway payment on an invoice", "POST",
            f"/v1/invoices/{INVOICE}", states=[renewal()],
            form="metadata[recovery_payment_id]=pi_PactRecovery"
            ).will_respond_with(200).with_body({
                "id": INVOICE, "object": "invoice",
                "metadata": {"recovery_payment_id": "pi_PactRecovery"}},
        content_type="application/json")
    with pact.serve() as srv:
        invoice = run(str(srv.url), lambda c: c.pay_invoice_out_of_band(
            INVOICE, idempotency_key="stripe:invoice_paid_out_of_band:in_PactRenewal",
            payment_id="pi_PactRecovery"))
    assert invoice["metadata"] == {"recovery_payment_id": "pi_PactRecovery"}


def test_list_invoices_for_reconciliation(contract) -> None:
    pact = contract(SYNC, "stripe")
    request(pact, "a request to list invoices created since a time", "GET", "/v1/invoices",
            states=[renewal()], query={"created[gte]": "0", "limit": "100",
                                                 "expand[0]": "data.payments"}
            ).will_respond_with(200).with_body({
                "object": "list", "has_more": match.bool(False),
                "data": match.each_like({
                    "id": an_id("invoice", INVOICE), "object": "invoice",
                    "status": match.regex("open", regex=r"^(draft|open|paid|void|uncollectible)$"),
                    "customer": an_id("customer", CUSTOMER), "amount_due": match.int(2000),
                    "amount_remaining": match.int(2000), "currency": match.str("usd")}, min=1)},
        content_type="application/json")
    with pact.serve() as srv:
        invoices = run(str(srv.url), lambda c: c.list_invoices(created_gte=0))
    assert [i["id"] for i in invoices] == [INVOICE]


def test_list_payment_intents_with_their_charges_for_reconciliation(contract) -> None:
    """The gateway side of reconciliation: each intent with its charge expanded, whose
    `amount_refunded` says whether a human has given the money back."""
    pact = contract(SYNC, "stripe")
    request(pact, "a request to list payment intents created since a time with their charges",
            "GET", "/v1/payment_intents", states=[renewal()],
            query={"created[gte]": "0", "limit": "100", "expand[0]": "data.latest_charge"}
            ).will_respond_with(200).with_body({
                "object": "list", "has_more": match.bool(False),
                "data": match.each_like({
                    "id": an_id("payment_intent", "pi_PactRenewal"),
                    "object": "payment_intent", "amount": match.int(2000),
                    "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
                    "status": match.str("requires_payment_method"),
                    "created": match.int(1767225600), "metadata": match.like({}),
                    "latest_charge": {"id": an_id("charge", "ch_PactRenewal"),
                                      "object": "charge", "amount": match.int(2000),
                                      "amount_refunded": match.int(0)}}, min=1)},
        content_type="application/json")
    with pact.serve() as srv:
        intents = run(str(srv.url), lambda c: c.list_payment_intents(created_gte=0,
                                                                      with_charge=True))
    [intent] = intents
    assert intent["latest_charge"]["amount_refunded"] == 0
