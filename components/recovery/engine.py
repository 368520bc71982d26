"""The recovery engine: from a decline to a decision, a retry and its write-backs.

    decline ─▶ context (billing state, ERP from cache or live) ─▶ decide ─▶ ledger (PENDING)
            ─▶ charge (primary or alternate MID, idempotency key per attempt) ─▶ ledger result
               + outbox write-backs in one transaction ─▶ next decision (retry now on another
               MID, later on the schedule, or stop)

The inbox (duplicate and stale events) is the intake's job (`RecoveryService.intake`); a
scheduled retry re-reads the invoice's context before it charges, so a payment made elsewhere
in the meantime (a manual payment in the ERP, the billing system's own dunning) stops it.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from components.connectors.chargebee import ChargebeeConnector
from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.netsuite import NetSuiteConnector
from components.connectors.stripe import StripeConnector, invoice_payment_refs
from components.context import ERP_INVOICE, read_erp_invoice
from components.domain import (
    Action,
    Attempt,
    AttemptStatus,
    ChargeResult,
    Decision,
    DecisionRecord,
    Decline,
    InvoiceContext,
)
from components.observability import Metrics, Stopwatch, correlation_id, log
from components.recovery import writebacks
from components.recovery.billing import (
    BillingState,
    chargebee_invoice_state,
    stripe_invoice_state,
)
from components.recovery.charging import Charger
from components.recovery.policy import PolicySettings, decide, idempotency_key
from components.settings import Protections
from components.store import Store
from components.systems import Systems

LOG = logging.getLogger("components.recovery")
# an event's copy of the invoice is used as it is (no read on the hot path) this long after the
# event happened; an older one, delayed or redelivered, is read again
EVENT_COPY_TRUSTED_FOR = 60.0
# a charge refused with these may still have gone through: its outcome is unknown, not failed
_MAY_HAVE_CHARGED = frozenset({ErrorKind.UNAVAILABLE, ErrorKind.CONFLICT})
DAY = 86400.0


@dataclass
class Outcome:
    """What happened to one decline: the decisions taken and the charges made."""

    invoice_key: str
    decisions: list[Decision] = field(default_factory=list)
    charges: list[tuple[str, ChargeResult | None]] = field(default_factory=list)  # (mid, result)
    status: str = "not_retried"   # recovered | declined | deferred | not_retried | unknown | error
    latency: float = 0.0          # seconds, to the known result
    error: str | None = None      # the vendor error's kind (ErrorKind) when status is "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "invoice_key": self.invoice_key, "status": self.status,
            "latency_ms": round(self.latency * 1000, 3),
            "decisions": [{"action": d.action.value, "reason": d.reason, "mid": d.mid,
                           "retry_at": d.retry_at} for d in self.decisions],
            "charges": [{"mid": mid, "status": r.status.value if r else "unknown",
                         "payment_id": r.payment_id if r else None,
                         "decline_code": r.decline_code if r else None}
                        for mid, r in self.charges],
        }


@dataclass
class Vendors:
    """The connectors the engine uses; the MIDs in routing order (the primary first)."""

    mids: dict[str, StripeConnector]
    chargebee: ChargebeeConnector | None = None
    netsuite: NetSuiteConnector | None = None
    erp_invoice_key_field: str = "externalId"

    @property
    def primary(self) -> StripeConnector:
        return next(iter(self.mids.values()))


class RecoveryEngine:
    def __init__(self, store: Store, vendors: Vendors, *, billing: str, mode: str = "cached",
                 policy: PolicySettings | None = None, protections: Protections | None = None,
                 metrics: Metrics | None = None, now: Callable[[], float],
                 monotonic: Callable[[], float], systems: Systems | None = None,
                 billing_dunning: bool = True) -> None:
        """`systems`: the ERP and CRM the merchant has (`components.systems.systems_of`);
        write-backs go to those only. None: both (the full landscape)."""
        self.store, self.vendors, self.billing, self.mode = store, vendors, billing, mode
        # False: the billing system runs no retries of its own (Chargebee dunning off), so the
        # invoice in the event is enough and the hot path skips reading it again
        self.billing_dunning = billing_dunning
        self.systems = systems or Systems()
        self.policy = policy or PolicySettings(mids=tuple(vendors.mids))
        self.protections = protections or Protections()
        self.metrics = metrics or Metrics("recovery")
        self.now, self.monotonic = now, monotonic
        self.charger = Charger(vendors.mids, billing=billing,
                               safe_keys=self.protections.idempotency_key)
        self.recent: deque[Outcome] = deque(maxlen=1000)  # the last outcomes, for inspection

    # -- the hot path -------------------------------------------------------------------------
    async def handle(self, decline: Decline, billing_invoice: dict[str, Any] | None = None, *,
                     started: Stopwatch | None = None, via: str | None = None) -> Outcome:
        """Decide on a decline and carry the decision out as far as it goes now; the final
        decision goes to the store's decision log (`via`: how the decline came, "webhook",
        "intercept", "retry" or "catchup"; None: told by the decline's source)."""
        watch = started or Stopwatch(self.monotonic)
        outcome = Outcome(decline.invoice_key)
        arrived = decline
        self.charger.prefetch(arrived)
        try:
            decline = await self._with_card(decline, billing_invoice)
            state = await self._billing_state(decline, billing_invoice)
            await self._decide_and_charge(decline, state, outcome)
        except (VendorError, UnknownOutcome) as error:
            outcome.status = "error"
            kind = error.kind.value if isinstance(error, VendorError) else "unknown_outcome"
            outcome.error = kind
            self.metrics.vendor_errors.labels(getattr(error, "vendor", "?"), kind).inc()
            log(LOG, "decline not handled", logging.WARNING, invoice_key=decline.invoice_key,
                error=str(error))
            if not isinstance(error, VendorError) or error.retryable:
                # the inbox already holds the event, so the vendor's redelivery would be dropped
                # as a duplicate: a vendor that is down must not lose the decline
                retry_at = self.now() + self.policy.technical_retry_delay
                self.store.schedule_retry(decline.invoice_key, retry_at, _decline_doc(decline))
                outcome.decisions.append(Decision(Action.RETRY_LATER, f"vendor_error:{kind}",
                                                  retry_at=retry_at))
        finally:
            await self.charger.forget(arrived)
        outcome.latency = watch.elapsed()
        self.metrics.decision_latency.labels(decline.source, self.mode).observe(outcome.latency)
        last = outcome.decisions[-1] if outcome.decisions else None
        self.metrics.outcomes.labels(outcome.status, last.reason.split(":")[0] if last else "")\
            .inc()
        self.store.record_decision(_record(decline, outcome, via, self.now()))
        self.recent.append(outcome)
        log(LOG, "decline handled", invoice_key=decline.invoice_key, **{
            k: v for k, v in outcome.to_dict().items() if k != "invoice_key"})
        return outcome

    async def _decide_and_charge(self, decline: Decline, state: BillingState,
                                 outcome: Outcome) -> None:
        context = await self._context(decline, state)
        if decline.customer_email is None:  # finds the card on another MID
            decline = dataclasses.replace(decline, customer_email=context.customer_email)
        await self._resolve_unknown(decline, context, outcome)
        while True:
            history = self.store.attempts(decline.invoice_key)
            decision = self._decide(decline, context, history)
            outcome.decisions.append(decision)
            if decision.action == Action.RETRY_LATER:
                assert decision.retry_at is not None
                self.store.schedule_retry(decline.invoice_key, decision.retry_at,
                                          _decline_doc(decline))
                self.store.enqueue(writebacks.retrying(decline, context, len(history),
                                                       decision.retry_at, correlation_id(),
                                                       systems=self.systems), at=self.now())
                outcome.status = "deferred" if outcome.status != "declined" else "declined"
                return
            if decision.action == Action.NO_RETRY:
                if decision.reason.startswith(("hard_decline", "needs_customer",
                                               "grace_period", "retry_budget", "network_cap")):
                    self.store.enqueue(writebacks.failed(decline, context, len(history),
                                                         decision.reason, correlation_id(),
                                                         systems=self.systems),
                                       at=self.now())
                return
            result = await self._attempt(decline, context, decision, len(history) + 1)
            outcome.charges.append((decision.mid or "primary", result))
            if result is None:
                outcome.status = "unknown"
                return
            if result.status == AttemptStatus.SUCCEEDED:
                outcome.status = "recovered"
                return
            outcome.status = "declined"  # the ledger now holds it: decide again on history

    def _decide(self, decline: Decline, context: InvoiceContext,
                history: list[Attempt]) -> Decision:
        now = self.now()
        card = decline.card_fingerprint
        return decide(
            decline, context, history, now=now, settings=self.policy,
            card_attempts_30d=self.store.card_attempts_since(card, now - 30 * DAY) if card else 0,
            card_attempts_24h=self.store.card_attempts_since(card, now - DAY) if card else 0)

    async def _attempt(self, decline: Decline, context: InvoiceContext, decision: Decision,
                       attempt_no: int) -> ChargeResult | None:
        """One retry, recorded before it is sent; None when its outcome is unknown."""
        attempt = Attempt(
            idempotency_key=(idempotency_key(decline.invoice_key, attempt_no)
                             if self.protections.idempotency_key else f"unsafe:{uuid.uuid4()}"),
            invoice_key=decline.invoice_key, attempt_no=attempt_no,
            mid=decision.mid or self.charger.primary, amount=context.amount_due,
            currency=context.currency, status=AttemptStatus.PENDING, created_at=self.now(),
            card_fingerprint=decline.card_fingerprint)
        if not self.store.reserve_attempt(attempt):
            return None  # another replica took this attempt: it owns the outcome
        try:
            result = await self.charger.charge(decline, attempt)
        except UnknownOutcome as error:
            self._unknown(decline, attempt, str(error))
            return None
        except VendorError as error:
            if error.kind in _MAY_HAVE_CHARGED:
                self._unknown(decline, attempt, str(error))
                return None
            # refused before any money moved (rate limit, auth, a bad request)
            self.store.finish_attempt(attempt.idempotency_key, AttemptStatus.FAILED,
                                      at=self.now(), decline_code=error.code)
            raise
        self._finish(decline, context, attempt, result)
        return result

    def _unknown(self, decline: Decline, attempt: Attempt, error: str) -> None:
        """The charge may exist: hold the invoice (attempt_in_flight) until it is resolved,
        which the next touch of the invoice does first (scheduled a little later)."""
        self.store.finish_attempt(attempt.idempotency_key, AttemptStatus.UNKNOWN, at=self.now())
        self.store.schedule_retry(decline.invoice_key,
                                  self.now() + self.policy.technical_retry_delay,
                                  _decline_doc(decline))
        log(LOG, "retry outcome unknown", logging.WARNING, key=attempt.idempotency_key,
            error=error)

    def _finish(self, decline: Decline, context: InvoiceContext, attempt: Attempt,
                result: ChargeResult) -> None:
        messages = (writebacks.recovered(
            decline, context, result, billing=self.billing, attempt_no=attempt.attempt_no,
            paid_in_billing=self.charger.pays_invoice(attempt.mid), at=self.now(),
            cid=correlation_id(), systems=self.systems)
            if result.status == AttemptStatus.SUCCEEDED else ())
        self.store.finish_attempt(attempt.idempotency_key, result.status, at=self.now(),
                                  charge_id=result.payment_id, decline_code=result.decline_code,
                                  outbox=tuple(messages))

    async def _resolve_unknown(self, decline: Decline, context: InvoiceContext,
                               outcome: Outcome) -> None:
        for attempt in self.store.attempts(decline.invoice_key):
            if attempt.status != AttemptStatus.UNKNOWN:
                continue
            result = await self.charger.resolve(decline, attempt)
            if result is None:
                continue
            self._finish(decline, context, attempt, result)
            outcome.charges.append((attempt.mid, result))
            log(LOG, "unknown outcome resolved", key=attempt.idempotency_key,
                status=result.status.value)

    # -- context ------------------------------------------------------------------------------
    async def _with_card(self, decline: Decline,
                         invoice: dict[str, Any] | None = None) -> Decline:
        """Stripe's invoice event names no decline code: read it from the invoice's payment
        (the event's invoice names that payment, which saves a read on the hot path); again
        for a decline rescheduled because that read failed."""
        if decline.source not in ("stripe", "schedule") or decline.billing != "stripe" \
                or decline.decline_code is not None:
            return decline
        intent_id = invoice_payment_refs(invoice)[0] if invoice is not None else None
        if not intent_id:  # an event of 2025-03-31.basil or later names no payment: read it
            invoice = await self.vendors.primary.get_invoice(decline.invoice_id)
            intent_id = invoice_payment_refs(invoice)[0]
        if not intent_id:
            return decline
        intent = (_expanded_intent(invoice, intent_id) if invoice is not None else None) or \
            await self.vendors.primary.get_payment_intent(intent_id)
        error = intent.get("last_payment_error") or {}
        method = error.get("payment_method") or {}
        card = method.get("card") or {}
        return dataclasses.replace(
            decline, decline_code=error.get("decline_code") or error.get("code"),
            advice_code=error.get("advice_code"),
            network_advice_code=error.get("network_advice_code"),
            card_brand=card.get("brand"), card_fingerprint=card.get("fingerprint"),
            payment_method_id=method.get("id"))

    async def _billing_state(self, decline: Decline,
                             invoice: dict[str, Any] | None) -> BillingState:
        if invoice is not None and self.now() - decline.occurred_at > EVENT_COPY_TRUSTED_FOR:
            # a delayed or redelivered event's copy of the invoice may be days old: the
            # customer may have paid it by hand since (found by the exploration: a stale
            # payment_failed charged a customer whose bank transfer was already recorded)
            invoice = None
        if self.billing == "stripe":
            if invoice is None:
                invoice = await self.vendors.primary.get_invoice(decline.invoice_id)
            return stripe_invoice_state(invoice)
        if invoice is None or ("dunning_status" not in invoice and self.billing_dunning):
            # the first failed charge's payment_failed is made before dunning takes the invoice
            # over: a copy without dunning_status cannot tell whether dunning owns it now
            assert self.vendors.chargebee is not None
            invoice = await self.vendors.chargebee.get_invoice(decline.invoice_id)
        return chargebee_invoice_state(invoice)

    async def _context(self, decline: Decline, state: BillingState) -> InvoiceContext:
        erp = await self._erp(decline)
        history = self.store.attempts(decline.invoice_key)
        first = min([a.created_at for a in history] + [decline.occurred_at or self.now()])
        return InvoiceContext(
            invoice_key=decline.invoice_key, amount_due=state.amount_due,
            currency=state.currency, status=state.status,
            dunning_in_flight=state.dunning_in_flight, next_billing_retry_at=state.next_retry_at,
            erp_amount_remaining=erp.get("amount_remaining") if erp else None,
            erp_invoice_id=erp.get("erp_invoice_id") if erp else None,
            erp_customer_id=erp.get("erp_customer_id") if erp else None,
            customer_email=decline.customer_email or state.customer_email,
            first_failed_at=first)

    async def _erp(self, decline: Decline) -> dict[str, Any] | None:
        if self.vendors.netsuite is None:
            return None
        if self.mode == "cached":
            entry = self.store.cache_get(ERP_INVOICE, decline.invoice_key)
            self.metrics.cache_reads.labels("cache" if entry else "cache_miss").inc()
            return entry  # a miss is "not known to be paid": the ERP check cannot stop it
        self.metrics.cache_reads.labels("erp_live").inc()
        return await read_erp_invoice(self.vendors.netsuite, self.vendors.erp_invoice_key_field,
                                      self.billing, decline.invoice_id)

    # -- off the hot path ---------------------------------------------------------------------
    async def run_due_retries(self, limit: int = 50) -> list[Outcome]:
        """Scheduled retries whose time has come, each re-deciding on fresh context."""
        outcomes = []
        for invoice_key, doc in self.store.due_retries(self.now(), limit):
            outcome = await self.handle(_decline_from_doc(doc))
            if not any(d.action == Action.RETRY_LATER for d in outcome.decisions[-1:]):
                self.store.cancel_retry(invoice_key)  # done with (a RETRY_LATER moved it on)
            outcomes.append(outcome)
        return outcomes


_VIA = {"intercept": "intercept", "schedule": "retry"}  # a decline's source → how it came


def _record(decline: Decline, outcome: Outcome, via: str | None, at: float) -> DecisionRecord:
    """The decision log's row for a handled decline: its last decision (a vendor error that
    left none stops there: no_retry, with the error as the reason)."""
    last = outcome.decisions[-1] if outcome.decisions else None
    action = last.action.value if last else Action.NO_RETRY.value
    reason = last.reason if last else f"vendor_error:{outcome.error or outcome.status}"
    return DecisionRecord(
        invoice_key=decline.invoice_key, source=decline.billing,
        event_id=None if decline.source == "intercept" else decline.event_id,
        via=via or _VIA.get(decline.source, "webhook"), action=action, reason=reason,
        status=outcome.status, at=at)


def _decline_doc(decline: Decline) -> dict[str, Any]:
    return dataclasses.asdict(decline)


def _decline_from_doc(doc: dict[str, Any]) -> Decline:
    return Decline(**{**doc, "source": "schedule"})


def _expanded_intent(invoice: dict[str, Any], intent_id: str) -> dict[str, Any] | None:
    """The PaymentIntent as `get_invoice` expanded it in the invoice's payments, if it did."""
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        if isinstance(intent, dict) and intent.get("id") == intent_id:
            return intent
    return None
