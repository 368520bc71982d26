"""PaymentMethods: test tokens and card numbers, update, attach, detach, lists."""

from __future__ import annotations

import copy
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.stripe import cards
from simulators.stripe.errors import (
    card_error,
    invalid_request,
    missing_param,
)
from simulators.stripe.objects import apply_metadata, get_object
from simulators.stripe.payments_base import (
    Op,
    _address,
    _changes,
    _text,
    live_customer,
)

PM_CARDS = "_pm_card_numbers"  # pm id -> card number (what the fake needs, Stripe never shows)


# -- payment methods --------------------------------------------------------------------------
def _new_card_method(op: Op, number: str, exp_month: int, exp_year: int, *,
                     cvc_check: str, billing: dict[str, Any] | None = None,
                     metadata: Any = None, pm_id: str | None = None) -> dict[str, Any]:
    card = cards.card_for(number)
    billing = billing or {}
    pm: dict[str, Any] = {
        "id": pm_id or op.id("pm"), "object": "payment_method",
        "billing_details": {"address": _address(billing.get("address")) or _address({}),
                            "email": _text(billing.get("email")),
                            "name": _text(billing.get("name")),
                            "phone": _text(billing.get("phone"))},
        "card": {"brand": card.brand,
                 "checks": {"address_line1_check": None, "address_postal_code_check": None,
                            "cvc_check": cvc_check},
                 "country": card.country, "exp_month": exp_month, "exp_year": exp_year,
                 "fingerprint": cards.fingerprint(op.tenant.id, number),
                 "funding": card.funding, "generated_from": None, "last4": number[-4:],
                 "networks": {"available": [card.brand], "preferred": None},
                 "three_d_secure_usage": {"supported": True}, "wallet": None},
        "created": op.now, "customer": None, "livemode": False, "metadata": {}, "type": "card",
    }
    apply_metadata(pm, metadata)
    op.tenant.collection("payment_method")[pm["id"]] = pm
    op.tenant.collection(PM_CARDS)[pm["id"]] = number
    return pm


def resolve_payment_method(op: Op, pm_id: Any, param: str = "payment_method") -> dict[str, Any]:
    """A stored PaymentMethod; a test token (`pm_card_visa`) makes a new one, as Stripe does."""
    if isinstance(pm_id, str) and pm_id in cards.TOKENS:
        year = int(op.sim.clock.now() // (365.25 * 86400)) + 1970 + 1
        return _new_card_method(op, cards.TOKENS[pm_id], 8, year, cvc_check="unchecked")
    return get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod", param=param)


def card_number(tenant: Tenant, pm_id: str) -> str:
    return tenant.collection(PM_CARDS).get(pm_id, "4242424242424242")


def create_payment_method(op: Op, params: dict[str, Any], *,
                          payment_method_id: str | None = None) -> dict[str, Any]:
    """`payment_method_id`: a chosen id (provider states); Stripe assigns one otherwise."""
    kind = params.get("type")
    if not kind:
        raise missing_param("type")
    if kind != "card":
        raise invalid_request(f"The payment method type `{kind}` is not supported by this fake "
                              "(only `card`).", "type")
    card = params.get("card")
    if not isinstance(card, dict):
        raise missing_param("card")
    if card.get("token"):
        raise invalid_request("card[token] is not supported by this fake; use card[number] or "
                              "a test PaymentMethod such as pm_card_visa.", "card[token]")
    for name in ("number", "exp_month", "exp_year"):
        if not card.get(name):
            raise missing_param(f"card[{name}]")
    number = str(card["number"]).replace(" ", "")
    if not cards.luhn_ok(number):
        raise card_error("incorrect_number", None, cards.message_for(None, "incorrect_number"),
                         param="number")
    month, year = _expiry(card, op.now)
    cvc = card.get("cvc")
    if cvc not in (None, "") and not (str(cvc).isdigit() and len(str(cvc)) in (3, 4)):
        raise card_error("invalid_cvc", None, "Your card's security code is invalid.",
                         param="cvc")
    return _new_card_method(op, number, month, year,
                            cvc_check="unchecked",
                            billing=params.get("billing_details") or {},
                            metadata=params.get("metadata"), pm_id=payment_method_id)


def _expiry(card: dict[str, Any], now: int) -> tuple[int, int]:
    try:
        month = int(card["exp_month"])
    except (TypeError, ValueError):
        month = 0
    if not 1 <= month <= 12:
        raise card_error("invalid_expiry_month", None, "Your card's expiration month is invalid.",
                         param="exp_month")
    try:
        year = int(card["exp_year"])
    except (TypeError, ValueError):
        year = 0
    year = year + 2000 if 0 <= year < 100 else year
    this_year = int(now // (365.25 * 86400)) + 1970
    if year < this_year:
        raise card_error("invalid_expiry_year", None, "Your card's expiration year is in the past.",
                         param="exp_year")
    if year > this_year + 50:
        raise card_error("invalid_expiry_year", None, "Your card's expiration year is invalid.",
                         param="exp_year")
    return month, year


def update_payment_method(op: Op, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    pm = get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod")
    before = copy.deepcopy(pm)
    apply_metadata(pm, params.get("metadata"))
    card = params.get("card")
    if isinstance(card, dict):
        month, year = _expiry({"exp_month": card.get("exp_month", pm["card"]["exp_month"]),
                               "exp_year": card.get("exp_year", pm["card"]["exp_year"])}, op.now)
        pm["card"]["exp_month"], pm["card"]["exp_year"] = month, year
    billing = params.get("billing_details")
    if isinstance(billing, dict):
        details = pm["billing_details"]
        for name in ("email", "name", "phone"):
            if name in billing:
                details[name] = _text(billing[name])
        if "address" in billing:
            details["address"] = _address(billing["address"]) or _address({})
    previous = _changes(before, pm)
    if previous:
        op.emit("payment_method.updated", pm, previous)
    return pm


def attach_payment_method(op: Op, pm_id: Any, customer_id: Any, *, param: str = "customer",
                          verify_card: bool = True) -> dict[str, Any]:
    """`verify_card=False` (provider states only) attaches a declining test card as if it had
    started declining after it was saved, which the API cannot do (only 0341 attaches)."""
    if not customer_id:
        raise missing_param("customer")
    customer = live_customer(op.tenant, customer_id, param)
    pm = resolve_payment_method(op, pm_id, "payment_method")
    if pm.get("customer") == customer["id"]:
        return pm
    if pm.get("customer"):
        raise invalid_request("The payment method you provided has already been attached to a "
                              "customer.", "payment_method")
    # attaching verifies the card: declining test cards fail here, except 0341 (charges fail)
    card = cards.card_for(card_number(op.tenant, pm["id"]))
    if verify_card and card.outcome.declined and card.number != "4000000000000341":
        decline_code = card.outcome.decline_code
        raise card_error(card.outcome.code or "card_declined", decline_code,
                         cards.message_for(decline_code, card.outcome.code), param="")
    pm["customer"] = customer["id"]
    pm["card"]["checks"]["cvc_check"] = card.cvc_check
    op.emit("payment_method.attached", pm)
    return pm


def detach_payment_method(op: Op, pm_id: str) -> dict[str, Any]:
    pm = get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod",
                    param="payment_method")
    if not pm.get("customer"):
        raise invalid_request("The payment method you provided is not attached to a customer so "
                              "detachment is impossible.", "payment_method")
    previous = {"customer": pm["customer"]}
    customer = op.tenant.collection("customer").get(pm["customer"])
    pm["customer"] = None
    if customer and customer.get("invoice_settings", {}).get("default_payment_method") == pm_id:
        customer["invoice_settings"]["default_payment_method"] = None
    op.emit("payment_method.detached", pm, previous)
    return pm


def list_payment_methods(tenant: Tenant, customer_id: str | None,
                         kind: str | None) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("payment_method").values()))
    if customer_id is not None:
        found = [p for p in found if p.get("customer") == customer_id]
    if kind:
        found = [p for p in found if p.get("type") == kind]
    return found
