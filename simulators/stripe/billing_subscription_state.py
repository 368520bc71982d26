"""Subscription state changes that both subscriptions and invoices make: cancel, status changes
(with `customer.subscription.updated`), (re)scheduling the next renewal or expiry, and the
payment-method check."""

from __future__ import annotations

import copy
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.billing_common import (
    ENDED,
    INVOICES,
    _emit,
    _schedule,
    _unschedule,
    settings,
)
from simulators.stripe.errors import invalid_request, resource_missing


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


def _schedule_subscription(sim: Any, tenant: Tenant, sub: dict[str, Any]) -> None:
    status = sub["status"]
    if status in ENDED:
        _unschedule(tenant, sub["id"])
    elif status == "incomplete":
        expires = sub["created"] + int(settings(tenant)["incomplete_expires_after_seconds"])
        _schedule(tenant, sub, expires, "expire")
    else:
        _schedule(tenant, sub, sub["current_period_end"], "renew")
