"""The retry decision: whether, when and through which MID to retry a declined invoice.

`decide` is pure: the caller passes the invoice's state, the engine's attempt ledger for it, the
card's recent attempt counts and the time. The rules run in a fixed order and each gives its own
machine-readable reason; POLICY.md lists them with their sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from components.domain import (
    Action,
    Attempt,
    AttemptStatus,
    Decision,
    Decline,
    DeclineClass,
    InvoiceContext,
)
from components.recovery.declines import (
    DAY,
    DEFAULT_CLASSIFIER,
    Classification,
    Classifier,
    normalize_brand,
)

_STOP_REASONS: Mapping[DeclineClass, str] = {
    DeclineClass.HARD: "hard_decline:{}", DeclineClass.FIX: "needs_customer:{}",
    DeclineClass.DUPLICATE: "duplicate_transaction"}
_IN_FLIGHT = (AttemptStatus.PENDING, AttemptStatus.UNKNOWN)


@dataclass(frozen=True)
class PolicySettings:
    """Every number of the policy; the defaults cite their source (keys resolve in POLICY.md)."""

    max_attempts_per_invoice: int = 4        # Smart Retries default 4; Stripe: ≤ 8 [st-card]
    retry_window_seconds: float = 21 * DAY   # Smart Retries default window [st-retry-old]
    grace_period_seconds: float = 14 * DAY   # hand over after; dunning ≥ 14 days [rc-dun]
    visa_cap_per_30_days: int = 15           # [U] 15 [st-visa] vs 20 (Visa rules 2025/26)
    mastercard_cap_per_24h: int = 10         # excessive attempts, same card [taba-rules]
    mastercard_cap_per_30_days: int = 35     # same card + amount [taba-rules]
    generic_cap_per_30_days: int = 15        # Amex/Discover publish none [U]: Visa's figure
    technical_retry_delay: float = 60.0      # transient: retry soon
    # after the triggering decline, then after each failed engine attempt: retries on days
    # 1, 3, 7, 13, spaced wider for funds to arrive [nexi], inside the grace period
    soft_retry_delays: tuple[float, ...] = (1 * DAY, 2 * DAY, 4 * DAY, 6 * DAY)
    best_hour_utc: int | None = None         # e.g. 0: Stripe's 12:01 AM debit effect [st-retry]
    mids: tuple[str, ...] = ("primary",)
    alternate_mid_on: frozenset[DeclineClass] = frozenset(
        {DeclineClass.SOFT, DeclineClass.TECHNICAL})
    check_dunning: bool = True               # one retry owner per invoice
    check_erp_paid: bool = True              # a manual payment in the ERP: never double charge

    def __post_init__(self) -> None:
        if not self.mids or not self.soft_retry_delays:
            raise ValueError("mids and soft_retry_delays must not be empty")
        if self.best_hour_utc is not None and not 0 <= self.best_hour_utc <= 23:
            raise ValueError("best_hour_utc must be an hour of the day, 0-23")
        if min(self.soft_retry_delays) < 0 or self.technical_retry_delay < 0:
            raise ValueError("retry delays must not be negative")


class _Failure(NamedTuple):
    at: float
    mid: str
    found: Classification
    same_card: bool


def idempotency_key(invoice_key: str, attempt_no: int) -> str:
    """One key per scheduled attempt: a key from the invoice alone would replay the old decline
    for 24 h, while a timed-out attempt re-sent with its own key stays safe [st-idem]."""
    return f"recovery:{invoice_key}:{attempt_no}"


def decide(decline: Decline, context: InvoiceContext, history: Sequence[Attempt], *,
           card_attempts_30d: int, card_attempts_24h: int, now: float,
           settings: PolicySettings, classifier: Classifier | None = None) -> Decision:
    """Decide on `decline` (the billing system's or intercepted decline that opened recovery).

    `history` is the engine's own attempt ledger for this invoice; the card counts are every
    attempt on the card (the billing system's included: they consume the network caps too).
    """
    failures = _failures(decline, history, settings, classifier or DEFAULT_CLASSIFIER)
    latest = failures[-1].found
    cls = latest.decline_class

    def stop(reason: str) -> Decision:
        return Decision(Action.NO_RETRY, reason, cls)

    if context.status != "open" or context.amount_due <= 0:
        return stop("invoice_not_open")
    if settings.check_erp_paid and context.erp_amount_remaining == 0:
        return stop("paid_in_erp")
    if settings.check_dunning and context.dunning_in_flight:
        return stop("billing_dunning_in_flight")
    if any(a.status in _IN_FLIGHT for a in history):
        return stop("attempt_in_flight")
    if any(a.status == AttemptStatus.SUCCEEDED for a in history):
        return stop("already_recovered")
    # a stop signal on this card from any decline of this invoice, the latest first
    for failure in reversed(failures):
        if failure.same_card and failure.found.decline_class in _STOP_REASONS:
            found = failure.found
            return Decision(Action.NO_RETRY,
                            _STOP_REASONS[found.decline_class].format(found.signal),
                            found.decline_class)
    start = context.first_failed_at if context.first_failed_at is not None else decline.occurred_at
    deadline, over = _deadline(start, settings)
    if now > deadline:
        return stop(over)
    if len(history) >= settings.max_attempts_per_invoice:
        return stop("retry_budget_spent")
    brand = _over_network_cap(decline.card_brand, card_attempts_30d, card_attempts_24h, settings)
    if brand is not None:
        return stop(f"network_cap:{brand}")

    mid, untried = _choose_mid(cls, failures, settings)
    last_failed_at = max(f.at for f in failures)
    if untried:  # another acquirer is worth trying at once; the same MID waits for the schedule
        kind, delay = "untried_mid", 0.0
    elif cls == DeclineClass.TECHNICAL:
        kind, delay = "technical_retry", settings.technical_retry_delay
    else:
        delays = settings.soft_retry_delays
        kind, delay = "scheduled_retry", delays[min(len(history), len(delays) - 1)]
    earliest = last_failed_at + delay
    issuer_after = failures[0].found.earliest_retry_after  # MAC 24-30 on the triggering decline
    if issuer_after is not None and decline.occurred_at + issuer_after > earliest:
        kind, earliest = "issuer_retry_after", decline.occurred_at + issuer_after
    if settings.best_hour_utc is not None and delay >= DAY:
        earliest = _next_hour(earliest, settings.best_hour_utc)
    reason = f"{kind}:{latest.signal}"
    if earliest <= now:
        return Decision(Action.RETRY_NOW, reason, cls, retry_at=now, mid=mid)
    if earliest > deadline:
        return stop(over)
    return Decision(Action.RETRY_LATER, reason, cls, retry_at=earliest, mid=mid)


def _failures(decline: Decline, history: Sequence[Attempt], settings: PolicySettings,
              classifier: Classifier) -> list[_Failure]:
    """The triggering decline (a primary-MID attempt) and the engine's declines, oldest first."""
    first = _Failure(decline.occurred_at, settings.mids[0], classifier.classify(
        decline.decline_code, advice_code=decline.advice_code,
        network_advice_code=decline.network_advice_code, card_brand=decline.card_brand), True)
    card = decline.card_fingerprint
    later = [_Failure(a.updated_at or a.created_at, a.mid,
                      classifier.classify(a.decline_code, card_brand=decline.card_brand),
                      card is None or a.card_fingerprint in (None, card))
             for a in history if a.status == AttemptStatus.DECLINED]
    return [first, *sorted(later, key=lambda f: f.at)]


def _deadline(start: float, settings: PolicySettings) -> tuple[float, str]:
    if settings.grace_period_seconds <= settings.retry_window_seconds:
        return start + settings.grace_period_seconds, "grace_period_over"
    return start + settings.retry_window_seconds, "retry_window_over"


def _over_network_cap(card_brand: str | None, attempts_30d: int, attempts_24h: int,
                      settings: PolicySettings) -> str | None:
    """The brand whose excessive-retry cap the next attempt would pass, else None."""
    brand = normalize_brand(card_brand)
    if brand == "visa":
        over = attempts_30d >= settings.visa_cap_per_30_days
    elif brand == "mastercard":
        over = (attempts_24h >= settings.mastercard_cap_per_24h
                or attempts_30d >= settings.mastercard_cap_per_30_days)
    else:
        over = attempts_30d >= settings.generic_cap_per_30_days
    return (brand or "unknown") if over else None


def _choose_mid(cls: DeclineClass, failures: Sequence[_Failure],
                settings: PolicySettings) -> tuple[str, bool]:
    """The MID tried least with a decline of a routable class (the first such: the primary when
    all were tried equally often), and whether it was never tried for this invoice."""
    if cls not in settings.alternate_mid_on:
        return settings.mids[0], False
    tries = dict.fromkeys(settings.mids, 0)
    for failure in failures:
        if failure.mid in tries and failure.found.decline_class in settings.alternate_mid_on:
            tries[failure.mid] += 1
    mid = min(settings.mids, key=tries.__getitem__)
    return mid, tries[mid] == 0


def _next_hour(at: float, hour: int) -> float:
    """The first time at or after `at` that is `hour`:00 UTC."""
    shifted = at - at % DAY + hour * 3600
    return shifted if shifted >= at else shifted + DAY
