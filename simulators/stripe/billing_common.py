"""What the billing modules share: collection names, Stripe-like default settings (`settings`),
event emission, business time (`now_for`, billing-cycle arithmetic) and putting work on the
schedule (`_schedule`, `_unschedule`; billing_clocks.py runs it)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.events import emit

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


# -- the schedule -----------------------------------------------------------------------------
def _schedule(tenant: Tenant, obj: dict[str, Any], at: int, kind: str, **extra: Any) -> None:
    """Work on the object's test clock when it has one (a lane run by advancing that clock),
    else on the fake's own clock (core/scheduler.py)."""
    tenant.schedule(obj["id"], int(at), kind, lane=obj.get("test_clock"), **extra)


def _unschedule(tenant: Tenant, object_id: str) -> None:
    tenant.unschedule(object_id)
