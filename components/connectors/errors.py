"""The error classes every connector raises, so callers decide by kind, not by vendor."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"    # 429, Salesforce REQUEST_LIMIT_EXCEEDED, NetSuite concurrency
    UNAVAILABLE = "unavailable"      # 5xx, connection refused before sending
    AUTH = "auth"                    # credentials refused (after one refresh, where there is one)
    INVALID = "invalid"              # 4xx the request itself caused: retrying will not help
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"            # idempotency key in use, lock timeout, already paid
    DECLINED = "declined"            # the card was declined (a business answer, not a fault)


RETRYABLE = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE, ErrorKind.CONFLICT})


class VendorError(Exception):
    """A vendor answered, and the answer was an error."""

    def __init__(self, vendor: str, kind: ErrorKind, message: str, *, status: int | None = None,
                 code: str | None = None, retry_after: float | None = None,
                 body: Any = None) -> None:
        super().__init__(f"{vendor}: {kind.value}: {message}")
        self.vendor = vendor
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code                # the vendor's own code (decline_code, errorCode, …)
        self.retry_after = retry_after  # seconds, from Retry-After when the vendor sent one
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class UnknownOutcome(Exception):
    """The request may or may not have taken effect (timeout, connection dropped mid-way).

    Not a failure: the caller must find out (retry with the same idempotency key, or read back
    by external id) before it acts as if nothing happened."""

    def __init__(self, vendor: str, message: str) -> None:
        super().__init__(f"{vendor}: outcome unknown: {message}")
        self.vendor = vendor
        self.message = message
