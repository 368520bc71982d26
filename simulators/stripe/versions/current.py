"""The current shape (2026-10-28.endive) of what the fake stores.

The fake's records keep a few links its business rules and the harness's ground truth read
(an invoice's `subscription`, `payment_intent`, `paid`; a PaymentIntent's `invoice`; a
subscription's `current_period_*`). Every response starts here: the record shown as Stripe shows
it today; the version changes (`versions/<date>_<name>.py`) then render older versions from this
shape, never from the record."""

from __future__ import annotations

from typing import Any

from simulators.stripe.versions.additions import ADDED, fill
from simulators.stripe.versions.change import Obj, Render


def invoice_payments(invoice: Obj) -> list[Obj]:
    """The invoice's InvoicePayment: the default one, for the PaymentIntent that collects it
    (the fake makes one per attempt; Stripe reuses one, so one payment is shown, the latest)."""
    intent = invoice.get("payment_intent")
    if not intent:
        return []
    transitions = invoice.get("status_transitions") or {}
    paid = invoice["status"] == "paid" and not invoice.get("paid_out_of_band")
    # voided, or paid elsewhere: Stripe cancels the payment that was collecting it (an
    # uncollectible invoice may still be paid: its payment stays open)
    canceled = invoice["status"] == "void" or (invoice["status"] == "paid" and not paid)
    status = "paid" if paid else "canceled" if canceled else "open"
    return [{
        "id": "inpay_" + invoice["id"].split("_", 1)[1], "object": "invoice_payment",
        "amount_paid": invoice["amount_paid"] if paid else None,
        "amount_requested": invoice["amount_due"],
        "created": transitions.get("finalized_at") or invoice["created"],
        "currency": invoice["currency"], "invoice": invoice["id"], "is_default": True,
        "livemode": invoice.get("livemode", False),
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status": status,
        "status_transitions": {"canceled_at": (transitions.get("voided_at")
                                               or transitions.get("paid_at"))
                               if status == "canceled" else None,
                               "paid_at": transitions.get("paid_at") if paid else None},
    }]


def _taxes(amounts: list[Obj]) -> list[Obj]:
    return [{"amount": t["amount"], "tax_behavior": "inclusive" if t.get("inclusive")
             else "exclusive", "tax_rate_details": {"tax_rate": t.get("tax_rate")},
             "taxability_reason": t.get("taxability_reason") or "not_available",
             "taxable_amount": t.get("taxable_amount"), "type": "tax_rate_details"}
            for t in amounts or []]


def _invoice(obj: Obj, ctx: Render) -> None:
    sub, quote = obj.pop("subscription", None), obj.pop("quote", None)
    details = obj.pop("subscription_details", None) or {}
    proration_date = obj.pop("subscription_proration_date", None)
    if sub:
        details = {"metadata": details.get("metadata"), "subscription": sub}
        if proration_date is not None:  # only on previews of prorations
            details["subscription_proration_date"] = proration_date
        obj["parent"] = {"type": "subscription_details", "quote_details": None,
                         "subscription_details": details}
    elif quote:
        obj["parent"] = {"type": "quote_details", "quote_details": {"quote": quote},
                         "subscription_details": None}
    else:
        obj["parent"] = None
    out_of_band = obj.pop("paid_out_of_band", False)
    obj["payments"] = {"object": "list", "data": invoice_payments({**obj, "paid_out_of_band":
                                                                  out_of_band}),
                       "has_more": False, "url": f"/v1/invoice_payments?invoice={obj['id']}"}
    obj["amount_paid_off_stripe"] = obj["amount_paid"] if out_of_band else 0
    for name in ("paid", "payment_intent", "charge", "application_fee_amount", "transfer_data",
                 "discount", "tax"):
        obj.pop(name, None)
    obj["total_taxes"] = _taxes(obj.pop("total_tax_amounts", []))
    options = obj.pop("rendering_options", None)
    obj["rendering"] = None if options is None else {
        "amount_tax_display": options.get("amount_tax_display"), "pdf": None, "template": None,
        "template_version": None}
    obj.setdefault("amount_overpaid", 0)
    obj.setdefault("automatically_finalizes_at", None)
    obj.setdefault("issuer", {"type": "self"})
    obj.setdefault("total_pretax_credit_amounts", [])
    for line in (obj.get("lines") or {}).get("data", []):
        line.setdefault("invoice", obj["id"])


def _line_item(obj: Obj, ctx: Render) -> None:
    if "parent" in obj:  # already the current shape
        return
    kind = obj.pop("type", "subscription")
    details = {"invoice_item": obj.pop("invoice_item", None),
               "proration": obj.pop("proration", False),
               "proration_details": obj.pop("proration_details", None),
               "subscription": obj.get("subscription")}
    item = obj.pop("subscription_item", None)
    if kind == "subscription":
        obj["parent"] = {"type": "subscription_item_details", "invoice_item_details": None,
                         "subscription_item_details": {**details, "subscription_item": item}}
    else:
        obj["parent"] = {"type": "invoice_item_details", "invoice_item_details": details,
                         "subscription_item_details": None}
    price = obj.pop("price", None)
    obj["pricing"] = None if not price else {
        "price_details": {"price": price["id"], "product": price["product"]},
        "type": "price_details", "unit_amount_decimal": price.get("unit_amount_decimal")}
    obj["taxes"] = _taxes(obj.pop("tax_amounts", []))
    for name in ("tax_rates", "amount_excluding_tax", "unit_amount_excluding_tax"):
        obj.pop(name, None)
    obj.setdefault("invoice", ctx.invoice)
    obj.setdefault("pretax_credit_amounts", [])
    obj.setdefault("subtotal", obj["amount"])


def _subscription(obj: Obj, ctx: Render) -> None:
    start, end = obj.pop("current_period_start", None), obj.pop("current_period_end", None)
    for item in (obj.get("items") or {}).get("data", []):
        item.setdefault("current_period_start", start)
        item.setdefault("current_period_end", end)
    obj.pop("discount", None)
    obj.setdefault("billing_cycle_anchor_config", None)
    obj.setdefault("billing_mode", {"flexible": None, "type": "classic"})
    if obj["billing_mode"].get("updated_at", 0) is None:  # absent until it is changed
        obj["billing_mode"] = {k: v for k, v in obj["billing_mode"].items() if k != "updated_at"}
    obj.setdefault("discounts", [])
    obj.setdefault("invoice_settings", {"account_tax_ids": None, "issuer": {"type": "self"}})


def _subscription_item(obj: Obj, ctx: Render) -> None:
    sub = ctx.stored("subscription", obj.get("subscription")) or {}
    obj.setdefault("current_period_start", sub.get("current_period_start"))
    obj.setdefault("current_period_end", sub.get("current_period_end"))
    obj.setdefault("discounts", [])


def _recurring(obj: Obj, ctx: Render) -> None:
    recurring = obj.get("recurring")
    if isinstance(recurring, dict):
        recurring.pop("aggregate_usage", None)
        recurring.setdefault("meter", None)
    if obj.get("object") == "plan":
        obj.pop("aggregate_usage", None)
        obj.setdefault("meter", None)


def _product(obj: Obj, ctx: Render) -> None:
    if "features" in obj:
        obj["marketing_features"] = obj.pop("features")


def _without_invoice(obj: Obj, ctx: Render) -> None:
    obj.pop("invoice", None)


def _then_fill(step: Any) -> Any:
    def up(obj: Obj, ctx: Render) -> None:
        step(obj, ctx)
        fill(obj, ctx)
    return up


_STEPS: dict[str, Any] = {
    "invoice": _invoice, "line_item": _line_item, "subscription": _subscription,
    "subscription_item": _subscription_item, "price": _recurring, "plan": _recurring,
    "product": _product, "charge": _without_invoice, "payment_intent": _without_invoice,
}
# each object type: its own step to the current shape, then the fields added since 2023-08-16
UP: dict[str, Any] = {kind: _then_fill(_STEPS.get(kind, lambda obj, ctx: None))
                      for kind in {*_STEPS, *ADDED}}
