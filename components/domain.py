"""The canonical records the components pass around, in the domain's words.

Money is in minor units (cents) with an ISO currency in lower case, times are epoch seconds.
Vendor ids are kept as the vendor gave them; `invoice_key` is `<billing system>:<invoice id>`,
the one name every store table and idempotency key uses for an invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def invoice_key(billing: str, invoice_id: str) -> str:
    return f"{billing}:{invoice_id}"


class DeclineClass(StrEnum):
    SOFT = "soft"            # retry on a schedule
    TECHNICAL = "technical"  # transient: retry soon
    FIX = "fix"              # needs the customer or new card data: no retry on this card
    HARD = "hard"            # never retry this card
    DUPLICATE = "duplicate"  # a prior identical payment may exist: stop and look


@dataclass(frozen=True)
class Decline:
    """A declined payment, as an event from the billing system or gateway or an intercept call."""

    source: str                  # "stripe" | "chargebee" | "intercept"
    event_id: str                # the vendor's event id (intercepts: the caller's request id)
    billing: str                 # the billing system that owns the invoice: "stripe" | "chargebee"
    invoice_id: str
    customer_id: str             # the billing system's customer id
    amount: int                  # amount due, minor units
    currency: str
    decline_code: str | None = None
    advice_code: str | None = None           # Stripe advice_code (try_again_later, …)
    network_advice_code: str | None = None   # e.g. Mastercard MAC "02", "03", "24"
    card_brand: str | None = None            # visa, mastercard, amex, discover
    card_fingerprint: str | None = None      # counts network retries per card
    payment_method_id: str | None = None     # the gateway's payment method
    attempt_count: int = 0                   # attempts the billing system has made so far
    occurred_at: float = 0.0                 # when the vendor says it happened
    on_session: bool = False                 # checkout-time (intercept) or renewal
    customer_email: str | None = None        # finds the customer on another MID's account
    subscription_id: str | None = None       # the billing system's subscription, if any

    @property
    def invoice_key(self) -> str:
        return invoice_key(self.billing, self.invoice_id)


@dataclass(frozen=True)
class InvoiceContext:
    """What the decision needs to know about the invoice, from cache or from the vendors."""

    invoice_key: str
    amount_due: int                          # billing system's view, minor units
    currency: str
    status: str                              # canonical: open | paid | void | uncollectible
    dunning_in_flight: bool = False          # the billing system's own retry is scheduled/running
    next_billing_retry_at: float | None = None
    erp_amount_remaining: int | None = None  # ERP view; 0 = paid there (e.g. a manual payment)
    erp_invoice_id: str | None = None
    erp_customer_id: str | None = None
    crm_record_id: str | None = None
    customer_email: str | None = None
    first_failed_at: float | None = None     # grace period counts from here
    extra: dict[str, Any] = field(default_factory=dict)


class Action(StrEnum):
    RETRY_NOW = "retry_now"
    RETRY_LATER = "retry_later"
    NO_RETRY = "no_retry"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str                   # a short machine-readable reason, e.g. "hard_decline:stolen_card"
    decline_class: DeclineClass | None = None
    retry_at: float | None = None
    mid: str | None = None        # the MID to charge through


class AttemptStatus(StrEnum):
    PENDING = "pending"       # reserved in the ledger, the charge not yet answered
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"       # timed out or dropped: the charge may or may not exist
    FAILED = "failed"         # refused before any money moved (validation, auth)


@dataclass(frozen=True)
class Attempt:
    idempotency_key: str
    invoice_key: str
    attempt_no: int
    mid: str
    amount: int
    currency: str
    status: AttemptStatus
    created_at: float
    card_fingerprint: str | None = None
    charge_id: str | None = None        # gateway payment (PaymentIntent) id
    decline_code: str | None = None
    updated_at: float | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """The engine's decision on one decline, as its store keeps it (why an invoice was, or was
    not, retried): the last decision of the handling, and how the handling ended."""

    invoice_key: str
    source: str                 # the billing system: "stripe" | "chargebee"
    event_id: str | None        # the billing system's event (None: an intercept)
    via: str | None             # "webhook" | "intercept" | "retry" | "catchup"
    action: str                 # Action: retry_now | retry_later | no_retry
    reason: str                 # e.g. "hard_decline:stolen_card", "vendor_error:unavailable"
    status: str                 # the outcome: recovered | declined | deferred | not_retried | …
    at: float                   # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class OutboxMessage:
    """One write-back to one destination; `dedupe_key` makes adding it twice a no-op."""

    destination: str         # "netsuite" | "salesforce" | "chargebee" | "stripe"
    kind: str                # e.g. "payment_applied", "recovery_status", "record_payment"
    dedupe_key: str
    payload: dict[str, Any]
    correlation_id: str = ""
    id: int | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    status: str = "pending"  # pending | done | dead
    failing_since: float | None = None  # the first failure of the current run (None: none)
    created_at: float | None = None  # when it was queued (None: before store version 5)


@dataclass(frozen=True)
class Writeback:
    """A queued write-back's timing, as the outbox keeps it: queued at `committed` (with the
    result it reports), sent at `done`; its lag is the difference."""

    destination: str
    kind: str
    committed: float            # epoch seconds
    done: float | None          # epoch seconds; None while pending, or a dead letter
    attempts: int               # failed sends (0: it went at the first)
    status: str                 # pending | done | dead

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChargeResult:
    """The gateway's answer to one charge: succeeded or declined (an unknown outcome is raised
    as `connectors.errors.UnknownOutcome`, never returned)."""

    status: AttemptStatus            # SUCCEEDED or DECLINED
    payment_id: str | None           # PaymentIntent id (pi_…)
    charge_id: str | None = None     # ch_…
    decline_code: str | None = None
    advice_code: str | None = None
    network_advice_code: str | None = None
    replayed: bool = False           # the gateway answered from its idempotency record


# Write-backs the outbox carries (destination, kind): payload keys, all canonical.
#   ("stripe", "invoice_paid_out_of_band"): invoice_id, payment_id
#   ("chargebee", "record_payment"): invoice_id, amount, currency, payment_id, charge_id, paid_at
#   ("chargebee", "stop_dunning"): invoice_id
#   ("netsuite", "apply_payment"): invoice_key, invoice_id, customer_id, amount, currency,
#                                  payment_id, charge_id, paid_at
#   ("netsuite", "recovery_status"): invoice_key, invoice_id, recovery_status, decline_code,
#                                    retry_count, next_retry_at
#   ("salesforce", "recovery_status"): invoice_key, subscription_id, customer_id,
#                                      recovery_status, decline_code, retry_count,
#                                      last_attempt_at, recovered_amount
# recovery_status is one of RECOVERY_STATUSES; amounts are minor units; times epoch seconds.
RECOVERY_STATUSES = ("not_started", "retrying", "recovered", "failed", "written_off")
