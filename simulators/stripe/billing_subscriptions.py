"""Subscriptions: create (with the payment behaviours), update, cancel, renewal at period end,
incomplete expiry, list, subscription items."""

from __future__ import annotations

import copy
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.billing_catalog import (
    PRICES,
    choice,
    create_price_in,
    newest,
    state_error,
    text,
)
from simulators.stripe.billing_common import (
    CUSTOMERS,
    ENDED,
    INVOICES,
    NO_PAYMENT_METHOD,
    SUBSCRIPTIONS,
    _emit,
    _schedule,
    add_interval,
    next_boundary,
    now_for,
    settings,
)
from simulators.stripe.billing_invoices import (
    _collect,
    _decline_error,
    _discard,
    _finalize,
    _new_invoice,
    _payment_method_for,
    _void,
)
from simulators.stripe.billing_subscription_state import (
    _cancel,
    _check_payment_method,
    _emit_sub_updated,
    _schedule_subscription,
)
from simulators.stripe.errors import invalid_request, missing_param, resource_missing
from simulators.stripe.objects import apply_metadata, boolean, get_object, integer, new_id

SUBSCRIPTION_FILTERS = ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                        "past_due", "paused", "trialing", "unpaid")


# -- subscriptions ----------------------------------------------------------------------------
def _customer(tenant: Tenant, customer_id: Any, param: str = "customer") -> dict[str, Any]:
    customer = get_object(tenant, CUSTOMERS, customer_id, label="customer", param=param)
    if customer.get("deleted"):
        raise resource_missing("customer", customer_id, param)
    return customer


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


def _billing_mode(ctx: RequestContext) -> dict[str, Any]:
    """Classic, or flexible when created at 2025-09-30.clover or later (versions/)."""
    from simulators.stripe import versions

    flexible = versions.load("2025_09_30_billing_mode_flexible")
    credentials = getattr(ctx, "credentials", None) or {}
    version = credentials.get("stripe_version") or versions.account_version(ctx.tenant)
    return flexible.created_mode(version)


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
        "billing_cycle_anchor": anchor, "billing_mode": _billing_mode(ctx),
        "billing_thresholds": None, "cancel_at": None,
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
    _set_cancellation_details(sub, params)
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


FEEDBACK = ("customer_service", "low_quality", "missing_features", "other", "switched_service",
            "too_complex", "too_expensive", "unused")


def _set_cancellation_details(sub: dict[str, Any], params: dict[str, Any]) -> None:
    """The customer's comment and feedback on a cancellation (feedback is Stripe's enum)."""
    details = params.get("cancellation_details")
    if not isinstance(details, dict):
        return
    feedback = details.get("feedback")
    if feedback and feedback not in FEEDBACK:
        raise invalid_request("Invalid cancellation_details[feedback]: must be one of "
                              + ", ".join(FEEDBACK), "cancellation_details[feedback]")
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key] or None


def cancel_subscription(ctx: RequestContext, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    sub = get_object(tenant, SUBSCRIPTIONS, sub_id, label="subscription")
    if sub["status"] in ENDED:
        raise resource_missing("subscription", sub_id)
    _set_cancellation_details(sub, params)
    _cancel(ctx.sim, tenant, sub, now_for(ctx.sim, tenant, sub.get("test_clock")),
            "cancellation_requested", ctx=ctx)
    return sub


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


def subscription_item(tenant: Tenant, item_id: str) -> dict[str, Any]:
    for sub in tenant.collection(SUBSCRIPTIONS).values():
        for item in sub["items"]["data"]:
            if item["id"] == item_id:
                return item
    raise resource_missing("subscription_item", item_id)
