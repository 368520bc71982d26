"""The billing system's view of an invoice, in canonical terms, for Stripe and Chargebee.

"Dunning in flight" is the billing system's own retry owning the invoice: Stripe's automatic
collection with a `next_payment_attempt` scheduled, or a Chargebee invoice whose
`dunning_status` is `in_progress` (Chargebee also retries nothing while a transaction is
in progress). The engine never stacks its retries on theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_STRIPE_STATUS = {"open": "open", "paid": "paid", "void": "void",
                  "uncollectible": "uncollectible", "draft": "draft"}
_CHARGEBEE_STATUS = {"payment_due": "open", "not_paid": "open", "posted": "open",
                     "paid": "paid", "voided": "void", "pending": "draft"}


@dataclass(frozen=True)
class BillingState:
    status: str                      # open | paid | void | uncollectible | draft
    amount_due: int
    currency: str
    dunning_in_flight: bool
    next_retry_at: float | None
    customer_email: str | None


def stripe_invoice_state(invoice: dict[str, Any]) -> BillingState:
    next_attempt = invoice.get("next_payment_attempt")
    return BillingState(
        status=_STRIPE_STATUS.get(invoice.get("status") or "", "open"),
        amount_due=int(invoice.get("amount_remaining") or 0),
        currency=str(invoice.get("currency") or "usd"),
        dunning_in_flight=next_attempt is not None
        and invoice.get("collection_method") == "charge_automatically",
        next_retry_at=float(next_attempt) if next_attempt else None,
        customer_email=invoice.get("customer_email"),
    )


def chargebee_invoice_state(invoice: dict[str, Any],
                            customer: dict[str, Any] | None = None) -> BillingState:
    next_retry = invoice.get("next_retry_at")
    return BillingState(
        status=_CHARGEBEE_STATUS.get(invoice.get("status") or "", "open"),
        amount_due=int(invoice.get("amount_due") or 0),
        currency=str(invoice.get("currency_code") or "USD").lower(),
        dunning_in_flight=invoice.get("dunning_status") == "in_progress",
        next_retry_at=float(next_retry) if next_retry else None,
        customer_email=(customer or {}).get("email"),
    )
