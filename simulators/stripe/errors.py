"""Stripe's native error bodies: `{"error": {"type", "code", "message", "param", ...}}`."""

from __future__ import annotations

from typing import Any

from simulators.core.vendor import NativeErrors, VendorError

DOCS = "https://stripe.com/docs/error-codes"


def stripe_error(status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 store_idempotent: bool = True, **extra: Any) -> VendorError:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"{DOCS}/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    error.update({k: v for k, v in extra.items() if v is not None})
    return VendorError(status, {"error": error}, headers, store_idempotent=store_idempotent)


def invalid_request(message: str, param: str | None = None, code: str | None = None,
                    status: int = 400) -> VendorError:
    """Bad parameters: stored by no idempotency record (the endpoint never began executing)."""
    return stripe_error(status, "invalid_request_error", message, code=code, param=param,
                        store_idempotent=False)


def missing_param(param: str) -> VendorError:
    return invalid_request(f"Missing required param: {param}.", param, "parameter_missing")


def unknown_param(param: str) -> VendorError:
    return invalid_request(f"Received unknown parameter: {param}", param, "parameter_unknown")


def invalid_integer(value: str, param: str) -> VendorError:
    """An integer parameter beyond int64 [U: Stripe's wording for a number it cannot parse]."""
    return invalid_request(f"Invalid integer: {_abbreviated(value)}", param,
                           "parameter_invalid_integer")


def too_long(value: str, limit: int, param: str) -> VendorError:
    """A string over its bound; Stripe abbreviates the value (3P: "Invalid string:
    Lottery Re...iting line; must be at most 40 characters")."""
    return invalid_request(f"Invalid string: {_abbreviated(value)}; must be at most {limit} "
                           "characters", param)


def invalid_utf8(where: str) -> VendorError:
    """Bytes that are not UTF-8 (3P: "Invalid UTF-8 characters found in POST body.")."""
    return invalid_request(f"Invalid UTF-8 characters found in {where}.")


def _abbreviated(value: str) -> str:
    return value if len(value) <= 23 else f"{value[:10]}...{value[-10:]}"


def resource_missing(label: str, object_id: str, param: str = "id") -> VendorError:
    """`label` is Stripe's word in the message: customer, payment_intent, PaymentMethod, …"""
    return stripe_error(404, "invalid_request_error", f"No such {label}: '{object_id}'",
                        code="resource_missing", param=param)


def unexpected_state(message: str, code: str = "payment_intent_unexpected_state",
                     **extra: Any) -> VendorError:
    return stripe_error(400, "invalid_request_error", message, code=code, **extra)


def card_error(code: str, decline_code: str | None, message: str, **extra: Any) -> VendorError:
    """HTTP 402: valid parameters, the payment failed."""
    return stripe_error(402, "card_error", message, code=code, decline_code=decline_code,
                        **extra)


class StripeErrors(NativeErrors):
    # form bodies are percent-decoded in Python (about 0.15 s per MiB of escapes): 1 MiB keeps
    # one request's decoding short on the event loop, and no real request comes near it [U]
    max_body_bytes = 1024 * 1024

    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        if status >= 500:
            return stripe_error(status, "api_error",
                                message or "An unknown error occurred", code=code)
        if status == 402:
            return card_error(code or "card_declined", None, message or "Your card was declined.")
        if status == 409:
            return stripe_error(409, "invalid_request_error", message or
                                "There was a conflict with another request.", code=code)
        return stripe_error(status, "invalid_request_error",
                            message or "The request could not be processed.", code=code)

    def rate_limited(self, retry_after: float | None) -> VendorError:
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        return stripe_error(429, "invalid_request_error",
                            "Request rate limit exceeded. Learn more about rate limits here "
                            "https://stripe.com/docs/rate-limits.", code="rate_limit",
                            headers=headers)

    def concurrency_limited(self, limit: int) -> VendorError:
        return stripe_error(429, "invalid_request_error",
                            "Too many concurrent requests. Learn more about rate limits here "
                            "https://stripe.com/docs/rate-limits.", code="rate_limit")

    def unauthorized(self, reason: str = "") -> VendorError:
        if reason == "missing":
            return stripe_error(401, "invalid_request_error",
                                "You did not provide an API key. You need to provide your API key "
                                "in the Authorization header, using Bearer auth (e.g. "
                                "'Authorization: Bearer YOUR_SECRET_KEY'). See "
                                "https://stripe.com/docs/api#authentication for details, or we can "
                                "help at https://support.stripe.com/.")
        if reason == "expired":
            return stripe_error(401, "invalid_request_error", "Expired API Key provided.",
                                code="api_key_expired")
        return stripe_error(401, "invalid_request_error", f"Invalid API Key provided: {reason}")

    def not_found(self, path: str) -> VendorError:
        return self.unrecognized("GET", path)

    def method_not_allowed(self, method: str, path: str) -> VendorError:
        return self.unrecognized(method, path)

    @staticmethod
    def unrecognized(method: str, path: str) -> VendorError:
        return stripe_error(404, "invalid_request_error",
                            f"Unrecognized request URL ({method}: {path}). Please see "
                            "https://stripe.com/docs or we can help at https://support.stripe.com/.")


def mask_key(key: str) -> str:
    """`sk_test_****Aso0`, as Stripe shows a wrong key."""
    prefix = key[:8] if key.startswith(("sk_test_", "rk_test_", "sk_live_", "rk_live_")) else ""
    return f"{prefix}{'*' * max(0, len(key) - len(prefix) - 4)}{key[-4:]}"
