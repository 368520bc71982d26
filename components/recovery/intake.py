"""Turning vendor webhooks and intercept calls into `Decline`s, after checking who sent them.

Stripe: `Stripe-Signature` verified with the official SDK (HMAC-SHA256 over `t.payload`, the
timestamp within the tolerance, so a captured delivery cannot be replayed later). Chargebee:
HTTP Basic auth configured on the webhook (Chargebee signs nothing). An event that is not a
payment failure is `None`: the caller acknowledges it and moves on.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

import stripe

from components.connectors.stripe import invoice_subscription
from components.domain import Decline


class Unauthenticated(Exception):
    """The request is not from the vendor (bad or stale signature, wrong credentials)."""


class Unreadable(Exception):
    """The body is not an event we can read (not JSON, fields missing)."""


def verify_stripe(payload: bytes, signature: str | None, secret: str, tolerance: float) -> None:
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), signature,
                                              secret, int(tolerance))
    except stripe.SignatureVerificationError as exc:
        raise Unauthenticated(f"Stripe signature refused: {exc.user_message or exc}") from None


def verify_basic(authorization: str | None, username: str, password: str) -> None:
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    if not authorization or not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise Unauthenticated("Basic credentials refused")


MAX_EVENT_BYTES = 1 << 20  # vendors' events are tens of kB; anything this big is not one


def _json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_EVENT_BYTES:
        raise Unreadable(f"the body is {len(payload)} bytes; an event is at most "
                         f"{MAX_EVENT_BYTES}")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Unreadable(f"the body is not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise Unreadable("the body is not a JSON object")
    return data


def stripe_event(payload: bytes) -> dict[str, Any]:
    event = _json(payload)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise Unreadable("a Stripe event has an id and a type")
    return event


def stripe_decline(event: dict[str, Any]) -> Decline | None:
    """`invoice.payment_failed` of a charge_automatically invoice: the renewal's decline.

    The decline details (code, card) are on the invoice's PaymentIntent, which the engine reads
    (`Decline.decline_code` is None until then)."""
    if event["type"] != "invoice.payment_failed":
        return None
    invoice = event.get("data", {}).get("object", {})
    try:
        return Decline(
            source="stripe", event_id=event["id"], billing="stripe",
            invoice_id=invoice["id"], customer_id=invoice["customer"],
            amount=int(invoice["amount_remaining"]), currency=invoice["currency"],
            payment_method_id=None, attempt_count=int(invoice.get("attempt_count") or 0),
            occurred_at=float(event.get("created") or 0),
            customer_email=invoice.get("customer_email"),
            subscription_id=invoice_subscription(invoice),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable(f"invoice.payment_failed without {exc}") from None


def chargebee_event(payload: bytes) -> dict[str, Any]:
    event = _json(payload)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("event_type"), str):
        raise Unreadable("a Chargebee event has an id and an event_type")
    return event


def chargebee_decline(event: dict[str, Any]) -> Decline | None:
    """`payment_failed`: the invoice (with its dunning state) and the failed transaction."""
    if event["event_type"] != "payment_failed":
        return None
    content = event.get("content", {})
    invoice, txn = content.get("invoice") or {}, content.get("transaction") or {}
    try:
        detail = txn.get("error_detail") or {}
        return Decline(
            source="chargebee", event_id=event["id"], billing="chargebee",
            invoice_id=str(invoice["id"]), customer_id=invoice["customer_id"],
            amount=int(invoice.get("amount_due") or 0), currency=invoice["currency_code"].lower(),
            decline_code=detail.get("decline_code") or txn.get("error_code"),
            network_advice_code=detail.get("processor_advice_code"),
            card_fingerprint=txn.get("payment_source_id"),
            attempt_count=len(invoice.get("dunning_attempts") or []) or 1,
            occurred_at=float(event.get("occurred_at") or 0),
            customer_email=(content.get("customer") or {}).get("email"),
            subscription_id=invoice.get("subscription_id"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unreadable(f"payment_failed without {exc}") from None
