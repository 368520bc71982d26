"""PaymentIntents: create, confirm (charging the card), update, cancel, list; and
`attempt_payment` for billing's invoices."""

from __future__ import annotations

import copy
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import VendorError
from simulators.stripe import cards, versions
from simulators.stripe.errors import (
    card_error,
    invalid_request,
    missing_param,
    unexpected_state,
)
from simulators.stripe.objects import apply_metadata, get_object
from simulators.stripe.payment_methods import card_number, resolve_payment_method
from simulators.stripe.payments_base import (
    Op,
    _changes,
    _text,
    live_customer,
)

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


# -- payment intents --------------------------------------------------------------------------
def _amount(params: dict[str, Any], required: bool) -> int | None:
    if params.get("amount") in (None, ""):
        if required:
            raise missing_param("amount")
        return None
    try:
        amount = int(params["amount"])
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid integer: {params['amount']}", "amount",
                              "parameter_invalid_integer") from None
    if amount < 1:
        raise invalid_request("This value must be greater than or equal to 1.", "amount")
    if amount > 99999999:
        raise invalid_request("Amount must be no more than $999,999.99", "amount",
                              "amount_too_large")
    return amount


def _currency(params: dict[str, Any], required: bool) -> str | None:
    currency = params.get("currency")
    if not currency:
        if required:
            raise missing_param("currency")
        return None
    currency = str(currency).lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_request(f"Invalid currency: {currency}. Stripe currently supports these "
                              "currencies: usd, eur, gbp, …", "currency")
    return currency


def create_payment_intent(op: Op, params: dict[str, Any], *,
                          intent_id: str | None = None) -> dict[str, Any]:
    """`intent_id`: a chosen id (provider states); Stripe assigns one otherwise."""
    amount = _amount(params, True)
    currency = _currency(params, True)
    if params.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid_request("capture_method=manual is not supported by this fake (only "
                              "automatic).", "capture_method")
    types = params.get("payment_method_types") or ["card"]
    if types != ["card"]:
        raise invalid_request(f"The payment method type provided: {types[0]} is invalid. This "
                              "fake supports only: card.", "payment_method_types")
    customer = params.get("customer") or None
    if customer:
        live_customer(op.tenant, customer, "customer")
        op.on_clock_of(customer)
    intent_id = intent_id or op.id("pi")
    intent: dict[str, Any] = {
        "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": None, "automatic_payment_methods": None,
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{op.sim.seeds.token(f'ids:{op.tenant.id}', 25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": op.now, "currency": currency, "customer": customer,
        "description": _text(params.get("description")), "invoice": params.get("invoice"),
        "last_payment_error": None, "latest_charge": None, "livemode": False, "metadata": {},
        "next_action": None, "on_behalf_of": None, "payment_method": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                            "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None,
        "receipt_email": _text(params.get("receipt_email")), "review": None,
        "setup_future_usage": None, "shipping": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "requires_payment_method",
        "transfer_data": None, "transfer_group": None,
    }
    auto = params.get("automatic_payment_methods")
    if isinstance(auto, dict) and str(auto.get("enabled")).lower() == "true":
        intent["automatic_payment_methods"] = {
            "allow_redirects": auto.get("allow_redirects") or "always", "enabled": True}
    for name in ("statement_descriptor", "statement_descriptor_suffix", "transfer_group"):
        intent[name] = _text(params.get(name))
    if params.get("setup_future_usage"):
        intent["setup_future_usage"] = params["setup_future_usage"]
    apply_metadata(intent, params.get("metadata"))
    if params.get("payment_method"):
        pm = resolve_payment_method(op, params["payment_method"])
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
    op.tenant.collection("payment_intent")[intent_id] = intent
    op.emit("payment_intent.created", intent)
    if str(params.get("confirm", "")).lower() == "true":
        _confirm(op, intent, params)
    return intent


def update_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    if intent["status"] in ("succeeded", "canceled", "processing"):
        changing = [k for k in params if k not in ("expand", "metadata", "description",
                                                   "receipt_email", "shipping")]
        if changing:
            raise _unexpected(intent, f"This PaymentIntent's {changing[0]} could not be updated "
                              f"because it has a status of {intent['status']}. You may only "
                              "update the " + changing[0] + " of a PaymentIntent with one of the "
                              "following statuses: requires_payment_method, "
                              "requires_confirmation, requires_action.")
    before = copy.deepcopy(intent)
    amount = _amount(params, False)
    if amount is not None:
        intent["amount"] = amount
    currency = _currency(params, False)
    if currency:
        intent["currency"] = currency
    if "customer" in params:
        if params["customer"]:
            live_customer(op.tenant, params["customer"], "customer")
        intent["customer"] = params["customer"] or None
    for name in ("description", "receipt_email", "statement_descriptor",
                 "statement_descriptor_suffix", "transfer_group"):
        if name in params:
            intent[name] = _text(params[name])
    if params.get("setup_future_usage") is not None:
        intent["setup_future_usage"] = params["setup_future_usage"] or None
    if params.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid_request("capture_method=manual is not supported by this fake (only "
                              "automatic).", "capture_method")
    apply_metadata(intent, params.get("metadata"))
    if params.get("payment_method"):
        pm = resolve_payment_method(op, params["payment_method"])
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
        intent["last_payment_error"] = None
    previous = _changes(before, intent)
    if previous:
        op.emit("payment_intent.updated", intent, previous)
    return intent


def confirm_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    op.on_clock_of(intent.get("customer"))
    if params.get("payment_method") and intent["status"] in CONFIRMABLE:
        intent["payment_method"] = resolve_payment_method(op, params["payment_method"])["id"]
    _confirm(op, intent, params)
    return intent


def _unexpected(intent: dict[str, Any], message: str) -> VendorError:
    return unexpected_state(message, payment_intent=versions.in_error(intent))


def _confirm(op: Op, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Confirm: charge the payment method; a decline raises the 402 after state is stored."""
    status = intent["status"]
    if status == "succeeded":
        raise _unexpected(intent, "You cannot confirm this PaymentIntent because it has already "
                          "succeeded after being previously confirmed.")
    if status not in CONFIRMABLE:
        raise _unexpected(intent, f"You cannot confirm this PaymentIntent because it has a status "
                          f"of {status}. Only a PaymentIntent with one of the following statuses "
                          "may be confirmed: requires_confirmation, requires_action, "
                          "requires_payment_method.")
    if not intent.get("payment_method"):
        if intent.get("customer"):
            message = (f"You cannot confirm this PaymentIntent because it's missing a payment "
                       f"method. To confirm the PaymentIntent with {intent['customer']}, specify "
                       "a payment method attached to this customer along with the customer ID.")
        else:
            message = ("You cannot confirm this PaymentIntent because it's missing a payment "
                       "method. You can either update the PaymentIntent with a payment method "
                       "and then confirm it again, or confirm it again directly with a payment "
                       "method.")
        raise _unexpected(intent, message)
    pm = get_object(op.tenant, "payment_method", intent["payment_method"],
                    label="PaymentMethod", param="payment_method")
    if pm.get("customer") and pm["customer"] != intent.get("customer"):
        raise invalid_request(
            f"The provided PaymentMethod is attached to a different Customer ({pm['customer']}) "
            "than the one on this PaymentIntent. Specify that Customer on the PaymentIntent.",
            "payment_method")
    outcome = _outcome(op, pm)
    charge = _create_charge(op, intent, pm, outcome)
    intent["latest_charge"] = charge["id"]
    if not outcome.declined:
        intent.update(status="succeeded", amount_received=intent["amount"],
                      last_payment_error=None)
        op.emit("charge.succeeded", charge)
        op.emit("payment_intent.succeeded", intent)
        return
    error = _decline_error(charge, pm, outcome)
    intent.update(status="requires_payment_method", payment_method=None,
                  last_payment_error=error)
    op.emit("charge.failed", charge)
    op.emit("payment_intent.payment_failed", intent)
    raise card_error(error["code"], error.get("decline_code"), error["message"],
                     charge=charge["id"], payment_intent=versions.in_error(intent),
                     payment_method=versions.in_error(pm))


def _outcome(op: Op, pm: dict[str, Any]) -> cards.Outcome:
    """The test card's outcome, unless a `decline` fault forces a decline code."""
    forced = op.directives.get("decline")
    if forced:
        decline_code = forced.get("code") or "generic_decline"
        code = decline_code if decline_code in ("expired_card", "incorrect_cvc",
                                                "processing_error") else "card_declined"
        return cards.decline(decline_code, code)
    return cards.card_for(card_number(op.tenant, pm["id"])).outcome


def _decline_error(charge: dict[str, Any], pm: dict[str, Any],
                   outcome: cards.Outcome) -> dict[str, Any]:
    code = outcome.code or "card_declined"
    error: dict[str, Any] = {
        "charge": charge["id"], "code": code, "decline_code": outcome.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": charge["failure_message"], "payment_method": copy.deepcopy(pm),
        "type": "card_error"}
    return {k: v for k, v in error.items() if v is not None}


def _create_charge(op: Op, intent: dict[str, Any], pm: dict[str, Any],
                   outcome: cards.Outcome) -> dict[str, Any]:
    ok = not outcome.declined
    card = pm["card"]
    forced = op.directives.get("decline") or {}
    message = (forced.get("message") or cards.message_for(outcome.decline_code, outcome.code)
               if not ok else None)
    charge = {
        "id": op.id("ch"), "object": "charge", "amount": intent["amount"],
        "amount_captured": intent["amount"] if ok else 0, "amount_refunded": 0,
        "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": None, "billing_details": copy.deepcopy(pm["billing_details"]),
        "calculated_statement_descriptor": "LANDSCAPE FAKE", "captured": ok,
        "created": op.now, "currency": intent["currency"], "customer": intent.get("customer"),
        "description": intent.get("description"), "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if ok else outcome.code, "failure_message": message,
        "fraud_details": {}, "invoice": intent.get("invoice"), "livemode": False,
        "metadata": copy.deepcopy(intent.get("metadata") or {}), "on_behalf_of": None,
        "outcome": {"network_status": outcome.network_status,
                    "reason": outcome.decline_code if not ok else None,
                    "risk_level": outcome.risk_level, "risk_score": 20,
                    "seller_message": cards.seller_message(outcome), "type": outcome.type},
        "paid": ok, "payment_intent": intent["id"], "payment_method": pm["id"],
        "payment_method_details": {
            "card": {"brand": card["brand"],
                     "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                "cvc_check": card["checks"].get("cvc_check")},
                     "country": card["country"], "exp_month": card["exp_month"],
                     "exp_year": card["exp_year"], "fingerprint": card["fingerprint"],
                     "funding": card["funding"], "installments": None, "last4": card["last4"],
                     "mandate": None, "network": card["brand"],
                     "network_token": {"used": False}, "three_d_secure": None, "wallet": None},
            "type": "card"},
        "receipt_email": intent.get("receipt_email"), "receipt_number": None,
        "receipt_url": None, "refunded": False, "review": None, "shipping": None,
        "source_transfer": None, "statement_descriptor": intent.get("statement_descriptor"),
        "statement_descriptor_suffix": intent.get("statement_descriptor_suffix"),
        "status": "succeeded" if ok else "failed", "transfer_data": None,
        "transfer_group": intent.get("transfer_group"),
    }
    if outcome.type == "blocked":
        charge["outcome"]["reason"] = "highest_risk_level"
    op.tenant.collection("charge")[charge["id"]] = charge
    return charge


def cancel_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    reason = params.get("cancellation_reason") or None
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise invalid_request("Invalid cancellation_reason: must be one of duplicate, "
                              "fraudulent, requested_by_customer, or abandoned",
                              "cancellation_reason")
    if intent["status"] not in CANCELABLE:
        raise _unexpected(intent, f"You cannot cancel this PaymentIntent because it has a status "
                          f"of {intent['status']}. Only a PaymentIntent with one of the following "
                          "statuses may be canceled: requires_payment_method, requires_capture, "
                          "requires_confirmation, requires_action, processing.")
    intent.update(status="canceled", canceled_at=op.now, cancellation_reason=reason)
    op.emit("payment_intent.canceled", intent)
    return intent


def attempt_payment(sim: Any, tenant: Tenant, *, amount: int, currency: str,
                    customer: str | None, payment_method: str, description: str | None = None,
                    invoice: str | None = None, metadata: dict | None = None,
                    directives: dict | None = None, request_id: str | None = None,
                    idempotency_key: str | None = None, off_session: bool = True) -> dict:
    """Create and confirm a PaymentIntent (for billing's invoice payments).

    Returns the PaymentIntent dict: `succeeded`, or `requires_payment_method` with
    `last_payment_error` (and the failed charge as `latest_charge`). Never raises for a decline;
    raises a VendorError only for bad input (unknown customer or payment method).
    """
    op = Op(sim, tenant, request_id, idempotency_key, dict(directives or {}))
    params: dict[str, Any] = {"amount": amount, "currency": currency,
                              "payment_method": payment_method, "confirm": "true",
                              "off_session": "true" if off_session else "false"}
    if customer:
        params["customer"] = customer
    if description is not None:
        params["description"] = description
    if invoice is not None:
        params["invoice"] = invoice
    if metadata:
        params["metadata"] = {str(k): str(v) for k, v in metadata.items()}
    try:
        return create_payment_intent(op, params)
    except VendorError as error:
        body = error.body.get("error", {}) if isinstance(error.body, dict) else {}
        if error.status == 402 and isinstance(body.get("payment_intent"), dict):
            return tenant.collection("payment_intent")[body["payment_intent"]["id"]]
        raise


def list_payment_intents(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("payment_intent").values()))
    if params.get("customer"):
        found = [p for p in found if p.get("customer") == params["customer"]]
    return found
