"""Salesforce's native error bodies.

REST errors are a JSON *array* of `{"message", "errorCode"[, "fields"]}` (success bodies are
objects). The OAuth token endpoint uses the OAuth shape `{"error", "error_description"}` instead.
sObject Collections report per-record errors as `{"statusCode", "message", "fields"}`.
"""

from __future__ import annotations

from typing import Any

from simulators.core.vendor import NativeErrors, VendorError

SESSION_INVALID = "Session expired or invalid"
NOT_FOUND_MESSAGE = "The requested resource does not exist"
DAILY_LIMIT_MESSAGE = "TotalRequests Limit exceeded."
CONCURRENT_LIMIT_MESSAGE = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
_FIELD_HINT = ("If you are attempting to use a custom field, be sure to append the '__c' after "
               "the custom field name. Please reference your WSDL or the describe call for the "
               "appropriate names.")

# Default errorCode and message for statuses injected by faults.
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("INVALID_INPUT", "The request could not be processed."),
    401: ("INVALID_SESSION_ID", SESSION_INVALID),
    403: ("INSUFFICIENT_ACCESS", "insufficient access rights on object id"),
    404: ("NOT_FOUND", NOT_FOUND_MESSAGE),
    409: ("CONFLICT", "The request conflicts with the current state of the resource."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if "
          "you contact support: 1405928127-31476 (-1079464021)"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable."),
}


class SalesforceError(VendorError):
    """One REST error (`[{"message","errorCode","fields"}]`); `code`/`message`/`fields` are kept
    so that composite and collection responses can re-render it."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        item: dict[str, Any] = {"message": message, "errorCode": code}
        if fields is not None:
            item["fields"] = fields
        super().__init__(status, [item], headers)
        self.code = code
        self.message = message
        self.fields = fields

    def record_error(self) -> dict[str, Any]:
        """The per-record shape used by sObject Collections results."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def invalid_field_on_write(name: str, sobject: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type "
                           f"{sobject}")


def invalid_field_on_read(name: str, sobject: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_FIELD",
                           f"No such column '{name}' on entity '{sobject}'. {_FIELD_HINT}")


def not_writable(name: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                           f"Unable to create/update fields: {name}. Please check the security "
                           f"settings of this field and verify that it is read/write for your "
                           f"profile or permission set.", [name])


def required_missing(names: list[str]) -> SalesforceError:
    return SalesforceError(400, "REQUIRED_FIELD_MISSING",
                           f"Required fields are missing: [{', '.join(names)}]", names)


def json_parser(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


def malformed_query(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", message)


def oauth_error(error: str, description: str, status: int = 400) -> VendorError:
    return VendorError(status, {"error": error, "error_description": description})


class SalesforceErrors(NativeErrors):
    content_type = "application/json;charset=UTF-8"

    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        default_code, default_message = _DEFAULTS.get(
            status, ("UNKNOWN_EXCEPTION" if status >= 500 else "INVALID_INPUT",
                     "An unexpected error occurred."))
        headers = {"WWW-Authenticate": "Token"} if status == 401 else None
        return SalesforceError(status, code or default_code, message or default_message,
                               headers=headers)

    def rate_limited(self, retry_after: float | None) -> VendorError:
        # Salesforce refuses over-limit calls with 403 and documents no Retry-After header.
        return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", DAILY_LIMIT_MESSAGE)

    def concurrency_limited(self, limit: int) -> VendorError:
        return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_LIMIT_MESSAGE)

    def unauthorized(self, reason: str = "") -> VendorError:
        return SalesforceError(401, "INVALID_SESSION_ID", SESSION_INVALID,
                               headers={"WWW-Authenticate": "Token"})

    def not_found(self, path: str) -> VendorError:
        return not_found()

    def method_not_allowed(self, method: str, path: str) -> VendorError:
        return method_not_allowed(method, ("GET",))


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> SalesforceError:
    return SalesforceError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. "
                           f"Allowed are {','.join(allowed)}")
