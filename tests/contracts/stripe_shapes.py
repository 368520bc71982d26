"""What the components send to Stripe and read back, as Pact matchers (shapes, not values)."""

from __future__ import annotations

from typing import Any

from pact import Pact, match
from pact.interaction import HttpInteraction

from components.connectors.stripe import API_VERSION
from tests.contracts.accounts import STRIPE_KEY


def request(pact: Pact, description: str, method: str, path: Any, *,
            states: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
            form: str | None = None, query: dict[str, Any] | None = None) -> HttpInteraction:
    """An interaction as the official SDK sends it: the pinned API version, a secret key, an
    idempotency key on every POST (the connector's retries depend on it)."""
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request(method, path)
    interaction.with_header("Stripe-Version", API_VERSION)
    interaction.with_header("Authorization", match.regex(f"Bearer {STRIPE_KEY}",
                                                         regex=r"^Bearer sk_(test|live)_\w+$"))
    if method == "POST":
        interaction.with_header("Idempotency-Key", match.regex("recovery:stripe:in_1:1",
                                                               regex=r"^.{1,255}$"))
    if form is not None:
        interaction.with_body(form, content_type="application/x-www-form-urlencoded")
    if query:
        interaction.with_query_parameters(query)
    return interaction


def error(type_: Any, code: str | None, **more: Any) -> dict[str, Any]:
    """Stripe's error envelope: the SDK picks its exception by `type` and status, the connector
    decides by `code` (and `decline_code`)."""
    body: dict[str, Any] = {"type": type_, "message": match.str("Your card was declined."),
                            **more}
    if code is not None:
        body["code"] = code
    return {"error": body}


ID = {"invoice": r"^in_\w+$", "customer": r"^cus_\w+$", "payment_intent": r"^pi_\w+$",
      "charge": r"^(ch|py)_\w+$", "payment_method": r"^pm_\w+$", "subscription": r"^sub_\w+$"}


def an_id(kind: str, example: str) -> Any:
    return match.regex(example, regex=ID[kind])


def failed_renewal_invoice(invoice_id: str, customer_id: str,
                           decline_code: str = "insufficient_funds") -> dict[str, Any]:
    """The invoice as the engine reads it at the SDK's version (components/recovery/billing.py;
    the payment it failed on, expanded: `invoice_payment_refs` and the engine's `_with_card`)."""
    return {
        "id": invoice_id, "object": "invoice", "status": "open",
        "customer": customer_id, "customer_email": match.str("jenny.rosen@example.com"),
        "amount_due": match.int(2000), "amount_remaining": match.int(2000),
        "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
        "collection_method": "charge_automatically", "attempt_count": match.int(1),
        "next_payment_attempt": match.int(1767484800),
        "parent": {"subscription_details": {
            "subscription": an_id("subscription", "sub_PactRenewal")}},
        "payments": {"data": match.each_like({
            "is_default": match.bool(True),
            "payment": {"type": "payment_intent", "payment_intent": {
                "id": an_id("payment_intent", "pi_PactRenewal"), "object": "payment_intent",
                "status": "requires_payment_method",
                "latest_charge": an_id("charge", "ch_PactRenewal"),
                "last_payment_error": declined_payment(decline_code)}}}, min=1)},
    }


def declined_payment(decline_code: str) -> dict[str, Any]:
    """A PaymentIntent's `last_payment_error`, as the engine reads the decline from it."""
    return {"type": "card_error", "code": "card_declined", "decline_code": decline_code,
            "payment_method": {"id": an_id("payment_method", "pm_PactRenewalCard"), "card": {
                "brand": match.str("visa"), "fingerprint": match.str("Xt5EWLLDS7FJjR1c")}}}
