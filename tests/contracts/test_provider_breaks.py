"""A fake that breaks a pact fails verification, and the verifier says which interaction and
what differs: each test puts a small fault in front of a fake (a renamed field, a wrong status),
or alters what it delivered, and the verification must fail naming both."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.contracts import emitted
from tests.contracts.provider import ASGI, serve, verify, verify_messages


class Altered:
    """An ASGI wrapper that rewrites the fake's answers: `status` maps statuses, `body` edits
    JSON bodies."""

    def __init__(self, app: ASGI, *, status: dict[int, int] | None = None,
                 body: Callable[[Any], Any] | None = None) -> None:
        self.app, self.status, self.body = app, status or {}, body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            content = b"".join(chunks)
            if self.body is not None and content:
                content = json.dumps(self.body(json.loads(content))).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(content)).encode()))
            await send({**start, "status": self.status.get(start["status"], start["status"]),
                        "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, hold)


def renamed(old: str, new: str) -> Callable[[Any], Any]:
    """Every key `old`, at any depth, renamed `new`."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {(new if k == old else k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value
    return walk


def one(description: str) -> str:
    return f"^{re.escape(description)}$"


def test_a_renamed_field_breaks_the_stripe_decline_pact() -> None:
    description = "a request to pay an invoice whose card is declined, hard"
    with serve("stripe", lambda app: Altered(app, body=renamed("decline_code",
                                                                "declineCode"))) as served:
        result = verify(served, interaction=one(description))
    assert not result.passed
    assert description in result.output
    assert "$.error" in result.output and "decline_code" in result.output


def test_a_wrong_status_breaks_the_netsuite_concurrency_pact() -> None:
    description = "a request while the account is at its concurrency limit"
    with serve("netsuite", lambda app: Altered(app, status={429: 503})) as served:
        result = verify(served, interaction=one(description))
    assert not result.passed
    assert description in result.output
    assert "has status code 429 (FAILED)" in result.output and "503" in result.output


def test_a_renamed_field_breaks_the_chargebee_webhook_pact() -> None:
    description = "a payment_failed event"

    def delivered_renamed() -> dict[str, Any]:
        message = emitted.chargebee_event(description, "payment_failed")
        body = renamed("customer_id", "customerId")(json.loads(message["contents"]))
        return {**message, "contents": json.dumps(body).encode()}

    result = verify_messages("chargebee-webhooks", {description: delivered_renamed})
    assert not result.passed
    assert description in result.output
    assert "$.content.invoice" in result.output and "customer_id" in result.output
