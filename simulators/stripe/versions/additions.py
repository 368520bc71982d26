"""Fields Stripe added since 2023-08-16 without a version change (backward-compatible: Stripe
shows them at every version), as the official SDK pinned to 2026-10-28.endive declares them.
The fake fills them in on the current shape; at 2023-08-16 `spec_fields` leaves them out again
so that version stays exactly its published spec."""

from __future__ import annotations

from typing import Any

from simulators.stripe.versions.change import Obj, Render


def _fill(node: Any, defaults: dict[str, Any]) -> None:
    if not isinstance(node, dict):
        return
    for name, value in defaults.items():
        if isinstance(value, dict) and value.get("__nested__"):
            _fill(node.get(name), {k: v for k, v in value.items() if k != "__nested__"})
        elif name not in node:
            node[name] = value


def nested(**fields: Any) -> dict[str, Any]:
    return {"__nested__": True, **fields}


ADDED: dict[str, dict[str, Any]] = {
    "customer": {"customer_account": None},
    "payment_method": {"customer_account": None, "billing_details": nested(tax_id=None),
                       "card": nested(regulated_status="unregulated")},
    "payment_intent": {"allowed_payment_method_types": None, "customer_account": None,
                       "excluded_payment_method_types": None, "managed_payments": None,
                       "payment_method_configuration_details": None, "payment_record": None,
                       "source": None},
    "charge": {"source": None, "billing_details": nested(tax_id=None),
               "outcome": nested(advice_code=None, network_advice_code=None,
                                 network_decline_code=None),
               "payment_method_details": nested(card=nested(
                   authorization_code=None, electronic_commerce_indicator=None,
                   network_transaction_id=None, regulated_status="unregulated",
                   transaction_link_id=None))},
    "refund": {"customer_account": None},
    "product": {"tax_details": None, "type": "service"},
    "price": {"recurring": nested(trial_period_days=None)},
    "subscription": {"billing_schedules": [], "customer_account": None,
                     "managed_payments": None,
                     "automatic_tax": nested(disabled_reason=None, liability=None),
                     "cancellation_details": nested(feedback_option=None),
                     "trial_settings": nested(end_behavior=nested(billing_cycle_anchor=None)),
                     "invoice_settings": nested(custom_fields=None, description=None,
                                                footer=None)},
    "subscription_item": {"current_trial": None},
    "invoice": {"customer_account": None,
                "automatic_tax": nested(disabled_reason=None, liability=None, provider=None)},
    "test_helpers.test_clock": {"status_details": {}},
}


def fill(obj: Obj, ctx: Render) -> None:
    """The fields added since 2023-08-16, plus those computed from the record."""
    kind = obj.get("object")
    _fill(obj, ADDED.get(str(kind), {}))
    if kind == "payment_method" and isinstance(obj.get("card"), dict):
        obj["card"].setdefault("display_brand", obj["card"].get("brand"))
    elif kind == "charge":
        card = (obj.get("payment_method_details") or {}).get("card")
        if isinstance(card, dict):
            card.setdefault("amount_authorized", obj["amount"] if obj.get("paid") else None)
    elif kind == "refund":
        charge = ctx.stored("charge", obj.get("charge")) or {}
        obj.setdefault("customer", charge.get("customer"))
        obj.setdefault("payment_method", charge.get("payment_method"))
    elif kind == "line_item":
        quantity = obj.get("quantity")
        obj.setdefault("quantity_decimal", None if quantity is None else str(quantity))
    elif kind == "subscription_item" and isinstance(obj.get("price"), dict):
        obj.setdefault("plan", plan_of(obj["price"]))


def plan_of(price: Obj) -> Obj:
    """The Plan an item of a recurring price still shows (Stripe's older name for it)."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"], "object": "plan", "active": price.get("active", True),
        "amount": price.get("unit_amount"), "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": price.get("billing_scheme", "per_unit"),
        "created": price.get("created"), "currency": price.get("currency"),
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": price.get("livemode", False), "metadata": dict(price.get("metadata") or {}),
        "meter": recurring.get("meter"), "nickname": price.get("nickname"),
        "product": price.get("product"), "tiers_mode": price.get("tiers_mode"),
        "transform_usage": price.get("transform_usage"),
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed")}
