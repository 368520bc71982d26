"""Charges (list) and refunds (create, list)."""

from __future__ import annotations

from typing import Any

from simulators.core.tenancy import Tenant
from simulators.stripe.errors import (
    invalid_request,
    stripe_error,
)
from simulators.stripe.objects import apply_metadata, get_object
from simulators.stripe.payment_intents import _amount
from simulators.stripe.payments_base import (
    Op,
)


# -- charges and refunds ----------------------------------------------------------------------
def list_charges(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("charge").values()))
    for name in ("customer", "payment_intent", "transfer_group"):
        if params.get(name):
            found = [c for c in found if c.get(name) == params[name]]
    return found


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    text = f"{amount / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def create_refund(op: Op, params: dict[str, Any]) -> dict[str, Any]:
    charge_id, intent_id = params.get("charge"), params.get("payment_intent")
    if not charge_id and not intent_id:
        raise invalid_request("One of the following params should be provided for this request: "
                              "payment_intent or charge.")
    if charge_id and intent_id:
        raise invalid_request("You cannot specify both the charge and payment_intent "
                              "parameters.", "payment_intent")
    if intent_id:
        intent = get_object(op.tenant, "payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded" or not intent.get("latest_charge"):
            raise invalid_request(f"This PaymentIntent ({intent_id}) does not have a successful "
                                  "charge to refund.", "payment_intent")
        charge_id = intent["latest_charge"]
    charge = get_object(op.tenant, "charge", charge_id, param="charge")
    if charge["status"] != "succeeded":
        raise invalid_request(f"Charge {charge['id']} has not been captured and cannot be "
                              "refunded.", "charge")
    if charge["refunded"]:
        raise stripe_error(400, "invalid_request_error",
                           f"Charge {charge['id']} has already been refunded.",
                           code="charge_already_refunded")
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = _amount(params, False)
    amount = remaining if amount is None else amount
    if amount > remaining:
        total = "charge amount" if charge["amount_refunded"] == 0 else \
            "unrefunded amount on charge"
        raise invalid_request(
            f"Refund amount ({_money(amount, charge['currency'])}) is greater than {total} "
            f"({_money(remaining, charge['currency'])})", "amount")
    reason = params.get("reason") or None
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid_request("Invalid reason: must be one of duplicate, fraudulent, or "
                              "requested_by_customer", "reason")
    refund: dict[str, Any] = {
        "id": op.id("re"), "object": "refund", "amount": amount, "balance_transaction": None,
        "charge": charge["id"], "created": op.now, "currency": charge["currency"],
        "metadata": {},
        "payment_intent": charge.get("payment_intent"), "reason": reason,
        "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
        "transfer_reversal": None,
    }
    apply_metadata(refund, params.get("metadata"))
    op.tenant.collection("refund")[refund["id"]] = refund
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    op.emit("charge.refunded", charge, previous)
    op.emit("refund.created", refund)
    return refund


def list_refunds(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("refund").values()))
    for name in ("charge", "payment_intent"):
        if params.get(name):
            found = [r for r in found if r.get(name) == params[name]]
    return found
