"""The fake Stripe's billing: test clocks, subscriptions, invoices, and the renewal/dunning
engine that moves them as time passes (products and prices: billing_catalog.py). State and
business rules only; the wire format is in `billing_routes.py`. Invoices are charged through
`models.attempt_payment` (the payments side).

Time. A customer created with `test_clock=clock_…` belongs to that clock: its subscriptions and
invoices live on the clock's `frozen_time` and move only when the clock is advanced
(`advance_test_clock`). Everything else lives on the fake's own clock and moves through the
core scheduler (`Vendor.scheduled_work`, run by `POST /_sim/clock/advance` or the background
runner). Events, and the PaymentIntents/charges the payments side creates, carry the fake's own
time.

Clock-driven work is kept in the tenant's schedule (core/scheduler.py; object id -> {"at",
"lane" (the test clock, if any), "kind", "slot"}): a subscription's next period end (renewal or
cancellation) or incomplete expiry, a renewal invoice's finalization, an open invoice's next retry.

Per-tenant settings, `tenant.settings["billing"]` (all optional, Stripe-like defaults):
    retry_days: [3, 5, 7]
        Stripe's "custom retry schedule": each automatic retry happens this many days after the
        previous failed attempt; [] means no retries.
    subscription_after_final_attempt: "canceled" | "unpaid" | "past_due"  (default "canceled")
    invoice_after_final_attempt: "uncollectible" | "open"  (default "uncollectible")
    finalize_after_seconds: 3600
        how long a renewal invoice stays a draft before it is finalized and charged (Stripe
        waits about an hour after `invoice.created`).
    incomplete_expires_after_seconds: 82800
        after 23 h an unpaid first invoice makes the subscription `incomplete_expired`.
    hard_decline_codes: [...]
        decline codes after which the same payment method is not retried (a new default payment
        method is); default `HARD_DECLINES`.
"""

from __future__ import annotations

import calendar
import copy
import re
from datetime import UTC, datetime
from typing import Any

from simulators.core.scheduler import Scheduler
from simulators.core.tenancy import SCHEDULE, Tenant
from simulators.core.vendor import RequestContext, VendorError
from simulators.stripe.billing_catalog import (
    PRICES,
    PRODUCTS,
    choice,
    create_price_in,
    newest,
    state_error,
    text,
)
from simulators.stripe.errors import card_error, invalid_request, missing_param, resource_missing
from simulators.stripe.events import emit
from simulators.stripe.objects import apply_metadata, boolean, get_object, integer, new_id

DAY = 86400
SUBSCRIPTIONS, INVOICES = "subscription", "invoice"
CLOCKS, CUSTOMERS = "test_helpers.test_clock", "customer"
ENDED = ("canceled", "incomplete_expired")
CLOCK_LIFETIME = 7 * DAY  # deletes_after in Stripe's examples is created + 7 days
MAX_STEPS = 100_000  # guard against a runaway schedule in one advance
# Stripe doesn't retry these (docs: smart-retries#non-retryable-decline-codes)
HARD_DECLINES = ("incorrect_number", "lost_card", "pickup_card", "stolen_card",
                 "revocation_of_authorization", "revocation_of_all_authorizations",
                 "authentication_required", "highest_risk_level", "transaction_not_allowed")
DEFAULTS: dict[str, Any] = {
    "retry_days": [3, 5, 7], "subscription_after_final_attempt": "canceled",
    "invoice_after_final_attempt": "uncollectible", "finalize_after_seconds": 3600,
    "incomplete_expires_after_seconds": 23 * 3600, "hard_decline_codes": list(HARD_DECLINES),
}
NO_PAYMENT_METHOD = ("This customer has no attached payment source or default payment method. "
                     "Please consider adding a default payment method. For more information, "
                     "visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
                     "#payment-method-priority.")
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}


def settings(tenant: Tenant) -> dict[str, Any]:
    return {**DEFAULTS, **(tenant.settings.get("billing") or {})}


def _emit(sim: Any, tenant: Tenant, event_type: str, obj: dict[str, Any],
          ctx: RequestContext | None = None, previous: dict[str, Any] | None = None) -> None:
    """An event caused by request `ctx`, or by the fake itself (renewals, retries: no request).
    Events carry the fake's own time, also for test-clock objects."""
    emit(sim, tenant, event_type, obj, previous_attributes=previous,
         request_id=ctx.request_id if ctx else None,
         idempotency_key=ctx.idempotency_key if ctx else None)


# -- time -------------------------------------------------------------------------------------
def now_for(sim: Any, tenant: Tenant, clock_id: str | None) -> int:
    """The business time of objects on `clock_id` (a test clock) or on the fake's clock."""
    if clock_id:
        clock = tenant.collection(CLOCKS).get(clock_id)
        if clock is not None:
            return int(clock["frozen_time"])
    return int(sim.clock.now())


def add_interval(anchor: int, interval: str, count: int) -> int:
    """`anchor` plus `count` intervals; months keep the anchor's day, clamped to month end."""
    if interval == "day":
        return anchor + count * DAY
    if interval == "week":
        return anchor + count * 7 * DAY
    months = count * (12 if interval == "year" else 1)
    start = datetime.fromtimestamp(anchor, UTC)
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return int(start.replace(year=year, month=month0 + 1, day=day).timestamp())


def next_boundary(anchor: int, recurring: dict[str, Any], after: int) -> int:
    """The first billing-cycle boundary (anchor + n intervals) later than `after`."""
    interval, count = recurring["interval"], int(recurring["interval_count"])
    if anchor > after:
        return anchor
    if interval in ("day", "week"):
        step = count * (DAY if interval == "day" else 7 * DAY)
        return anchor + ((after - anchor) // step + 1) * step
    step_months = count * (12 if interval == "year" else 1)
    a, b = (datetime.fromtimestamp(t, UTC) for t in (anchor, after))
    n = max(1, ((b.year - a.year) * 12 + b.month - a.month) // step_months - 1)
    while (boundary := add_interval(anchor, interval, n * count)) <= after:
        n += 1
    return boundary


# -- test clocks ------------------------------------------------------------------------------
def create_test_clock(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    frozen = integer(params, "frozen_time", required=True)
    now = int(ctx.now)
    clock = {"id": new_id(ctx, ctx.tenant, "clock"), "object": "test_helpers.test_clock",
             "created": now, "deletes_after": now + CLOCK_LIFETIME, "frozen_time": frozen,
             "livemode": False, "name": text(params, "name", max_length=300),
             "status": "ready"}
    ctx.tenant.collection(CLOCKS)[clock["id"]] = clock
    emit(ctx.sim, ctx.tenant, "test_helpers.test_clock.created", clock,
         request_id=ctx.request_id, idempotency_key=ctx.idempotency_key)
    return clock


def advance_test_clock(ctx: RequestContext, clock_id: str,
                       params: dict[str, Any]) -> dict[str, Any]:
    """Run everything due on the clock up to `frozen_time`, in time order. Stripe answers
    `advancing` and finishes in the background; the fake finishes before it answers (`ready`)."""
    sim, tenant = ctx.sim, ctx.tenant
    clock = get_object(tenant, CLOCKS, clock_id, label="test_clock")
    target = integer(params, "frozen_time", required=True)
    if target <= clock["frozen_time"]:
        raise invalid_request("The frozen_time must be after the test clock's current "
                              f"frozen_time ({clock['frozen_time']}).", "frozen_time")
    limit = _advance_limit(tenant, clock)
    if target > limit:
        raise invalid_request("Cannot advance the test clock more than two intervals past the "
                              "shortest subscription interval on this test clock "
                              f"(at most {limit}).", "frozen_time")
    clock["status"] = "advancing"
    emit(sim, tenant, "test_helpers.test_clock.advancing", clock, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    run_schedule(sim, tenant, clock_id, target)
    clock["frozen_time"], clock["status"] = target, "ready"
    emit(sim, tenant, "test_helpers.test_clock.ready", clock)
    return clock


def _advance_limit(tenant: Tenant, clock: dict[str, Any]) -> int:
    frozen = int(clock["frozen_time"])
    limits = [add_interval(frozen, "year", 2)]
    for sub in tenant.collection(SUBSCRIPTIONS).values():
        if sub.get("test_clock") == clock["id"] and sub["status"] not in ENDED:
            for item in sub["items"]["data"]:
                recurring = item["price"]["recurring"]
                limits.append(add_interval(frozen, recurring["interval"],
                                           2 * int(recurring["interval_count"])))
    return min(limits)


def delete_test_clock(ctx: RequestContext, clock_id: str) -> dict[str, Any]:
    """Deleting a clock deletes the customers on it and their billing objects (as Stripe)."""
    tenant = ctx.tenant
    clock = get_object(tenant, CLOCKS, clock_id, label="test_clock")
    for name in (CUSTOMERS, SUBSCRIPTIONS, INVOICES):
        objects = tenant.collection(name)
        for oid in [oid for oid, o in objects.items() if o.get("test_clock") == clock_id]:
            del objects[oid]
    schedule = tenant.data.get(SCHEDULE, {})
    for oid in [oid for oid, e in schedule.items() if e.get("lane") == clock_id]:
        del schedule[oid]
    del tenant.collection(CLOCKS)[clock_id]
    emit(ctx.sim, tenant, "test_helpers.test_clock.deleted", clock, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}


# -- subscriptions ----------------------------------------------------------------------------
def _customer(tenant: Tenant, customer_id: Any, param: str = "customer") -> dict[str, Any]:
    customer = get_object(tenant, CUSTOMERS, customer_id, label="customer", param=param)
    if customer.get("deleted"):
        raise resource_missing("customer", customer_id, param)
    return customer


def _check_payment_method(tenant: Tenant, pm_id: str, customer_id: str, param: str) -> None:
    """A stored PaymentMethod must belong to the customer; `pm_card_*` test tokens pass."""
    stored = tenant.collection("payment_method").get(pm_id)
    if stored is None:
        if pm_id.startswith("pm_card_"):
            return
        raise resource_missing("PaymentMethod", pm_id, param)
    if stored.get("customer") != customer_id:
        raise invalid_request(f"The customer does not have a payment method with the ID "
                              f"{pm_id}. The payment method must be attached to the customer.",
                              param)


def _items(ctx: RequestContext, raw: Any, customer: dict[str, Any]) -> list[dict[str, Any]]:
    """`items[n][price|price_data|quantity|metadata]` -> (price, quantity, metadata) triples."""
    if not raw:
        raise missing_param("items")
    if not isinstance(raw, list):
        raise invalid_request("Invalid array", "items")
    parsed = []
    for i, item in enumerate(raw):
        param = f"items[{i}]"
        if not isinstance(item, dict):
            raise invalid_request("Invalid object", param)
        price_id = item.get("price")
        if price_id:
            price = get_object(ctx.tenant, PRICES, price_id, label="price",
                               param=f"{param}[price]")
            if not price["active"]:
                raise invalid_request("The price specified is inactive. This field only "
                                      "accepts active prices.", f"{param}[price]")
        elif isinstance(item.get("price_data"), dict):
            price = create_price_in(ctx, item["price_data"], f"{param}[price_data]", active=False)
        else:
            raise missing_param(f"{param}[price]")
        if price["type"] != "recurring":
            raise invalid_request("The price specified is set to `type=one_time` but this field "
                                  "only accepts prices with `type=recurring`.",
                                  f"{param}[price]")
        quantity = integer(item, "quantity", minimum=0)
        parsed.append({"price": price, "quantity": 1 if quantity is None else quantity,
                       "metadata": item.get("metadata")})
    first = parsed[0]["price"]
    for i, entry in enumerate(parsed[1:], 1):
        price = entry["price"]
        if price["currency"] != first["currency"]:
            raise invalid_request("All prices on a subscription must have the same currency.",
                                  f"items[{i}][price]")
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != (
                first["recurring"]["interval"], first["recurring"]["interval_count"]):
            raise invalid_request("All prices on a subscription must have the same "
                                  "`recurring.interval` and `recurring.interval_count`.",
                                  f"items[{i}][price]")
    return parsed


def create_subscription(ctx: RequestContext, params: dict[str, Any], *,
                        subscription_id: str | None = None,
                        at: int | None = None) -> dict[str, Any]:
    """`subscription_id` and a past start `at`: chosen ones (provider states set up a
    subscription that is already a period old); Stripe assigns the id and starts it now."""
    sim, tenant = ctx.sim, ctx.tenant
    customer = _customer(tenant, text(params, "customer", required=True))
    parsed = _items(ctx, params.get("items"), customer)
    collection = choice(params, "collection_method", ("charge_automatically", "send_invoice"),
                        "charge_automatically")
    behavior = choice(params, "payment_behavior", ("allow_incomplete", "default_incomplete",
                                                   "error_if_incomplete", "pending_if_incomplete"),
                      "allow_incomplete")
    days_until_due = integer(params, "days_until_due", minimum=0)
    if collection == "send_invoice" and days_until_due is None:
        raise missing_param("days_until_due")
    default_pm = text(params, "default_payment_method") or None
    if default_pm:
        _check_payment_method(tenant, default_pm, customer["id"], "default_payment_method")
    clock_id = customer.get("test_clock")
    now = now_for(sim, tenant, clock_id) if at is None else at
    recurring = parsed[0]["price"]["recurring"]
    anchor = integer(params, "billing_cycle_anchor")
    proration = choice(params, "proration_behavior",
                       ("always_invoice", "create_prorations", "none"), "create_prorations")
    if anchor is not None:
        natural = add_interval(now, recurring["interval"], int(recurring["interval_count"]))
        if anchor < now:
            raise invalid_request("billing_cycle_anchor cannot be in the past.",
                                  "billing_cycle_anchor")
        if anchor > natural:
            raise invalid_request(f"billing_cycle_anchor cannot be later than next natural "
                                  f"billing date ({natural}) for plan", "billing_cycle_anchor")
    else:
        anchor = now
    period_end = next_boundary(anchor, recurring, now)
    charges_now = collection == "charge_automatically" and behavior in (
        "allow_incomplete", "error_if_incomplete") and sum(
        e["price"]["unit_amount"] * e["quantity"] for e in parsed) > 0
    if charges_now and _payment_method_for(
            tenant, customer, {"default_payment_method": default_pm}) is None:
        raise invalid_request(NO_PAYMENT_METHOD, code="resource_missing")
    sub_id = subscription_id or new_id(ctx, tenant, "sub")
    items = []
    for entry in parsed:
        item = {"id": new_id(ctx, tenant, "si"), "object": "subscription_item",
                "billing_thresholds": None, "created": now, "metadata": {},
                "price": copy.deepcopy(entry["price"]), "quantity": entry["quantity"],
                "subscription": sub_id, "tax_rates": []}
        apply_metadata(item, entry["metadata"])
        items.append(item)
    sub = {
        "id": sub_id, "object": "subscription", "application": None,
        "application_fee_percent": None, "automatic_tax": {"enabled": False},
        "billing_cycle_anchor": anchor, "billing_thresholds": None, "cancel_at": None,
        "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": collection, "created": now,
        "currency": parsed[0]["price"]["currency"], "current_period_end": period_end,
        "current_period_start": now, "customer": customer["id"],
        "days_until_due": days_until_due, "default_payment_method": default_pm,
        "default_source": None, "default_tax_rates": [],
        "description": text(params, "description", max_length=500), "discount": None,
        "ended_at": None,
        "items": {"object": "list", "data": items, "has_more": False,
                  "url": f"/v1/subscription_items?subscription={sub_id}"},
        "latest_invoice": None, "livemode": False, "metadata": {},
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": now, "status": "incomplete",
        "test_clock": clock_id, "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    apply_metadata(sub, params.get("metadata"))
    payment_settings = params.get("payment_settings")
    if isinstance(payment_settings, dict) and payment_settings.get("save_default_payment_method"):
        sub["payment_settings"]["save_default_payment_method"] = choice(
            payment_settings, "save_default_payment_method", ("off", "on_subscription"))
    if boolean(params, "cancel_at_period_end", False):
        sub["cancel_at_period_end"], sub["cancel_at"] = True, period_end
    # the first invoice: the full period, or the prorated stretch up to a future anchor
    factor = None
    if anchor > now:
        full = anchor - add_interval(anchor, recurring["interval"],
                                     -int(recurring["interval_count"]))
        factor = 0.0 if proration == "none" else (anchor - now) / full
    invoice = _new_invoice(sim, tenant, sub, customer, now, "subscription_create",
                           (now, now), (now, period_end), factor, ctx=ctx)
    sub["latest_invoice"] = invoice["id"]
    _finalize(sim, tenant, invoice, now, ctx=ctx)
    if invoice["status"] == "paid" or collection == "send_invoice":
        sub["status"] = "active"
    elif behavior != "default_incomplete":
        # the subscription is not stored yet: name its payment method
        paid = _collect(sim, tenant, invoice, now, ctx=ctx,
                        payment_method=_payment_method_for(tenant, customer, sub),
                        off_session=bool(boolean(params, "off_session", False)))
        if paid:
            sub["status"] = "active"
        elif behavior == "error_if_incomplete":
            error = _decline_error(tenant, invoice)
            _discard(tenant, invoice)
            raise error
    tenant.collection(SUBSCRIPTIONS)[sub_id] = sub
    _emit(sim, tenant, "customer.subscription.created", sub, ctx)
    _schedule_subscription(sim, tenant, sub)
    return sub


def update_subscription(ctx: RequestContext, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    sub = get_object(tenant, SUBSCRIPTIONS, sub_id, label="subscription")
    if sub["status"] in ENDED and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise state_error("A canceled subscription can only update its cancellation_details "
                          "and metadata.")
    before = copy.deepcopy(sub)
    if "cancel_at_period_end" in params:
        flag = bool(boolean(params, "cancel_at_period_end"))
        sub["cancel_at_period_end"] = flag
        sub["cancel_at"] = sub["current_period_end"] if flag else None
        if flag:
            sub["canceled_at"] = now_for(ctx.sim, tenant, sub.get("test_clock"))
            sub["cancellation_details"]["reason"] = "cancellation_requested"
        else:
            sub["canceled_at"] = None
            sub["cancellation_details"]["reason"] = None
    if "default_payment_method" in params:
        pm = text(params, "default_payment_method") or None
        if pm:
            _check_payment_method(tenant, pm, sub["customer"], "default_payment_method")
        sub["default_payment_method"] = pm
    if "description" in params:
        sub["description"] = text(params, "description", max_length=500) or None
    details = params.get("cancellation_details")
    if isinstance(details, dict):
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    apply_metadata(sub, params.get("metadata"))
    if isinstance(params.get("items"), list):
        _update_items(ctx, sub, params["items"])
    _emit_sub_updated(ctx.sim, tenant, sub, before, ctx=ctx)
    _schedule_subscription(ctx.sim, tenant, sub)
    return sub


def _update_items(ctx: RequestContext, sub: dict[str, Any], raw: list[Any]) -> None:
    """Change an item's price or quantity (from the next period; no prorations)."""
    by_id = {item["id"]: item for item in sub["items"]["data"]}
    for i, change in enumerate(raw):
        if not isinstance(change, dict):
            raise invalid_request("Invalid object", f"items[{i}]")
        item = by_id.get(change.get("id"))
        if item is None:
            raise invalid_request("Adding items to a subscription is not supported by this "
                                  "fake; pass items[n][id].", f"items[{i}][id]")
        if change.get("price"):
            price = get_object(ctx.tenant, PRICES, change["price"], label="price",
                               param=f"items[{i}][price]")
            if price["type"] != "recurring" or price["currency"] != sub["currency"]:
                raise invalid_request("The price must be recurring and in the subscription's "
                                      "currency.", f"items[{i}][price]")
            item["price"] = copy.deepcopy(price)
        quantity = integer(change, "quantity", minimum=0)
        if quantity is not None:
            item["quantity"] = quantity
        apply_metadata(item, change.get("metadata"))


def cancel_subscription(ctx: RequestContext, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    sub = get_object(tenant, SUBSCRIPTIONS, sub_id, label="subscription")
    if sub["status"] in ENDED:
        raise resource_missing("subscription", sub_id)
    details = params.get("cancellation_details")
    if isinstance(details, dict):
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    _cancel(ctx.sim, tenant, sub, now_for(ctx.sim, tenant, sub.get("test_clock")),
            "cancellation_requested", ctx=ctx)
    return sub


def _cancel(sim: Any, tenant: Tenant, sub: dict[str, Any], now: int, reason: str,
            ctx: RequestContext | None = None) -> None:
    """End a subscription: no more invoices, and no more automatic retries of its open ones."""
    sub["status"] = "canceled"
    sub["canceled_at"] = sub["canceled_at"] or now
    sub["ended_at"] = now
    sub["cancellation_details"]["reason"] = reason
    _unschedule(tenant, sub["id"])
    for invoice in tenant.collection(INVOICES).values():
        if invoice.get("subscription") == sub["id"] and invoice["status"] in ("draft", "open"):
            invoice["next_payment_attempt"] = None
            _unschedule(tenant, invoice["id"])
    _emit(sim, tenant, "customer.subscription.deleted", sub, ctx)


def _emit_sub_updated(sim: Any, tenant: Tenant, sub: dict[str, Any], before: dict[str, Any],
                      ctx: RequestContext | None = None) -> None:
    changed = {k: before.get(k) for k in sub if sub[k] != before.get(k)}
    if changed:
        _emit(sim, tenant, "customer.subscription.updated", sub, ctx, changed)


def _set_status(sim: Any, tenant: Tenant, sub: dict[str, Any], status: str,
                ctx: RequestContext | None = None) -> None:
    if sub["status"] != status:
        before = copy.deepcopy(sub)
        sub["status"] = status
        _emit_sub_updated(sim, tenant, sub, before, ctx)


def _renew(sim: Any, tenant: Tenant, sub: dict[str, Any], at: int, *,
           invoice_id: str | None = None) -> None:
    """The period ends: cancel if asked to, else start the next period and invoice it
    (`invoice_id`: a chosen id for that invoice, for provider states)."""
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= at):
        _cancel(sim, tenant, sub, at, sub["cancellation_details"]["reason"]
                or "cancellation_requested")
        return
    before = copy.deepcopy(sub)
    previous = (sub["current_period_start"], sub["current_period_end"])
    recurring = sub["items"]["data"][0]["price"]["recurring"]
    start = sub["current_period_end"]
    end = next_boundary(sub["billing_cycle_anchor"], recurring, start)
    sub["current_period_start"], sub["current_period_end"] = start, end
    customer = tenant.collection(CUSTOMERS).get(sub["customer"]) or {"id": sub["customer"]}
    invoice = _new_invoice(sim, tenant, sub, customer, at, "subscription_cycle", previous,
                           (start, end), None, invoice_id=invoice_id)
    sub["latest_invoice"] = invoice["id"]
    _emit_sub_updated(sim, tenant, sub, before)
    if sub["status"] == "unpaid":  # Stripe keeps invoicing unpaid subscriptions, as drafts
        invoice["auto_advance"] = False
    elif sub["collection_method"] == "send_invoice":
        _finalize(sim, tenant, invoice, at)
    else:
        due = at + int(settings(tenant)["finalize_after_seconds"])
        invoice["next_payment_attempt"] = due
        _schedule(tenant, invoice, due, "finalize")
    _schedule_subscription(sim, tenant, sub)


def _expire_incomplete(sim: Any, tenant: Tenant, sub: dict[str, Any], at: int) -> None:
    invoice = tenant.collection(INVOICES).get(sub["latest_invoice"] or "")
    if invoice and invoice["status"] == "open":
        _void(sim, tenant, invoice, at)
    sub["status"], sub["ended_at"] = "incomplete_expired", at
    _emit(sim, tenant, "customer.subscription.deleted", sub)


def _schedule_subscription(sim: Any, tenant: Tenant, sub: dict[str, Any]) -> None:
    status = sub["status"]
    if status in ENDED:
        _unschedule(tenant, sub["id"])
    elif status == "incomplete":
        expires = sub["created"] + int(settings(tenant)["incomplete_expires_after_seconds"])
        _schedule(tenant, sub, expires, "expire")
    else:
        _schedule(tenant, sub, sub["current_period_end"], "renew")


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
    from simulators.stripe import models

    pm = payment_method or _invoice_payment_method(tenant, invoice)
    counted = automatic or invoice["attempt_count"] == 0  # manual re-attempts don't count
    intent = None
    if pm is not None:
        try:
            intent = models.attempt_payment(
                sim, tenant, amount=invoice["amount_remaining"], currency=invoice["currency"],
                customer=invoice["customer"], payment_method=pm,
                description=("Subscription creation" if invoice["billing_reason"] ==
                             "subscription_create" else "Subscription update"),
                invoice=invoice["id"], directives=ctx.directives if ctx else None,
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
                      payment_intent=copy.deepcopy(intent),
                      payment_method=copy.deepcopy(pm) if isinstance(pm, dict) else None,
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


# -- the schedule -----------------------------------------------------------------------------
def _schedule(tenant: Tenant, obj: dict[str, Any], at: int, kind: str, **extra: Any) -> None:
    """Work on the object's test clock when it has one (a lane run by advancing that clock),
    else on the fake's own clock (core/scheduler.py)."""
    tenant.schedule(obj["id"], int(at), kind, lane=obj.get("test_clock"), **extra)


def _unschedule(tenant: Tenant, object_id: str) -> None:
    tenant.unschedule(object_id)


def run_scheduled(sim: Any, tenant: Tenant, object_id: str, entry: dict[str, Any]) -> None:
    """The core scheduler's callback for work on the fake's own clock."""
    _work(sim, tenant, object_id, int(entry["at"]), entry)


SCHEDULED_WORK = dict.fromkeys(("renew", "expire", "finalize", "collect", "retry"),
                               run_scheduled)


def run_schedule(sim: Any, tenant: Tenant, clock_id: str, until: int) -> None:
    """Do the work due on one test clock up to `until`, earliest first, each at its own time."""
    clock = tenant.collection(CLOCKS)[clock_id]
    for _ in range(MAX_STEPS):
        due = Scheduler.due_in_lane(tenant, clock_id, until)
        if due is None:
            return
        oid, entry = due
        clock["frozen_time"] = max(int(clock["frozen_time"]), int(entry["at"]))
        _work(sim, tenant, oid, int(entry["at"]), entry)


def _work(sim: Any, tenant: Tenant, object_id: str, at: int, entry: dict[str, Any]) -> None:
    kind = entry["kind"]
    if kind in ("renew", "expire"):
        sub = tenant.collection(SUBSCRIPTIONS).get(object_id)
        if sub is None or sub["status"] in ENDED:
            return
        if kind == "expire":
            if sub["status"] == "incomplete":
                _expire_incomplete(sim, tenant, sub, at)
            return
        _renew(sim, tenant, sub, at)
        return
    invoice = tenant.collection(INVOICES).get(object_id)
    if invoice is None:
        return
    if kind == "finalize" and invoice["status"] == "draft":
        _finalize(sim, tenant, invoice, at)
        if invoice["status"] == "open" and invoice["auto_advance"]:
            _collect(sim, tenant, invoice, at, automatic=True)
    elif kind == "collect" and invoice["status"] == "open":
        _collect(sim, tenant, invoice, at, automatic=True)
    elif kind == "retry" and invoice["status"] == "open":
        _retry(sim, tenant, invoice, at, int(entry.get("slot", 0)))


# -- lists ------------------------------------------------------------------------------------
SUBSCRIPTION_FILTERS = ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                        "past_due", "paused", "trialing", "unpaid")
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def list_subscriptions(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Without `status`, every subscription that is not canceled (as Stripe)."""
    found = newest(tenant, SUBSCRIPTIONS)
    status = choice(params, "status", SUBSCRIPTION_FILTERS)
    if status is None:
        found = [s for s in found if s["status"] != "canceled"]
    elif status == "ended":
        found = [s for s in found if s["status"] in ENDED]
    elif status != "all":
        found = [s for s in found if s["status"] == status]
    for name in ("customer", "test_clock", "collection_method"):
        if params.get(name):
            found = [s for s in found if s.get(name) == params[name]]
    if params.get("price"):
        found = [s for s in found if any(i["price"]["id"] == params["price"]
                                         for i in s["items"]["data"])]
    return found


def list_invoices(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = newest(tenant, INVOICES)
    status = choice(params, "status", INVOICE_STATUSES)
    if status:
        found = [i for i in found if i["status"] == status]
    for name in ("customer", "subscription", "collection_method"):
        if params.get(name):
            found = [i for i in found if i.get(name) == params[name]]
    return found


def subscription_item(tenant: Tenant, item_id: str) -> dict[str, Any]:
    for sub in tenant.collection(SUBSCRIPTIONS).values():
        for item in sub["items"]["data"]:
            if item["id"] == item_id:
                return item
    raise resource_missing("subscription_item", item_id)
