"""The fake Stripe's billing: test clocks, subscriptions, invoices, and the renewal/dunning
engine that moves them as time passes (products and prices: billing_catalog.py). State and
business rules only; the wire format is in `billing_routes.py`. Invoices are charged through
`payment_intents.attempt_payment` (the payments side).

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

Modules: billing_common.py (names, settings, time, enqueueing work), billing_clocks.py (test
clocks, running the schedule), billing_subscriptions.py, billing_subscription_state.py (state
changes shared with invoices), billing_invoices.py.
"""

# The package's public surface: what routes, states and the vendor use as `billing.x`.
# The code lives in the modules below; this module only re-exports it.
from simulators.stripe.billing_clocks import (
    SCHEDULED_WORK,
    advance_test_clock,
    create_test_clock,
    delete_test_clock,
    run_schedule,
    run_scheduled,
)
from simulators.stripe.billing_common import (
    CLOCK_LIFETIME,
    CLOCKS,
    CUSTOMERS,
    DAY,
    DEFAULTS,
    ENDED,
    HARD_DECLINES,
    INVOICES,
    MAX_STEPS,
    NO_PAYMENT_METHOD,
    SUBSCRIPTIONS,
    SYMBOLS,
    add_interval,
    next_boundary,
    now_for,
    settings,
)
from simulators.stripe.billing_invoices import (
    INVOICE_STATUSES,
    finalize_invoice,
    list_invoices,
    mark_uncollectible,
    on_payment_intent_succeeded,
    pay_invoice,
    update_invoice,
    void_invoice,
)
from simulators.stripe.billing_subscriptions import (
    SUBSCRIPTION_FILTERS,
    cancel_subscription,
    create_subscription,
    list_subscriptions,
    subscription_item,
    update_subscription,
)

__all__ = [
    "CLOCKS",
    "CLOCK_LIFETIME",
    "CUSTOMERS",
    "DAY",
    "DEFAULTS",
    "ENDED",
    "HARD_DECLINES",
    "INVOICES",
    "INVOICE_STATUSES",
    "MAX_STEPS",
    "NO_PAYMENT_METHOD",
    "SCHEDULED_WORK",
    "SUBSCRIPTIONS",
    "SUBSCRIPTION_FILTERS",
    "SYMBOLS",
    "add_interval",
    "advance_test_clock",
    "cancel_subscription",
    "create_subscription",
    "create_test_clock",
    "delete_test_clock",
    "finalize_invoice",
    "list_invoices",
    "list_subscriptions",
    "mark_uncollectible",
    "next_boundary",
    "now_for",
    "on_payment_intent_succeeded",
    "pay_invoice",
    "run_schedule",
    "run_scheduled",
    "settings",
    "subscription_item",
    "update_invoice",
    "update_subscription",
    "void_invoice",
]
