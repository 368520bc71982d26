"""The payments side of the fake Stripe: customers, payment methods, payment intents, charges,
refunds, webhook endpoints, events. State and business rules only; routes.py does the wire.

Functions take an `Op` (who is asking: simulator, account, request id, idempotency key, fault
directives) and return the stored object (a dict, exactly as Stripe renders it) or raise a
`VendorError` in Stripe's format. Every state change emits its event via `events.emit`.

Modules: payments_base.py (Op, shared helpers), customers.py, payment_methods.py,
payment_intents.py, charges.py (charges and refunds), webhook_endpoints.py (events, endpoints)."""

# The package's public surface: what routes, states and the vendor use as `models.x`.
# The code lives in the modules below; this module only re-exports it.
from simulators.stripe.charges import (
    create_refund,
    list_charges,
    list_refunds,
)
from simulators.stripe.customers import (
    create_customer,
    delete_customer,
    list_customers,
    update_customer,
)
from simulators.stripe.payment_intents import (
    CANCELABLE,
    CANCELLATION_REASONS,
    CONFIRMABLE,
    attempt_payment,
    cancel_payment_intent,
    confirm_payment_intent,
    create_payment_intent,
    list_payment_intents,
    update_payment_intent,
)
from simulators.stripe.payment_methods import (
    PM_CARDS,
    attach_payment_method,
    card_number,
    create_payment_method,
    detach_payment_method,
    list_payment_methods,
    resolve_payment_method,
    update_payment_method,
)
from simulators.stripe.payments_base import (
    TEST_CLOCKS,
    Op,
    live_customer,
    op_from,
)
from simulators.stripe.webhook_endpoints import (
    EVENT_RETENTION,
    create_webhook_endpoint,
    delete_webhook_endpoint,
    get_event,
    list_events,
    public_endpoint,
    update_webhook_endpoint,
    visible_events,
)

__all__ = [
    "CANCELABLE",
    "CANCELLATION_REASONS",
    "CONFIRMABLE",
    "EVENT_RETENTION",
    "Op",
    "PM_CARDS",
    "TEST_CLOCKS",
    "attach_payment_method",
    "attempt_payment",
    "cancel_payment_intent",
    "card_number",
    "confirm_payment_intent",
    "create_customer",
    "create_payment_intent",
    "create_payment_method",
    "create_refund",
    "create_webhook_endpoint",
    "delete_customer",
    "delete_webhook_endpoint",
    "detach_payment_method",
    "get_event",
    "list_charges",
    "list_customers",
    "list_events",
    "list_payment_intents",
    "list_payment_methods",
    "list_refunds",
    "live_customer",
    "op_from",
    "public_endpoint",
    "resolve_payment_method",
    "update_customer",
    "update_payment_intent",
    "update_payment_method",
    "update_webhook_endpoint",
    "visible_events",
]
