"""Webhook intake: who may send, and what a body may be. Signatures are Stripe's scheme
(checked with the official SDK): a stale timestamp is a replay and is refused; hostile bodies
(huge, deeply nested, not an object) are refused in linear time with a clear reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from components.recovery import intake

SECRET = "whsec_test_intake"


def signed(payload: bytes, at: float, secret: str = SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{int(at)}.".encode() + payload, hashlib.sha256)
    return f"t={int(at)},v1={mac.hexdigest()}"


EVENT = json.dumps({"id": "evt_1", "type": "invoice.payment_failed", "created": 1,
                    "data": {"object": {"id": "in_1", "customer": "cus_1",
                                        "amount_remaining": 2000, "currency": "usd"}}}).encode()


def test_a_fresh_signature_is_accepted_and_the_decline_read() -> None:
    intake.verify_stripe(EVENT, signed(EVENT, time.time()), SECRET, 300)
    decline = intake.stripe_decline(intake.stripe_event(EVENT))
    assert decline is not None and decline.invoice_key == "stripe:in_1"
    assert decline.amount == 2000


@pytest.mark.parametrize("signature", [
    None,                                            # unsigned
    signed(EVENT, time.time(), "whsec_other"),       # another endpoint's secret
    signed(EVENT, time.time() - 3600),               # a captured delivery, replayed an hour on
    signed(EVENT + b" ", time.time()),               # a body changed after signing
])
def test_a_bad_or_stale_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(intake.Unauthenticated):
        intake.verify_stripe(EVENT, signature, SECRET, 300)


def test_basic_auth_of_chargebee_webhooks() -> None:
    intake.verify_basic("Basic dXNlcjpwYXNz", "user", "pass")
    with pytest.raises(intake.Unauthenticated):
        intake.verify_basic("Basic dXNlcjp3cm9uZw==", "user", "pass")
    with pytest.raises(intake.Unauthenticated):
        intake.verify_basic(None, "user", "pass")


@pytest.mark.parametrize("payload, reason", [
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),    # nested past the parser's recursion limit
    (b"x" * (intake.MAX_EVENT_BYTES + 1), "bytes"),    # bigger than any event
    (b"[1, 2, 3]", "not a JSON object"),
    (b'{"id": "evt_1"}', "an id and a type"),
    (b"\xff\xfe", "not JSON"),
])
def test_hostile_bodies_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(intake.Unreadable, match=reason):
        intake.stripe_event(payload)
