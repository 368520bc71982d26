"""Stripe's documented test cards and test PaymentMethod tokens, and what charging each one does.

Source: https://docs.stripe.com/testing (vendor-facts §1.11). Messages are Stripe's own texts for
each decline code (https://docs.stripe.com/declines/codes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What charging a card does: approve, or decline with Stripe's code and decline_code."""

    code: str | None = None  # error code: card_declined, expired_card, incorrect_cvc, …
    decline_code: str | None = None
    network_status: str = "approved_by_network"
    type: str = "authorized"
    risk_level: str = "normal"

    @property
    def declined(self) -> bool:
        return self.code is not None


APPROVED = Outcome()


def decline(decline_code: str, code: str = "card_declined") -> Outcome:
    return Outcome(code, decline_code, "declined_by_network", "issuer_declined")


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    outcome: Outcome = APPROVED
    attach_ok: bool = True  # 0341: attaching succeeds, only charges fail
    cvc_check: str = "pass"


CARDS: dict[str, TestCard] = {c.number: c for c in [
    TestCard("4242424242424242", "visa"),
    TestCard("4000056655665556", "visa", funding="debit"),
    TestCard("5555555555554444", "mastercard"),
    TestCard("2223003122003222", "mastercard"),
    TestCard("5200828282828210", "mastercard", funding="debit"),
    TestCard("378282246310005", "amex"),
    TestCard("6011111111111117", "discover"),
    TestCard("4000000000000002", "visa", outcome=decline("generic_decline")),
    TestCard("4000000000009995", "visa", outcome=decline("insufficient_funds")),
    TestCard("4000000000009987", "visa", outcome=decline("lost_card")),
    TestCard("4000000000009979", "visa", outcome=decline("stolen_card")),
    TestCard("4000000000000069", "visa", outcome=decline("expired_card", "expired_card")),
    TestCard("4000000000000127", "visa", outcome=decline("incorrect_cvc", "incorrect_cvc"),
             cvc_check="fail"),
    TestCard("4000000000000119", "visa",
             outcome=decline("processing_error", "processing_error")),
    TestCard("4000000000000341", "visa", outcome=decline("generic_decline")),
    TestCard("4100000000000019", "visa",
             outcome=Outcome("card_declined", "fraudulent", "not_sent_to_network", "blocked",
                             "highest")),
]}

# test PaymentMethod token -> card number
TOKENS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_radarBlock": "4100000000000019",
}

MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "incorrect_number": "Your card number is incorrect.",
}
DEFAULT_MESSAGE = "Your card was declined."

SELLER_MESSAGES = {
    "generic_decline": "The bank did not return any further details with this decline.",
    "fraudulent": "Stripe blocked this payment as too risky.",
}


def message_for(decline_code: str | None, code: str | None = None) -> str:
    return MESSAGES.get(decline_code or "") or MESSAGES.get(code or "") or DEFAULT_MESSAGE


def seller_message(outcome: Outcome) -> str:
    if not outcome.declined:
        return "Payment complete."
    return SELLER_MESSAGES.get(outcome.decline_code or "",
                               f"The bank returned the decline code `{outcome.decline_code}`.")


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def card_for(number: str) -> TestCard:
    """A documented test card, or an approving card of the number's brand (Luhn-valid numbers)."""
    return CARDS.get(number) or TestCard(number, brand_of(number))


def fingerprint(account: str, number: str) -> str:
    """Stable per account and card number, like Stripe's (which is per account)."""
    digest = hashlib.sha256(f"{account}:{number}".encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[int(digest[i:i + 2], 16) % len(alphabet)] for i in range(0, 32, 2))
