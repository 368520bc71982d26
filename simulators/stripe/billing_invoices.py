"""Invoices: creation, finalization, collection through the payments side
(`payment_intents.attempt_payment`), the retry schedule and final actions, and the invoice
endpoints (pay, finalize, void, mark uncollectible, update, list)."""

from __future__ import annotations

import copy
import re
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext, VendorError
from simulators.stripe import versions
from simulators.stripe.billing_catalog import (
    PRODUCTS,
    choice,
    newest,
    state_error,
    text,
)
from simulators.stripe.billing_common import (
    CUSTOMERS,
    DAY,
    ENDED,
    INVOICES,
    NO_PAYMENT_METHOD,
    SUBSCRIPTIONS,
    SYMBOLS,
    _emit,
    _schedule,
    _unschedule,
    now_for,
    settings,
)
from simulators.stripe.billing_subscription_state import (
    _cancel,
    _check_payment_method,
    _schedule_subscription,
    _set_status,
)
from simulators.stripe.errors import card_error, invalid_request
from simulators.stripe.objects import apply_metadata, boolean, get_object, new_id

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


# -- invoices ---------------------------------------------------------------------------------
def _money(amount: int, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    value = f"{amount / 100:.2f}" if currency != "jpy" else str(amount)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def _new_invoice(sim: Any, tenant: Tenant, sub: dict[str, Any], customer: dict[str, Any],
                 now: int, reason: str, period: tuple[int, int], line_period: tuple[int, int],
                 factor: float | None, ctx: RequestContext | None = None, *,
                 invoice_id: str | None = None) -> dict[str, Any]:
    invoice_id = invoice_id or new_id(sim, tenant, "in")
    lines = []
    for item in sub["items"]["data"]:
        price, quantity = item["price"], item["quantity"]
        amount = price["unit_amount"] * quantity
        if factor is not None:
            amount = round(amount * factor)
        recurring = price["recurring"]
        every = recurring["interval"] if recurring["interval_count"] == 1 else (
            f"every {recurring['interval_count']} {recurring['interval']}s")
        product = tenant.collection(PRODUCTS).get(price["product"]) or {}
        lines.append({
            "id": new_id(sim, tenant, "il"), "object": "line_item", "amount": amount,
            "amount_excluding_tax": amount, "currency": price["currency"],
            "description": f"{quantity} × {product.get('name', price['product'])} (at "
                           f"{_money(price['unit_amount'], price['currency'])} / {every})",
            "discount_amounts": [], "discountable": True, "discounts": [], "livemode": False,
            "metadata": dict(sub["metadata"]),
            "period": {"end": line_period[1], "start": line_period[0]},
            "price": copy.deepcopy(price), "proration": factor is not None,
            "proration_details": {"credited_items": None}, "quantity": quantity,
            "subscription": sub["id"], "subscription_item": item["id"], "tax_amounts": [],
            "tax_rates": [], "type": "subscription",
            "unit_amount_excluding_tax": str(price["unit_amount"]),
        })
    total = sum(line["amount"] for line in lines)
    invoice = {
        "id": invoice_id, "object": "invoice", "account_country": "US",
        "account_name": tenant.settings.get("account_name"), "account_tax_ids": None,
        "amount_due": total, "amount_paid": 0, "amount_remaining": total, "amount_shipping": 0,
        "application": None, "application_fee_amount": None, "attempt_count": 0,
        "attempted": False, "auto_advance": sub["collection_method"] == "charge_automatically",
        "automatic_tax": {"enabled": False, "status": None}, "billing_reason": reason,
        "charge": None, "collection_method": sub["collection_method"], "created": now,
        "currency": sub["currency"], "custom_fields": None, "customer": customer["id"],
        "customer_address": customer.get("address"), "customer_email": customer.get("email"),
        "customer_name": customer.get("name"), "customer_phone": customer.get("phone"),
        "customer_shipping": customer.get("shipping"),
        "customer_tax_exempt": customer.get("tax_exempt") or "none", "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None, "default_tax_rates": [],
        "description": None, "discount": None, "discounts": [], "due_date": None,
        "effective_at": None, "ending_balance": None, "footer": None, "from_invoice": None,
        "hosted_invoice_url": None, "invoice_pdf": None, "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": lines, "has_more": False,
                  "url": f"/v1/invoices/{invoice_id}/lines"},
        "livemode": False, "metadata": {}, "next_payment_attempt": None, "number": None,
        "on_behalf_of": None, "paid": False, "paid_out_of_band": False, "payment_intent": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period[1], "period_start": period[0],
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "quote": None, "receipt_number": None, "rendering_options": None,
        "shipping_cost": None, "shipping_details": None, "starting_balance": 0,
        "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subscription": sub["id"], "subscription_details": {"metadata": dict(sub["metadata"])},
        "subtotal": total, "subtotal_excluding_tax": total, "tax": None,
        "test_clock": sub.get("test_clock"), "total": total, "total_discount_amounts": [],
        "total_excluding_tax": total, "total_tax_amounts": [], "transfer_data": None,
        "webhooks_delivered_at": now,
    }
    tenant.collection(INVOICES)[invoice_id] = invoice
    _emit(sim, tenant, "invoice.created", invoice, ctx)
    return invoice


def _finalize(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int,
              ctx: RequestContext | None = None) -> None:
    customer = tenant.collection(CUSTOMERS).get(invoice["customer"]) or {}
    prefix = customer.get("invoice_prefix") or re.sub(
        r"[^A-Z0-9]", "", invoice["customer"].split("_", 1)[-1].upper())[:8]
    sequence = tenant.next_number(f"invoice_number:{invoice['customer']}")
    invoice.update(status="open", number=f"{prefix}-{sequence:04d}", effective_at=now,
                   ending_balance=0, next_payment_attempt=None)
    invoice["status_transitions"]["finalized_at"] = now
    if invoice["collection_method"] == "send_invoice":
        sub = tenant.collection(SUBSCRIPTIONS).get(invoice.get("subscription") or "") or {}
        invoice["due_date"] = now + int(sub.get("days_until_due") or 30) * DAY
    _unschedule(tenant, invoice["id"])
    _emit(sim, tenant, "invoice.finalized", invoice, ctx)
    if invoice["amount_due"] == 0:  # Stripe settles a zero invoice at finalization
        _mark_paid(sim, tenant, invoice, now, None, ctx=ctx)


def _payment_method_for(tenant: Tenant, customer: dict[str, Any] | None,
                        *sources: dict[str, Any] | None) -> str | None:
    """Stripe's order: invoice's/subscription's default_payment_method and default_source,
    then the customer's invoice_settings.default_payment_method and default_source."""
    for source in sources:
        if source:
            for key in ("default_payment_method", "default_source"):
                if source.get(key):
                    return source[key]
    customer = customer or {}
    settings_ = customer.get("invoice_settings") or {}
    return settings_.get("default_payment_method") or customer.get("default_source") or None


def _invoice_payment_method(tenant: Tenant, invoice: dict[str, Any]) -> str | None:
    sub = tenant.collection(SUBSCRIPTIONS).get(invoice.get("subscription") or "")
    customer = tenant.collection(CUSTOMERS).get(invoice.get("customer") or "")
    return _payment_method_for(tenant, customer, invoice, sub)


def _collect(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int, *,
             ctx: RequestContext | None = None, payment_method: str | None = None,
             off_session: bool = True, automatic: bool = False, retry_slot: int = 0) -> bool:
    """One payment attempt on an open invoice; updates the invoice, its subscription and the
    retry schedule (a counted failure schedules retry number `retry_slot`). True if paid."""
    from simulators.stripe import payment_intents

    pm = payment_method or _invoice_payment_method(tenant, invoice)
    counted = automatic or invoice["attempt_count"] == 0  # manual re-attempts don't count
    intent = None
    if pm is not None:
        try:
            intent = payment_intents.attempt_payment(
                sim, tenant, amount=invoice["amount_remaining"], currency=invoice["currency"],
                customer=invoice["customer"], payment_method=pm,
                description=("Subscription creation" if invoice["billing_reason"] ==
                             "subscription_create" else "Subscription update"),
                invoice=invoice["id"],
                directives=ctx.directives if ctx else _own_charge_directives(sim, tenant, invoice),
                request_id=ctx.request_id if ctx else None,
                idempotency_key=ctx.idempotency_key if ctx else None, off_session=off_session)
        except VendorError:
            if ctx is not None and not automatic:
                raise
    invoice["attempted"] = True
    if counted:
        invoice["attempt_count"] += 1
    if intent is not None:
        invoice["payment_intent"] = intent["id"]
        invoice["charge"] = intent.get("latest_charge")
    if intent is not None and intent.get("status") == "succeeded":
        _mark_paid(sim, tenant, invoice, now, intent, ctx=ctx)
        return True
    if counted:
        _plan_retry(sim, tenant, invoice, now, slot=retry_slot)
    _emit(sim, tenant, "invoice.payment_failed", invoice, ctx)
    sub = tenant.collection(SUBSCRIPTIONS).get(invoice.get("subscription") or "")
    if sub and sub["latest_invoice"] == invoice["id"] and sub["status"] == "active":
        _set_status(sim, tenant, sub, "past_due", ctx)
    if counted and invoice["next_payment_attempt"] is None and _retries_apply(invoice):
        _final_action(sim, tenant, invoice, now)
    return False


def _own_charge_directives(sim: Any, tenant: Tenant, invoice: dict[str, Any]) -> dict[str, Any]:
    """A charge the fake makes by itself (renewal collection, a dunning retry) has no request
    for a `decline` fault to match: it is matched as `POST /v1/invoices/{id}/pay` of the tenant,
    with the same seeded draws, first_n and windows as a request."""
    decline = sim.faults.draw_decline(sim.seeds.stream("faults"), sim.clock.now(),
                                      method="POST", path=f"/v1/invoices/{invoice['id']}/pay",
                                      tenant=tenant.id)
    return {"decline": decline} if decline is not None else {}


def _retries_apply(invoice: dict[str, Any]) -> bool:
    """Automatic collection retries renewal invoices; a first invoice is never retried (the
    subscription stays incomplete until it expires)."""
    return (invoice["collection_method"] == "charge_automatically" and invoice["auto_advance"]
            and invoice["billing_reason"] != "subscription_create"
            and invoice["status"] == "open")


def _plan_retry(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int, slot: int) -> None:
    """Schedule retry number `slot` (0-based) of the retry schedule, if there is one."""
    days = settings(tenant)["retry_days"]
    if not _retries_apply(invoice) or slot >= len(days):
        invoice["next_payment_attempt"] = None
        _unschedule(tenant, invoice["id"])
        return
    at = now + int(float(days[slot]) * DAY)
    invoice["next_payment_attempt"] = at
    _schedule(tenant, invoice, at, "retry", slot=slot)


def _retry(sim: Any, tenant: Tenant, invoice: dict[str, Any], at: int, slot: int) -> None:
    """A scheduled retry. Skipped (no charge) when there is no payment method or the last
    decline was hard on the same payment method; the schedule moves on either way."""
    if not _retries_apply(invoice):
        return
    pm = _invoice_payment_method(tenant, invoice)
    if pm is None or _hard_declined(tenant, invoice, pm):
        _plan_retry(sim, tenant, invoice, at, slot + 1)
        if invoice["next_payment_attempt"] is None:
            _final_action(sim, tenant, invoice, at)
        return
    _collect(sim, tenant, invoice, at, automatic=True, retry_slot=slot + 1)


def _hard_declined(tenant: Tenant, invoice: dict[str, Any], pm: str) -> bool:
    intent = tenant.collection("payment_intent").get(invoice.get("payment_intent") or "")
    if not intent:
        return False
    error = intent.get("last_payment_error") or {}
    used = error.get("payment_method") or intent.get("payment_method")
    used = used.get("id") if isinstance(used, dict) else used
    return (used == pm and error.get("decline_code") in settings(tenant)["hard_decline_codes"])


def _final_action(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int) -> None:
    """After the last retry failed: the configured fate of the invoice and its subscription."""
    rules = settings(tenant)
    invoice["next_payment_attempt"] = None
    _unschedule(tenant, invoice["id"])
    if rules["invoice_after_final_attempt"] == "uncollectible":
        _mark_uncollectible(sim, tenant, invoice, now)
    sub = tenant.collection(SUBSCRIPTIONS).get(invoice.get("subscription") or "")
    if not sub or sub["latest_invoice"] != invoice["id"] or sub["status"] in ENDED:
        return
    outcome = rules["subscription_after_final_attempt"]
    if outcome == "canceled":
        _cancel(sim, tenant, sub, now, "payment_failed")
    elif outcome == "unpaid":
        _set_status(sim, tenant, sub, "unpaid")


def _mark_paid(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int,
               intent: dict[str, Any] | None, *, out_of_band: bool = False,
               ctx: RequestContext | None = None) -> None:
    invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"],
                   amount_remaining=0, next_payment_attempt=None, paid_out_of_band=out_of_band)
    invoice["status_transitions"]["paid_at"] = now
    _unschedule(tenant, invoice["id"])
    _emit(sim, tenant, "invoice.paid", invoice, ctx)
    if intent is not None:
        _emit(sim, tenant, "invoice.payment_succeeded", invoice, ctx)
    sub = tenant.collection(SUBSCRIPTIONS).get(invoice.get("subscription") or "")
    if (sub and sub["latest_invoice"] == invoice["id"]
            and sub["status"] in ("incomplete", "past_due", "unpaid")):
        _set_status(sim, tenant, sub, "active", ctx)
        _schedule_subscription(sim, tenant, sub)


def _mark_uncollectible(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int,
                        ctx: RequestContext | None = None) -> None:
    invoice["status"] = "uncollectible"
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["marked_uncollectible_at"] = now
    _unschedule(tenant, invoice["id"])
    _emit(sim, tenant, "invoice.marked_uncollectible", invoice, ctx)


def _void(sim: Any, tenant: Tenant, invoice: dict[str, Any], now: int,
          ctx: RequestContext | None = None) -> None:
    invoice["status"] = "void"
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["voided_at"] = now
    _unschedule(tenant, invoice["id"])
    _emit(sim, tenant, "invoice.voided", invoice, ctx)


def _discard(tenant: Tenant, invoice: dict[str, Any]) -> None:
    """error_if_incomplete: the subscription is never created; its invoice goes with it."""
    tenant.collection(INVOICES).pop(invoice["id"], None)
    _unschedule(tenant, invoice["id"])


def _decline_error(tenant: Tenant, invoice: dict[str, Any]) -> VendorError:
    """The 402 Stripe answers when paying an invoice fails, from its PaymentIntent."""
    intent = tenant.collection("payment_intent").get(invoice.get("payment_intent") or "")
    if not intent:
        return invalid_request(NO_PAYMENT_METHOD, code="resource_missing")
    error = dict(intent.get("last_payment_error") or {})
    pm = error.get("payment_method")
    return card_error(error.get("code") or "card_declined", error.get("decline_code"),
                      error.get("message") or "Your card was declined.",
                      charge=error.get("charge") or intent.get("latest_charge"),
                      payment_intent=versions.in_error(intent),
                      payment_method=versions.in_error(pm) if isinstance(pm, dict) else None,
                      advice_code=error.get("advice_code"))


def _invoice(tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    return get_object(tenant, INVOICES, invoice_id, label="invoice")


def pay_invoice(ctx: RequestContext, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """`POST /v1/invoices/{id}/pay`: a manual attempt (402 if it fails), or `paid_out_of_band`."""
    sim, tenant = ctx.sim, ctx.tenant
    invoice = _invoice(tenant, invoice_id)
    out_of_band = boolean(params, "paid_out_of_band", False)
    pm = text(params, "payment_method") or None
    off_session = boolean(params, "off_session", True)
    if invoice["status"] == "paid":
        raise state_error("Invoice is already paid")
    if invoice["status"] == "void":
        raise state_error("This invoice can no longer be paid because it has been voided.")
    if pm:
        _check_payment_method(tenant, pm, invoice["customer"], "payment_method")
    now = now_for(sim, tenant, invoice.get("test_clock"))
    if invoice["status"] == "draft":
        _finalize(sim, tenant, invoice, now, ctx=ctx)
        if invoice["status"] == "paid":
            return invoice
    if out_of_band:
        _mark_paid(sim, tenant, invoice, now, None, out_of_band=True, ctx=ctx)
        return invoice
    if (pm or _invoice_payment_method(tenant, invoice)) is None:
        raise invalid_request(NO_PAYMENT_METHOD, code="resource_missing")
    if not _collect(sim, tenant, invoice, now, ctx=ctx, payment_method=pm,
                    off_session=bool(off_session)):
        raise _decline_error(tenant, invoice)
    return invoice


def finalize_invoice(ctx: RequestContext, invoice_id: str,
                     params: dict[str, Any]) -> dict[str, Any]:
    invoice = _invoice(ctx.tenant, invoice_id)
    if invoice["status"] != "draft":
        raise state_error("This invoice is already finalized, you can't re-finalize a "
                          "non-draft invoice.", code="invoice_not_editable")
    auto = boolean(params, "auto_advance")
    if auto is not None:
        invoice["auto_advance"] = auto
    now = now_for(ctx.sim, ctx.tenant, invoice.get("test_clock"))
    _finalize(ctx.sim, ctx.tenant, invoice, now, ctx=ctx)
    if (invoice["status"] == "open" and invoice["auto_advance"]
            and invoice["collection_method"] == "charge_automatically"):
        # automatic collection starts on the next pass of the schedule
        invoice["next_payment_attempt"] = now
        _schedule(ctx.tenant, invoice, now, "collect")
    return invoice


def void_invoice(ctx: RequestContext, invoice_id: str) -> dict[str, Any]:
    invoice = _invoice(ctx.tenant, invoice_id)
    if invoice["status"] not in ("open", "uncollectible"):
        raise state_error(f"You can only void an invoice that is open or uncollectible; this "
                          f"invoice is {invoice['status']}.")
    _void(ctx.sim, ctx.tenant, invoice, now_for(ctx.sim, ctx.tenant, invoice.get("test_clock")),
          ctx)
    return invoice


def mark_uncollectible(ctx: RequestContext, invoice_id: str) -> dict[str, Any]:
    invoice = _invoice(ctx.tenant, invoice_id)
    if invoice["status"] != "open":
        raise state_error(f"You can only mark an open invoice as uncollectible; this invoice "
                          f"is {invoice['status']}.")
    _mark_uncollectible(ctx.sim, ctx.tenant, invoice,
                        now_for(ctx.sim, ctx.tenant, invoice.get("test_clock")), ctx)
    return invoice


def update_invoice(ctx: RequestContext, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    invoice = _invoice(tenant, invoice_id)
    before = copy.deepcopy(invoice)
    if invoice["status"] in ("paid", "void", "uncollectible") and set(params) - {
            "metadata", "expand"}:
        raise state_error(f"You can only update metadata on a {invoice['status']} invoice.",
                          code="invoice_not_editable")
    for name in ("description", "footer"):
        if name in params:
            invoice[name] = text(params, name) or None
    if "default_payment_method" in params:
        pm = text(params, "default_payment_method") or None
        if pm:
            _check_payment_method(tenant, pm, invoice["customer"], "default_payment_method")
        invoice["default_payment_method"] = pm
    if "auto_advance" in params:
        invoice["auto_advance"] = bool(boolean(params, "auto_advance"))
        if not invoice["auto_advance"] and invoice["status"] == "open":
            invoice["next_payment_attempt"] = None  # automatic collection stops
            _unschedule(tenant, invoice_id)
    apply_metadata(invoice, params.get("metadata"))
    changed = {k: before.get(k) for k in invoice if invoice[k] != before.get(k)}
    if changed:
        _emit(ctx.sim, tenant, "invoice.updated", invoice, ctx, changed)
    return invoice


def on_payment_intent_succeeded(sim: Any, tenant: Tenant, intent: dict[str, Any]) -> None:
    """For the payments side: a PaymentIntent of an open invoice succeeded outside `pay` (e.g.
    confirmed by the client) -> the invoice is paid and its subscription recovers."""
    invoice = tenant.collection(INVOICES).get(intent.get("invoice") or "")
    if invoice and invoice["status"] in ("open", "uncollectible"):
        invoice["payment_intent"], invoice["charge"] = intent["id"], intent.get("latest_charge")
        invoice["attempted"] = True
        _mark_paid(sim, tenant, invoice, now_for(sim, tenant, invoice.get("test_clock")), intent)


def list_invoices(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = newest(tenant, INVOICES)
    status = choice(params, "status", INVOICE_STATUSES)
    if status:
        found = [i for i in found if i["status"] == status]
    for name in ("customer", "subscription", "collection_method"):
        if params.get(name):
            found = [i for i in found if i.get(name) == params[name]]
    return found
