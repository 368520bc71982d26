"""Chargebee's native error bodies (API v2).

Every error carries the current fields (`message`, `type`, `api_error_code`, `param`) and the
deprecated ones older clients still read (`error_code`, `error_msg`, `error_param`,
`http_status_code`). `type` is one of payment / invalid_request / operation_failed, or absent
("untyped": 401, 5xx); the official SDKs pick their exception class from it. There is no 402:
a declined charge is a 400 with `type: payment`.
"""

from __future__ import annotations

from typing import Any

from simulators.core.vendor import NativeErrors, VendorError

NOT_FOUND_MESSAGE = "Sorry, we couldn't find that resource"
AUTH_MESSAGE = "Sorry, authentication failed. Invalid api key"
RATE_LIMIT_MESSAGE = ("Sorry, access has been blocked temporarily due to request count exceeding "
                      "acceptable limits.")
PAYMENT_CODES = {"payment_processing_failed", "payment_method_verification_failed",
                 "payment_method_not_present", "payment_gateway_currency_incompatible",
                 "payment_intent_invalid", "payment_intent_invalid_amount"}

# status -> (api_error_code, type, message) when a fault or the engine names only the status
_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("payment_processing_failed", "payment",
          "Payment could not be processed. Error message: (card_declined) Your card was "
          "declined."),
    401: ("api_authentication_failed", None, AUTH_MESSAGE),
    403: ("api_authorization_failed", None,
          "Sorry, the api key does not have the permission to perform this operation."),
    404: ("resource_not_found", "invalid_request", NOT_FOUND_MESSAGE),
    405: ("http_method_not_supported", "invalid_request",
          "Sorry, the http method is not supported for this URL."),
    409: ("invalid_state_for_request", "invalid_request",
          "The resource is not in a valid state for this request."),
    422: ("unable_to_process_request", "invalid_request",
          "Sorry, the request could not be processed."),
    429: ("api_request_limit_exceeded", "operation_failed", RATE_LIMIT_MESSAGE),
    500: ("internal_error", None,
          "Sorry, something went wrong when trying to process the request. If this problem "
          "persists, contact us at support@chargebee.com."),
    503: ("internal_temporary_error", None,
          "Sorry, the server is currently unable to handle the request due to a temporary "
          "overload or scheduled maintenance. Please retry after sometime."),
    504: ("gateway_timeout", None,
          "The server did not receive a timely response from an upstream server, request "
          "aborted."),
}


def cb_error(status: int, api_error_code: str, message: str, *, type_: str | None = None,
             param: str | None = None, headers: dict[str, str] | None = None,
             store_idempotent: bool = True, **extra: Any) -> VendorError:
    body: dict[str, Any] = {"message": message}
    if type_:
        body["type"] = type_
    body["api_error_code"] = api_error_code
    if param:
        body["param"] = param
    body.update({k: v for k, v in extra.items() if v is not None})
    body.update({"error_code": api_error_code, "error_msg": message,
                 "http_status_code": status})
    if param:
        body["error_param"] = param
    return VendorError(status, body, headers, store_idempotent=store_idempotent)


def invalid_request(message: str, param: str | None = None,
                    code: str = "invalid_request", status: int = 400) -> VendorError:
    """Bad parameters: the request never began executing, so no idempotent result is kept."""
    return cb_error(status, code, message, type_="invalid_request", param=param,
                    store_idempotent=False)


def wrong_value(param: str, reason: str) -> VendorError:
    """Chargebee's `param : reason` message for a value it does not accept."""
    return invalid_request(f"{param} : {reason}", param, "param_wrong_value")


def too_long(param: str, limit: int) -> VendorError:
    """A string over Chargebee's max chars for the parameter [U: the wording]."""
    return wrong_value(param, f"cannot be more than {limit} characters")


def missing(param: str) -> VendorError:
    return wrong_value(param, "cannot be blank")


def not_found(label: str | None = None, param: str | None = None) -> VendorError:
    """A missing object: named by a parameter ("Item Price is not present") or by the path."""
    message = f"{label} is not present" if label and param else NOT_FOUND_MESSAGE
    return cb_error(404, "resource_not_found", message, type_="invalid_request", param=param)


def invalid_state(message: str) -> VendorError:
    return cb_error(409, "invalid_state_for_request", message, type_="invalid_request")


def payment_failed(message: str, code: str = "payment_processing_failed",
                   error_cause_id: str | None = None) -> VendorError:
    return cb_error(400, code, message, type_="payment", error_cause_id=error_cause_id)


class ChargebeeErrors(NativeErrors):
    # form bodies are percent-decoded in Python (about 0.15 s per MiB of escapes): 1 MiB keeps
    # one request's decoding short on the event loop, and no real request comes near it [U]
    max_body_bytes = 1024 * 1024

    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        default_code, type_, default_message = _DEFAULTS.get(
            status, _DEFAULTS[500] if status >= 500 else _DEFAULTS[422])
        if code and code != default_code and status == 400:
            type_ = "payment" if code in PAYMENT_CODES else "invalid_request"
        return cb_error(status, code or default_code, message or default_message, type_=type_)

    def collection_full(self, collection: str, cap: int) -> VendorError:
        # resource_limit_exhausted is one of Chargebee's documented 400 codes; its use for the
        # fake's object cap is our choice [U]
        return cb_error(400, "resource_limit_exhausted", f"The site has reached the limit of "
                        f"{cap} {collection} resources.", type_="invalid_request")

    def rate_limited(self, retry_after: float | None) -> VendorError:
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        return cb_error(429, "api_request_limit_exceeded", RATE_LIMIT_MESSAGE,
                        type_="operation_failed", headers=headers, store_idempotent=False)

    def concurrency_limited(self, limit: int) -> VendorError:
        return cb_error(429, "lock_timeout",
                        "Sorry, the request could not be processed as another request is "
                        "operating on the same resource. Please retry.",
                        type_="operation_failed", store_idempotent=False)

    def unauthorized(self, reason: str = "") -> VendorError:
        return cb_error(401, "api_authentication_failed", AUTH_MESSAGE)

    def not_found(self, path: str) -> VendorError:
        return not_found()

    def method_not_allowed(self, method: str, path: str) -> VendorError:
        return cb_error(405, "http_method_not_supported",
                        f"Sorry, the http method {method} is not supported for this URL.",
                        type_="invalid_request")
