"""Decline classification: which declines may be retried, from the code, the advice and the network.

The table is data, so a merchant override is a dict merge (`Classifier(overrides)`). Signals that
forbid a retry always win (a HARD decline code, a Radar block, Mastercard MAC 03/21, Stripe's
`do_not_try_again`); otherwise the most specific signal decides: Mastercard MAC, then Stripe's
advice_code, then the decline-code table, then the default for unknown codes.

Sources (see POLICY.md):
  decline codes and next steps  https://docs.stripe.com/declines/codes
  advice codes                  https://docs.stripe.com/declines/card
  codes Stripe never retries    https://docs.stripe.com/billing/revenue-recovery/smart-retries
  Visa categories               https://developers.getevolved.com/enterprise/docs/visas-processing-integrity-fee-program
  Mastercard advice codes       https://developer.paypal.com/braintree/docs/reference/general/merchant-responses/merchant-advice-codes
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from components.domain import DeclineClass as DeclineClass  # re-exported: callers import it here

SOFT, TECHNICAL, FIX, HARD, DUPLICATE = (
    DeclineClass.SOFT, DeclineClass.TECHNICAL, DeclineClass.FIX, DeclineClass.HARD,
    DeclineClass.DUPLICATE)

HOUR = 3600.0
DAY = 86400.0

# Stripe decline code (Chargebee and its test gateway use the same words) -> class, and the Visa
# category of the ISO code the Stripe code usually stands for. Stripe publishes no soft/hard split:
# the class is Stripe's next step + the codes Stripe never retries + the Visa category.
_TABLE: dict[str, tuple[DeclineClass, int | None]] = {
    # cannot approve now (Visa cat 2): retry on the schedule
    "insufficient_funds": (SOFT, 2),                  # ISO 51
    "card_velocity_exceeded": (SOFT, 2),              # ISO 61
    "withdrawal_count_limit_exceeded": (SOFT, 2),     # ISO 65
    "try_again_later": (SOFT, None),                  # deprecated code, now an advice_code
    # transient issuer/processor trouble: retry soon
    "processing_error": (TECHNICAL, 2),               # ISO 96
    "issuer_not_available": (TECHNICAL, 2),           # ISO 91
    "reenter_transaction": (TECHNICAL, 2),            # ISO 19
    "approve_with_id": (TECHNICAL, 2),
    # generic (Visa cat 4): retryable within the network caps; 3P guides disagree [U]
    "do_not_honor": (SOFT, 4),                        # ISO 05
    "generic_decline": (SOFT, 4),
    "call_issuer": (SOFT, 4),                         # ISO 01
    "no_action_taken": (SOFT, 4),
    "card_declined": (SOFT, 4),                       # Chargebee's error_code with no detail
    # data quality (Visa cat 3) or needs the customer: no retry on this card as it is
    "expired_card": (FIX, 3),                         # ISO 54; an account updater may fix it
    "incorrect_cvc": (FIX, 3),                        # ISO N7
    "invalid_cvc": (FIX, 3),
    "incorrect_zip": (FIX, 3),
    "invalid_expiry_month": (FIX, 3),
    "invalid_expiry_year": (FIX, 3),
    "authentication_required": (FIX, 4),              # 3DS on session; Stripe never retries it
    "card_not_supported": (FIX, None),                # ISO 57/58
    "currency_not_supported": (FIX, None),
    "not_permitted": (FIX, None),
    "service_not_allowed": (FIX, None),
    # the issuer will never approve this card (Visa cat 1): never retry
    "incorrect_number": (HARD, 1),                    # ISO 14
    "invalid_number": (HARD, 1),
    "invalid_account": (HARD, 1),                     # ISO 46
    "new_account_information_available": (HARD, 1),
    "lost_card": (HARD, 1),                           # ISO 41
    "stolen_card": (HARD, 1),                         # ISO 43
    "pickup_card": (HARD, 1),                         # ISO 04/07
    "restricted_card": (HARD, 2),                     # ISO 62
    "revocation_of_authorization": (HARD, 1),         # R1
    "revocation_of_all_authorizations": (HARD, 1),    # R3
    "stop_payment_order": (HARD, 1),                  # R0
    "transaction_not_allowed": (HARD, 1),             # ISO 57; on Stripe's list per a 3P re-check
    "do_not_try_again": (HARD, None),                 # MAC 03
    # fraud signals: HARD by policy [U] (issuer 59 is Visa cat 2; Stripe's means Radar)
    "fraudulent": (HARD, 2),
    "merchant_blacklist": (HARD, None),
    "security_violation": (HARD, 4),                  # ISO 63
    "highest_risk_level": (HARD, None),               # Radar block; Stripe never retries it
    # a prior identical payment may exist: stop and find it
    "duplicate_transaction": (DUPLICATE, None),       # ISO 94
}

DECLINE_CLASSES: Mapping[str, DeclineClass] = MappingProxyType(
    {code: cls for code, (cls, _) in _TABLE.items()})
VISA_CATEGORIES: Mapping[str, int] = MappingProxyType(
    {code: cat for code, (_, cat) in _TABLE.items() if cat is not None})

# Stripe Billing never auto-retries these (a 3P re-check adds transaction_not_allowed [U]).
NEVER_RETRIED_BY_STRIPE = frozenset({
    "incorrect_number", "lost_card", "pickup_card", "stolen_card", "revocation_of_authorization",
    "revocation_of_all_authorizations", "authentication_required", "highest_risk_level",
    "transaction_not_allowed"})

# Stripe advice_code (on Charge.outcome since 2025-01-27.acacia).
ADVICE_CLASSES: Mapping[str, DeclineClass] = MappingProxyType({
    "do_not_try_again": HARD, "confirm_card_data": FIX, "try_again_later": SOFT})

# Mastercard Merchant Advice Codes; other brands' network advice codes are not read.
MAC_CLASSES: Mapping[str, DeclineClass] = MappingProxyType({
    "01": FIX,   # new account information available
    "02": SOFT,  # cannot approve now, try later
    "03": HARD,  # do not try again (a reattempt within 30 days is charged)
    "04": FIX,   # token requirements not met
    "21": HARD,  # payment cancellation: stop recurring
    "40": FIX, "41": FIX, "43": FIX,  # prepaid / virtual card: ask for a durable method
})
# MAC 24-30: the issuer names the earliest retry (1 h, 24 h, 2, 4, 6, 8, 10 days).
MAC_RETRY_AFTER: Mapping[str, float] = MappingProxyType({
    "24": HOUR, "25": DAY, "26": 2 * DAY, "27": 4 * DAY, "28": 6 * DAY, "29": 8 * DAY,
    "30": 10 * DAY})

_STOP = (HARD, DUPLICATE)
_BRANDS = {"mastercard": "mastercard", "master_card": "mastercard", "master": "mastercard",
           "mc": "mastercard", "visa": "visa", "amex": "amex", "american_express": "amex",
           "discover": "discover"}


def normalize_brand(card_brand: str | None) -> str | None:
    """Stripe's and Chargebee's brand names in one vocabulary (visa, mastercard, amex, …)."""
    if not card_brand:
        return None
    key = card_brand.strip().lower().replace(" ", "_")
    return _BRANDS.get(key, key)


@dataclass(frozen=True)
class Classification:
    decline_class: DeclineClass
    reason: str                              # which signal decided: "<source>:<code>"
    earliest_retry_after: float | None = None  # seconds after the decline (MAC 24-30)
    visa_category: int | None = None         # of the code's usual ISO response code

    @property
    def signal(self) -> str:
        """The code that decided, e.g. "insufficient_funds", "do_not_try_again", "mac_03"."""
        source, _, code = self.reason.partition(":")
        return f"mac_{code}" if source == "mac" else code or source


class Classifier:
    """The decline table plus a merchant's overrides (decline code -> class)."""

    def __init__(self, overrides: Mapping[str, DeclineClass] | None = None) -> None:
        self.table: Mapping[str, DeclineClass] = MappingProxyType(
            {**DECLINE_CLASSES, **{_norm(k): v for k, v in (overrides or {}).items()}})

    def classify(self, decline_code: str | None, *, advice_code: str | None = None,
                 network_advice_code: str | None = None, card_brand: str | None = None,
                 outcome_type: str | None = None) -> Classification:
        code = _norm(decline_code)
        # a code outside the table falls in Visa category 4, "generic (all others)"
        category = VISA_CATEGORIES.get(code, 4 if code and code not in self.table else None)
        # candidates, most specific first; a stop signal from any of them wins
        signals: list[tuple[DeclineClass, str, float | None]] = []
        if code in self.table and self.table[code] in _STOP:
            signals.append((self.table[code], f"decline_code:{code}", None))
        if outcome_type == "blocked":  # Radar, not the issuer: HARD by policy
            signals.append((HARD, "outcome:blocked", None))
        mac = (network_advice_code or "").strip()
        if normalize_brand(card_brand) == "mastercard" and mac:
            if mac in MAC_RETRY_AFTER:
                signals.append((SOFT, f"mac:{mac}", MAC_RETRY_AFTER[mac]))
            elif mac in MAC_CLASSES:
                signals.append((MAC_CLASSES[mac], f"mac:{mac}", None))
        advice = _norm(advice_code)
        if advice in ADVICE_CLASSES:
            signals.append((ADVICE_CLASSES[advice], f"advice_code:{advice}", None))
        if code in self.table:
            signals.append((self.table[code], f"decline_code:{code}", None))
        # unknown: Visa category 4 "generic", retryable within the network caps
        signals.append((SOFT, f"unknown_code:{code}" if code else "no_decline_code", None))
        stop = [s for s in signals if s[0] in _STOP]
        decline_class, reason, after = (stop or signals)[0]
        return Classification(decline_class, reason, after, category)


def _norm(code: str | None) -> str:
    return (code or "").strip().lower()


DEFAULT_CLASSIFIER = Classifier()


def classify(decline_code: str | None, *, advice_code: str | None = None,
             network_advice_code: str | None = None, card_brand: str | None = None,
             outcome_type: str | None = None) -> Classification:
    """Classify with the default table (no merchant overrides)."""
    return DEFAULT_CLASSIFIER.classify(
        decline_code, advice_code=advice_code, network_advice_code=network_advice_code,
        card_brand=card_brand, outcome_type=outcome_type)
