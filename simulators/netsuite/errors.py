"""NetSuite's native error bodies (REST web services, problem-details style).

    {"type": "<RFC section URL>", "title": "Bad Request", "status": 400,
     "o:errorDetails": [{"detail": "...", "o:errorCode": "USER_ERROR", "o:errorPath": "email"}]}

Sources (vendor facts §3.2, §3.6): the 401 INVALID_LOGIN body is documented verbatim (Oracle help
section_156570709583, with the rfc2616 `type`); 404 NONEXISTENT_ID "The record instance does not
exist. Provide a valid record instance ID." and the rfc9110 `type` URLs come from captured
responses in public client test suites; "Error while accessing a resource. You have entered an
Invalid Field Value <v> for the following field: <f>." (USER_ERROR, with `o:errorPath`) and
"Error while accessing a resource. Please enter value(s) for: <labels>." are live messages quoted
by several integrations. The codes for an unknown field (INVALID_CONTENT), concurrency (429
CONCURRENCY_LIMIT_EXCEEDED) and a missing `Prefer: transient` are [U]: see the README.
"""

from __future__ import annotations

from typing import Any

from simulators.core.vendor import NativeErrors, VendorError

CONTENT_TYPE = "application/vnd.oracle.resource+json; type=error"
RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"
TYPES = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6",
         409: "15.5.10", 413: "15.5.14", 415: "15.5.16", 429: "15.5.30", 500: "15.6.1",
         502: "15.6.3", 503: "15.6.4", 504: "15.6.5"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
          415: "Unsupported Media Type", 429: "Too Many Requests",
          500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
          504: "Gateway Timeout"}
INVALID_LOGIN_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail.")
DEFAULT_CODES = {400: "INVALID_REQUEST", 403: "INSUFFICIENT_PERMISSION", 404: "NONEXISTENT_ID",
                 409: "CONFLICT", 429: "CONCURRENCY_LIMIT_EXCEEDED"}
DEFAULT_DETAILS = {
    500: "An unexpected error occurred. Error ID: ",
    503: "The service is temporarily unavailable. Try again later.",
}


def problem(status: int, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": RFC9110 + TYPES.get(status, "15.5.1" if status < 500 else "15.6.1"),
            "title": TITLES.get(status, "Error"), "status": status, "o:errorDetails": details}


def detail(text: str, code: str, *, path: str | None = None, url_path: str | None = None,
           header: str | None = None, query_param: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"detail": text}
    for key, value in (("o:errorPath", path), ("o:errorUrl", url_path),
                       ("o:errorHeader", header), ("o:errorQueryParam", query_param)):
        if value is not None:
            entry[key] = value
    entry["o:errorCode"] = code
    return entry


def ns_error(status: int, code: str, text: str, *, headers: dict[str, str] | None = None,
             **where: str | None) -> VendorError:
    return VendorError(status, problem(status, [detail(text, code, **where)]), headers)


# -- the errors the record API raises ----------------------------------------------------------
def record_not_found(url_path: str) -> VendorError:
    return ns_error(404, "NONEXISTENT_ID",
                    "The record instance does not exist. Provide a valid record instance ID.",
                    url_path=url_path)


def record_type_not_found(record: str, url_path: str) -> VendorError:
    return ns_error(404, "NONEXISTENT_ID", f"Record type '{record}' does not exist.",
                    url_path=url_path)


def invalid_field_value(field: str, value: Any, path: str | None = None) -> VendorError:
    shown = value.get("id", value) if isinstance(value, dict) else value
    return ns_error(400, "USER_ERROR",
                    f"Error while accessing a resource. You have entered an Invalid Field Value "
                    f"{shown} for the following field: {field}", path=path or field)


def too_long(field: str, limit: int) -> VendorError:
    """Text over the field's length [U: wording from memory of NetSuite's UI/SOAP message]."""
    return user_error(f"The field {field} contained more than the maximum number ( {limit} ) "
                      "of characters allowed.", field)


def missing_values(labels: list[str], path: str | None = None) -> VendorError:
    return ns_error(400, "USER_ERROR", "Error while accessing a resource. Please enter value(s) "
                    f"for: {', '.join(labels)}.", path=path)


def user_error(text: str, path: str | None = None) -> VendorError:
    return ns_error(400, "USER_ERROR", f"Error while accessing a resource. {text}", path=path)


def unknown_field(field: str, record: str) -> VendorError:
    return ns_error(400, "INVALID_CONTENT", f"Invalid content in the request body. Field "
                    f"'{field}' for record '{record}' was not found.", path=field)


def invalid_content(text: str, path: str | None = None) -> VendorError:
    return ns_error(400, "INVALID_CONTENT", f"Invalid content in the request body. {text}",
                    path=path)


def invalid_parameter(text: str, param: str) -> VendorError:
    return ns_error(400, "INVALID_PARAMETER", text, query_param=param)


def invalid_login(realm: str | None = None, *, bearer: bool = False) -> VendorError:
    body = {"type": INVALID_LOGIN_TYPE, "title": "Unauthorized", "status": 401,
            "o:errorDetails": [{"detail": INVALID_LOGIN_DETAIL, "o:errorCode": "INVALID_LOGIN"}]}
    headers = {}
    if bearer:
        where = f'realm="{realm}", ' if realm else ""
        headers["WWW-Authenticate"] = (f'Bearer {where}error="invalid_token", '
                                       f'error_description="Invalid login attempt."')
    return VendorError(401, body, headers)


class NetSuiteErrors(NativeErrors):
    content_type = CONTENT_TYPE
    # "REST requests have a size limit of 104MB" [D: …/chapter_161251386312.html]; MB read as
    # MiB [U]. Its 413 body is not documented: the problem-details default.
    max_body_bytes = 104 * 1024 * 1024

    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        text = message or DEFAULT_DETAILS.get(status) or TITLES.get(status, "Error")
        if status >= 500:
            code = code or "UNEXPECTED_ERROR"
        return ns_error(status, code or DEFAULT_CODES.get(status, "USER_ERROR"), text)

    def rate_limited(self, retry_after: float | None) -> VendorError:
        # NetSuite governs concurrency, not request rate; an injected rate limit looks the same.
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        return ns_error(429, "CONCURRENCY_LIMIT_EXCEEDED",
                        "Concurrent request limit exceeded. Request blocked.", headers=headers)

    def concurrency_limited(self, limit: int) -> VendorError:
        return self.rate_limited(None)

    def unauthorized(self, reason: str = "") -> VendorError:
        # Every login failure has the one body; `reason` is "bearer:<realm>" for OAuth 2.0.
        if reason.startswith("bearer:"):
            return invalid_login(reason.partition(":")[2] or None, bearer=True)
        return invalid_login()

    def not_found(self, path: str) -> VendorError:
        return ns_error(404, "NONEXISTENT_ID", f"The requested resource '{path}' was not found.",
                        url_path=path)

    def method_not_allowed(self, method: str, path: str) -> VendorError:
        return ns_error(405, "INVALID_REQUEST",
                        f"The HTTP method {method} is not supported for this resource.",
                        url_path=path)
